import { type CompareInput, comparePricing } from './compare';
import { InvalidWorkloadError } from './invalid-workload-error';
import { Money } from './money';
import { trimDecimal } from './projection';
import { Rational } from './rational';
import type { Scenario, ScenarioEffect, WorkloadProfile } from './types';
import { parseQuantity, parseShare } from './workload';

/**
 * The workload under one of the essay's surprises:
 * - `spike`: `multiplier` × the usual traffic for `days` days of each month (and the busiest day with it);
 * - `retry-storm`: `extraRequests` more requests on top of the usual retries, each billed in full;
 * - `context-growth`: each request carries `tokensPerRequestPerMonth` × `months` (default 1) more input tokens.
 */
export function applyScenario(profile: WorkloadProfile, scenario: Scenario): WorkloadProfile {
  switch (scenario.kind) {
    case 'spike':
      parseQuantity(scenario.multiplier, 'spike multiplier');
      return {
        ...profile,
        spikes: [...(profile.spikes ?? []), { multiplier: scenario.multiplier, days: scenario.days }],
      };
    case 'retry-storm': {
      const base = profile.retryRate === undefined ? Rational.ZERO : parseShare(profile.retryRate, 'retryRate');
      const extra = parseShare(scenario.extraRequests, 'retry storm extraRequests');
      return { ...profile, retryRate: base.plus(extra).toFraction() };
    }
    case 'context-growth': {
      if (profile.inputTokensPerRequest === undefined) {
        throw new InvalidWorkloadError('A context-growth scenario needs inputTokensPerRequest');
      }
      const months = scenario.months ?? 1;
      if (!Number.isInteger(months) || months < 0) throw new InvalidWorkloadError('months must be a whole number ≥ 0');
      const added = parseQuantity(scenario.tokensPerRequestPerMonth, 'context growth tokens').times(months);
      return {
        ...profile,
        inputTokensPerRequest: parseQuantity(profile.inputTokensPerRequest, 'inputTokensPerRequest')
          .plus(added)
          .toFraction(),
      };
    }
    default:
      throw new InvalidWorkloadError(`Unknown scenario ${JSON.stringify((scenario as { kind?: unknown }).kind)}`);
  }
}

/** A short label: `traffic ×3 for 2 days`, `retry storm +20% requests`, `context +500 tokens/request`. */
export function describeScenario(scenario: Scenario): string {
  switch (scenario.kind) {
    case 'spike':
      return `traffic ×${scenario.multiplier} for ${scenario.days} day${scenario.days === 1 ? '' : 's'}`;
    case 'retry-storm': {
      const share = parseShare(scenario.extraRequests, 'extraRequests').times(100);
      return `retry storm +${trimDecimal(share.toDecimal(2))}% requests`;
    }
    default: {
      const months = scenario.months ?? 1;
      return `context +${scenario.tokensPerRequestPerMonth} tokens/request/month for ${months} month${months === 1 ? '' : 's'}`;
    }
  }
}

/** Each scenario's effect on every per-token option and every plan: cost before, after, the change, and feasibility. */
export function compareScenarios(
  input: CompareInput & { workload: WorkloadProfile },
  scenarios: Scenario[],
): ScenarioEffect[] {
  const base = comparePricing(input);
  return scenarios.map((scenario) => {
    const changed = comparePricing({ ...input, workload: applyScenario(input.workload, scenario) });
    const after = new Map(changed.options.map((option) => [option.name, option]));
    const effect: ScenarioEffect = { scenario, label: describeScenario(scenario), perToken: [], plans: [] };
    for (const option of base.options) {
      const next = after.get(option.name);
      const before = option.costPerMonth;
      const now = next?.costPerMonth;
      if (option.kind === 'per-token') {
        effect.perToken.push({
          name: option.name,
          ...(before === undefined ? {} : { base: before }),
          ...(now === undefined ? {} : { scenario: now }),
          ...(before === undefined || now === undefined ? {} : { change: now.minus(before) }),
        });
      } else {
        const baseCost = before ?? Money.ZERO;
        const scenarioCost = now ?? baseCost;
        effect.plans.push({
          name: option.name,
          base: baseCost,
          scenario: scenarioCost,
          change: scenarioCost.minus(baseCost),
          feasible: next?.feasible ?? false,
          violations: next?.violations ?? [],
        });
      }
    }
    return effect;
  });
}
