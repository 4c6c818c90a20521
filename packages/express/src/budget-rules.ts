import { Money, TokenmeterError } from '@tokenmeter/core';
import { validateBudgetWindow } from './budget-window';
import { InvalidMeterOptionsError } from './invalid-meter-options-error';
import type { BudgetRuleOptions, BudgetScope } from './meter-options';
import type { BudgetWindow } from './types';

/** A budget rule checked and converted into store units, once, when the middleware is created. */
export interface BudgetRule {
  /** Prefix of the budget ids this rule produces (the subject is inserted after the scope). */
  label: string;
  scope: BudgetScope;
  unit: 'usd' | 'tokens';
  /** Nano-dollars (10^-9 USD) for USD rules, tokens for token rules. */
  limit: number;
  window: BudgetWindow;
  /** Short text of the window for ids and messages: `day`, `week@Europe/Paris`, `rolling3600000ms`. */
  windowLabel: string;
  soft: boolean;
}

const SCOPES: readonly BudgetScope[] = ['user', 'tenant', 'feature', 'route', 'global'];
const ATTO_PER_NANO = 10n ** 9n;

/** Converts an exact USD amount to whole nano-dollars, rounding up so a reservation is never short. */
export function toNanoDollars(amount: Money): number {
  const atto = amount.atto;
  const nano = atto <= 0n ? 0n : (atto + ATTO_PER_NANO - 1n) / ATTO_PER_NANO;
  return Number(nano > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : nano);
}

/** Formats an amount in a rule's unit for headers and messages: USD as a decimal string, tokens as an integer. */
export function formatBudgetAmount(amount: number, unit: 'usd' | 'tokens'): string {
  if (unit === 'tokens') return String(amount);
  return Money.fromAtto(BigInt(amount) * ATTO_PER_NANO).toString();
}

/** Parses the `budgets` option into rules; every problem is an `InvalidMeterOptionsError` naming the option. */
/**
 * A wait as a person reads it: `45 s`, `12 min`, `4 h 46 min`, `2 d 3 h` (the two largest units, rounded up so
 * retrying at the stated time is never early).
 */
export function formatWait(seconds: number): string {
  const total = Math.max(1, Math.ceil(seconds));
  if (total < 60) return `${total} s`;
  const minutes = Math.ceil(total / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const wholeHours = Math.ceil(minutes / 60);
  const days = Math.floor(wholeHours / 24);
  return wholeHours % 24 === 0 ? `${days} d` : `${days} d ${wholeHours % 24} h`;
}

export function parseBudgetRules(option: unknown, path = 'budgets'): BudgetRule[] {
  if (option === undefined || option === null) return [];
  const list = Array.isArray(option) ? option : [option];
  const rules = list.map((item, index) => {
    const itemPath = Array.isArray(option) ? `${path}[${index}]` : path;
    const rule = typeof item === 'string' ? parseBudgetShorthand(item, itemPath) : item;
    return parseBudgetRule(rule, itemPath);
  });
  const seen = new Set<string>();
  for (const rule of rules) {
    if (seen.has(rule.label)) {
      throw new InvalidMeterOptionsError(
        path,
        `two budgets share the id ${JSON.stringify(rule.label)}; give one an \`id\``,
      );
    }
    seen.add(rule.label);
  }
  return rules;
}

/**
 * Reads the command-line shorthand `[~][scope:]AMOUNT[tokens]/WINDOW[@TIME_ZONE]`: `5/day` (global, $5 a
 * day, UTC), `user:0.50/day@Europe/Paris`, `tenant:200000tokens/month`, `route:2/1h` (rolling hour). A
 * leading `~` makes the budget soft (warn only).
 */
export function parseBudgetShorthand(text: string, path = 'budget'): BudgetRuleOptions {
  const match =
    /^\s*(~)?(?:(user|tenant|feature|route|global):)?\$?(\d+(?:\.\d+)?)\s*(tokens|usd)?\s*\/\s*(day|week|month|\d+(?:ms|s|m|h|d))(?:@([\w+\-/]+))?\s*$/i.exec(
      text,
    );
  if (!match) {
    throw new InvalidMeterOptionsError(
      path,
      `cannot read budget ${JSON.stringify(text)}; expected [~][scope:]AMOUNT[tokens]/WINDOW[@TIME_ZONE], e.g. 5/day, user:0.50/day, tenant:100000tokens/month, 2/1h`,
    );
  }
  const [, soft, scope = 'global', amount = '', unit, windowText = '', timeZone] = match;
  const window = windowText.toLowerCase();
  const rule: BudgetRuleOptions = {
    scope: scope.toLowerCase() as BudgetScope,
    limit: unit?.toLowerCase() === 'tokens' ? { tokens: Number(amount) } : amount,
    window: window === 'day' || window === 'week' || window === 'month' ? window : { rollingMs: durationMs(window) },
  };
  if (timeZone) rule.timeZone = timeZone;
  if (soft) rule.soft = true;
  return rule;
}

function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  const value = Number(match?.[1] ?? Number.NaN);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match?.[2] as 'ms'];
  return value * unit;
}

