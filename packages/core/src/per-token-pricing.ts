import { computeCost } from './cost';
import { InvalidWorkloadError } from './invalid-workload-error';
import { type Money, parsePricePerMillion } from './money';
import { PriceCatalog } from './price-catalog';
import { Rational } from './rational';
import type { MonthVolume, PerTokenPricing, PricingLabel, ResolvedModel, ServiceTier } from './types';

/** A per-token option ready to price any month of traffic. */
export interface ResolvedPricing {
  label: PricingLabel;
  /**
   * USD per token (all tokens, input and output together) for this month's mix of input, cache reads and
   * output; undefined when the model has no price. Exact: a month's cost is this × its tokens, rounded once.
   */
  usdPerToken(volume: MonthVolume): Rational | undefined;
}

export interface PricingContext {
  /** The catalog that prices `model` options; default `PriceCatalog.default()`. */
  catalog?: PriceCatalog;
  /** Prices a catalog model; overrides `catalog` (the planner's only door to prices for models). */
  modelPricer?: ModelPricer;
}

/** Prices one average request of a catalog model (whole-token buckets). */
export interface ModelPricer {
  label(model: string): PricingLabel;
  /** Cost of one request with these whole-token buckets; undefined when the model is unpriced. */
  costOfRequest(
    model: string,
    buckets: { inputTokens: number; cachedInputTokens: number; outputTokens: number },
    tier?: ServiceTier,
  ): Money | undefined;
}

/** Prices catalog models with `computeCost`: one request, standard tier unless asked, today's prices. */
export function catalogModelPricer(catalog: PriceCatalog = PriceCatalog.default()): ModelPricer {
  const resolved = new Map<string, ResolvedModel>();
  // Throws UnknownModelError (with suggestions) for a name the catalog does not know.
  const resolve = (model: string) => {
    let found = resolved.get(model);
    if (found === undefined) {
      found = catalog.resolve(model);
      resolved.set(model, found);
    }
    return found;
  };
  return {
    label(model) {
      const { entry } = resolve(model);
      return { name: entry.id, kind: 'model', model: entry.id, provider: entry.provider };
    },
    costOfRequest(model, buckets, tier) {
      const result = computeCost(
        { ...buckets, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0 },
        resolve(model),
        { catalog, ...(tier === undefined ? {} : { tier }) },
      );
      return result.priced ? result.total : undefined;
    },
  };
}

/** Prices: blended (`pricePerMillion`), separate input/output prices, or a catalog model. */
export function resolvePricing(pricing: PerTokenPricing, context: PricingContext = {}): ResolvedPricing {
  if ('pricePerMillion' in pricing) {
    const price = parsePrice(pricing.pricePerMillion, 'pricePerMillion');
    const perToken = Rational.fromMoney(price).dividedBy(1_000_000);
    return {
      label: { name: pricing.name ?? `$${price.toString()}/M`, kind: 'blended' },
      usdPerToken: () => perToken,
    };
  }
  if ('inputPricePerMillion' in pricing) {
    const input = Rational.fromMoney(parsePrice(pricing.inputPricePerMillion, 'inputPricePerMillion'));
    const output = Rational.fromMoney(parsePrice(pricing.outputPricePerMillion, 'outputPricePerMillion'));
    const cached =
      pricing.cachedInputPricePerMillion === undefined
        ? input
        : Rational.fromMoney(parsePrice(pricing.cachedInputPricePerMillion, 'cachedInputPricePerMillion'));
    return {
      label: {
        name: pricing.name ?? `$${input.toMoney().toString()}/M in, $${output.toMoney().toString()}/M out`,
        kind: 'split',
      },
      usdPerToken: (volume) => {
        const { inputTokens, cachedInputTokens, outputTokens } = requireSplit(volume, 'Separate input/output prices');
        if (volume.tokens.isZero()) return Rational.ZERO;
        const dollars = inputTokens
          .minus(cachedInputTokens)
          .times(input)
          .plus(cachedInputTokens.times(cached))
          .plus(outputTokens.times(output))
          .dividedBy(1_000_000);
        return dollars.dividedBy(volume.tokens);
      },
    };
  }
  if ('model' in pricing && typeof pricing.model === 'string') {
    const pricer = context.modelPricer ?? catalogModelPricer(context.catalog);
    const label = pricer.label(pricing.model);
    if (pricing.name !== undefined) label.name = pricing.name;
    return {
      label,
      usdPerToken: (volume) => {
        const perRequest = volume.perRequest;
        if (perRequest === undefined) {
          if (volume.inputTokens !== undefined && volume.outputTokens !== undefined) {
            return modelPriceOfSplit(pricer, pricing.model, volume, pricing.tier);
          }
          throw new InvalidWorkloadError(
            `Pricing ${pricing.model} needs input and output tokens per request, or the input share of a token total (its input and output prices differ)`,
          );
        }
        const tokensPerRequest = perRequest.inputTokens.plus(perRequest.outputTokens);
        if (tokensPerRequest.isZero()) return Rational.ZERO;
        const buckets = wholeTokenRequest(perRequest);
        const cost = pricer.costOfRequest(pricing.model, buckets, pricing.tier);
        if (cost === undefined) return undefined;
        return Rational.fromMoney(cost).dividedBy(tokensPerRequest);
      },
    };
  }
  throw new InvalidWorkloadError(
    'A per-token option needs model, pricePerMillion, or inputPricePerMillion with outputPricePerMillion',
  );
}

