import { randomUUID } from 'node:crypto';
import { PriceCatalog, type ResolvedModel, TokenmeterError, warmUpEncoders } from '@tokenmeter/core';
import type { Request } from 'express';
import { type BudgetRule, parseBudgetRules } from './budget-rules';
import { InvalidMeterOptionsError } from './invalid-meter-options-error';
import type {
  BudgetWarning,
  IdentifyFunction,
  MeteredProxyOptions,
  MeterLogger,
  MeterOptions,
  UnpricedPolicyOption,
  UsageEventObserver,
} from './meter-options';
import { createMemoryStore } from './store-memory';
import type { Store, UsageEvent } from './types';

/** The options of `meter()` / `meteredProxy()`, checked once and turned into what the hot path reads. */
export interface MeterConfig {
  store: Store;
  catalog: PriceCatalog;
  identify: IdentifyFunction | undefined;
  budgets: BudgetRule[];
  onBudgetWarning: (warning: BudgetWarning) => void;
  maxOutputTokens: number | undefined;
  headers: boolean;
  requestId: (req: Request) => string;
  sink: EventSink;
  logger: MeterLogger;
  metrics: UsageEventObserver | undefined;
  warnOnce(code: string, message: string): void;
  /** Logs, once per model name (a bounded number of names), that a model has no price. */
  warnUnpricedModel(model: string): void;
  resolveModel(model: string): ResolvedModel | undefined;
  unpricedPolicy: UnpricedPolicy;
}

/** `unpricedPolicy`, checked: `price_as` holds the catalog entry the unknown models are priced as. */
export type UnpricedPolicy = { kind: 'refuse' } | { kind: 'allow' } | { kind: 'price_as'; model: ResolvedModel };

/** Distinct unknown model names logged before the log says "and more" and stops (names come from requests). */
export const UNPRICED_WARNING_LIMIT = 100;

export interface ProxyConfig extends MeterConfig {
  upstream: URL;
  anthropicUpstream: URL;
  maxBodyBytes: number;
  upstreamTimeoutMs: number;
  requestStreamUsage: boolean;
  forwardUnmetered: boolean;
  backgroundSettleMs: number;
  /** The provider behind `upstream` when its host does not name one (a gateway): picks the usage dialect. */
  upstreamProvider: string | undefined;
}

export const HELP_BASE = 'https://github.com/tokenmeter/tokenmeter/blob/main/docs/errors.md';
const KNOWN_OPTIONS = new Set([
  'store',
  'catalog',
  'identify',
  'budgets',
  'onBudgetWarning',
  'unpricedPolicy',
  'maxOutputTokens',
  'headers',
  'onEvent',
  'metrics',
  'logger',
  'requestId',
]);
const PROXY_OPTIONS = new Set([
  'upstream',
  'anthropicUpstream',
  'maxBodyBytes',
  'upstreamTimeoutMs',
  'requestStreamUsage',
  'forwardUnmetered',
  'backgroundSettleMs',
  'upstreamProvider',
]);