function parseBudgetRule(input: unknown, path: string): BudgetRule {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidMeterOptionsError(path, 'a budget is an object { scope, limit, window } or a string like "5/day"');
  }
  const options = input as BudgetRuleOptions;
  if (!SCOPES.includes(options.scope)) {
    throw new InvalidMeterOptionsError(`${path}.scope`, `expected one of ${SCOPES.join(', ')}`);
  }
  const { unit, limit } = parseLimit(options.limit, `${path}.limit`);
  const timeZone = options.timeZone ?? 'UTC';
  const windowOption = options.window ?? 'day';
  let window: BudgetWindow;
  let windowLabel: string;
  if (windowOption === 'day' || windowOption === 'week' || windowOption === 'month') {
    window = { kind: 'calendar', period: windowOption, timeZone };
    windowLabel = timeZone === 'UTC' ? windowOption : `${windowOption}@${timeZone}`;
  } else if (typeof windowOption === 'object' && windowOption !== null && 'rollingMs' in windowOption) {
    window = { kind: 'rolling', durationMs: windowOption.rollingMs };
    windowLabel = `rolling${windowOption.rollingMs}ms`;
  } else {
    throw new InvalidMeterOptionsError(`${path}.window`, "expected 'day', 'week', 'month' or { rollingMs }");
  }
  try {
    validateBudgetWindow(window);
  } catch (error) {
    throw new InvalidMeterOptionsError(
      `${path}.window`,
      error instanceof TokenmeterError ? error.message : String(error),
    );
  }
  const label = options.id ?? `${options.scope}:${unit}:${windowLabel}`;
  if (typeof label !== 'string' || label === '') {
    throw new InvalidMeterOptionsError(`${path}.id`, 'expected a non-empty string');
  }
  return { label, scope: options.scope, unit, limit, window, windowLabel, soft: options.soft === true };
}

function parseLimit(limit: unknown, path: string): { unit: 'usd' | 'tokens'; limit: number } {
  if (typeof limit === 'object' && limit !== null && 'tokens' in limit) {
    const tokens = (limit as { tokens: unknown }).tokens;
    if (typeof tokens !== 'number' || !Number.isSafeInteger(tokens) || tokens <= 0) {
      throw new InvalidMeterOptionsError(path, 'a token limit is a whole number > 0');
    }
    return { unit: 'tokens', limit: tokens };
  }
  const usd = typeof limit === 'object' && limit !== null && 'usd' in limit ? (limit as { usd: unknown }).usd : limit;
  if (typeof usd !== 'string' && typeof usd !== 'number') {
    throw new InvalidMeterOptionsError(path, "expected USD ('5', 5, { usd: '5' }) or { tokens: N }");
  }
  let amount: Money;
  try {
    amount = Money.from(usd);
  } catch {
    throw new InvalidMeterOptionsError(path, `${JSON.stringify(usd)} is not a decimal USD amount`);
  }
  if (amount.atto % ATTO_PER_NANO !== 0n) {
    throw new InvalidMeterOptionsError(path, 'USD limits are counted in nano-dollars: at most 9 decimal places');
  }
  const nano = amount.atto / ATTO_PER_NANO;
  if (nano <= 0n || nano > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidMeterOptionsError(path, 'a USD limit must be > 0 and at most 9,007,199 USD');
  }
  return { unit: 'usd', limit: Number(nano) };
}
