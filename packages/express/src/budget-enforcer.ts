import type { CostResult, Money, NormalizedUsage, ResolvedModel } from '@tokenmeter/core';
import { type AiCall, maximumAmounts, totalTokens } from './ai-call';
import { type BudgetRule, formatBudgetAmount, formatWait, toNanoDollars } from './budget-rules';
import { describeError, type MeterConfig } from './meter-config';
import type { BudgetScope, BudgetWarning, Identity } from './meter-options';
import type { Store } from './types';

/** A rule that applies to one request, with the subject it counts for. */
export interface AppliedBudget {
  rule: BudgetRule;
  subject: string;
  budgetId: string;
}

/** What a call may cost (before) or did cost (after). `cost` is undefined when the model has no price. */
export interface BudgetAmounts {
  tokens: number;
  cost: Money | undefined;
  /** The input part of `tokens` (the rest is output), when known. */
  inputTokens?: number;
}

/** Why a call was refused, in the words and numbers the 429 response carries. */
export interface BudgetRejection {
  budgetId: string;
  scope: BudgetScope;
  subject: string;
  unit: 'usd' | 'tokens';
  /** In the unit (USD decimal string or token count). */
  limit: string;
  used: string;
  remaining: string;
  /** What this call needed reserved. */
  requested: string;
  retryAfterSeconds: number;
  message: string;
}

/** A successful reservation: settle it with the actual amounts, or release it. */
export interface BudgetHold {
  reservationId: string;
  applied: AppliedBudget[];
  warnings: BudgetWarning[];
  /** Headers describing the tightest hard budget (and soft warnings). */
  headers: Record<string, string>;
  /** Set when the model has no price and a USD budget applies: how `unpricedPolicy` counts the call. */
  unpriced?: UnpricedDecision;
  /** The amount reserved per applied budget, in its unit, to tell when a settlement exceeds it. */
  reserved: number[];
}

/** What `unpricedPolicy` decided for a call whose model has no price, under at least one USD budget. */
export interface UnpricedDecision {
  policy: 'refuse' | 'allow' | 'price_as';
  /** The catalog model whose prices stand in (`price_as` only). */
  priceAs?: ResolvedModel;
}

/** A call refused by `unpricedPolicy: 'refuse'`: the USD budget that could not count it. */
export interface UnpricedRefusal {
  budgetId: string;
  scope: BudgetScope;
  model: string;
  message: string;
}

export type CallReservation =
  | { ok: true; hold: BudgetHold }
  | { ok: false; rejection: BudgetRejection; unpriced?: UnpricedDecision }
  | { ok: false; refusal: UnpricedRefusal };

// Soft budgets are counted by the store like hard ones but can never refuse: their limit is the largest safe integer.
const UNLIMITED = Number.MAX_SAFE_INTEGER;

/** The budgets that apply to a request: rules whose subject is unknown (no user identified) do not apply. */
export function applicableBudgets(rules: BudgetRule[], identity: Identity | undefined, route: string): AppliedBudget[] {
  const applied: AppliedBudget[] = [];
  for (const rule of rules) {
    const subject =
      rule.scope === 'global'
        ? undefined
        : rule.scope === 'route'
          ? route
          : rule.scope === 'user'
            ? identity?.user
            : rule.scope === 'tenant'
              ? identity?.tenant
              : identity?.feature;
    if (rule.scope !== 'global' && (subject === undefined || subject === '')) continue;
    const budgetId =
      subject === undefined
        ? rule.label
        : `${rule.scope}:${subject}:${rule.label.startsWith(`${rule.scope}:`) ? rule.label.slice(rule.scope.length + 1) : rule.label}`;
    applied.push({ rule, subject: subject ?? 'global', budgetId });
  }
  return applied;
}

export function amountFor(rule: BudgetRule, amounts: BudgetAmounts): number {
  if (rule.unit === 'tokens') return Math.min(Math.max(0, Math.ceil(amounts.tokens)), UNLIMITED);
  return amounts.cost === undefined ? 0 : toNanoDollars(amounts.cost);
}

/**
 * Reserves a call's maximum against the budgets that apply to it. A model without a price is handled by
 * `unpricedPolicy` first: a hard USD budget cannot hold an unknown amount, so `refuse` answers before the
 * store is asked (nothing is reserved, nothing reaches the upstream); `price_as` reserves at the named
 * model's prices; `allow` reserves $0 on USD budgets and the tokens on token budgets. Store failures reject.
 */
