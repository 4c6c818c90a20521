import { InvalidUsageError } from './invalid-usage-error';
import { costOfTokens, divideRoundHalfEven, Money, parsePricePerMillion } from './money';
import { PriceCatalog } from './price-catalog';
import type {
  CatalogEntry,
  CostBreakdown,
  CostOptions,
  CostResult,
  LongContextTier,
  PriceSet,
  ResolvedModel,
  ServiceTier,
  TokenBuckets,
  TokenPrices,
} from './types';
import { MAX_TOKEN_COUNT } from './usage-normalize';

/** What `computeCost` needs from a catalog: any object with these two methods will do. */
export interface CostCatalog {
  tryResolve(model: string): ResolvedModel | undefined;
  priceSetAt(entry: CatalogEntry, at?: Date | string): PriceSet;
}

export type ComputeCostOptions = CostOptions & { catalog?: CostCatalog };

const SERVICE_TIERS: readonly ServiceTier[] = ['standard', 'batch', 'flex', 'priority'];
/** The token buckets of a usage, in the order reports and events list them. */
export const TOKEN_BUCKETS = [
  'inputTokens',
  'cachedInputTokens',
  'cacheWrite5mTokens',
  'cacheWrite1hTokens',
  'outputTokens',
  'reasoningTokens',
] as const;
/** Modality buckets: optional, absent when a usage has no such tokens (so text-only usage keeps six buckets). */
export const MODALITY_TOKEN_BUCKETS = ['audioInputTokens', 'cachedAudioInputTokens', 'audioOutputTokens'] as const;
const PRICE_KEYS = [
  'input',
  'cachedInput',
  'cacheWrite5m',
  'cacheWrite1h',
  'output',
  'reasoning',
  'inputAudio',
  'cachedInputAudio',
  'outputAudio',
] as const;
type PriceKey = (typeof PRICE_KEYS)[number];
type PriceMap = Partial<Record<PriceKey, Money>>;

/**
 * The exact cost of a usage for a model.
 *
 * Every bucket is priced on its own (cache reads and writes, reasoning), the long-context tier the entry
 * defines replaces the base prices for the whole request when the request passes its threshold, and a
 * service tier's variant prices replace the standard ones where the entry has them. An unknown model is
 * `priced: false` with `total: undefined`: never a silent zero, never a throw.
 */
