/**
 * Every public type of @tokenmeter/core. Money amounts in results are `Money` (exact); anything that crosses
 * a process boundary (JSON, headers, stores) carries them as decimal strings.
 */
import type { Money } from './money';

// ───────────────────────────── Usage ─────────────────────────────

/** The API shape a usage object came from. */
export type UsageFormat = 'openai-chat' | 'openai-responses' | 'anthropic' | 'gemini';

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

/** The prices in force from one date on. */
export interface PriceSet {
  /** ISO date (YYYY-MM-DD) from which these prices apply; the earliest set applies to all earlier dates too. */
  effectiveFrom: string;
  standard: TokenPrices;
  batch?: Partial<TokenPrices>;
  flex?: Partial<TokenPrices>;
  priority?: Partial<TokenPrices>;
  tiers?: LongContextTier[];
}

export type ModelMode = 'chat' | 'responses' | 'completion' | 'embedding';

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
  entries: CatalogEntry[];
}

/** How a model name matched the catalog. */
export type MatchKind = 'exact' | 'alias' | 'prefix-stripped' | 'snapshot' | 'platform' | 'deployment' | 'custom';

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
  tier: ServiceTier;
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
