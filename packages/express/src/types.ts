/**
 * Every public type of @tokenmeter/express. Options document their defaults here; they are parsed once
 * into an internal configuration when the middleware is created.
 */

// ───────────────────────────── Usage events ─────────────────────────────

/**
 * One metered AI call. No prompt, completion or API key is ever part of an event: only who, what model,
 * how many tokens in which bucket, what it cost and how long it took.
 */
export interface UsageEvent {
  /** Unique id; stores ignore a second event with the same id (at-least-once delivery, no double counting). */
  id: string;
  /** Milliseconds since the epoch when the call finished. */
  timestamp: number;
  /** Id of the incoming HTTP request that made the call (several calls may share one). */
  requestId: string;
  /** Express's matched route pattern (`/chat/:id`), never the raw URL. */
  route: string;
  user?: string;
  tenant?: string;
  feature?: string;
  /** Canonical provider (`openai`, `anthropic`, …) or `unknown`. */
  provider: string;
  /** Canonical model id when the catalog knows it, otherwise the name as requested. */
  model: string;
  /** `chat`, `responses`, `embeddings`, `completions`, `messages`. */
  operation: string;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  /** Exact cost in USD as a decimal string; absent when `priced` is false. */
  cost?: string;
  priced: boolean;
  /**
   * The model has no price and `unpricedPolicy: { priceAs }` priced it: `cost` is at this catalog id's prices
   * (an assumption you configured, not the provider's bill).
   */
  pricedAs?: string;
  /**
   * Set when the model had no price and a USD budget applied: what `unpricedPolicy` did with the call
   * (`refuse`: refused before the upstream, `rejected` is set; `allow`: served, `priced: false`;
   * `price_as`: served and priced as `pricedAs`).
   */
  unpricedPolicy?: 'refuse' | 'allow' | 'price_as';
  /** Some tokens were counted or guessed by tokenmeter rather than reported by the provider. */
  estimated: boolean;
  /** HTTP status the client received. 429 with `rejected` for budget rejections, 403 for `unpriced_model`. */
  status: number;
  /** The call was refused by a budget before reaching the upstream. */
  rejected?: boolean;
  /**
   * The provider billed more than the budget reservation held for this call (a usage the reservation could
   * not bound, e.g. a project-level priority tier or a prompt denser than the bound's ratio): budgets may
   * overspend by the difference.
   */
  reservationExceeded?: boolean;
  durationMs: number;
  streamed: boolean;
  /** Short machine-readable reason when the call did not complete: `stream_cut`, `upstream_error`, `client_abort`, `timeout`, `not_retrieved` (a background response whose result was never fetched through the proxy: booked at its maximum). */
  error?: string;
}

// ───────────────────────────── Budgets ─────────────────────────────

/** The period a budget is counted over. */
export type BudgetWindow =
  | { kind: 'calendar'; period: 'day' | 'week' | 'month' /** IANA time zone. Default `UTC`. */; timeZone: string }
  | { kind: 'rolling' /** Window length in milliseconds. */; durationMs: number };

/**
 * One budget counter to reserve against. Amounts are integers in the budget's unit: nano-dollars
 * (10^-9 USD, costs rounded up) for USD budgets, tokens for token budgets. Integers keep Redis' Lua
 * arithmetic exact (below 2^53: nine million dollars of budget).
 */
export interface BudgetReservationRequest {
  /** Stable id of the rule and its subject, e.g. `user:alice:usd:day`. */
  budgetId: string;
  window: BudgetWindow;
  limit: number;
  amount: number;
}

export type ReserveResult =
  | {
      ok: true;
      reservationId: string;
      /** Remaining amount per requested budget after this reservation, in request order. */
      remaining: number[];
      /**
       * Set by the fail-open policy when the store could not be reached: the call is allowed, but nothing
       * holds budget for it (settle and release are no-ops).
       */
      unbacked?: boolean;
    }
  | {
      ok: false;
      /** The first budget that could not hold the amount. */
      budgetId: string;
      limit: number;
      /** Spent plus reserved in the current window. */
      used: number;
      /** When enough of the budget frees up (window reset or rolling expiry), in ms from now. */
      retryAfterMs: number;
    };

