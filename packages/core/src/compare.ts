import { breakEvenTokens, type PerTokenLine, planLine } from './break-even';
import { InvalidWorkloadError } from './invalid-workload-error';
import type { Money } from './money';
import { costOfVolume, type PricingContext, resolvePricing } from './per-token-pricing';
import { DEFAULT_PEAK_FACTOR, planCost } from './plans';
import { Rational } from './rational';
import type {
  BreakEven,
  CostLine,
  FlatRatePlan,
  MonthVolume,
  PerTokenPricing,
  PricingComparison,
  PricingOption,
  WorkloadProfile,
} from './types';
import { monthVolume, normalizeWorkload } from './workload';

export interface CompareInput extends PricingContext {
  /** The traffic; its own `pricing`, if any, is the first per-token option. */
  workload?: WorkloadProfile;
  /** A month of traffic measured or projected elsewhere (a series' p50), instead of `workload`. */
  volume?: MonthVolume;
  perToken?: PerTokenPricing[];
  plans?: FlatRatePlan[];
  /** Busiest minute ÷ average minute for rate limits; default 3. */
  peakFactor?: string | number;
  /** Which projected month to compare (1 = the first); default 1. */
  month?: number;
  /** The model the workload needs, checked against each plan's `models`. */
  model?: string;
  /** What the month cost per token as measured (a series' p50): an extra per-token option at that rate. */
  measured?: { name: string; cost: Money };
}

/**
 * Every per-token option and every flat-rate plan on the same month of traffic: monthly cost, whether each
 * plan's quotas and rate limits carry it, the cheapest that does, and the break-even volume between every
 * per-token option and every plan.
 */
export function comparePricing(input: CompareInput): PricingComparison {
  const peakFactor = Rational.from(input.peakFactor ?? DEFAULT_PEAK_FACTOR);
  if (peakFactor.compare(1) < 0) throw new InvalidWorkloadError('The peak factor must be at least 1');
  let volume = input.volume;
  const perTokenInputs = [...(input.perToken ?? [])];
  let model = input.model;
  if (volume === undefined) {
    if (input.workload === undefined) throw new InvalidWorkloadError('Compare needs a workload or a volume');
    const workload = normalizeWorkload(input.workload);
    volume = monthVolume(workload, input.month ?? 1);
    if (workload.pricing !== undefined) perTokenInputs.unshift(workload.pricing);
  }
  if (model === undefined) {
    const first = perTokenInputs.find((pricing) => 'model' in pricing);
    if (first !== undefined && 'model' in first) model = first.model;
  }
  const plans = input.plans ?? [];
  if (perTokenInputs.length + plans.length === 0 && input.measured === undefined) {
    throw new InvalidWorkloadError('Nothing to compare: give at least one per-token price, model or plan');
  }
  const options: PricingOption[] = [];
  const lines: CostLine[] = [];
  const names = new Set<string>();
  const uniqueName = (name: string) => {
    let candidate = name;
    for (let suffix = 2; names.has(candidate); suffix++) candidate = `${name} (${suffix})`;
    names.add(candidate);
    return candidate;
  };
  const perTokenLines: PerTokenLine[] = [];
  for (const pricing of perTokenInputs) {
    const resolved = resolvePricing(pricing, input);
    const name = uniqueName(resolved.label.name);
    const usdPerToken = resolved.usdPerToken(volume);
    const cost = usdPerToken === undefined ? undefined : costOfVolume(resolved, volume);
    options.push({
      name,
      kind: 'per-token',
      ...(cost === undefined ? {} : { costPerMonth: cost }),
      priced: cost !== undefined,
      feasible: true,
      violations: [],
      pricing: { ...resolved.label, name },
    });
    if (usdPerToken !== undefined) {
      const line: PerTokenLine = { kind: 'per-token', name, usdPerToken };
      perTokenLines.push(line);
      lines.push(line);
    }
  }
  if (input.measured !== undefined && !volume.tokens.isZero()) {
    const name = uniqueName(input.measured.name);
    const usdPerToken = Rational.fromMoney(input.measured.cost).dividedBy(volume.tokens);
    options.push({
      name,
      kind: 'per-token',
      costPerMonth: input.measured.cost,
      priced: true,
      feasible: true,
      violations: [],
    });
    const line: PerTokenLine = { kind: 'per-token', name, usdPerToken };
    perTokenLines.push(line);
    lines.push(line);
  }
  const planLines = plans.map((plan) => {
    const name = uniqueName(plan.name);
    const named = name === plan.name ? plan : { ...plan, name };
    const result = planCost(named, volume, { peakFactor, ...(model === undefined ? {} : { model }) });
    options.push({
      name,
      kind: 'flat-rate',
      costPerMonth: result.cost,
      priced: true,
      feasible: result.feasible,
      violations: result.violations,
      ...(result.unchecked.length === 0 ? {} : { unchecked: result.unchecked }),
      plan: named,
    });
    const line = planLine(named, volume, peakFactor);
    lines.push(line);
    return line;
  });
  const breakEven: BreakEven[] = [];
  for (const perToken of perTokenLines) for (const plan of planLines) breakEven.push(breakEvenTokens(perToken, plan));
  const cheapest = options
    .filter((option) => option.priced && option.feasible && option.costPerMonth !== undefined)
    .reduce<PricingOption | undefined>(
      (best, option) =>
        best === undefined || (option.costPerMonth?.compare(best.costPerMonth ?? option.costPerMonth) ?? 0) < 0
          ? option
          : best,
      undefined,
    );
  return {
    volume,
    peakFactor,
    options,
    ...(cheapest === undefined ? {} : { cheapest: cheapest.name }),
    breakEven,
    lines,
  };
}