export async function reserveForCall(
  config: MeterConfig,
  call: AiCall,
  applied: AppliedBudget[],
): Promise<CallReservation> {
  let resolved = config.resolveModel(call.model);
  let unpriced: UnpricedDecision | undefined;
  if (resolved === undefined && applied.some((budget) => budget.rule.unit === 'usd')) {
    const policy = config.unpricedPolicy;
    if (policy.kind === 'price_as') {
      unpriced = { policy: 'price_as', priceAs: policy.model };
      resolved = policy.model;
    } else {
      const hard = applied.find((budget) => budget.rule.unit === 'usd' && !budget.rule.soft);
      if (policy.kind === 'refuse' && hard !== undefined) {
        return { ok: false, refusal: unpricedRefusal(hard, call.model) };
      }
      // Soft budgets never refuse: under `refuse` with only soft USD budgets the call is served as under `allow`.
      unpriced = { policy: 'allow' };
    }
  }
  await call.prepareReservation();
  const amounts = maximumAmounts(call, config.catalog, resolved, config.maxOutputTokens);
  const result = await reserveBudgets(config.store, applied, amounts, Date.now());
  if (unpriced === undefined) return result;
  if (result.ok) result.hold.unpriced = unpriced;
  return result.ok ? result : { ...result, unpriced };
}

function unpricedRefusal(budget: AppliedBudget, model: string): UnpricedRefusal {
  return {
    budgetId: budget.budgetId,
    scope: budget.rule.scope,
    model,
    message:
      `Model ${JSON.stringify(model)} has no price, so budget ${budget.budgetId} cannot count what this call ` +
      `would cost: calls to unpriced models are refused under a USD budget (unpricedPolicy 'refuse'). Use a ` +
      'priced model, add its price to the catalog, or set unpricedPolicy.',
  };
}

/**
 * Headers and body of the 403 for a call `unpricedPolicy: 'refuse'` turned away. Not a 429: waiting does not
 * help, and `x-should-retry: false` keeps SDKs from retrying it.
 */
export function unpricedRefusalResponse(refusal: UnpricedRefusal): {
  status: 403;
  headers: Record<string, string>;
  body: string;
} {
  return {
    status: 403,
    headers: {
      'content-type': 'application/json',
      'x-should-retry': 'false',
      'x-tokenmeter-budget-id': headerSafe(refusal.budgetId),
      'x-tokenmeter-budget-unit': 'usd',
    },
    body: JSON.stringify({
      error: { type: 'unpriced_model', code: 'unpriced_model', message: refusal.message, param: 'model' },
    }),
  };
}

export async function reserveBudgets(
  store: Store,
  applied: AppliedBudget[],
  amounts: BudgetAmounts,
  now: number,
): Promise<{ ok: true; hold: BudgetHold } | { ok: false; rejection: BudgetRejection }> {
  const requests = applied.map(({ rule, budgetId }) => ({
    budgetId,
    window: rule.window,
    limit: rule.soft ? UNLIMITED : rule.limit,
    amount: amountFor(rule, amounts),
  }));
  const result = await store.reserve(requests, now);
  if (!result.ok) {
    const index = Math.max(
      0,
      applied.findIndex((budget) => budget.budgetId === result.budgetId),
    );
    const budget = applied[index] as AppliedBudget;
    const unit = budget.rule.unit;
    const retryAfterSeconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
    const limit = formatBudgetAmount(result.limit, unit);
    const used = formatBudgetAmount(result.used, unit);
    const requested = formatBudgetAmount(requests[index]?.amount ?? 0, unit);
    const remaining = formatBudgetAmount(Math.max(0, result.limit - result.used), unit);
    const money = (text: string) => (unit === 'usd' ? `$${text}` : `${text} tokens`);
    return {
      ok: false,
      rejection: {
        budgetId: budget.budgetId,
        scope: budget.rule.scope,
        subject: budget.subject,
        unit,
        limit,
        used,
        remaining,
        requested,
        retryAfterSeconds,
        message:
          `Budget ${budget.budgetId} exceeded: ${money(used)} of ${money(limit)} used this ${budget.rule.windowLabel} ` +
          `window (${money(remaining)} left) and this request may need up to ${money(requested)}. ` +
          `Retry after ${formatWait(retryAfterSeconds)} (${retryAfterSeconds} s) or raise the budget.`,
      },
    };
  }
  const warnings: BudgetWarning[] = [];
  let tightest: { budget: AppliedBudget; remaining: number; share: number; reserved: number } | undefined;
  applied.forEach((budget, index) => {
    const remaining = result.remaining[index] ?? 0;
    if (budget.rule.soft) {
      const used = UNLIMITED - remaining;
      if (used > budget.rule.limit) {
        warnings.push({
          budgetId: budget.budgetId,
          scope: budget.rule.scope,
          subject: budget.subject,
          unit: budget.rule.unit,
          limit: formatBudgetAmount(budget.rule.limit, budget.rule.unit),
          used: formatBudgetAmount(used, budget.rule.unit),
        });
      }
      return;
    }
    const share = remaining / budget.rule.limit;
    if (tightest === undefined || share < tightest.share) {
      tightest = { budget, remaining, share, reserved: requests[index]?.amount ?? 0 };
    }
  });
  const headers: Record<string, string> = {};
  if (tightest) Object.assign(headers, budgetHeaders(tightest.budget, tightest.remaining, tightest.reserved));
  if (warnings.length > 0)
    headers['x-tokenmeter-budget-warning'] = warnings.map((warning) => warning.budgetId).join(', ');
  const reserved = requests.map((request) => request.amount);
  return { ok: true, hold: { reservationId: result.reservationId, applied, warnings, headers, reserved } };
}

