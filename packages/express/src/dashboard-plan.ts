import {
  advise,
  analyzeSeries,
  comparePricing,
  costCurve,
  type FlatRatePlan,
  Money,
  type MonthVolume,
  Rational,
  type DailyUsage as SeriesDay,
} from '@tokenmeter/core';
import { displayUsd } from './dashboard-format';
import type { DailyUsage } from './types';

/** A flat-rate plan as the planner describes it (`parsePlans()` reads them from YAML or JSON). */
export type DashboardPlan = FlatRatePlan;

/** The plan section of the dashboard: money as exact strings, numbers for chart geometry only. */
export interface PlanView {
  available: boolean;
  advice: string;
  note?: string;
  /** Days of the measured series the projection uses. */
  historyDays: number;
  p50?: { cost: string; costDisplay: string; tokens: number };
  p95?: { cost: string; costDisplay: string; tokens: number };
  /** The blended price the projection implies (p50 month's cost over its tokens), USD per million tokens. */
  pricePerMillion?: string;
  options: {
    name: string;
    kind: 'per-token' | 'flat-rate';
    p50: string;
    p50Display: string;
    p95: string;
    p95Display: string;
    feasible: boolean;
  }[];
  breakEven: {
    between: [string, string];
    tokensPerMonth: number;
    label: string;
    costPerMonth: string;
    costPerMonthNumber: number;
    /** The option that is cheaper above this volume. */
    cheaperAbove: string;
  }[];
  curve?: {
    volumes: number[];
    perTokenName: string;
    perToken: number[];
    plans: { name: string; costs: number[] }[];
  };
}

const PER_TOKEN_NAME = 'Pay per token (measured price)';
const CURVE_POINTS = 48;

/**
 * Next month from the measured daily series, by the planner: p50 and p95 of the per-token bill
 * (`analyzeSeries`), each flat-rate plan at both, the measured blended price as a cost line against each
 * plan's (`comparePricing`, `costCurve`), where they cross, and the planner's advice sentence (`advise`).
 * Today is left out while it is incomplete, unless it is the only day measured.
 */
