/**
 * Every public type of @tokenmeter/core. Money amounts in results are `Money` (exact); anything that crosses
 * a process boundary (JSON, headers, stores) carries them as decimal strings.
 */
import type { Money } from './money';
import type { Rational } from './rational';

// ───────────────────────────── Usage ─────────────────────────────

/**
 * The API shape a usage object came from. OpenAI-compatible providers (Azure, DeepSeek, xAI, Mistral, Groq,
 * Together, Fireworks, OpenRouter) share `openai-chat`; what their fields mean is the dialect's business
 * (`usageDialect(format, provider)`). Bedrock InvokeModel with Claude answers in the `anthropic` shape.
 */
export type UsageFormat =
  | 'openai-chat'
  | 'openai-responses'
  | 'openai-embeddings'
  | 'anthropic'
  | 'gemini'
  | 'bedrock-converse'
  | 'bedrock-invoke'
  | 'cohere';

/** What the normaliser knows beyond the payload itself. */
export interface NormalizeUsageOptions {
  /** The API shape; detected from the payload when absent. */
  format?: UsageFormat;
  /**
   * The provider that answered (a catalog provider: `openai`, `xai`, `deepseek`, …), when known from the
   * resolved model or the upstream. It picks the dialect: xAI reports reasoning beside `completion_tokens`.
   */
  provider?: string;
}

/**
 * Token counts in disjoint billing buckets: every token billed lands in exactly one bucket, so the cost is
 * the sum of bucket × price with nothing counted twice or dropped.
 */
export interface TokenBuckets {
  /** Input tokens billed at the plain input price: excludes cache reads and cache writes. */
  inputTokens: number;
  /** Input tokens read from the provider's prompt cache. */
  cachedInputTokens: number;
  /** Input tokens written to the cache with the default (5-minute) lifetime. */
  cacheWrite5mTokens: number;
  /** Input tokens written to the cache with the 1-hour lifetime. */
  cacheWrite1hTokens: number;
  /** Output tokens the caller sees: excludes reasoning tokens. */
  outputTokens: number;
  /** Hidden reasoning ("thinking") tokens, billed as output unless the price says otherwise. */
  reasoningTokens: number;
  /** Audio input tokens not read from cache (not part of `inputTokens`). Absent: none. */
  audioInputTokens?: number;
  /** Audio input tokens read from cache (not part of `cachedInputTokens`). Absent: none. */
  cachedAudioInputTokens?: number;
  /** Audio output tokens (not part of `outputTokens`). Absent: none. */
  audioOutputTokens?: number;
}

/** A provider's usage report (or our count) normalized into billing buckets. */
export interface NormalizedUsage extends TokenBuckets {
  /** The model the provider says answered (it may differ from the one requested), when it says. */
  model?: string;
  format?: UsageFormat;
  /** True when any bucket was counted or guessed by tokenmeter instead of reported by the provider. */
  estimated: boolean;
  /** The provider's service tier, when it reports one (`"batch"`, `"flex"`, `"priority"`, `"standard"`). */
  serviceTier?: string;
  /** The provider whose dialect was read, when it was known or the response gave it away (`xai`). */
  provider?: string;
  /**
   * Plain sentences about what the report did not settle: a reported total the buckets do not add up to,
   * or charges that are not tokens (web searches). Present only when there is something to say; any note
   * that leaves the cost incomplete also sets `estimated`.
   */
  notes?: string[];
}

// ───────────────────────────── Catalog ─────────────────────────────

/** Prices in USD per million tokens, as decimal strings (never floats). */
export interface TokenPrices {
  input: string;
  /** Cache read. Absent: the provider has no prompt caching for this model (cache reads bill as input). */
  cachedInput?: string;
  /** Cache write with the default 5-minute lifetime. Absent: writes bill as input. */
  cacheWrite5m?: string;
  /** Cache write with a 1-hour lifetime. Absent: falls back to `cacheWrite5m`, then input. */
  cacheWrite1h?: string;
  output: string;
  /** Reasoning tokens. Absent: billed at the output price. */
  reasoning?: string;
  /** Audio input tokens. Absent: audio input bills at `input`. */
  inputAudio?: string;
  /** Audio input tokens read from cache. Absent: falls back to `cachedInput`. */
  cachedInputAudio?: string;
  /** Audio output tokens. Absent: audio output bills at `output`. */
  outputAudio?: string;
}

