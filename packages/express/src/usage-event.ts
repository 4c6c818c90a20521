import { randomUUID } from 'node:crypto';
import type { CostResult, NormalizedUsage, ResolvedModel } from '@tokenmeter/core';
import { type AiCall, costOf, emptyBuckets, type Operation, providerHint } from './ai-call';
import type { UnpricedDecision } from './budget-enforcer';
import type { MeterConfig } from './meter-config';
import type { Identity } from './meter-options';
import type { UsageEvent } from './types';

/** Everything known about one AI call once it is over. */
export interface CallOutcome {
  call: AiCall;
  requestId: string;
  route: string;
  identity: Identity | undefined;
  /** Reported or estimated usage; undefined when no tokens were spent (refused, upstream error). */
  usage: NormalizedUsage | undefined;
  status: number;
  streamed: boolean;
  durationMs: number;
  error?: UsageEvent['error'];
  rejected?: boolean;
  /** What `unpricedPolicy` decided for this call when its model has no price and a USD budget applied. */
  unpriced?: UnpricedDecision;
}

/** The model a call is billed as: the answering model when the catalog knows it, else the requested one. */
export function billedModel(
  config: MeterConfig,
  call: AiCall,
  reported: string | undefined,
): { name: string; resolved: ResolvedModel | undefined } {
  if (reported !== undefined && reported !== call.model) {
    const resolved = config.resolveModel(reported);
    if (resolved) return { name: reported, resolved };
  }
  const resolved = config.resolveModel(call.model);
  return { name: resolved ? call.model : (reported ?? call.model), resolved };
}

/**
 * The event of a call a budget refused before it reached the upstream: no tokens, status 429 (403 when
 * `unpricedPolicy: 'refuse'` turned an unpriced model away).
 */
export function buildRejectedEvent(
  config: MeterConfig,
  call: Pick<CallOutcome, 'call' | 'requestId' | 'route' | 'identity' | 'unpriced'>,
  startedAt: number,
): UsageEvent {
  return buildUsageEvent(config, {
    ...call,
    usage: undefined,
    status: call.unpriced?.policy === 'refuse' ? 403 : 429,
    streamed: false,
    durationMs: performance.now() - startedAt,
    rejected: true,
  }).event;
}

/** Builds the event (no prompt, completion or key ever reaches it) and its exact cost. */
export function buildUsageEvent(
  config: MeterConfig,
  outcome: CallOutcome,
): { event: UsageEvent; cost: CostResult | undefined } {
  const { call, usage } = outcome;
  const model = billedModel(config, call, usage?.model);
  const buckets = usage ?? { ...emptyBuckets(), estimated: false };
  // An unknown model under `priceAs` is costed at the named model's prices, as its budget reservation was.
  const priceAs = model.resolved === undefined ? outcome.unpriced?.priceAs : undefined;
  const cost = priceAs
    ? costOf(buckets, priceAs.entry.id, priceAs, config.catalog)
    : costOf(buckets, model.name, model.resolved, config.catalog);
  if (model.resolved === undefined) config.warnUnpricedModel(model.name);
  const identity = outcome.identity;
  const event: UsageEvent = {
    id: randomUUID(),
    timestamp: Date.now(),
    requestId: outcome.requestId,
    route: outcome.route,
    provider: model.resolved?.entry.provider ?? providerHint(call.operation as Operation),
    model: model.resolved?.entry.id ?? model.name,
    operation: call.operation,
    // Events and stores keep six buckets: audio counts with its text bucket here, while `cost` (computed from
    // every bucket at its own price) stays exact.
    inputTokens: buckets.inputTokens + (buckets.audioInputTokens ?? 0),
    cachedInputTokens: buckets.cachedInputTokens + (buckets.cachedAudioInputTokens ?? 0),
    cacheWrite5mTokens: buckets.cacheWrite5mTokens,
    cacheWrite1hTokens: buckets.cacheWrite1hTokens,
    outputTokens: buckets.outputTokens + (buckets.audioOutputTokens ?? 0),
    reasoningTokens: buckets.reasoningTokens,
    priced: cost.priced,
    estimated: buckets.estimated,
    status: outcome.status,
    durationMs: Math.max(0, Math.round(outcome.durationMs)),
    streamed: outcome.streamed,
  };
  if (cost.priced && cost.total !== undefined) event.cost = cost.total.toString();
  if (identity?.user !== undefined) event.user = identity.user;
  if (identity?.tenant !== undefined) event.tenant = identity.tenant;
  if (identity?.feature !== undefined) event.feature = identity.feature;
  if (outcome.error !== undefined) event.error = outcome.error;
  if (outcome.rejected) event.rejected = true;
  if (model.resolved === undefined && outcome.unpriced) event.unpricedPolicy = outcome.unpriced.policy;
  if (priceAs) event.pricedAs = priceAs.entry.id;
  return { event, cost };
}

/** The `x-tokenmeter-*` headers describing one call's usage and cost. */
export function usageHeaders(event: UsageEvent): Record<string, string> {
  const headers: Record<string, string> = {
    'x-tokenmeter-model': headerText(event.model),
    'x-tokenmeter-input-tokens': String(event.inputTokens),
    'x-tokenmeter-cached-input-tokens': String(event.cachedInputTokens),
    'x-tokenmeter-cache-write-tokens': String(event.cacheWrite5mTokens + event.cacheWrite1hTokens),
    'x-tokenmeter-output-tokens': String(event.outputTokens),
    'x-tokenmeter-reasoning-tokens': String(event.reasoningTokens),
    'x-tokenmeter-priced': String(event.priced),
    'x-tokenmeter-estimated': String(event.estimated),
  };
  if (event.cost !== undefined) headers['x-tokenmeter-cost'] = event.cost;
  if (event.pricedAs !== undefined) headers['x-tokenmeter-priced-as'] = headerText(event.pricedAs);
  return headers;
}

function headerText(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}