export function buildPlanView(input: { series: DailyUsage[]; plans: DashboardPlan[]; today: string }): PlanView {
  const measured = input.series.filter((day) => day.requests > 0);
  const complete = measured.filter((day) => day.date !== input.today);
  const days = complete.length > 0 ? complete : measured;
  if (days.length === 0) {
    return {
      available: false,
      advice: 'No metered traffic yet: the projection appears after the first requests.',
      historyDays: 0,
      options: [],
      breakEven: [],
    };
  }
  const series: SeriesDay[] = days.map((day) => ({
    date: day.date,
    requests: day.requests,
    inputTokens: day.inputTokens,
    outputTokens: day.outputTokens,
    cost: Money.from(day.cost),
  }));
  const analysis = analyzeSeries(series, { plans: input.plans, samples: 2000 });
  const { nextMonth } = analysis;
  const inputTokens = days.reduce((sum, day) => sum + day.inputTokens, 0);
  const outputTokens = days.reduce((sum, day) => sum + day.outputTokens, 0);
  const totalTokens = inputTokens + outputTokens;
  const totalCost = Money.sum(series.map((day) => day.cost));
  // The p50 month, shaped like the measured days (input/output split, busiest day), for the comparison.
  const tokens = nextMonth.tokensP50;
  // Priced at what the projection implies for that month (its p50 cost over its p50 tokens), so the advice
  // quotes the p50 shown beside it; the history's average price differs when recent days used another model
  // mix. Prices carry at most 12 decimal places: rounding there moves a month by far less than a cent.
  const pricePerMillion = tokens.isZero()
    ? totalTokens === 0
      ? Money.ZERO
      : totalCost.timesRatio(1_000_000, totalTokens).round(12)
    : Rational.fromMoney(nextMonth.p50).times(1_000_000).dividedBy(tokens).toMoney().round(12);
  const share = (part: number) => (totalTokens === 0 ? Rational.ZERO : tokens.times(part).dividedBy(totalTokens));
  const busiest = days.reduce((best, day) => Math.max(best, day.inputTokens + day.outputTokens), 0);
  const meanDay = totalTokens / days.length;
  const volume: MonthVolume = {
    month: 1,
    days: analysis.daysPerMonth,
    requests: nextMonth.requestsP50,
    requestsPerDay: nextMonth.requestsP50.dividedBy(analysis.daysPerMonth),
    inputTokens: share(inputTokens),
    cachedInputTokens: Rational.ZERO,
    outputTokens: share(outputTokens),
    tokens,
    tokensPerDay: tokens.dividedBy(analysis.daysPerMonth),
    peakDayTokens:
      meanDay === 0
        ? Rational.ZERO
        : tokens.dividedBy(analysis.daysPerMonth).times(Rational.of(busiest)).dividedBy(Rational.from(meanDay)),
  };
  const comparison = comparePricing({
    volume,
    perToken: [{ pricePerMillion: pricePerMillion.toString(), name: PER_TOKEN_NAME }],
    plans: input.plans,
  });
  const advice = advise(comparison, { analysis });

  const options: PlanView['options'] = [
    {
      name: PER_TOKEN_NAME,
      kind: 'per-token',
      p50: nextMonth.p50.toString(),
      p50Display: displayUsd(nextMonth.p50),
      p95: nextMonth.p95.toString(),
      p95Display: displayUsd(nextMonth.p95),
      feasible: true,
    },
  ];
  for (const plan of analysis.plans) {
    options.push({
      name: plan.plan,
      kind: 'flat-rate',
      p50: plan.p50.cost.toString(),
      p50Display: displayUsd(plan.p50.cost) + (plan.p50.feasible ? '' : ' (over its limits)'),
      p95: plan.p95.cost.toString(),
      p95Display: displayUsd(plan.p95.cost) + (plan.p95.feasible ? '' : ' (over its limits)'),
      feasible: plan.p50.feasible && plan.p95.feasible,
    });
  }

  const p50Tokens = nextMonth.tokensP50.toNumber();
  const p95Tokens = nextMonth.tokensP95.toNumber();
  const crossings = comparison.breakEven.flatMap((entry) =>
    entry.crossings.map((crossing) => crossing.tokensPerMonth.toNumber()),
  );
  const toTokens = Math.ceil(Math.max(p95Tokens * 1.6, ...crossings.map((value) => value * 1.25), 1));
  const chart = costCurve(comparison, { toTokens, steps: CURVE_POINTS });
  const perTokenSeries = chart.series.find((line) => line.kind === 'per-token');
  const curve: PlanView['curve'] = {
    volumes: (perTokenSeries?.points ?? []).map((point) => point.tokensPerMonth),
    perTokenName: PER_TOKEN_NAME,
    perToken: (perTokenSeries?.points ?? []).map((point) => Number(point.cost)),
    plans: chart.series
      .filter((line) => line.kind === 'flat-rate')
      .map((line) => ({ name: line.name, costs: line.points.map((point) => Number(point.cost)) })),
  };
  const breakEven: PlanView['breakEven'] = chart.breakEvens.map((point) => ({
    between: point.between,
    tokensPerMonth: point.tokensPerMonth,
    label: `${Math.round(point.tokensPerMonth).toLocaleString('en-US')} tokens`,
    costPerMonth: point.cost,
    costPerMonthNumber: Number(point.cost),
    cheaperAbove: point.cheaperAbove,
  }));
  const leftOut =
    complete.length > 0 && measured.length > complete.length ? ' (today is left out until it is over)' : '';

  return {
    available: true,
    advice: advice.sentence,
    note: `${analysis.confidenceNote} Projected from ${days.length} measured day${days.length === 1 ? '' : 's'}${leftOut} at ${displayUsd(pricePerMillion)} per million tokens (the measured price mix).`,
    historyDays: days.length,
    p50: { cost: nextMonth.p50.toString(), costDisplay: displayUsd(nextMonth.p50), tokens: p50Tokens },
    p95: { cost: nextMonth.p95.toString(), costDisplay: displayUsd(nextMonth.p95), tokens: p95Tokens },
    pricePerMillion: pricePerMillion.toString(),
    options,
    breakEven,
    curve,
  };
}
