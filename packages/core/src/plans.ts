import { InvalidPlanError } from './invalid-plan-error';
import { Money } from './money';
import { Rational } from './rational';
import { safeYaml } from './safe-yaml';
import type { FlatRatePlan, LimitViolation, MonthVolume, PlanCost, PlanLimitName, RateLimits } from './types';
import { perMinute } from './workload';

/**
 * Traffic is not spread evenly over a day: the busiest minute of an ordinary day carries several times the
 * day's average minute. 3× is a common rule of thumb for interactive traffic; pass your own (from your
 * metrics: busiest minute ÷ average minute) when you know it.
 */
export const DEFAULT_PEAK_FACTOR = '3';

const LIMIT_KEYS = ['requestsPerMinute', 'tokensPerMinute', 'requestsPerDay', 'tokensPerDay'] as const;

/**
 * Reads flat-rate plans from JSON or YAML (YAML is a superset, so the format only sharpens the errors): a list
 * of plans, `{ plans: [...] }`, or one plan. See docs/planner.md for the fields.
 */
export function parsePlans(text: string, format?: 'json' | 'yaml'): FlatRatePlan[] {
  let document: unknown;
  try {
    document = format === 'json' ? JSON.parse(text) : safeYaml(text);
  } catch (error) {
    throw new InvalidPlanError(
      `Plans are not valid ${format === 'json' ? 'JSON' : 'YAML/JSON'}: ${(error as Error).message}`,
    );
  }
  const list = Array.isArray(document)
    ? document
    : isRecord(document) && Array.isArray(document.plans)
      ? document.plans
      : isRecord(document) && 'name' in document
        ? [document]
        : undefined;
  if (list === undefined) throw new InvalidPlanError('Expected a list of plans, or an object with a "plans" list');
  if (list.length === 0) throw new InvalidPlanError('The plan list is empty');
  const plans = list.map((item: unknown, index: number) => readPlan(item, index));
  const names = new Set<string>();
  for (const plan of plans) {
    if (names.has(plan.name)) throw new InvalidPlanError(`Two plans are named ${JSON.stringify(plan.name)}`);
    names.add(plan.name);
  }
  return plans;
}

/** A plan of one fee with no quota and no limits: `--flat 25`. */
export function flatRatePlan(monthlyFee: string | number | Money, name?: string): FlatRatePlan {
  const fee = readMoney(monthlyFee, 'monthlyFee', name ?? 'flat');
  return { name: name ?? `flat $${fee.toString()}/month`, monthlyFee: fee, limits: {} };
}

export interface PlanCostOptions {
  /** Busiest minute ÷ average minute; default 3. */
  peakFactor?: Rational | string | number;
  /** The model the workload needs, to check the plan serves it. */
  model?: string;
}

/**
 * A month under a plan: fee + token overage above the included tokens + request overage above the included
 * requests (each rounded once at 10^-18 USD), and whether the plan's quotas and rate limits carry the month's
 * peak (average minute of the busiest day × the peak factor).
 */
export function planCost(plan: FlatRatePlan, volume: MonthVolume, options: PlanCostOptions = {}): PlanCost {
  const peakFactor = Rational.from(options.peakFactor ?? DEFAULT_PEAK_FACTOR);
  const violations: LimitViolation[] = [];
  const unchecked: PlanLimitName[] = [];
  let overage = Money.ZERO;
  if (plan.includedTokens !== undefined && volume.tokens.compare(plan.includedTokens) > 0) {
    const extra = volume.tokens.minus(plan.includedTokens);
    if (plan.overagePerMillionTokens !== undefined) overage = overage.plus(extra.costAt(plan.overagePerMillionTokens));
    else
      violations.push({
        limit: 'includedTokens',
        allowed: plan.includedTokens,
        peak: volume.tokens,
        message: `${formatCount(volume.tokens)} tokens/month exceed the ${formatCount(plan.includedTokens)} included, with no overage price`,
      });
  }
  if (plan.includedRequests !== undefined) {
    if (volume.requests === undefined) unchecked.push('includedRequests');
    else if (volume.requests.compare(plan.includedRequests) > 0) {
      const extra = volume.requests.minus(plan.includedRequests);
      if (plan.overagePerThousandRequests !== undefined) {
        overage = overage.plus(extra.dividedBy(1000).timesMoney(plan.overagePerThousandRequests));
      } else
        violations.push({
          limit: 'includedRequests',
          allowed: plan.includedRequests,
          peak: volume.requests,
          message: `${formatCount(volume.requests)} requests/month exceed the ${formatCount(plan.includedRequests)} included, with no overage price`,
        });
    }
  }
  const peaks: Record<keyof RateLimits, Rational | undefined> = {
    tokensPerMinute: perMinute(volume.peakDayTokens).times(peakFactor),
    requestsPerMinute:
      volume.peakDayRequests === undefined ? undefined : perMinute(volume.peakDayRequests).times(peakFactor),
    tokensPerDay: volume.peakDayTokens,
    requestsPerDay: volume.peakDayRequests,
  };
  for (const key of LIMIT_KEYS) {
    const allowed = plan.limits[key];
    if (allowed === undefined) continue;
    const peak = peaks[key];
    if (peak === undefined) {
      unchecked.push(key);
      continue;
    }
    if (peak.compare(allowed) > 0) {
      const [what, per] = describeLimit(key);
      const basis =
        per === 'min' ? ` at peak (${trim(peakFactor.toDecimal(2))}× the average minute)` : ' on the busiest day';
      violations.push({
        limit: key,
        allowed,
        peak,
        message: `needs ${formatCount(peak, 'up')} ${what}/${per}${basis}; the plan allows ${formatCount(allowed)}`,
      });
    }
  }
  const servesModel =
    options.model === undefined || plan.models === undefined
      ? undefined
      : plan.models.some((model) => model.toLowerCase() === options.model?.toLowerCase());
  return {
    plan: plan.name,
    cost: plan.monthlyFee.plus(overage),
    fee: plan.monthlyFee,
    overage,
    feasible: violations.length === 0 && servesModel !== false,
    violations,
    ...(servesModel === undefined ? {} : { servesModel }),
    unchecked,
  };
}