export function parseMeterOptions(input: MeterOptions | undefined, proxy = false): MeterConfig {
  const options = (input ?? {}) as MeterOptions & Record<string, unknown>;
  if (typeof options !== 'object' || options === null) {
    throw new InvalidMeterOptionsError('options', 'expected an object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key) && !(proxy && PROXY_OPTIONS.has(key))) {
      throw new InvalidMeterOptionsError(
        key,
        `unknown option${PROXY_OPTIONS.has(key) ? ' (it belongs to meteredProxy())' : ''}; known: ${[...KNOWN_OPTIONS].join(', ')}`,
      );
    }
  }
  const logger: MeterLogger = options.logger ?? console;
  if (typeof logger.warn !== 'function') throw new InvalidMeterOptionsError('logger', 'expected { warn(message) }');
  const warned = new Set<string>();
  const warnOnce = (code: string, message: string) => {
    if (warned.has(code)) return;
    warned.add(code);
    try {
      logger.warn(`tokenmeter [${code}]: ${message} See ${HELP_BASE}#${code.toLowerCase().replaceAll('_', '-')}`);
    } catch {
      // A broken logger must not break a request.
    }
  };

  const store = options.store ?? createMemoryStore();
  for (const method of ['recordEvents', 'reserve', 'settle', 'release', 'query', 'close'] as const) {
    if (typeof (store as unknown as Record<string, unknown>)[method] !== 'function') {
      throw new InvalidMeterOptionsError('store', `expected a Store (missing ${method}())`);
    }
  }
  let catalog: PriceCatalog;
  if (options.catalog === undefined) {
    catalog = PriceCatalog.default();
  } else if (typeof (options.catalog as PriceCatalog).tryResolve === 'function') {
    catalog = options.catalog;
  } else {
    throw new InvalidMeterOptionsError(
      'catalog',
      'expected a PriceCatalog (PriceCatalog.default().withEntries([...]))',
    );
  }
  for (const name of ['identify', 'onBudgetWarning', 'onEvent', 'requestId'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new InvalidMeterOptionsError(name, 'expected a function');
    }
  }
  if (options.metrics !== undefined && typeof (options.metrics as UsageEventObserver).observe !== 'function') {
    throw new InvalidMeterOptionsError('metrics', 'expected an object with observe(event), e.g. createMetrics()');
  }
  if (
    options.maxOutputTokens !== undefined &&
    (!Number.isSafeInteger(options.maxOutputTokens) || options.maxOutputTokens <= 0)
  ) {
    throw new InvalidMeterOptionsError('maxOutputTokens', 'expected a whole number > 0');
  }
  if (options.headers !== undefined && typeof options.headers !== 'boolean') {
    throw new InvalidMeterOptionsError('headers', 'expected true or false');
  }
  const budgets = parseBudgetRules(options.budgets);
  const unpricedPolicy = parseUnpricedPolicy(options.unpricedPolicy, catalog);
  if (budgets.length > 0) {
    // Budgets count every prompt: load the tokenizers now rather than stall the first requests (0.3–0.5 s each).
    try {
      warmUpEncoders();
    } catch (error) {
      warnOnce(
        'TOKENIZER_UNAVAILABLE',
        `the tokenizer could not be loaded (${describeError(error)}); prompts are estimated.`,
      );
    }
  }

  const observers: EventObserver[] = [];
  if (options.metrics) {
    const metrics = options.metrics;
    observers.push((event, details) => metrics.observe(event, details));
  }
  if (options.onEvent) {
    const onEvent = options.onEvent;
    observers.push((event) => onEvent(event));
  }

  const resolved = new Map<string, ResolvedModel | undefined>();
  const resolveModel = (model: string): ResolvedModel | undefined => {
    if (resolved.has(model)) return resolved.get(model);
    let result: ResolvedModel | undefined;
    try {
      result = catalog.tryResolve(model);
    } catch {
      result = undefined;
    }
    // Model names come from requests: bound the cache so hostile names cannot grow it.
    if (resolved.size >= 1000) resolved.clear();
    resolved.set(model, result);
    return result;
  };

  const unpricedWarned = new Set<string>();
  const warnUnpricedModel = (model: string) => {
    if (unpricedWarned.has(model) || unpricedWarned.size > UNPRICED_WARNING_LIMIT) return;
    unpricedWarned.add(model);
    if (unpricedWarned.size > UNPRICED_WARNING_LIMIT) {
      warnOnce(
        'UNPRICED_MODEL',
        `more than ${UNPRICED_WARNING_LIMIT} models without a price; no further names are logged (see tokenmeter_unpriced_calls_total).`,
      );
      return;
    }
    const policy = budgets.every((rule) => rule.unit !== 'usd')
      ? 'no USD budget is configured, so nothing limits what they spend'
      : unpricedPolicy.kind === 'refuse'
        ? 'calls under a hard USD budget are refused (unpricedPolicy: refuse)'
        : unpricedPolicy.kind === 'allow'
          ? 'USD budgets count them as $0 (unpricedPolicy: allow); token budgets still count their tokens'
          : `USD budgets count them at the prices of ${unpricedPolicy.model.entry.id} (unpricedPolicy: priceAs)`;
    try {
      logger.warn(
        `tokenmeter [UNPRICED_MODEL]: model ${JSON.stringify(model)} has no price in the catalog: its calls are recorded with priced: false, never as $0; ${policy}. Add its price with catalog.withEntries(). See ${HELP_BASE}#unpriced-model`,
      );
    } catch {
      // A broken logger must not break a request.
    }
  };

  const onBudgetWarning =
    options.onBudgetWarning ??
    ((warning: BudgetWarning) =>
      warnOnce(
        `SOFT_BUDGET_EXCEEDED`,
        `soft budget ${warning.budgetId} is over its limit (${warning.used} of ${warning.limit} ${warning.unit}); requests are still served.`,
      ));

  return {
    store,
    catalog,
    identify: options.identify,
    budgets,
    onBudgetWarning,
    maxOutputTokens: options.maxOutputTokens,
    headers: options.headers ?? true,
    requestId: options.requestId ?? (() => randomUUID()),
    sink: new EventSink(store, observers, warnOnce),
    logger,
    metrics: options.metrics,
    warnOnce,
    warnUnpricedModel,
    resolveModel,
    unpricedPolicy,
  };
}