export function computeCost(
  usage: TokenBuckets & { estimated?: boolean; serviceTier?: string; notes?: readonly string[] },
  model: string | ResolvedModel,
  options: ComputeCostOptions = {},
): CostResult {
  const buckets = validateBuckets(usage);
  const requestedTier = chooseTier(options.tier, usage.serviceTier);
  const estimated = usage.estimated === true;
  // What the usage report left open (a gap against its total, per-request charges) is said with the cost.
  const usageNotes = Array.isArray(usage.notes) ? usage.notes.filter((note) => typeof note === 'string') : [];
  const catalog = options.catalog ?? PriceCatalog.default();
  const resolved = typeof model === 'string' ? catalog.tryResolve(model) : model;
  if (resolved === undefined) {
    return {
      model: String(model),
      priced: false,
      currency: 'USD',
      total: undefined,
      tier: requestedTier,
      tierApplied: requestedTier,
      usage: buckets,
      notes: [...usageNotes, `Unknown model ${JSON.stringify(String(model))}: no price, so no cost (not $0).`],
      estimated,
    };
  }

  const entry = resolved.entry;
  const priceSet = catalog.priceSetAt(entry, options.at);
  const notes: string[] = [...usageNotes];
  const standard = parsePrices(priceSet.standard);

  const longContext = selectLongContextTier(priceSet.tiers, buckets);
  const variantSource = requestedTier === 'standard' ? undefined : priceSet[requestedTier];
  const variant = variantSource === undefined ? NO_PRICES : parsePrices(variantSource);
  const hasVariant = variant !== NO_PRICES && PRICE_KEYS.some((key) => variant[key] !== undefined);
  const tierApplied: ServiceTier = hasVariant ? requestedTier : 'standard';
  if (requestedTier !== 'standard' && !hasVariant) {
    notes.push(`${entry.id} has no ${requestedTier} prices in the catalog: priced at standard prices.`);
  }

  // The cached standard map is shared: copy it only when a variant or a tier is laid over it.
  const prices: PriceMap = hasVariant || longContext !== undefined ? { ...standard, ...variant } : standard;
  if (longContext !== undefined) {
    const tierPrices = parsePrices(longContext.prices);
    for (const key of PRICE_KEYS) {
      const tierPrice = tierPrices[key];
      if (tierPrice === undefined) continue;
      const base = standard[key];
      const discounted = variant[key];
      // Providers apply a batch/flex/priority adjustment to the long-context prices too; the catalog
      // stores it once, so carry the variant's ratio over to the tier price (exact up to 10^-18 USD/M).
      prices[key] =
        discounted !== undefined && base !== undefined && !base.isZero()
          ? Money.fromAtto(divideRoundHalfEven(tierPrice.atto * discounted.atto, base.atto))
          : tierPrice;
    }
  }

  const input = required(prices.input, entry, 'input');
  const output = required(prices.output, entry, 'output');
  const cachedInput = prices.cachedInput ?? input;
  const cacheWrite5m = prices.cacheWrite5m ?? input;
  const cacheWrite1h = prices.cacheWrite1h ?? prices.cacheWrite5m ?? input;
  const reasoning = prices.reasoning ?? output;
  if (prices.cachedInput === undefined && buckets.cachedInputTokens > 0) {
    notes.push(`${entry.id} has no cache-read price: cache reads billed at the input price.`);
  }
  if (prices.cacheWrite5m === undefined && buckets.cacheWrite5mTokens > 0) {
    notes.push(`${entry.id} has no cache-write price: cache writes billed at the input price.`);
  }
  if (prices.cacheWrite1h === undefined && buckets.cacheWrite1hTokens > 0) {
    notes.push(
      `${entry.id} has no 1-hour cache-write price: billed at the ${prices.cacheWrite5m ? '5-minute cache-write' : 'input'} price.`,
    );
  }

  const breakdown: CostBreakdown = {
    input: costOfTokens(input, buckets.inputTokens),
    cachedInput: costOfTokens(cachedInput, buckets.cachedInputTokens),
    cacheWrite5m: costOfTokens(cacheWrite5m, buckets.cacheWrite5mTokens),
    cacheWrite1h: costOfTokens(cacheWrite1h, buckets.cacheWrite1hTokens),
    output: costOfTokens(output, buckets.outputTokens),
    reasoning: costOfTokens(reasoning, buckets.reasoningTokens),
  };
  let totalAtto =
    breakdown.input.atto +
    breakdown.cachedInput.atto +
    breakdown.cacheWrite5m.atto +
    breakdown.cacheWrite1h.atto +
    breakdown.output.atto +
    breakdown.reasoning.atto;
  // Audio has its own prices where the provider sets them; absent, it bills as the text it sits beside.
  if (buckets.audioInputTokens !== undefined) {
    if (prices.inputAudio === undefined)
      notes.push(`${entry.id} has no audio input price: audio input billed at the input price.`);
    breakdown.inputAudio = costOfTokens(prices.inputAudio ?? input, buckets.audioInputTokens);
    totalAtto += breakdown.inputAudio.atto;
  }
  if (buckets.cachedAudioInputTokens !== undefined) {
    if (prices.cachedInputAudio === undefined) {
      notes.push(`${entry.id} has no cached audio input price: cached audio billed at the cache-read price.`);
    }
    breakdown.cachedInputAudio = costOfTokens(prices.cachedInputAudio ?? cachedInput, buckets.cachedAudioInputTokens);
    totalAtto += breakdown.cachedInputAudio.atto;
  }
  if (buckets.audioOutputTokens !== undefined) {
    if (prices.outputAudio === undefined)
      notes.push(`${entry.id} has no audio output price: audio output billed at the output price.`);
    breakdown.outputAudio = costOfTokens(prices.outputAudio ?? output, buckets.audioOutputTokens);
    totalAtto += breakdown.outputAudio.atto;
  }
  const result: CostResult = {
    model: entry.id,
    provider: entry.provider,
    priced: true,
    currency: 'USD',
    total: Money.fromAtto(totalAtto),
    breakdown,
    tier: requestedTier,
    tierApplied,
    usage: buckets,
    notes,
    estimated,
    pricesEffectiveFrom: priceSet.effectiveFrom,
  };
  if (longContext !== undefined) result.longContextTier = longContext;
  return result;
}