/**
 * A long-context tier: when the request's counted tokens pass the threshold, these prices replace the base
 * prices for the whole request (how every provider that has tiers bills them).
 */
export interface LongContextTier {
  /** Token count at which the tier starts. */
  threshold: number;
  /** Whether the tier applies above (`>`) or from (`>=`) the threshold: peers disagree, so every entry says. */
  comparison: '>' | '>=';
  /** Which tokens count toward the threshold: all input (uncached + cache read + cache write), or uncached only. */
  counts: 'all-input' | 'uncached-input';
  prices: Partial<TokenPrices>;
}

export type ServiceTier = 'standard' | 'batch' | 'flex' | 'priority';

/**
 * Where a price set's numbers come from: a feed and the key it was read under, or a pricing page a person
 * checked on a date. `rules` names the curated rules applied on top (docs/catalog.md explains each).
 */
export interface PriceSource {
  feed: 'litellm' | 'genai-prices' | 'curated';
  /** The feed's key (`gpt-4o-2024-08-06`, genai-prices `openai/gpt-4o`). */
  key?: string;
  /** The page checked, for curated prices. */
  url?: string;
  /** ISO date the page was checked, for curated prices. */
  checkedAt?: string;
  rules?: string[];
}

/** The prices in force from one date on. */
export interface PriceSet {
  /** ISO date (YYYY-MM-DD) from which these prices apply; the earliest set applies to all earlier dates too. */
  effectiveFrom: string;
  standard: TokenPrices;
  batch?: Partial<TokenPrices>;
  flex?: Partial<TokenPrices>;
  priority?: Partial<TokenPrices>;
  tiers?: LongContextTier[];
  /** Provenance of these prices. */
  source?: PriceSource;
}

/** `realtime`: speech-to-speech sessions; `audio`: token-priced transcription and speech models. */
export type ModelMode = 'chat' | 'responses' | 'completion' | 'embedding' | 'realtime' | 'audio';

/** One model in the catalog. */
export interface CatalogEntry {
  /** Canonical id, unique within the catalog: `"gpt-4o"`, `"claude-sonnet-4-5"`. */
  id: string;
  /** Canonical provider: openai, anthropic, google, mistral, deepseek, xai, bedrock, azure, vertex, … */
  provider: string;
  displayName?: string;
  /** Other names that resolve to this entry exactly (dated snapshots, marketing names, platform ids). */
  aliases: string[];
  mode: ModelMode;
  /** Newest last. */
  prices: PriceSet[];
  contextWindow?: number;
  maxOutputTokens?: number;
  /** tiktoken encoding when the provider publishes its tokenizer; absent means counts are estimates. */
  encoding?: TokenEncodingName;
  sourceUrl: string;
  /** ISO date the prices were last checked against the source. */
  checkedAt: string;
  deprecated?: boolean;
}

export interface Catalog {
  /** ISO date the catalog's prices were taken from their sources. */
  generatedAt: string;
  /** What the generator produced and held back (the shipped catalog has it; custom catalogs need not). */
  stats?: CatalogStats;
  entries: CatalogEntry[];
}

/** Coverage and checks of a generated catalog, written by `scripts/generate-catalog.ts`. */
export interface CatalogStats {
  models: number;
  providers: number;
  aliases: number;
  /** Entries per mode (`chat`, `embedding`, `audio`…). */
  modes: Record<string, number>;
  /** Models both feeds price, and how many of those disagreed on input or output. */
  compared: number;
  disagreements: number;
  /** Rows the plausibility checks refused (left out of the catalog). */
  refused: number;
  /** Rows that failed a check but ship because the curation says why, plus curated corrections. */
  curated: number;
  /** Price sets given variant or cache prices by a documented flat rule (batch = 50 % of standard…). */
  derived: number;
}

/** How a model name matched the catalog. */
export type MatchKind =
  | 'exact'
  | 'alias'
  | 'prefix-stripped'
  | 'snapshot'
  | 'platform'
  | 'deployment'
  | 'custom'
  /** `ft:base:org::id` priced as its base model (its fine-tuned inference price when the catalog has one). */
  | 'fine-tune';

export interface ResolvedModel {
  entry: CatalogEntry;
  /** The name as it was asked for. */
  requested: string;
  matchedBy: MatchKind;
}

