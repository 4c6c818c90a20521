import { InvalidPriceFileError } from './invalid-price-file-error';
import { orderPriceFields, perTokenToPerMillion, priceProblem } from './price-values';
import { LITELLM_SOURCE_URL, PROVIDER_PRICING_URLS, providerFromLiteLLM } from './provider-names';
import type { CatalogEntry, LongContextTier, ModelMode, PriceSet, TokenPrices } from './types';

export interface ImportOptions {
  /** ISO date the feed was taken (`checkedAt` of every entry). Default: today (UTC). */
  checkedAt?: string;
  /** ISO date the prices apply from when the feed does not say. Default `1970-01-01` (applies to every date). */
  effectiveFrom?: string;
}

/** The date every set applies from when a feed has no history: the earliest set covers all earlier dates. */
export const UNKNOWN_EFFECTIVE_FROM = '1970-01-01';

const MODES: Record<string, ModelMode> = {
  chat: 'chat',
  responses: 'responses',
  completion: 'completion',
  embedding: 'embedding',
  realtime: 'realtime',
  audio_transcription: 'audio',
  audio_speech: 'audio',
};

// Base keys for each bucket, longest first so `…_above_1hr` is not read as `cache_creation_input_token_cost`.
const BUCKET_KEYS: Array<[string, keyof TokenPrices]> = [
  ['cache_creation_input_token_cost_above_1hr', 'cacheWrite1h'],
  ['cache_creation_input_token_cost', 'cacheWrite5m'],
  ['cache_read_input_token_cost', 'cachedInput'],
  ['output_cost_per_reasoning_token', 'reasoning'],
  ['input_cost_per_token', 'input'],
  ['output_cost_per_token', 'output'],
  ['input_cost_per_audio_token', 'inputAudio'],
  ['cache_read_input_audio_token_cost', 'cachedInputAudio'],
  ['output_cost_per_audio_token', 'outputAudio'],
];
const VARIANTS = { batches: 'batch', flex: 'flex', priority: 'priority' } as const;
type Variant = (typeof VARIANTS)[keyof typeof VARIANTS];

const PRICE_KEY =
  /^(cache_creation_input_token_cost_above_1hr|cache_creation_input_token_cost|cache_read_input_token_cost|output_cost_per_reasoning_token|input_cost_per_token|output_cost_per_token|input_cost_per_audio_token|cache_read_input_audio_token_cost|output_cost_per_audio_token)(?:_above_(\d+)k_tokens)?(?:_(batches|flex|priority))?$/;

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/**
 * Imports LiteLLM's `model_prices_and_context_window.json`. Conditions live in key names: `_above_200k_tokens`
 * (a long-context tier; LiteLLM compares prompt tokens, cached included, with `>`), `_batches`, `_flex`,
 * `_priority` (service-tier variants), `_above_1hr` (1-hour cache writes); `…_audio_token…` keys are the audio
 * prices. Entries without a per-token input price (images, per-second audio, rerank…) and other modes are
 * skipped. Every set names its feed key (`source`), so a price in the catalog can be traced to its row.
 * Tiered variant prices (`…_above_272k_tokens_priority`) are not kept: a variant has no tiers of its own.
 */
export function importLiteLLM(json: unknown, options: ImportOptions = {}): CatalogEntry[] {
  if (!isRecord(json)) throw new InvalidPriceFileError('a LiteLLM price file is a JSON object keyed by model name');
  const checkedAt = options.checkedAt ?? today();
  const effectiveFrom = options.effectiveFrom ?? UNKNOWN_EFFECTIVE_FROM;
  const entries: CatalogEntry[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (key === 'sample_spec' || !isRecord(value)) continue;
    const mode = MODES[typeof value.mode === 'string' ? value.mode : 'chat'];
    if (!mode || value.input_cost_per_token === undefined) continue;
    const set = priceSetFromLiteLLM(key, value, effectiveFrom);
    if (!set) continue;
    const provider = providerFromLiteLLM(
      typeof value.litellm_provider === 'string' ? value.litellm_provider : 'unknown',
    );
    const entry: CatalogEntry = {
      id: key,
      provider,
      aliases: [],
      mode,
      prices: [set],
      sourceUrl:
        typeof value.source === 'string' && /^https?:\/\//.test(value.source)
          ? value.source
          : (PROVIDER_PRICING_URLS[provider] ?? LITELLM_SOURCE_URL),
      checkedAt,
    };
    const contextWindow = positiveInteger(value.max_input_tokens);
    const maxOutput = positiveInteger(value.max_output_tokens);
    if (contextWindow) entry.contextWindow = contextWindow;
    if (maxOutput) entry.maxOutputTokens = maxOutput;
    if (typeof value.deprecation_date === 'string' && value.deprecation_date <= checkedAt) entry.deprecated = true;
    entries.push(entry);
  }
  return entries;
}

function priceSetFromLiteLLM(key: string, value: Record<string, unknown>, effectiveFrom: string): PriceSet | undefined {
  const standard: Partial<TokenPrices> = {};
  const variants: Partial<Record<Variant, Partial<TokenPrices>>> = {};
  const tiers = new Map<number, Partial<TokenPrices>>();
  for (const [field, raw] of Object.entries(value)) {
    const match = PRICE_KEY.exec(field);
    if (!match) continue;
    const [, base = '', thousands, variantKey] = match;
    const problem = priceProblem(raw);
    if (problem) throw new InvalidPriceFileError(problem, { path: `${JSON.stringify(key)}.${field}` });
    const bucket = BUCKET_KEYS.find(([name]) => name === base)?.[1];
    if (!bucket) continue;
    const price = perTokenToPerMillion(raw as number | string);
    if (thousands !== undefined) {
      if (variantKey !== undefined) continue;
      const threshold = Number(thousands) * 1000;
      const tier = tiers.get(threshold) ?? {};
      tier[bucket] = price;
      tiers.set(threshold, tier);
    } else if (variantKey !== undefined) {
      const variant = VARIANTS[variantKey as keyof typeof VARIANTS];
      variants[variant] = { ...variants[variant], [bucket]: price };
    } else {
      standard[bucket] = price;
    }
  }
  if (standard.input === undefined) return undefined;
  // DeepSeek's feed spells the cache-hit price this way.
  if (standard.cachedInput === undefined && value.input_cost_per_token_cache_hit !== undefined) {
    const problem = priceProblem(value.input_cost_per_token_cache_hit);
    if (!problem) standard.cachedInput = perTokenToPerMillion(value.input_cost_per_token_cache_hit as number);
  }
  // LiteLLM writes 0 for "no separate cache-write charge"; a zero price would make those tokens free.
  if (standard.cacheWrite5m === '0' && standard.input !== '0') delete standard.cacheWrite5m;
  if (standard.cacheWrite1h === '0' && standard.input !== '0') delete standard.cacheWrite1h;
  const set: PriceSet = {
    effectiveFrom,
    standard: orderPriceFields({ ...standard, input: standard.input, output: standard.output ?? '0' }),
    source: { feed: 'litellm', key },
  };
  for (const variant of ['batch', 'flex', 'priority'] as const) {
    const prices = variants[variant];
    if (prices && Object.keys(prices).length > 0) set[variant] = orderPriceFields(prices);
  }
  if (tiers.size > 0) {
    set.tiers = [...tiers.entries()]
      .sort(([a], [b]) => a - b)
      .map(
        ([threshold, prices]): LongContextTier => ({
          threshold,
          comparison: '>',
          counts: 'all-input',
          prices: orderPriceFields(prices),
        }),
      );
  }
  return set;
}
