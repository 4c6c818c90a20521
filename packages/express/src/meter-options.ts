import type { PriceCatalog } from '@tokenmeter/core';
import type { Request } from 'express';
import type { Store, UsageEvent } from './types';

/**
 * Options of `meter()`, `meteredProxy()` and `startProxy()`. They are checked once, when the middleware is
 * created: a bad option throws `InvalidMeterOptionsError` (code `INVALID_METER_OPTIONS`) at startup, never
 * on a request.
 */

/** Who made the request, as the app says (never read from a header the app did not configure). */
export interface Identity {
  // `| undefined` so `{ user: req.get('x-user-id') }` type-checks under `exactOptionalPropertyTypes`.
  user?: string | undefined;
  tenant?: string | undefined;
  feature?: string | undefined;
}

export type IdentifyFunction = (req: Request) => Identity | undefined | Promise<Identity | undefined>;

export type BudgetScope = 'user' | 'tenant' | 'feature' | 'route' | 'global';

/**
 * A limit: USD as a decimal string or number (`'5'`, `5`, `{ usd: '0.50' }`), or a token count
 * (`{ tokens: 1_000_000 }`).
 */
export type BudgetLimitOption = string | number | { usd: string | number } | { tokens: number };

/** A calendar period (counted in `timeZone`) or a rolling window of `rollingMs` milliseconds. */
export type BudgetWindowOption = 'day' | 'week' | 'month' | { rollingMs: number };

export interface BudgetRuleOptions {
  /** Name used in budget ids and headers. Default: `<scope>:<unit>:<window>`. */
  id?: string;
  /** Whose spend is counted together. A rule whose subject is unknown for a request (no user) does not apply to it. */
  scope: BudgetScope;
  limit: BudgetLimitOption;
  /** Default `'day'`. */
  window?: BudgetWindowOption;
  /** IANA time zone of calendar windows. Default `'UTC'`. */
  timeZone?: string;
  /** Only warn (callback and `x-tokenmeter-budget-warning` header), never refuse. Default `false`. */
  soft?: boolean;
}

/** What `onBudgetWarning` receives when a soft budget is exceeded. */
export interface BudgetWarning {
  budgetId: string;
  scope: BudgetScope;
  subject: string;
  unit: 'usd' | 'tokens';
  /** In the unit: USD as a decimal string, tokens as an integer string. */
  limit: string;
  used: string;
}

/**
 * What USD budgets do with a call to a model the catalog has no price for (its cost is unknown, never $0):
 * - `'refuse'` (default): a hard USD budget that applies to the call refuses it before it reaches the
 *   upstream (HTTP 403, code `unpriced_model`); calls under no USD budget are served and recorded unpriced.
 * - `'allow'`: served; USD budgets count it as $0, token budgets count its tokens; the event says
 *   `priced: false, unpricedPolicy: 'allow'`.
 * - `{ priceAs: 'gpt-4o' }`: reserved and settled at that catalog model's prices; the event carries that cost
 *   and `pricedAs: '<id>'`.
 */
export type UnpricedPolicyOption = 'refuse' | 'allow' | { priceAs: string };

export interface MeterLogger {
  warn(message: string): void;
}

/** Anything that wants every usage event as it is recorded (the metrics of `createMetrics()` qualify). */
export interface UsageEventObserver {
  /** `details.budgetScope` names the kind of budget that refused a rejected call. */
  observe(event: UsageEvent, details?: { budgetScope?: string }): void;
  /**
   * A request the proxy forwarded or refused without metering it (an endpoint it cannot read usage from).
   * `endpoint` is low-cardinality, e.g. `POST /images`. Optional.
   */
  observeUnmetered?(endpoint: string, outcome: 'forwarded' | 'refused'): void;
}

export interface MeterOptions {
  /** Where events and budget counters live. Default: `createMemoryStore()`. */
  store?: Store;
  /** Prices. Default: `PriceCatalog.default()`; use `withEntries()` for custom models. */
  catalog?: PriceCatalog;
  /** Attribution of a request to a user / tenant / feature. Default: none (events carry no user). */
  identify?: IdentifyFunction;
  /** Budgets: rule objects or shorthands like `'5/day'`, `'user:0.50/day'`, `'tenant:100000tokens/month'`. Default: none. */
  budgets?: BudgetRuleOptions | string | Array<BudgetRuleOptions | string>;
  /** What USD budgets do with calls to a model that has no price (see `UnpricedPolicyOption`). Default `'refuse'`. */
  unpricedPolicy?: UnpricedPolicyOption;
  /** Called when a soft budget is exceeded. Default: a log line via `logger` (once per budget and window). */
  onBudgetWarning?: (warning: BudgetWarning) => void;
  /**
   * Output tokens reserved for a call that names no `max_tokens` / `max_output_tokens` / `max_completion_tokens`.
   * Default: the model's maximum output from the catalog, else its context window (an upper bound: budgets
   * reserve the most a call can cost; a value below what the model then produces is reported as an over-run).
   */
  maxOutputTokens?: number;
  /** Add `x-tokenmeter-*` cost, token and budget headers to responses. Default `true`. */
  headers?: boolean;
  /** Called with every usage event after it is handed to the store. Default: none. */
  onEvent?: (event: UsageEvent) => void;
  /** Metrics to feed (e.g. `createMetrics()`); anything with `observe(event)`. Default: none. */
  metrics?: UsageEventObserver;
  /** Where one-time warnings go (each problem is reported once, with a code and a help link). Default `console`. */
  logger?: MeterLogger;
  /** Id of an incoming request for its events. Default: `x-request-id` is NOT trusted; a random UUID. */
  requestId?: (req: Request) => string;
}

export interface MeteredProxyOptions extends MeterOptions {
  /** OpenAI-compatible base URL, `/v1` included. Default `'https://api.openai.com/v1'`. */
  upstream?: string;
  /** Anthropic base URL (as the Anthropic SDK's `baseURL`); `/v1/messages` is appended. Default `'https://api.anthropic.com'`. */
  anthropicUpstream?: string;
  /** Largest request body accepted, in bytes; larger bodies get 413 and are not forwarded. Default 10 MiB. */
  maxBodyBytes?: number;
  /** Upstream inactivity timeout in ms (no byte for that long): 504 before the response, a stream error after. Default 600000. */
  upstreamTimeoutMs?: number;
  /**
   * Ask the upstream for usage on streamed Chat Completions (`stream_options.include_usage`) and hide the extra
   * chunk from clients that did not ask for it. Default `true`; turn off for upstreams that reject the option.
   */
  requestStreamUsage?: boolean;
  /**
   * Forward endpoints the proxy cannot meter (batches, file uploads, images, audio, fine-tuning, realtime, vector
   * stores, unknown paths) even when a budget applies to the request. Default `false`: such requests are refused
   * with 403 `unmetered_endpoint` when a budget applies, and forwarded (logged, counted as unmetered) when none does.
   */
  forwardUnmetered?: boolean;
  /**
   * How long the budget reservation of a `background: true` Responses call waits for its result to be retrieved
   * (`GET /responses/{id}` or its stream) before it is settled at the reserved maximum. Default 600000 (10 min).
   */
  backgroundSettleMs?: number;
  /**
   * The provider behind `upstream` (`'xai'`, `'deepseek'`, …) when its host does not say (a gateway or a
   * self-hosted relay): its usage fields are read in that provider's dialect. Default: the provider of the
   * upstream's host (`api.x.ai` → xai), else of the requested model in the catalog.
   */
  upstreamProvider?: string;
}