function describeLimit(key: keyof RateLimits): [string, string] {
  switch (key) {
    case 'tokensPerMinute':
      return ['tokens', 'min'];
    case 'requestsPerMinute':
      return ['requests', 'min'];
    case 'tokensPerDay':
      return ['tokens', 'day'];
    default:
      return ['requests', 'day'];
  }
}

/** A count of tokens or requests for a sentence, as a whole number grouped (`10,500,000`). */
/** `1 day`, `2 days`: a count with its noun, singular for one. */
export function countOf(count: number, noun: string): string {
  return `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`;
}

export function formatCount(value: Rational | number, rounding: 'nearest' | 'up' = 'nearest'): string {
  // Tokens and requests come whole: a break-even of 8,333,333.33 tokens is first reached at 8,333,334.
  const exact = typeof value === 'number' ? Rational.from(value) : value;
  const whole = rounding === 'up' ? exact.ceil() : exact.round();
  return whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function trim(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

function readPlan(item: unknown, index: number): FlatRatePlan {
  if (!isRecord(item)) throw new InvalidPlanError(`Plan ${index + 1} is not an object`);
  const name = item.name;
  if (typeof name !== 'string' || name.trim() === '') throw new InvalidPlanError(`Plan ${index + 1} needs a name`);
  const where = JSON.stringify(name);
  const fee = item.monthlyFee ?? item.fee ?? item.price;
  if (fee === undefined) throw new InvalidPlanError(`Plan ${where} needs a monthlyFee`);
  const overage = item.overage === undefined ? {} : item.overage;
  if (!isRecord(overage)) throw new InvalidPlanError(`Plan ${where}: overage must be an object`);
  const limitsInput = item.limits === undefined ? {} : item.limits;
  if (!isRecord(limitsInput)) throw new InvalidPlanError(`Plan ${where}: limits must be an object`);
  const limits: RateLimits = {};
  for (const key of Object.keys(limitsInput)) {
    if (!(LIMIT_KEYS as readonly string[]).includes(key)) {
      throw new InvalidPlanError(`Plan ${where}: unknown limit ${JSON.stringify(key)} (use ${LIMIT_KEYS.join(', ')})`);
    }
    const value = readCount(limitsInput[key], `limits.${key}`, where);
    if (value !== undefined) limits[key as keyof RateLimits] = value;
  }
  const models = item.models;
  if (models !== undefined && (!Array.isArray(models) || !models.every((model) => typeof model === 'string'))) {
    throw new InvalidPlanError(`Plan ${where}: models must be a list of model names`);
  }
  const plan: FlatRatePlan = { name: name.trim(), monthlyFee: readMoney(fee, 'monthlyFee', name), limits };
  const includedTokens = readCount(item.includedTokens, 'includedTokens', where);
  const includedRequests = readCount(item.includedRequests, 'includedRequests', where);
  if (includedTokens !== undefined) plan.includedTokens = includedTokens;
  if (includedRequests !== undefined) plan.includedRequests = includedRequests;
  const perMillion = overage.perMillionTokens ?? item.overagePerMillionTokens;
  const perThousand = overage.perThousandRequests ?? item.overagePerThousandRequests;
  if (perMillion !== undefined) plan.overagePerMillionTokens = readMoney(perMillion, 'overage.perMillionTokens', name);
  if (perThousand !== undefined) {
    plan.overagePerThousandRequests = readMoney(perThousand, 'overage.perThousandRequests', name);
  }
  if (models !== undefined) plan.models = models as string[];
  return plan;
}

function readMoney(value: unknown, field: string, plan: string): Money {
  if (value instanceof Money) return value;
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new InvalidPlanError(
      `Plan ${JSON.stringify(plan)}: ${field} must be a USD amount, got ${JSON.stringify(value)}`,
    );
  }
  let amount: Money;
  try {
    amount = Money.from(typeof value === 'string' ? value.trim().replace(/^\$/, '') : value);
  } catch {
    throw new InvalidPlanError(
      `Plan ${JSON.stringify(plan)}: ${field} must be a USD amount, got ${JSON.stringify(value)}`,
    );
  }
  if (amount.isNegative()) throw new InvalidPlanError(`Plan ${JSON.stringify(plan)}: ${field} must not be negative`);
  return amount;
}

function readCount(value: unknown, field: string, where: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.replace(/[,_]/g, '') : '';
  const parsed = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(parsed)) {
    throw new InvalidPlanError(`Plan ${where}: ${field} must be a whole number ≥ 0, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