function parseUnpricedPolicy(option: UnpricedPolicyOption | undefined, catalog: PriceCatalog): UnpricedPolicy {
  if (option === undefined || option === 'refuse') return { kind: 'refuse' };
  if (option === 'allow') return { kind: 'allow' };
  if (typeof option === 'object' && option !== null && 'priceAs' in option) {
    const name = (option as { priceAs: unknown }).priceAs;
    if (typeof name !== 'string' || name === '') {
      throw new InvalidMeterOptionsError('unpricedPolicy.priceAs', 'expected the name of a model in the catalog');
    }
    let model: ResolvedModel | undefined;
    try {
      model = catalog.tryResolve(name);
    } catch {
      model = undefined;
    }
    if (model === undefined) {
      const suggestions = catalog.suggest(name);
      const hint = suggestions.length > 0 ? `; did you mean ${suggestions.map((id) => `"${id}"`).join(', ')}?` : '';
      throw new InvalidMeterOptionsError(
        'unpricedPolicy.priceAs',
        `${JSON.stringify(name)} is not in the catalog, so it cannot price other models${hint}`,
      );
    }
    return { kind: 'price_as', model };
  }
  throw new InvalidMeterOptionsError('unpricedPolicy', "expected 'refuse', 'allow' or { priceAs: '<model>' }");
}