/**
 * The tightest budget's headers on a served call. `remaining` is what is left after this call's reservation
 * (the most it can cost); `reserved` is that reservation, so what was left before the call is their sum. Both
 * are named apart because a client deciding whether to send the next call needs the first, and one explaining
 * this call's headroom the second.
 */
export function budgetHeaders(budget: AppliedBudget, remaining: number, reserved?: number): Record<string, string> {
  const unit = budget.rule.unit;
  const left = Math.max(0, remaining);
  return {
    'x-tokenmeter-budget-id': headerSafe(budget.budgetId),
    'x-tokenmeter-budget-unit': unit,
    'x-tokenmeter-budget-limit': formatBudgetAmount(budget.rule.limit, unit),
    'x-tokenmeter-budget-remaining': formatBudgetAmount(left, unit),
    ...(reserved === undefined
      ? {}
      : {
          'x-tokenmeter-budget-reserved': formatBudgetAmount(reserved, unit),
          'x-tokenmeter-budget-remaining-before': formatBudgetAmount(left + reserved, unit),
        }),
  };
}

/** Headers and body of a 429 for a refused call (OpenAI's error shape, so every SDK surfaces it). */
export function rejectionResponse(rejection: BudgetRejection): { headers: Record<string, string>; body: string } {
  return {
    headers: {
      'content-type': 'application/json',
      'retry-after': String(rejection.retryAfterSeconds),
      'x-tokenmeter-budget-id': headerSafe(rejection.budgetId),
      'x-tokenmeter-budget-unit': rejection.unit,
      'x-tokenmeter-budget-limit': rejection.limit,
      'x-tokenmeter-budget-remaining': rejection.remaining,
    },
    body: JSON.stringify({
      error: { type: 'budget_exceeded', code: 'budget_exceeded', message: rejection.message, param: null },
    }),
  };
}

export async function settleBudgets(
  store: Store,
  hold: BudgetHold,
  amounts: BudgetAmounts,
  now: number,
): Promise<void> {
  await store.settle(
    hold.reservationId,
    hold.applied.map(({ rule }) => amountFor(rule, amounts)),
    now,
  );
}

export async function releaseBudgets(store: Store, hold: BudgetHold, now: number): Promise<void> {
  await store.release(hold.reservationId, now);
}

/**
 * Ends a call's reservation: settled at what the call spent, or released when it spent nothing (refused,
 * upstream error). Never rejects: a store failure is reported once and the reservation is left to expire.
 * Returns true when the call spent more than was reserved for it (reported once as a warning too): the
 * budget promise holds up to such over-runs, so they must be visible.
 */
export function endBudgetHold(
  config: { store: Store; warnOnce(code: string, message: string): void },
  hold: BudgetHold,
  usage: NormalizedUsage | undefined,
  cost: CostResult | undefined,
): boolean {
  const now = Date.now();
  let exceeded = false;
  let ended: Promise<void>;
  if (usage === undefined) ended = releaseBudgets(config.store, hold, now);
  else {
    const amounts = { tokens: totalTokens(usage), cost: cost?.priced ? cost.total : undefined };
    const settled = hold.applied.map(({ rule }) => amountFor(rule, amounts));
    exceeded = settled.some((amount, index) => amount > (hold.reserved[index] ?? 0));
    ended = (async () => config.store.settle(hold.reservationId, settled, now))();
  }
  if (exceeded) {
    config.warnOnce(
      'RESERVATION_EXCEEDED',
      'a call cost more than its budget reservation (the event has reservationExceeded: true); budgets can overspend by that difference.',
    );
  }
  ended.catch((failure: unknown) =>
    config.warnOnce('STORE_SETTLE_FAILED', `a budget reservation could not be settled: ${describeError(failure)}.`),
  );
  return exceeded;
}

/** Header values must be visible ASCII: ids built from user names may hold anything. */
function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

/** Hands soft-limit warnings to the app's callback; a throwing callback is reported once, never fatal. */
export function notifyBudgetWarnings(
  config: { onBudgetWarning(warning: BudgetWarning): void; warnOnce(code: string, message: string): void },
  hold: BudgetHold,
): void {
  for (const warning of hold.warnings) {
    try {
      config.onBudgetWarning(warning);
    } catch (error) {
      config.warnOnce('BUDGET_WARNING_CALLBACK_FAILED', `onBudgetWarning threw: ${describeError(error)}.`);
    }
  }
}
