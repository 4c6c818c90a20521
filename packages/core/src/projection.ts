import { InvalidWorkloadError } from './invalid-workload-error';
import { Money } from './money';
import { costOfVolume, type PricingContext, type ResolvedPricing, resolvePricing } from './per-token-pricing';
import { countOf } from './plans';
import { PriceCatalog } from './price-catalog';
import { Rational } from './rational';
import type { CatalogEntry, MonthProjection, WorkloadProfile, WorkloadProjection } from './types';
import { monthVolume, type NormalizedWorkload, normalizeWorkload } from './workload';

export interface ProjectOptions extends PricingContext {
  /** How many months to project, 1 (the default) to 120. */
  months?: number;
}

/**
 * Tokens and cost per day and per month, for month 1 and the `months − 1` after it under compounded traffic
 * growth and linear context growth. Counts are exact fractions; each month's cost is rounded once, at
 * 10^-18 USD (see docs/planner.md).
 */
export function projectWorkload(profile: WorkloadProfile, options: ProjectOptions = {}): WorkloadProjection {
  const months = options.months ?? 1;
  if (!Number.isInteger(months) || months < 1 || months > 120) {
    throw new InvalidWorkloadError(`months must be a whole number from 1 to 120, got ${JSON.stringify(months)}`);
  }
  const workload = normalizeWorkload(profile);
  const pricing = workload.pricing === undefined ? undefined : resolvePricing(workload.pricing, options);
  const projected: MonthProjection[] = [];
  for (let month = 1; month <= months; month++) {
    const volume = monthVolume(workload, month);
    const cost = pricing === undefined ? undefined : costOfVolume(pricing, volume);
    projected.push(
      cost === undefined ? volume : { ...volume, cost, costPerDay: cost.timesRatio(1n, BigInt(volume.days)) },
    );
  }
  const first = projected[0] as MonthProjection;
  const priced = pricing !== undefined && projected.every((month) => month.cost !== undefined);
  const totalCost = priced ? Money.sum(projected.map((month) => month.cost as Money)) : undefined;
  return {
    ...(pricing === undefined ? {} : { pricing: pricing.label }),
    priced,
    months: projected,
    tokensPerMonth: first.tokens,
    tokensPerDay: first.tokensPerDay,
    ...(first.requests === undefined ? {} : { requestsPerMonth: first.requests }),
    ...(first.cost === undefined ? {} : { costPerMonth: first.cost }),
    ...(first.costPerDay === undefined ? {} : { costPerDay: first.costPerDay }),
    total: {
      tokens: projected.reduce((sum, month) => sum.plus(month.tokens), Rational.ZERO),
      ...(totalCost === undefined ? {} : { cost: totalCost }),
    },
    assumptions: describeAssumptions(workload, pricing),
  };
}

/** The assumptions behind a projection, one plain sentence each. */
export function describeAssumptions(workload: NormalizedWorkload, pricing?: ResolvedPricing): string[] {
  const notes = [`A month has ${countOf(workload.daysPerMonth, 'day')}.`];
  const percent = (share: Rational) => `${trimDecimal(share.times(100).toDecimal(2))}%`;
  if (!workload.retryRate.isZero()) {
    notes.push(`Retries add ${percent(workload.retryRate)} to requests, each resent and billed in full.`);
  }
  if (!workload.cacheHitShare.isZero()) {
    notes.push(
      pricing?.label.kind === 'blended'
        ? 'A blended price has no cached-input price, so the cache-hit share does not change it.'
        : `${percent(workload.cacheHitShare)} of input tokens are cache reads, billed at the cached-input price.`,
    );
  }
  if (!workload.monthlyGrowth.isZero()) {
    notes.push(`Traffic grows ${percent(workload.monthlyGrowth)} a month, compounded.`);
  }
  if (!workload.contextGrowthPerMonth.isZero()) {
    notes.push(`Each request gains ${trimDecimal(workload.contextGrowthPerMonth.toDecimal(2))} input tokens a month.`);
  }
  for (const spike of workload.spikes) {
    notes.push(
      `${countOf(spike.days, 'day')} a month ${spike.days === 1 ? 'runs' : 'run'} at ${trimDecimal(spike.multiplier.toDecimal(2))}× the usual traffic.`,
    );
  }
  if (pricing?.label.kind === 'model') {
    notes.push(
      workload.requestsPerMonth === undefined
        ? 'Catalog prices are applied per token, as for requests below any long-context threshold (no request size is known).'
        : 'Catalog prices are applied to one average request in whole tokens, so long-context tiers apply as billed.',
    );
  }
  if (workload.requestsPerMonth === undefined) {
    notes.push('Only a token total is known: request counts, and limits on requests, are unknown.');
  }
  return notes;
}

export function trimDecimal(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

export interface CheapestModel {
  model: string;
  provider: string;
  costPerMonth: Money;
  contextWindow: number;
}

export interface CheapestModelsOptions {
  /** How many to return; default 10. */
  count?: number;
  catalog?: PriceCatalog;
  /** The month whose request size must fit (context grows); default 1. */
  month?: number;
}

/**
 * The `count` cheapest chat/responses models in the catalog for this workload, among those whose context
 * window holds a request (input + output tokens of the chosen month). Models without a known context window
 * are left out: "fits" cannot be shown for them.
 */
export function cheapestModels(profile: WorkloadProfile, options: CheapestModelsOptions = {}): CheapestModel[] {
  const count = options.count ?? 10;
  if (!Number.isInteger(count) || count < 1) throw new InvalidWorkloadError('count must be a whole number ≥ 1');
  const catalog = options.catalog ?? PriceCatalog.default();
  const volume = monthVolume(normalizeWorkload(profile), options.month ?? 1);
  const perRequest = volume.perRequest;
  if (perRequest === undefined) {
    throw new InvalidWorkloadError('Comparing models needs input and output tokens per request');
  }
  const size = perRequest.inputTokens.plus(perRequest.outputTokens);
  const fits = (entry: CatalogEntry): entry is CatalogEntry & { contextWindow: number } =>
    (entry.mode === 'chat' || entry.mode === 'responses') &&
    entry.deprecated !== true &&
    entry.contextWindow !== undefined &&
    size.compare(entry.contextWindow) <= 0;
  const results: CheapestModel[] = [];
  for (const entry of catalog.entries().filter(fits)) {
    const pricing = resolvePricing({ model: entry.id }, { catalog });
    const cost = costOfVolume(pricing, volume);
    if (cost === undefined) continue;
    results.push({ model: entry.id, provider: entry.provider, costPerMonth: cost, contextWindow: entry.contextWindow });
  }
  results.sort((a, b) => a.costPerMonth.compare(b.costPerMonth) || a.model.localeCompare(b.model));
  return results.slice(0, count);
}
