import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { rejectionResponse } from './budget-enforcer';
import { BudgetExceededError } from './budget-exceeded-error';
import { instrumentFetch } from './instrumented-fetch';
import { parseMeterOptions } from './meter-config';
import { captureRoute, type MeterContext, type RequestUsage, runInMeterContext, summarize } from './meter-context';
import type { MeterOptions } from './meter-options';
import type { Store } from './types';

/** The in-app meter middleware. */
export interface MeterMiddleware {
  (req: Request, res: Response, next: NextFunction): void;
  /** Resolves when every event recorded so far has reached the store. */
  flush(): Promise<void>;
  /** The store events go to (the default memory store when none was given). */
  readonly store: Store;
}

export interface InAppMeterOptions extends MeterOptions {
  /** Called once per incoming request that made AI calls, when its response has finished. Default: none. */
  onRequest?: (usage: RequestUsage) => void;
}

/**
 * Gives every incoming request a metering context (AsyncLocalStorage). AI calls made while handling it
 * through an instrumented `fetch` or a wrapped OpenAI / Anthropic client are metered and attributed to it;
 * when the response has finished, one event per call is recorded and `onRequest` gets the request's total.
 */
export function meter(options?: InAppMeterOptions): MeterMiddleware {
  const { onRequest, ...meterOptions } = options ?? {};
  if (onRequest !== undefined && typeof onRequest !== 'function') {
    throw new TypeError('meter(): onRequest must be a function');
  }
  const config = parseMeterOptions(meterOptions);
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const context: MeterContext = {
      config,
      requestId: config.requestId(req),
      req,
      identity: undefined,
      events: [],
      route: undefined,
      ended: false,
      started: performance.now(),
    };
    const end = () => {
      if (context.ended) return;
      context.ended = true;
      if (context.events.length === 0) return;
      const route = context.route ?? '(unmatched)';
      for (const event of context.events) {
        if (event.route === '(unmatched)') event.route = route;
        config.sink.record(event);
      }
      if (onRequest) {
        try {
          onRequest(summarize(context, context.events));
        } catch (error) {
          config.warnOnce(
            'ON_REQUEST_FAILED',
            `onRequest threw: ${error instanceof Error ? error.message : String(error)}.`,
          );
        }
      }
    };
    res.once('finish', end);
    res.once('close', end);
    if (config.headers) addUsageHeadersOnWrite(res, context);
    if (config.identify === undefined) {
      runInMeterContext(context, next);
      return;
    }
    let identified: ReturnType<NonNullable<typeof config.identify>>;
    try {
      identified = config.identify(req);
    } catch (error) {
      next(error);
      return;
    }
    Promise.resolve(identified).then(
      (identity) => {
        context.identity = identity ?? undefined;
        runInMeterContext(context, next);
      },
      (error: unknown) => next(error),
    );
  };
  return Object.assign(middleware, { flush: () => config.sink.flush(), store: config.store });
}

/**
 * Adds the request's running AI usage to the response headers just before they are written (Node writes
 * headers through `writeHead`, explicitly or implicitly), so non-streamed answers carry their cost.
 */
function addUsageHeadersOnWrite(res: Response, context: MeterContext): void {
  const original = res.writeHead;
  res.writeHead = function writeHead(this: ServerResponse, ...args: unknown[]) {
    captureRoute(context);
    if (context.events.length > 0 && !this.headersSent) {
      const usage = summarize(context, context.events);
      this.setHeader('x-tokenmeter-calls', String(usage.calls));
      this.setHeader('x-tokenmeter-input-tokens', String(usage.inputTokens));
      this.setHeader('x-tokenmeter-cached-input-tokens', String(usage.cachedInputTokens));
      this.setHeader('x-tokenmeter-cache-write-tokens', String(usage.cacheWriteTokens));
      this.setHeader('x-tokenmeter-output-tokens', String(usage.outputTokens));
      this.setHeader('x-tokenmeter-reasoning-tokens', String(usage.reasoningTokens));
      this.setHeader('x-tokenmeter-priced', String(usage.priced));
      this.setHeader('x-tokenmeter-estimated', String(usage.estimated));
      if (usage.priced) this.setHeader('x-tokenmeter-cost', usage.cost);
    }
    return (original as (...inner: unknown[]) => ServerResponse).apply(this, args);
  } as typeof res.writeHead;
}