/** The tokens a long-context tier's threshold is compared with, as the tier says. */
export function tokensTowardThreshold(tier: LongContextTier, usage: TokenBuckets): number {
  const uncached = usage.inputTokens + (usage.audioInputTokens ?? 0);
  return tier.counts === 'uncached-input'
    ? uncached
    : uncached +
        usage.cachedInputTokens +
        (usage.cachedAudioInputTokens ?? 0) +
        usage.cacheWrite5mTokens +
        usage.cacheWrite1hTokens;
}

/** The highest long-context tier whose threshold the request passes (`>` or `>=` as the tier states). */
export function selectLongContextTier(
  tiers: LongContextTier[] | undefined,
  usage: TokenBuckets,
): LongContextTier | undefined {
  let chosen: LongContextTier | undefined;
  for (const tier of tiers ?? []) {
    const counted = tokensTowardThreshold(tier, usage);
    const passes = tier.comparison === '>=' ? counted >= tier.threshold : counted > tier.threshold;
    if (passes && (chosen === undefined || tier.threshold > chosen.threshold)) chosen = tier;
  }
  return chosen;
}

function chooseTier(asked: ServiceTier | undefined, reported: string | undefined): ServiceTier {
  if (asked !== undefined) {
    if (!SERVICE_TIERS.includes(asked)) {
      throw new RangeError(
        `Unknown service tier ${JSON.stringify(asked)}; expected one of ${SERVICE_TIERS.join(', ')}`,
      );
    }
    return asked;
  }
  // A provider that says it served the request on a cheaper or dearer tier is billed on that tier.
  return SERVICE_TIERS.includes(reported as ServiceTier) ? (reported as ServiceTier) : 'standard';
}

function validateBuckets(usage: TokenBuckets): TokenBuckets {
  if (typeof usage !== 'object' || usage === null) {
    throw new InvalidUsageError('expected token buckets (inputTokens, outputTokens, …)');
  }
  // One literal, not a loop over TOKEN_BUCKETS: this runs on every metered call, and a fixed shape is cheaper.
  const buckets: TokenBuckets = {
    inputTokens: tokenCount(usage, 'inputTokens'),
    cachedInputTokens: tokenCount(usage, 'cachedInputTokens'),
    cacheWrite5mTokens: tokenCount(usage, 'cacheWrite5mTokens'),
    cacheWrite1hTokens: tokenCount(usage, 'cacheWrite1hTokens'),
    outputTokens: tokenCount(usage, 'outputTokens'),
    reasoningTokens: tokenCount(usage, 'reasoningTokens'),
  };
  // Modality buckets are rare: present (and non-zero) only for audio calls.
  if (
    usage.audioInputTokens !== undefined ||
    usage.cachedAudioInputTokens !== undefined ||
    usage.audioOutputTokens !== undefined
  ) {
    for (const key of MODALITY_TOKEN_BUCKETS) {
      const count = tokenCount(usage, key);
      if (count > 0) buckets[key] = count;
    }
  }
  return buckets;
}

function tokenCount(
  usage: TokenBuckets,
  key: (typeof TOKEN_BUCKETS)[number] | (typeof MODALITY_TOKEN_BUCKETS)[number],
): number {
  const value: unknown = usage[key] ?? 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TOKEN_COUNT) {
    throw new InvalidUsageError(`must be a whole number from 0 to 1e12, got ${String(value)}`, key);
  }
  return value;
}

// Catalog price sets are read-only once loaded, and every metered request prices against one: parse each
// set's decimal strings once, not per call (this was a third of the middleware's CPU per request).
const parsedPrices = new WeakMap<Partial<TokenPrices>, PriceMap>();
const NO_PRICES: PriceMap = Object.freeze({});

function parsePrices(prices: Partial<TokenPrices>): PriceMap {
  const cached = parsedPrices.get(prices);
  if (cached) return cached;
  const parsed: PriceMap = {};
  for (const key of PRICE_KEYS) {
    const value = prices[key];
    if (value !== undefined && value !== null) parsed[key] = parsePricePerMillion(value);
  }
  parsedPrices.set(prices, parsed);
  return parsed;
}

function required(price: Money | undefined, entry: CatalogEntry, name: string): Money {
  if (price === undefined) throw new RangeError(`Catalog entry "${entry.id}" has no ${name} price`);
  return price;
}