// ───────────────────────────── Cost ─────────────────────────────

export interface CostOptions {
  /** Default `"standard"`; batch/flex/priority use the entry's variant prices where it has them. */
  tier?: ServiceTier;
  /** Price the usage as of this date (historic prices). Default: today. */
  at?: Date | string;
}

/** Cost of each billing bucket. */
export interface CostBreakdown {
  input: Money;
  cachedInput: Money;
  cacheWrite5m: Money;
  cacheWrite1h: Money;
  output: Money;
  reasoning: Money;
  /** Present only when the usage has audio input tokens. */
  inputAudio?: Money;
  /** Present only when the usage has cached audio input tokens. */
  cachedInputAudio?: Money;
  /** Present only when the usage has audio output tokens. */
  outputAudio?: Money;
}

export interface CostResult {
  /** Canonical model id when priced; the requested name otherwise. */
  model: string;
  provider?: string;
  /** False when the model is unknown: the total is then `undefined`, never a silent zero. */
  priced: boolean;
  currency: 'USD';
  total?: Money;
  breakdown?: CostBreakdown;
  /** The service tier asked for (or reported by the provider). */
  tier: ServiceTier;
  /** The tier whose prices were used: `"standard"` when the model has no prices for the tier asked for. */
  tierApplied: ServiceTier;
  /** The token buckets priced (kept also when the model is unknown). */
  usage: TokenBuckets;
  /** Plain sentences about fallbacks taken (a missing tier, a cache price billed at the input price). */
  notes: string[];
  /** The long-context tier applied, if any. */
  longContextTier?: LongContextTier;
  /** The usage was (partly) estimated, so the cost is too. */
  estimated: boolean;
  /** The date of the price set used. */
  pricesEffectiveFrom?: string;
}

// ───────────────────────────── Tokens ─────────────────────────────

export type TokenEncodingName = 'o200k_base' | 'cl100k_base' | 'p50k_base' | 'r50k_base' | 'o200k_harmony';

export interface TokenCount {
  tokens: number;
  /** The tiktoken encoding used, or `"estimate"` for models without a public tokenizer. */
  encoding: TokenEncodingName | 'estimate';
  estimated: boolean;
}

/** An OpenAI-style chat message as far as counting needs it. */
export interface ChatMessage {
  role: string;
  content?: string | null | ChatContentPart[];
  name?: string;
  tool_calls?: unknown[];
  tool_call_id?: string;
  [key: string]: unknown;
}

export type ChatContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: 'low' | 'high' | 'auto'; width?: number; height?: number } }
  | { type: string; [key: string]: unknown };

/** An OpenAI function tool definition (`{ type: "function", function: { name, description, parameters } }`). */
export interface ToolDefinition {
  type?: string;
  function: {
    name: string;
    description?: string;
    parameters?: Record<string, unknown>;
  };
}

// ───────────────────────────── Planner ─────────────────────────────

/** A count or a token size: a number or a decimal string (`"312.5"`). Fractions are kept exactly. */
export type Quantity = number | string;

/** A share or a rate: a decimal (`0.1`, `"0.1"`) or a percentage string (`"10%"`). */
export type Share = number | string;

/**
 * What a workload sends, however the user knows it. Give exactly one volume: requests (or conversations)
 * per day or per month, users × requests per user (per month), or a token total per month.
 */
export interface WorkloadProfile {
  requestsPerDay?: Quantity;
  requestsPerMonth?: Quantity;
  /** A conversation counts as one request whose tokens are the whole conversation's. */
  conversationsPerDay?: Quantity;
  conversationsPerMonth?: Quantity;
  /** Active users per month; with `requestsPerUser` (requests per user per month). */
  users?: Quantity;
  requestsPerUser?: Quantity;
  /** A monthly token total when that is all that is known; with per-request sizes it becomes requests. */
  tokensPerMonth?: Quantity;
  /** A daily token total (× `daysPerMonth`), as people often know it ("about 2M tokens a day"). */
  tokensPerDay?: Quantity;
  /**
   * With a token total and no per-request sizes: the share of the tokens that is input (`"75%"`). A catalog
   * model or separate input/output prices need it; `splitAssumed` in a comparison says when it was assumed.
   */
  inputShare?: Share;
  inputTokensPerRequest?: Quantity;
  outputTokensPerRequest?: Quantity;
  /** How this workload is billed per token, when projecting a cost. */
  pricing?: PerTokenPricing;
  /** Share of input tokens read from the prompt cache (billed at the cached-input price). */
  cacheHitShare?: Share;
  /** Extra requests from retries, as a share of requests: each retry is resent and billed in full. */
  retryRate?: Share;
  /** Input tokens each request gains per month (growing history, growing context). */
  contextGrowthPerMonth?: Quantity;
  /** Traffic growth per month, compounded. */
  monthlyGrowth?: Share;
  /** Days in a billing month: 30 unless given. */
  daysPerMonth?: number;
  /** Traffic spikes inside each month (set by the spike scenario). */
  spikes?: TrafficSpike[];
}