export function parseProxyOptions(input: MeteredProxyOptions | undefined): ProxyConfig {
  const options = input ?? {};
  const base = parseMeterOptions(options, true);
  const upstream = parseUrl(options.upstream ?? 'https://api.openai.com/v1', 'upstream');
  const anthropicUpstream = parseUrl(options.anthropicUpstream ?? 'https://api.anthropic.com', 'anthropicUpstream');
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) {
    throw new InvalidMeterOptionsError('maxBodyBytes', 'expected a whole number of bytes > 0');
  }
  const upstreamTimeoutMs = options.upstreamTimeoutMs ?? 600_000;
  if (!Number.isSafeInteger(upstreamTimeoutMs) || upstreamTimeoutMs <= 0) {
    throw new InvalidMeterOptionsError('upstreamTimeoutMs', 'expected a whole number of milliseconds > 0');
  }
  if (options.requestStreamUsage !== undefined && typeof options.requestStreamUsage !== 'boolean') {
    throw new InvalidMeterOptionsError('requestStreamUsage', 'expected true or false');
  }
  if (options.forwardUnmetered !== undefined && typeof options.forwardUnmetered !== 'boolean') {
    throw new InvalidMeterOptionsError('forwardUnmetered', 'expected true or false');
  }
  const backgroundSettleMs = options.backgroundSettleMs ?? 600_000;
  if (!Number.isSafeInteger(backgroundSettleMs) || backgroundSettleMs <= 0) {
    throw new InvalidMeterOptionsError('backgroundSettleMs', 'expected a whole number of milliseconds > 0');
  }
  const upstreamProvider = options.upstreamProvider;
  if (upstreamProvider !== undefined && (typeof upstreamProvider !== 'string' || upstreamProvider.trim() === '')) {
    throw new InvalidMeterOptionsError('upstreamProvider', 'expected a provider name such as "xai"');
  }
  return {
    ...base,
    upstream,
    anthropicUpstream,
    maxBodyBytes,
    upstreamTimeoutMs,
    requestStreamUsage: options.requestStreamUsage ?? true,
    forwardUnmetered: options.forwardUnmetered ?? false,
    backgroundSettleMs,
    upstreamProvider: upstreamProvider?.trim().toLowerCase(),
  };
}

function parseUrl(value: unknown, option: string): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new InvalidMeterOptionsError(option, `${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidMeterOptionsError(option, 'expected an http:// or https:// URL');
  }
  if (url.pathname.endsWith('/')) url.pathname = url.pathname.slice(0, -1);
  return url;
}

/**
 * Hands events to the store off the request path: events finished in the same tick go in one
 * `recordEvents` call after the response is out, so recording never adds latency.
 */
type EventObserver = (event: UsageEvent, details?: { budgetScope?: string }) => void;

export class EventSink {
  private queue: UsageEvent[] = [];
  private readonly details = new WeakMap<UsageEvent, { budgetScope?: string }>();
  private scheduled = false;
  private readonly writes = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly observers: EventObserver[],
    private readonly warnOnce: (code: string, message: string) => void,
  ) {}

  /** Remembers which kind of budget refused a rejected call, for the metrics that observe it later. */
  annotate(event: UsageEvent, details: { budgetScope?: string }): void {
    this.details.set(event, details);
  }

  record(event: UsageEvent, details?: { budgetScope?: string }): void {
    if (details) this.details.set(event, details);
    this.queue.push(event);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Resolves when every event recorded so far has been written (or its write has failed). */
  async flush(): Promise<void> {
    this.drain();
    while (this.writes.size > 0) await Promise.all([...this.writes]);
  }

  private write(batch: UsageEvent[]): void | Promise<void> {
    try {
      return this.store.recordEvents(batch);
    } catch (error) {
      this.writeFailed(batch, error);
      return undefined;
    }
  }

  private writeFailed(batch: UsageEvent[], error: unknown): void {
    this.warnOnce(
      'STORE_WRITE_FAILED',
      `the ${this.store.name} store could not record ${batch.length} usage event(s): ${describeError(error)}. Wrap the store with withFailurePolicy() to buffer and retry.`,
    );
  }

  private drain(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    // A synchronous store (memory, SQLite) has recorded the batch when the call returns: no promise to keep.
    const written = this.write(batch);
    if (isPromiseLike(written)) {
      const write: Promise<void> = Promise.resolve(written)
        .catch((error: unknown) => this.writeFailed(batch, error))
        .finally(() => this.writes.delete(write));
      this.writes.add(write);
    }
    for (const event of batch) {
      for (const observer of this.observers) {
        try {
          observer(event, this.details.get(event));
        } catch (error) {
          this.warnOnce('EVENT_OBSERVER_FAILED', `an onEvent/metrics observer threw: ${describeError(error)}.`);
        }
      }
    }
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<void> {
  return typeof (value as PromiseLike<void> | undefined)?.then === 'function';
}

export function describeError(error: unknown): string {
  if (error instanceof TokenmeterError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
