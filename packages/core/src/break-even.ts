import { Money } from './money';
import { formatCount, planCost } from './plans';
import { Rational } from './rational';
import type { BreakEven, BreakEvenCrossing, CostLine, FlatRatePlan, MonthVolume } from './types';
import { MINUTES_PER_DAY, scaleVolume } from './workload';

export type PerTokenLine = Extract<CostLine, { kind: 'per-token' }>;
export type FlatRateLine = Extract<CostLine, { kind: 'flat-rate' }>;

/** A per-token line from a blended price (USD per million tokens). */
export function perTokenLine(name: string, pricePerMillion: Money | string | number): PerTokenLine {
  return { kind: 'per-token', name, usdPerToken: Rational.fromMoney(Money.from(pricePerMillion)).dividedBy(1_000_000) };
}

/**
 * A plan as a line of monthly cost against monthly tokens, for a workload whose shape (tokens per request,
 * busiest day ÷ month) stays fixed as its volume scales. The capacity is the largest month the plan's hard
 * quotas and rate limits carry at this peak factor.
 */
export function planLine(
  plan: FlatRatePlan,
  volume?: MonthVolume,
  peakFactor: Rational = Rational.from(3),
): FlatRateLine {
  const line: FlatRateLine = { kind: 'flat-rate', name: plan.name, plan };
  let capacity: Rational | undefined;
  const cap = (limit: Rational) => {
    capacity = capacity === undefined ? limit : Rational.min(capacity, limit);
  };
  const tokensPerRequest =
    volume?.requests === undefined || volume.requests.isZero() ? undefined : volume.tokens.dividedBy(volume.requests);
  if (tokensPerRequest !== undefined) line.tokensPerRequest = tokensPerRequest;
  if (plan.includedTokens !== undefined && plan.overagePerMillionTokens === undefined)
    cap(Rational.of(plan.includedTokens));
  if (plan.includedRequests !== undefined && plan.overagePerThousandRequests === undefined && tokensPerRequest) {
    cap(tokensPerRequest.times(plan.includedRequests));
  }
  if (volume !== undefined && !volume.tokens.isZero()) {
    // Busiest day as a share of the month, so each daily or per-minute limit becomes a monthly volume.
    const peakShare = volume.peakDayTokens.dividedBy(volume.tokens);
    if (!peakShare.isZero()) {
      const perMinuteToMonth = Rational.of(MINUTES_PER_DAY).dividedBy(peakShare.times(peakFactor));
      const { tokensPerMinute, tokensPerDay, requestsPerMinute, requestsPerDay } = plan.limits;
      if (tokensPerMinute !== undefined) cap(perMinuteToMonth.times(tokensPerMinute));
      if (tokensPerDay !== undefined) cap(Rational.of(tokensPerDay).dividedBy(peakShare));
      if (tokensPerRequest !== undefined) {
        if (requestsPerMinute !== undefined) cap(perMinuteToMonth.times(requestsPerMinute).times(tokensPerRequest));
        if (requestsPerDay !== undefined) cap(Rational.of(requestsPerDay).dividedBy(peakShare).times(tokensPerRequest));
      }
    }
  }
  if (capacity !== undefined) line.capacityTokensPerMonth = capacity;
  return line;
}

/** Monthly cost of a line at `tokens` tokens a month (exact, as a fraction of a dollar). */
export function lineCostAt(line: CostLine, tokens: Rational): Rational {
  if (line.kind === 'per-token') return line.usdPerToken.times(tokens);
  const { fee, slope } = planSegmentAt(line, tokens);
  return fee.plus(slope.times(tokens));
}

/** Monthly cost of a line at `tokens`, as `Money` rounded once at 10^-18 USD, and whether the plan carries it. */
export function lineMoneyAt(line: CostLine, tokens: Rational): { cost: Money; feasible: boolean } {
  const feasible =
    line.kind === 'per-token' ||
    line.capacityTokensPerMonth === undefined ||
    tokens.compare(line.capacityTokensPerMonth) <= 0;
  return { cost: lineCostAt(line, tokens).toMoney(), feasible };
}

/**
 * Where a per-token line and a plan cross. The plan is piecewise linear (fee, then token overage above its
 * included tokens, request overage above its included requests): on each piece `fee' + slope × T` meets
 * `price × T` at `T = fee' / (price − slope)`, kept when it lies inside the piece. No crossing: "never".
 */