// ───────────────────────────── Queries ─────────────────────────────

export type UsageGroupBy = 'model' | 'provider' | 'user' | 'tenant' | 'feature' | 'route' | 'day' | 'hour';

export interface UsageQuery {
  /** Inclusive start, ms since the epoch. Default: the beginning of time. */
  from?: number;
  /** Exclusive end, ms since the epoch. Default: now. */
  to?: number;
  groupBy?: UsageGroupBy;
  /** Time zone for `day` / `hour` groups. Default `UTC`. */
  timeZone?: string;
  filter?: { user?: string; tenant?: string; model?: string; route?: string };
}

export interface UsageTotals {
  /** Metered AI calls, rejected ones included. */
  requests: number;
  /** Uncached input tokens. */
  inputTokens: number;
  cachedInputTokens: number;
  /** All cache writes (5-minute and 1-hour). */
  cacheWriteTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  /** Exact USD of priced calls, decimal string. */
  cost: string;
  /** Calls whose model had no price: their tokens are counted, their cost is not in `cost`. */
  unpricedRequests: number;
  estimatedRequests: number;
  rejectedRequests: number;
}

export interface UsageGroup extends UsageTotals {
  key: string;
}

export interface UsageReport {
  totals: UsageTotals;
  groups: UsageGroup[];
  /**
   * Events whose model, user, tenant, feature or route was stored as `(other)` because that day already had
   * the store's maximum of distinct values for it (Redis `maxDistinctValuesPerDay`), per dimension, in the
   * queried buckets (whatever the filter). Absent when nothing was folded.
   */
  folded?: Partial<Record<'model' | 'user' | 'tenant' | 'feature' | 'route', number>>;
}

/** One day of the series the planner reads (`tokenmeter compare --series`). */
export interface DailyUsage {
  /** Local date `YYYY-MM-DD` in the query's time zone. */
  date: string;
  requests: number;
  /** Every input token: uncached, cache read and cache write. */
  inputTokens: number;
  /** Every output token: visible and reasoning. */
  outputTokens: number;
  /** Exact USD, decimal string. */
  cost: string;
}

// ───────────────────────────── Store ─────────────────────────────

/**
 * Where events and budget counters live. Methods may answer synchronously or with a promise. A store must
 * make `reserve` atomic across all the budgets of one call (all reserved, or none), and `recordEvents`
 * idempotent by event id.
 */
export interface Store {
  /** Short name for logs and metrics: `memory`, `sqlite`, `redis`. */
  readonly name: string;
  recordEvents(events: UsageEvent[]): void | Promise<void>;
  reserve(requests: BudgetReservationRequest[], now: number): ReserveResult | Promise<ReserveResult>;
  /** Replaces each reserved amount with the actual one (same order as reserved). */
  settle(reservationId: string, actualAmounts: number[], now: number): void | Promise<void>;
  /** Gives the whole reservation back (the call never happened). */
  release(reservationId: string, now: number): void | Promise<void>;
  /** Used amount (spent + reserved) of a budget in its current window. */
  budgetUsage(budgetId: string, window: BudgetWindow, now: number): number | Promise<number>;
  query(query: UsageQuery): UsageReport | Promise<UsageReport>;
  dailySeries(query: Omit<UsageQuery, 'groupBy'>): DailyUsage[] | Promise<DailyUsage[]>;
  /**
   * Writes buffered events now. Once it has resolved, every event recorded before the call is durable
   * (SQLite: committed; Redis: applied). Stores that write synchronously may omit it.
   */
  flush?(): void | Promise<void>;
  /** Flushes buffered writes and releases connections. */
  close(): void | Promise<void>;
  /**
   * One small write that proves the store takes writes again (the failure policy's circuit-breaker probe).
   * Stores without it are probed by letting a single budget operation through.
   */
  probe?(): void | Promise<void>;
  /**
   * Checks at startup what waiting cannot fix (credentials, database, server features): rejects with
   * `StoreConfigurationError` for those and `StoreUnavailableError` when the store cannot be reached.
   */
  connect?(): Promise<void>;
}
