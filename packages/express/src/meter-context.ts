import { AsyncLocalStorage } from 'node:async_hooks';
import { Money } from '@tokenmeter/core';
import type { Request } from 'express';
import type { MeterConfig } from './meter-config';
import type { Identity } from './meter-options';
import type { UsageEvent } from './types';
import { eventCost } from './usage-aggregate';

/** The meter's view of one incoming request: instrumented AI calls made while handling it land here. */
export interface MeterContext {
  readonly config: MeterConfig;
  readonly requestId: string;
  readonly req: Request;
  identity: Identity | undefined;
  /** Events of calls that finished while the response was still open (their route is set at the end). */
  readonly events: UsageEvent[];
  /** Express's matched route pattern, captured while handlers run (Express forgets it as routers unwind). */
  route: string | undefined;
  /** The response has finished or closed: later calls are recorded at once. */
  ended: boolean;
  readonly started: number;
}

const storage = new AsyncLocalStorage<MeterContext>();

export function runInMeterContext<T>(context: MeterContext, callback: () => T): T {
  return storage.run(context, callback);
}

export function currentMeterContext(): MeterContext | undefined {
  return storage.getStore();
}

/** The route pattern of a request, never the raw URL (unbounded cardinality, ids, secrets in paths). */
export function routePattern(req: Request): string | undefined {
  const path: unknown = req.route?.path;
  if (path === undefined) return undefined;
  return `${req.baseUrl ?? ''}${typeof path === 'string' ? path : String(path)}`;
}

export function captureRoute(context: MeterContext): string {
  context.route = routePattern(context.req) ?? context.route;
  return context.route ?? '(unmatched)';
}

/** Usage of one incoming request so far: the sum of its AI calls. */
export interface RequestUsage {
  requestId: string;
  route: string;
  user?: string;
  tenant?: string;
  feature?: string;
  calls: number;
  models: string[];
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  /** Exact USD of the priced calls, decimal string. */
  cost: string;
  /** False when any call's model had no price (its tokens are counted, its cost is not in `cost`). */
  priced: boolean;
  estimated: boolean;
  durationMs: number;
}

export function summarize(context: MeterContext, events: UsageEvent[]): RequestUsage {
  let cost = Money.ZERO;
  const summary: RequestUsage = {
    requestId: context.requestId,
    route: context.route ?? '(unmatched)',
    calls: events.length,
    models: [...new Set(events.map((event) => event.model))],
    inputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
    cost: '0',
    priced: true,
    estimated: false,
    durationMs: Math.round(performance.now() - context.started),
  };
  for (const event of events) {
    summary.inputTokens += event.inputTokens;
    summary.cachedInputTokens += event.cachedInputTokens;
    summary.cacheWriteTokens += event.cacheWrite5mTokens + event.cacheWrite1hTokens;
    summary.outputTokens += event.outputTokens;
    summary.reasoningTokens += event.reasoningTokens;
    const eventAmount = eventCost(event);
    if (eventAmount !== undefined) cost = cost.plus(eventAmount);
    if (!event.priced) summary.priced = false;
    if (event.estimated) summary.estimated = true;
  }
  summary.cost = cost.toString();
  if (context.identity?.user !== undefined) summary.user = context.identity.user;
  if (context.identity?.tenant !== undefined) summary.tenant = context.identity.tenant;
  if (context.identity?.feature !== undefined) summary.feature = context.identity.feature;
  return summary;
}

/**
 * Usage of the request being handled (inside a handler under `meter()`): its AI calls finished so far.
 * Undefined outside a metered request.
 */
export function requestUsage(): RequestUsage | undefined {
  const context = storage.getStore();
  if (context === undefined) return undefined;
  captureRoute(context);
  return summarize(context, context.events);
}
