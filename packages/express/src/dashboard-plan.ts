import { type FlatRatePlan, formatUsd, Money } from '@tokenmeter/core';
import type { DailyUsage } from './types';

/** A flat-rate plan as the planner describes it. */
export type DashboardPlan = FlatRatePlan;

/** The plan section of the dashboard: money as exact strings, numbers for chart geometry only. */
export interface PlanView {
  available: boolean;
  advice: string;
  note?: string;
  historyDays: number;
  p50?: { cost: string; costDisplay: string; tokens: number };
  p95?: { cost: string; costDisplay: string; tokens: number };
  options: {
    name: string;
    kind: 'per-token' | 'flat-rate';
    p50: string;
    p50Display: string;
    p95: string;
    p95Display: string;
  }[];
  breakEven: {
    between: [string, string];
    tokensPerMonth: number;
    label: string;
    costPerMonth: string;
    costPerMonthNumber: number;
  }[];
  curve?: {
    volumes: number[];
    perTokenName: string;
    perToken: number[];
    plans: { name: string; costs: number[] }[];
  };
}

const DAYS_PER_MONTH = 30;
const PER_TOKEN_NAME = 'Pay per token (measured price)';

/**
 * Projects next month from the measured daily series and sets it against each flat-rate plan: p50 and
 * p95 of a month built from the observed days, the measured blended price per token, and the volume at
 * which each plan starts to pay off.
 */
export function buildPlanView(input: { series: DailyUsage[]; plans: DashboardPlan[]; today: string }): PlanView {
  const days = input.series.filter((day) => day.requests > 0);
  if (days.length === 0) {
    return {
      available: false,
      advice: 'No measured traffic yet: the projection appears after the first metered requests.',
      historyDays: 0,
      options: [],
      breakEven: [],
    };
  }
  const tokensOfDay = (day: DailyUsage) => day.inputTokens + day.outputTokens;
  const totalTokens = days.reduce((sum, day) => sum + tokensOfDay(day), 0);
  const totalCost = Money.sum(days.map((day) => Money.from(day.cost)));
  const costs = days.map((day) => Money.from(day.cost)).sort((a, b) => a.compare(b));
  const tokens = days.map(tokensOfDay).sort((a, b) => a - b);
  const p50Cost = percentile(costs, 0.5).times(DAYS_PER_MONTH);
  const p95Cost = percentile(costs, 0.95).times(DAYS_PER_MONTH);
  const p50Tokens = percentile(tokens, 0.5) * DAYS_PER_MONTH;
  const p95Tokens = percentile(tokens, 0.95) * DAYS_PER_MONTH;

  const perTokenAt = (volume: number): Money =>
    totalTokens === 0 ? Money.ZERO : totalCost.timesRatio(Math.round(volume), totalTokens);
  const options: PlanView['options'] = [
    {
      name: PER_TOKEN_NAME,
      kind: 'per-token',
      p50: p50Cost.toString(),
      p50Display: formatUsd(p50Cost),
      p95: p95Cost.toString(),
      p95Display: formatUsd(p95Cost),
    },
  ];
  for (const plan of input.plans) {
    const at50 = planCostAt(plan, p50Tokens);
    const at95 = planCostAt(plan, p95Tokens);
    options.push({
      name: plan.name,
      kind: 'flat-rate',
      p50: at50.toString(),
      p50Display: formatUsd(at50),
      p95: at95.toString(),
      p95Display: formatUsd(at95),
    });
  }

  const breakEven: PlanView['breakEven'] = [];
  for (const plan of input.plans) {
    if (totalCost.isZero() || totalTokens === 0) continue;
    // Per-token cost equals the fee at fee / (cost per token) tokens.
    const volume = Number(plan.monthlyFee.times(totalTokens).ratioTo(totalCost, 0));
    breakEven.push({
      between: [PER_TOKEN_NAME, plan.name],
      tokensPerMonth: volume,
      label: `${Math.round(volume).toLocaleString('en-US')} tokens`,
      costPerMonth: plan.monthlyFee.toString(),
      costPerMonthNumber: plan.monthlyFee.toNumber(),
    });
  }

  const maxVolume = Math.max(p95Tokens * 1.5, ...breakEven.map((point) => point.tokensPerMonth * 1.25), 1);
  const volumes = Array.from({ length: 41 }, (_, index) => (maxVolume * index) / 40);
  const curve: PlanView['curve'] = {
    volumes,
    perTokenName: PER_TOKEN_NAME,
    perToken: volumes.map((volume) => perTokenAt(volume).toNumber()),
    plans: input.plans.map((plan) => ({
      name: plan.name,
      costs: volumes.map((volume) => planCostAt(plan, volume).toNumber()),
    })),
  };

  const cheapest = [...options].sort((a, b) => Money.from(a.p50).compare(Money.from(b.p50)))[0];
  const advice =
    input.plans.length === 0
      ? `Projected month: ${formatUsd(p50Cost)} (p50) to ${formatUsd(p95Cost)} (p95) paying per token. Give the dashboard flat-rate plans to compare.`
      : `${cheapest?.name ?? PER_TOKEN_NAME} is cheapest at the projected ${Math.round(p50Tokens).toLocaleString('en-US')} tokens a month.`;
  return {
    available: true,
    advice,
    note:
      days.length < 7
        ? `Only ${days.length} day${days.length === 1 ? '' : 's'} of history: the projection is rough.`
        : undefined,
    historyDays: days.length,
    p50: { cost: p50Cost.toString(), costDisplay: formatUsd(p50Cost), tokens: p50Tokens },
    p95: { cost: p95Cost.toString(), costDisplay: formatUsd(p95Cost), tokens: p95Tokens },
    options,
    breakEven,
    curve,
  };
}

function percentile<T>(sorted: T[], share: number): T {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1));
  return sorted[index] as T;
}

function planCostAt(plan: DashboardPlan, volume: number): Money {
  if (plan.includedTokens === undefined || volume <= plan.includedTokens || !plan.overagePerMillionTokens) {
    return plan.monthlyFee;
  }
  const over = Math.ceil(volume - plan.includedTokens);
  return plan.monthlyFee.plus(plan.overagePerMillionTokens.timesRatio(over, 1_000_000));
}