/**
 * USD per token of a catalog model for a token total split into input, cache reads and output, with no
 * request size known. Prices are linear below any long-context threshold, so one token of each bucket gives
 * the exact per-token prices; a total with no request size is priced as requests below every such threshold.
 */
function modelPriceOfSplit(
  pricer: ModelPricer,
  model: string,
  volume: MonthVolume,
  tier: ServiceTier | undefined,
): Rational | undefined {
  if (volume.tokens.isZero()) return Rational.ZERO;
  const unit = (inputTokens: number, cachedInputTokens: number, outputTokens: number) =>
    pricer.costOfRequest(model, { inputTokens, cachedInputTokens, outputTokens }, tier);
  const [input, cached, output] = [unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)];
  if (input === undefined || cached === undefined || output === undefined) return undefined;
  const cachedTokens = volume.cachedInputTokens ?? Rational.ZERO;
  const dollars = (volume.inputTokens ?? Rational.ZERO)
    .minus(cachedTokens)
    .times(Rational.fromMoney(input))
    .plus(cachedTokens.times(Rational.fromMoney(cached)))
    .plus((volume.outputTokens ?? Rational.ZERO).times(Rational.fromMoney(output)));
  return dollars.dividedBy(volume.tokens);
}

/** A month's cost under a per-token option: USD per token × tokens, rounded once at 10^-18 USD. */
export function costOfVolume(pricing: ResolvedPricing, volume: MonthVolume): Money | undefined {
  return pricing.usdPerToken(volume)?.times(volume.tokens).toMoney();
}

/**
 * One average request in whole tokens, for catalog prices whose long-context tiers are decided per request.
 * Fractional averages round half to even; the cached part rounds first and the uncached part is the rest.
 */
export function wholeTokenRequest(perRequest: NonNullable<MonthVolume['perRequest']>): {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
} {
  const input = perRequest.inputTokens.round();
  const cached = perRequest.cachedInputTokens.round();
  return {
    inputTokens: Number(input - cached),
    cachedInputTokens: Number(cached),
    outputTokens: Number(perRequest.outputTokens.round()),
  };
}

function requireSplit(volume: MonthVolume, what: string) {
  if (volume.inputTokens === undefined || volume.outputTokens === undefined || volume.cachedInputTokens === undefined) {
    throw new InvalidWorkloadError(`${what} need input and output tokens per request`);
  }
  return {
    inputTokens: volume.inputTokens,
    cachedInputTokens: volume.cachedInputTokens,
    outputTokens: volume.outputTokens,
  };
}

function parsePrice(value: string | number, field: string): Money {
  let price: Money;
  try {
    price = parsePricePerMillion(typeof value === 'string' ? value.trim().replace(/^\$/, '') : value);
  } catch {
    throw new InvalidWorkloadError(`${field} must be a price in USD per million tokens, got ${JSON.stringify(value)}`);
  }
  if (price.isNegative()) throw new InvalidWorkloadError(`${field} must not be negative`);
  return price;
}
