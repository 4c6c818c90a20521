import { type CompareInput, comparePricing } from './compare';
import { InvalidWorkloadError } from './invalid-workload-error';
import { Rational } from './rational';
import type { PricingComparison } from './types';

/** Where the verdict between the cheapest per-token option and the cheapest flat-rate plan turns with the split. */
export interface SplitFlip {
  perToken: string;
  flat: string;
  /** The input share at which both cost the same; undefined when one wins at every split. */
  share?: Rational;
  /** Which option is cheaper at input shares above `share` (or at every share when there is none). */
  cheaperAboveShare: string;
  cheaperBelowShare: string;
}

/**
 * For a token total whose input/output split is a guess: at which input share the cheapest per-token option and
 * the cheapest flat-rate plan (of `comparison`) cost the same. A month's per-token cost is linear in the input
 * share (input, cache reads and output each priced per token) and a plan's fee does not depend on it, so the
 * costs at shares 0 and 1 give the crossing exactly. Undefined when the comparison has no priced option of
 * either kind.
 */
export function inputShareFlip(input: CompareInput, comparison: PricingComparison): SplitFlip | undefined {
  if (input.workload === undefined || input.workload.inputShare === undefined) {
    throw new InvalidWorkloadError('inputShareFlip needs a workload with a token total and an inputShare');
  }
  const cheapest = (kind: 'per-token' | 'flat-rate') =>
    comparison.options
      .filter((option) => option.kind === kind && option.priced && option.feasible && option.costPerMonth)
      .sort((a, b) => (a.costPerMonth && b.costPerMonth ? a.costPerMonth.compare(b.costPerMonth) : 0))[0];
  const perToken = cheapest('per-token');
  const flat = cheapest('flat-rate');
  if (perToken?.costPerMonth === undefined || flat?.costPerMonth === undefined) return undefined;
  const costAt = (share: number) => {
    const at = comparePricing({ ...input, workload: { ...input.workload, inputShare: String(share) } });
    const cost = at.options.find((option) => option.name === perToken.name)?.costPerMonth;
    return cost === undefined ? undefined : Rational.fromMoney(cost);
  };
  const allOutput = costAt(0);
  const allInput = costAt(1);
  if (allOutput === undefined || allInput === undefined) return undefined;
  const fee = Rational.fromMoney(flat.costPerMonth);
  const slope = allInput.minus(allOutput);
  const share = slope.isZero() ? undefined : fee.minus(allOutput).dividedBy(slope);
  if (share === undefined || share.compare(0) <= 0 || share.compare(1) >= 0) {
    // One side wins at every split: the current verdict holds whatever the mix.
    const perTokenWins = perToken.costPerMonth.compare(flat.costPerMonth) < 0;
    const winner = perTokenWins ? perToken.name : flat.name;
    return { perToken: perToken.name, flat: flat.name, cheaperAboveShare: winner, cheaperBelowShare: winner };
  }
  // Input is cheaper than output per token for every model priced so, so more input lowers the per-token bill.
  const perTokenCheaperAbove = slope.isNegative();
  return {
    perToken: perToken.name,
    flat: flat.name,
    share,
    cheaperAboveShare: perTokenCheaperAbove ? perToken.name : flat.name,
    cheaperBelowShare: perTokenCheaperAbove ? flat.name : perToken.name,
  };
}