/** `multiplier` × the usual traffic for `days` days of the month. */
export interface TrafficSpike {
  multiplier: Quantity;
  days: number;
}

/** A pay-per-token option: a catalog model, a blended price, or separate input/output prices (USD per million). */
export type PerTokenPricing =
  | { model: string; name?: string; tier?: ServiceTier }
  | { pricePerMillion: string | number; name?: string }
  | {
      inputPricePerMillion: string | number;
      outputPricePerMillion: string | number;
      /** Absent: cache hits bill at the input price. */
      cachedInputPricePerMillion?: string | number;
      name?: string;
    };

/**
 * One month of traffic. Counts are exact fractions (`Rational`); the input/output split is absent when the
 * workload only gives a token total, and requests are absent when neither requests nor sizes are known.
 */
export interface MonthVolume {
  /** 1 for the first projected month. */
  month: number;
  days: number;
  /** Requests sent, retries included. */
  requests?: Rational;
  requestsPerDay?: Rational;
  /** All input tokens, cache reads included. */
  inputTokens?: Rational;
  /** The part of `inputTokens` read from the cache. */
  cachedInputTokens?: Rational;
  outputTokens?: Rational;
  tokens: Rational;
  tokensPerDay: Rational;
  /** The busiest day: the average day, or the spike day when there is a spike. */
  peakDayTokens: Rational;
  peakDayRequests?: Rational;
  perRequest?: { inputTokens: Rational; cachedInputTokens: Rational; outputTokens: Rational };
}

export interface MonthProjection extends MonthVolume {
  /** Undefined when the pricing is unknown (an unpriced model), never a silent zero. */
  cost?: Money;
  costPerDay?: Money;
}

export interface PricingLabel {
  name: string;
  kind: 'model' | 'blended' | 'split';
  model?: string;
  provider?: string;
}

export interface WorkloadProjection {
  pricing?: PricingLabel;
  priced: boolean;
  /** Month 1 first. */
  months: MonthProjection[];
  tokensPerMonth: Rational;
  tokensPerDay: Rational;
  requestsPerMonth?: Rational;
  costPerMonth?: Money;
  costPerDay?: Money;
  total: { tokens: Rational; cost?: Money };
  /** Plain sentences stating what the numbers assume. */
  assumptions: string[];
}

export interface RateLimits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  requestsPerDay?: number;
  tokensPerDay?: number;
}

/** A flat-rate (subscription) plan. Quotas absent mean unlimited; a quota without an overage price is a hard cap. */
export interface FlatRatePlan {
  name: string;
  monthlyFee: Money;
  includedRequests?: number;
  includedTokens?: number;
  overagePerMillionTokens?: Money;
  overagePerThousandRequests?: Money;
  limits: RateLimits;
  /** Models the plan serves; absent means any. */
  models?: string[];
}

export type PlanLimitName = keyof RateLimits | 'includedTokens' | 'includedRequests';

export interface LimitViolation {
  limit: PlanLimitName;
  allowed: number;
  /** The peak (or the monthly volume, for a hard quota) that breaks the limit. */
  peak: Rational;
  message: string;
}

export interface PlanCost {
  plan: string;
  /** Fee plus overage; for a plan over a hard cap, the cost of what it can carry (and `feasible` is false). */
  cost: Money;
  fee: Money;
  overage: Money;
  feasible: boolean;
  violations: LimitViolation[];
  /** False when the plan lists the models it serves and the workload's model is not one of them. */
  servesModel?: boolean;
  /** Limits that could not be checked because the workload does not say how many requests it sends. */
  unchecked: PlanLimitName[];
}