interface FetchHolder {
  fetch?: unknown;
}

/**
 * Meters an `openai` client (v5/v6) in place and returns it: its calls go through an instrumented fetch.
 * `options` meter calls made outside a request handled by `meter()` (background jobs); without them such
 * calls are not metered.
 */
export function wrapOpenAI<T extends object>(client: T, options?: MeterOptions): T {
  return wrapClient(client, 'wrapOpenAI', options);
}

/** Meters an `@anthropic-ai/sdk` client in place and returns it (see `wrapOpenAI`). */
export function wrapAnthropic<T extends object>(client: T, options?: MeterOptions): T {
  return wrapClient(client, 'wrapAnthropic', options);
}

function wrapClient<T extends object>(client: T, name: string, options?: MeterOptions): T {
  const holder = client as FetchHolder;
  if (typeof holder.fetch !== 'function') {
    throw new TypeError(`${name}() expects an SDK client (an object with a fetch function), got ${typeof client}`);
  }
  if ((holder.fetch as { tokenmeter?: boolean }).tokenmeter) return client;
  const instrumented = instrumentFetch(holder.fetch as typeof fetch, options);
  Object.defineProperty(instrumented, 'tokenmeter', { value: true });
  holder.fetch = instrumented;
  return client;
}

/**
 * Express error handler for refused AI calls: an SDK's 429 error whose code is `budget_exceeded` (what an
 * instrumented call answers when a budget cannot hold it) or a `BudgetExceededError` becomes the same 429
 * the proxy sends (OpenAI-style body, `Retry-After`, budget headers); an SDK's 403 `unpriced_model` (a USD
 * budget refused a model without a price) becomes the proxy's 403. Other errors go to the next handler.
 */
export function budgetErrorHandler() {
  return (error: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) {
      next(error);
      return;
    }
    if (error instanceof BudgetExceededError) {
      const { headers, body } = rejectionResponse(error.rejection);
      res.writeHead(429, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
      return;
    }
    const rejected = budgetRejectionOf(error);
    if (rejected === undefined) {
      next(error);
      return;
    }
    const body = JSON.stringify({ error: rejected.error });
    res.writeHead(rejected.status, {
      ...rejected.headers,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
    });
    res.end(body);
  };
}

/**
 * Reads an OpenAI / Anthropic SDK `APIError` for a budget refusal (status 429, code `budget_exceeded`) or a
 * refused unpriced model (status 403, code `unpriced_model`).
 */
function budgetRejectionOf(
  error: unknown,
): { status: number; error: unknown; headers: Record<string, string> } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const candidate = error as { status?: unknown; error?: unknown; headers?: unknown };
  const inner = candidate.error as { code?: unknown; error?: { code?: unknown } } | undefined;
  const code = inner?.code ?? inner?.error?.code;
  const status = candidate.status;
  if (!(status === 429 && code === 'budget_exceeded') && !(status === 403 && code === 'unpriced_model')) {
    return undefined;
  }
  const headers: Record<string, string> = {};
  const source = candidate.headers;
  const read = (name: string): string | undefined =>
    source instanceof Headers
      ? (source.get(name) ?? undefined)
      : typeof source === 'object' && source !== null
        ? ((source as Record<string, string | undefined>)[name] ?? undefined)
        : undefined;
  for (const name of [
    'retry-after',
    'x-tokenmeter-budget-id',
    'x-tokenmeter-budget-unit',
    'x-tokenmeter-budget-limit',
    'x-tokenmeter-budget-remaining',
  ]) {
    const value = read(name);
    if (value !== undefined) headers[name] = value;
  }
  return { status, error: inner?.error ?? inner, headers };
}