export function breakEvenTokens(perToken: PerTokenLine, plan: FlatRateLine): BreakEven {
  const breakpoints = planBreakpoints(plan);
  const crossings: BreakEvenCrossing[] = [];
  let low = Rational.ZERO;
  for (const high of [...breakpoints, undefined]) {
    // The piece's formula is the one just above its lower end.
    const probe = high === undefined ? low.plus(1) : low.plus(high).dividedBy(2);
    const { fee, slope } = planSegmentAt(plan, probe);
    const gap = perToken.usdPerToken.minus(slope);
    if (!gap.isZero()) {
      const at = fee.dividedBy(gap);
      const inside = at.compare(low) > 0 && (high === undefined || at.compare(high) <= 0);
      if (inside && !crossings.some((crossing) => crossing.tokensPerMonth.equals(at))) {
        const planCheaperAbove = gap.compare(0) > 0;
        crossings.push({
          tokensPerMonth: at,
          ...(plan.tokensPerRequest === undefined ? {} : { requestsPerMonth: at.dividedBy(plan.tokensPerRequest) }),
          cheaperAbove: planCheaperAbove ? plan.name : perToken.name,
          cheaperBelow: planCheaperAbove ? perToken.name : plan.name,
          withinLimits: plan.capacityTokensPerMonth === undefined || at.compare(plan.capacityTokensPerMonth) <= 0,
        });
      }
    }
    if (high !== undefined) low = high;
  }
  const first = crossings[0];
  const between: [string, string] = [perToken.name, plan.name];
  if (first === undefined) {
    const probe = Rational.of(1_000_000);
    const planCheaper = lineCostAt(plan, probe).compare(lineCostAt(perToken, probe)) < 0;
    return {
      between,
      crossings,
      never: true,
      sentence: `${perToken.name} and ${plan.name} never cross: ${planCheaper ? plan.name : perToken.name} is cheaper at every volume.`,
    };
  }
  const parts = crossings.map(
    (crossing) =>
      `from ${formatCount(crossing.tokensPerMonth, 'up')} tokens/month${crossing.requestsPerMonth === undefined ? '' : ` (${formatCount(crossing.requestsPerMonth, 'up')} requests)`} ${crossing.cheaperAbove} is cheaper${crossing.withinLimits ? '' : ' (beyond what its limits carry)'}`,
  );
  return {
    between,
    crossings,
    never: false,
    tokensPerMonth: first.tokensPerMonth,
    ...(first.requestsPerMonth === undefined ? {} : { requestsPerMonth: first.requestsPerMonth }),
    sentence: `${perToken.name} vs ${plan.name}: ${parts.join('; ')}.`,
  };
}

/** Token volumes where a plan's cost formula changes (end of included tokens, end of included requests). */
function planBreakpoints(line: FlatRateLine): Rational[] {
  const points: Rational[] = [];
  if (line.plan.includedTokens !== undefined) points.push(Rational.of(line.plan.includedTokens));
  if (line.plan.includedRequests !== undefined && line.tokensPerRequest !== undefined) {
    points.push(line.tokensPerRequest.times(line.plan.includedRequests));
  }
  return points.filter((point) => !point.isZero()).sort((a, b) => a.compare(b));
}

/** The plan's cost formula `fee + slope × T` in force at volume `tokens` (dollars, dollars per token). */
function planSegmentAt(line: FlatRateLine, tokens: Rational): { fee: Rational; slope: Rational } {
  const { plan } = line;
  let fee = Rational.fromMoney(plan.monthlyFee);
  let slope = Rational.ZERO;
  if (plan.includedTokens !== undefined && plan.overagePerMillionTokens !== undefined) {
    if (tokens.compare(plan.includedTokens) > 0) {
      const perToken = Rational.fromMoney(plan.overagePerMillionTokens).dividedBy(1_000_000);
      slope = slope.plus(perToken);
      fee = fee.minus(perToken.times(plan.includedTokens));
    }
  }
  if (
    plan.includedRequests !== undefined &&
    plan.overagePerThousandRequests !== undefined &&
    line.tokensPerRequest !== undefined &&
    !line.tokensPerRequest.isZero()
  ) {
    const threshold = line.tokensPerRequest.times(plan.includedRequests);
    if (tokens.compare(threshold) > 0) {
      const perToken = Rational.fromMoney(plan.overagePerThousandRequests)
        .dividedBy(1000)
        .dividedBy(line.tokensPerRequest);
      slope = slope.plus(perToken);
      fee = fee.minus(perToken.times(threshold));
    }
  }
  return { fee, slope };
}

/** The plan's cost for a month scaled to `tokens`, with its full limit check. */
export function planCostAtTokens(plan: FlatRatePlan, volume: MonthVolume, tokens: Rational, peakFactor: Rational) {
  return planCost(plan, scaleVolume(volume, tokens), { peakFactor });
}