export interface PricingOption {
  name: string;
  kind: 'per-token' | 'flat-rate';
  costPerMonth?: Money;
  priced: boolean;
  feasible: boolean;
  violations: LimitViolation[];
  /** Plan limits that could not be checked (the workload gives no request count). */
  unchecked?: PlanLimitName[];
  /** The per-token price that produced the cost, or the plan. */
  pricing?: PricingLabel;
  plan?: FlatRatePlan;
}

export interface BreakEvenCrossing {
  tokensPerMonth: Rational;
  requestsPerMonth?: Rational;
  /** The option that is cheaper just above this volume. */
  cheaperAbove: string;
  cheaperBelow: string;
  /** False when the plan's rate limits cannot carry this volume at the peak factor used. */
  withinLimits: boolean;
}

export interface BreakEven {
  between: [string, string];
  /** Volumes where the cheaper option changes, lowest first; empty means the lines never cross. */
  crossings: BreakEvenCrossing[];
  never: boolean;
  /** The lowest crossing, for the common case of one. */
  tokensPerMonth?: Rational;
  requestsPerMonth?: Rational;
  sentence: string;
}

export interface PricingComparison {
  volume: MonthVolume;
  peakFactor: Rational;
  options: PricingOption[];
  /** The cheapest priced option whose limits carry the workload. */
  cheapest?: string;
  breakEven: BreakEven[];
  /** Cost lines behind the comparison, for charts (`costCurve`). */
  lines: CostLine[];
}

/** Monthly cost as a function of monthly token volume, the workload's shape held fixed. */
export type CostLine =
  | { kind: 'per-token'; name: string; usdPerToken: Rational }
  | {
      kind: 'flat-rate';
      name: string;
      plan: FlatRatePlan;
      tokensPerRequest?: Rational;
      /** Largest monthly volume the rate limits and hard caps carry. */
      capacityTokensPerMonth?: Rational;
    };

export interface DailyUsage {
  /** YYYY-MM-DD */
  date: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cost: Money;
}

export type Confidence = 'low' | 'medium' | 'high';

export interface SeriesAnalysis {
  days: number;
  from: string;
  to: string;
  daysPerMonth: number;
  meanDailyCost: Money;
  /** Coefficient of variation of daily cost (standard deviation / mean); undefined for a zero mean. */
  volatility?: number;
  /** Trend of daily cost in USD per day per day (Theil–Sen median slope), when used. */
  trendPerDay?: Money;
  trendApplied: boolean;
  samples: number;
  seed: number;
  nextMonth: {
    p50: Money;
    p95: Money;
    mean: Money;
    tokensP50: Rational;
    tokensP95: Rational;
    requestsP50: Rational;
    requestsP95: Rational;
  };
  /** The simulated months at p50 and p95 (by per-token cost), to re-price or hold against plans. */
  volumeP50: MonthVolume;
  volumeP95: MonthVolume;
  budget?: { amount: Money; probabilityOver: number };
  plans: Array<{
    plan: string;
    p50: PlanCost;
    p95: PlanCost;
    cheaperThanPerTokenAtP50: boolean;
    cheaperThanPerTokenAtP95: boolean;
  }>;
  confidence: Confidence;
  confidenceNote: string;
}

export type Scenario =
  | { kind: 'spike'; multiplier: Quantity; days: number }
  | { kind: 'retry-storm'; extraRequests: Share }
  | { kind: 'context-growth'; tokensPerRequestPerMonth: Quantity; months?: number };

export interface ScenarioEffect {
  scenario: Scenario;
  label: string;
  perToken: Array<{ name: string; base?: Money; scenario?: Money; change?: Money }>;
  plans: Array<{
    name: string;
    base: Money;
    scenario: Money;
    change: Money;
    feasible: boolean;
    violations: LimitViolation[];
  }>;
}

export type Predictability = 'steady' | 'variable' | 'volatile' | 'unknown';

export interface Advice {
  cheapest?: string;
  runnerUp?: string;
  cheapestCost?: Money;
  runnerUpCost?: Money;
  savings?: Money;
  /** The lowest volume where the answer flips, between the cheapest and the runner-up. */
  flipsAt?: { tokensPerMonth: Rational; requestsPerMonth?: Rational; cheaperAbove: string };
  predictability: Predictability;
  volatility?: number;
  sentence: string;
}
