import { formatUsd, type Money } from './money';
import { countOf, formatCount } from './plans';
import type { Rational } from './rational';
import type { Advice, Predictability, PricingComparison, PricingOption, SeriesAnalysis } from './types';

/** Daily-cost coefficient of variation below which a bill is called steady, and above which volatile. */
export const STEADY_BELOW = 0.15;
export const VOLATILE_FROM = 0.5;

export function predictability(volatility: number | undefined): Predictability {
  if (volatility === undefined) return 'unknown';
  return volatility < STEADY_BELOW ? 'steady' : volatility < VOLATILE_FROM ? 'variable' : 'volatile';
}

/**
 * The answer as data and as one sentence: the cheapest option at the expected volume, what it saves against
 * the best option of the other billing model (or the next cheapest), the volume where that answer flips, and
 * how predictable the per-token bill is (from a measured series, when there is one).
 */
export function advise(comparison: PricingComparison, options: { analysis?: SeriesAnalysis } = {}): Advice {
  const usable = comparison.options
    .filter(
      (option): option is PricingOption & { costPerMonth: Money } =>
        option.priced && option.feasible && option.costPerMonth !== undefined,
    )
    .sort((a, b) => a.costPerMonth.compare(b.costPerMonth));
  const volatility = options.analysis?.volatility;
  const level = predictability(volatility);
  const cheapest = usable[0];
  const volume = `${formatCount(comparison.volume.tokens)} tokens/month`;
  const predictabilitySentence = describePredictability(level, volatility, options.analysis);
  if (cheapest === undefined) {
    const blocked = comparison.options.filter((option) => !option.feasible).map((option) => option.name);
    return {
      predictability: level,
      ...(volatility === undefined ? {} : { volatility }),
      sentence: `No option can be priced and carry ${volume}${blocked.length > 0 ? ` (${blocked.join(', ')}: limits exceeded)` : ''}. ${predictabilitySentence}`,
    };
  }
  const runnerUp = usable.find((option) => option.kind !== cheapest.kind) ?? usable[1];
  const advice: Advice = {
    cheapest: cheapest.name,
    cheapestCost: cheapest.costPerMonth,
    predictability: level,
    ...(volatility === undefined ? {} : { volatility }),
    sentence: '',
  };
  // With one priced option there is nothing to be cheapest against: say what it costs and that it stands alone.
  let sentence =
    runnerUp === undefined
      ? `At ${volume}, ${cheapest.name} costs ${formatUsd(cheapest.costPerMonth)}/month; it is the only option that could be priced, so nothing was compared`
      : `At ${volume}, ${cheapest.name} is the cheapest option at ${formatUsd(cheapest.costPerMonth)}/month`;
  if (runnerUp !== undefined) {
    const savings = runnerUp.costPerMonth.minus(cheapest.costPerMonth);
    advice.runnerUp = runnerUp.name;
    advice.runnerUpCost = runnerUp.costPerMonth;
    advice.savings = savings;
    sentence += `, ${formatUsd(savings)} less than ${runnerUp.name} (${formatUsd(runnerUp.costPerMonth)})`;
    const flip = nearestFlip(comparison, cheapest.name, runnerUp.name);
    if (flip !== undefined) {
      advice.flipsAt = flip;
      const below = flip.tokensPerMonth.compare(comparison.volume.tokens) <= 0;
      const other = flip.cheaperAbove === cheapest.name ? runnerUp.name : cheapest.name;
      sentence += below
        ? `; below ${formatCount(flip.tokensPerMonth, 'up')} tokens/month ${other} would be cheaper`
        : `; from ${formatCount(flip.tokensPerMonth, 'up')} tokens/month ${flip.cheaperAbove} becomes cheaper`;
    }
  }
  advice.sentence = `${sentence}. ${predictabilitySentence}`;
  return advice;
}

function nearestFlip(
  comparison: PricingComparison,
  a: string,
  b: string,
): { tokensPerMonth: Rational; requestsPerMonth?: Rational; cheaperAbove: string } | undefined {
  const pair = comparison.breakEven.find(
    (entry) => (entry.between[0] === a && entry.between[1] === b) || (entry.between[0] === b && entry.between[1] === a),
  );
  if (pair === undefined || pair.crossings.length === 0) return undefined;
  const current = comparison.volume.tokens;
  const distance = (value: Rational) => {
    const gap = value.minus(current);
    return gap.isNegative() ? gap.negate() : gap;
  };
  const nearest = [...pair.crossings].sort((x, y) => distance(x.tokensPerMonth).compare(distance(y.tokensPerMonth)))[0];
  if (nearest === undefined) return undefined;
  return {
    tokensPerMonth: nearest.tokensPerMonth,
    ...(nearest.requestsPerMonth === undefined ? {} : { requestsPerMonth: nearest.requestsPerMonth }),
    cheaperAbove: nearest.cheaperAbove,
  };
}

function describePredictability(
  level: Predictability,
  volatility: number | undefined,
  analysis?: SeriesAnalysis,
): string {
  if (analysis !== undefined && (level === 'unknown' || volatility === undefined)) {
    return `${countOf(analysis.days, 'day')} of history cannot tell how much the bill varies from day to day yet.`;
  }
  if (level === 'unknown' || volatility === undefined || analysis === undefined) {
    return 'How predictable the per-token bill is cannot be told without a measured daily series (--series).';
  }
  const spread = `next month ${formatUsd(analysis.nextMonth.p50)} (p50) to ${formatUsd(analysis.nextMonth.p95)} (p95)`;
  const percent = `${Math.round(volatility * 100)}%`;
  const words =
    level === 'steady'
      ? `The per-token bill is steady (daily cost varies ${percent})`
      : level === 'variable'
        ? `The per-token bill is variable (daily cost varies ${percent})`
        : `The per-token bill is volatile (daily cost varies ${percent})`;
  return `${words}: ${spread}; confidence ${analysis.confidence}.`;
}
