import { describe, expect, it } from 'vitest';
import { breakEvenTokens, perTokenLine, planLine } from './break-even';
import { comparePricing } from './compare';
import { Money } from './money';
import { flatRatePlan, parsePlans } from './plans';
import { Rational } from './rational';

// Hand-computed from the essay's figures and from the plan numbers written in each test.
describe('comparePricing — the essay', () => {
  it('$25 flat is cheaper than $3/M from 8,333,333.33… tokens/month (25 / 0.000003 = 25,000,000 / 3)', () => {
    const comparison = comparePricing({
      workload: { tokensPerMonth: 10_500_000 },
      perToken: [{ pricePerMillion: 3 }],
      plans: [flatRatePlan(25)],
    });
    const [perToken, flat] = comparison.options;
    expect(perToken?.name).toBe('$3/M');
    expect(perToken?.costPerMonth?.toString()).toBe('31.5');
    expect(flat?.name).toBe('flat $25/month');
    expect(flat?.costPerMonth?.toString()).toBe('25');
    expect(comparison.cheapest).toBe('flat $25/month');
    const [breakEven] = comparison.breakEven;
    expect(breakEven?.between).toEqual(['$3/M', 'flat $25/month']);
    expect(breakEven?.tokensPerMonth?.toFraction()).toBe('25000000/3');
    expect(breakEven?.tokensPerMonth?.toDecimal(2)).toBe('8333333.33');
    expect(breakEven?.crossings[0]?.cheaperAbove).toBe('flat $25/month');
    expect(breakEven?.never).toBe(false);
  });

  it('below the break-even, per-token is cheaper: 500,000 tokens at $3/M = $1.50 vs $25', () => {
    const comparison = comparePricing({
      workload: { tokensPerMonth: 500_000 },
      perToken: [{ pricePerMillion: 3 }],
      plans: [flatRatePlan(25)],
    });
    expect(comparison.cheapest).toBe('$3/M');
    expect(comparison.options[0]?.costPerMonth?.toString()).toBe('1.5');
  });
});

const planYaml = `
plans:
  - name: Team
    monthlyFee: 49
    includedTokens: 10000000
    overage:
      perMillionTokens: 1.5
  - name: Capped
    monthlyFee: "$20"
    includedTokens: 5000000
  - name: Requests
    monthlyFee: 10
    includedRequests: 10000
    overage: { perThousandRequests: 2 }
    limits: { requestsPerMinute: 60, tokensPerMinute: 100000 }
`;

describe('plans: quotas, overage, hard caps, rate limits', () => {
  it('prices included tokens and overage', () => {
    const plans = parsePlans(planYaml);
    expect(plans.map((plan) => plan.name)).toEqual(['Team', 'Capped', 'Requests']);
    // 15,000 requests × 700 tokens = 10,500,000 tokens.
    const comparison = comparePricing({
      workload: { requestsPerMonth: 15_000, inputTokensPerRequest: 300, outputTokensPerRequest: 400 },
      perToken: [{ pricePerMillion: 2 }],
      plans,
    });
    const byName = Object.fromEntries(comparison.options.map((option) => [option.name, option]));
    // Team: $49 + 500,000 over × $1.50/M = $49.75.
    expect(byName.Team?.costPerMonth?.toString()).toBe('49.75');
    expect(byName.Team?.feasible).toBe(true);
    // Capped: 10.5 M > 5 M with no overage price → infeasible, flagged with the volume that breaks it.
    expect(byName.Capped?.feasible).toBe(false);
    expect(byName.Capped?.violations[0]?.limit).toBe('includedTokens');
    expect(byName.Capped?.violations[0]?.peak.toFraction()).toBe('10500000');
    // Requests: $10 + 5,000 extra requests × $2/1k = $20.
    expect(byName.Requests?.costPerMonth?.toString()).toBe('20');
    // $2/M on 10.5 M = $21 > $20 → Requests plan is the cheapest feasible option.
    expect(comparison.cheapest).toBe('Requests');
  });

  it('flags the rate limit the peak breaks (peak factor 3, and a custom one)', () => {
    const [, , plan] = parsePlans(planYaml);
    // 43,200 requests/day = 30/min average; × 3 = 90/min > 60 allowed. Tokens: 30 × 700 × 3 = 63,000/min ≤ 100,000.
    const comparison = comparePricing({
      workload: { requestsPerDay: 43_200, inputTokensPerRequest: 300, outputTokensPerRequest: 400 },
      plans: plan ? [plan] : [],
    });
    const option = comparison.options[0];
    expect(option?.feasible).toBe(false);
    expect(option?.violations).toHaveLength(1);
    expect(option?.violations[0]?.limit).toBe('requestsPerMinute');
    expect(option?.violations[0]?.peak.toFraction()).toBe('90');
    expect(option?.violations[0]?.message).toContain('needs 90 requests/min at peak (3× the average minute)');
    expect(comparison.cheapest).toBeUndefined();
    // At a peak factor of 2: 60/min fits exactly.
    const calmer = comparePricing({
      workload: { requestsPerDay: 43_200, inputTokensPerRequest: 300, outputTokensPerRequest: 400 },
      plans: plan ? [plan] : [],
      peakFactor: 2,
    });
    expect(calmer.options[0]?.feasible).toBe(true);
  });

  it('rejects bad plan files with INVALID_PLAN', () => {
    expect(() => parsePlans('plans: [{ monthlyFee: 5 }]')).toThrow(/needs a name/);
    expect(() => parsePlans('- name: A\n')).toThrow(/monthlyFee/);
    expect(() => parsePlans('- name: A\n  monthlyFee: -1\n')).toThrow(/negative/);
    expect(() => parsePlans('- name: A\n  monthlyFee: 1\n  limits: { perFortnight: 3 }\n')).toThrow(/unknown limit/);
    expect(() => parsePlans('{ "plans": [', 'json')).toThrow(/not valid JSON/);
    try {
      parsePlans('[]');
    } catch (error) {
      expect((error as { code: string }).code).toBe('INVALID_PLAN');
    }
  });
});

describe('breakEvenTokens — piecewise lines', () => {
  it('finds two crossings when overage costs more per token than the per-token price', () => {
    const [team] = parsePlans(planYaml);
    if (!team) throw new Error('no plan');
    // $2/M vs Team ($49 incl. 10 M, then $1.50/M): 2T = 49 → T = 24.5 M, beyond 10 M: 2T = 49 + 1.5(T − 10 M) → 0.5T = 34 → 68 M.
    const cheapOverage = breakEvenTokens(perTokenLine('$2/M', '2'), planLine(team));
    expect(cheapOverage.crossings.map((crossing) => crossing.tokensPerMonth.toFraction())).toEqual(['68000000']);
    expect(cheapOverage.crossings[0]?.cheaperAbove).toBe('Team');
    // $1/M: 1T = 49 → 49 M > 10 M; beyond 10 M: T = 34 + 1.5T … −0.5T = 34 → negative: never.
    const never = breakEvenTokens(perTokenLine('$1/M', '1'), planLine(team));
    expect(never.never).toBe(true);
    expect(never.sentence).toContain('$1/M is cheaper at every volume');
    // $10/M: 10T = 49 → 4.9 M (inside the quota): Team cheaper above; beyond 10 M the overage is cheaper still.
    const dear = breakEvenTokens(perTokenLine('$10/M', '10'), planLine(team));
    expect(dear.tokensPerMonth?.toFraction()).toBe('4900000');
    expect(dear.crossings).toHaveLength(1);
  });

  it('a plan whose overage costs more per token than the per-token price', () => {
    const plan = parsePlans(
      '- name: Cheap start\n  monthlyFee: 5\n  includedTokens: 1000000\n  overage: { perMillionTokens: 6 }\n',
    )[0];
    if (!plan) throw new Error('no plan');
    // $3/M vs $5 incl. 1 M then $6/M: 3T = 5 → 1,666,666.67 (> 1 M, so not in the first piece);
    // beyond 1 M: 3T = 5 + 6(T − 1 M) = 6T − 1 → T = 1/3 M… below 1 M, outside: never.
    // $8/M: 8T = 5 → 625,000 (inside the quota); beyond 1 M: 8T = 6T − 1 → negative: one crossing.
    expect(breakEvenTokens(perTokenLine('$3/M', 3), planLine(plan)).never).toBe(true);
    const result = breakEvenTokens(perTokenLine('$8/M', 8), planLine(plan));
    expect(result.crossings.map((crossing) => crossing.tokensPerMonth.toFraction())).toEqual(['625000']);
  });

  it('gives break-even requests too, and marks crossings beyond the rate limits', () => {
    const plan = { ...flatRatePlan(25), limits: { tokensPerMinute: 500 } };
    // Average tokens/day × 3 / 1,440 ≤ 500 → month ≤ 500 × 1,440 × 30 / 3 = 7,200,000 tokens.
    const line = planLine(plan, {
      month: 1,
      days: 30,
      tokens: Rational.of(3_000_000),
      tokensPerDay: Rational.of(100_000),
      peakDayTokens: Rational.of(100_000),
      requests: Rational.of(6000),
    });
    expect(line.capacityTokensPerMonth?.toFraction()).toBe('7200000');
    const result = breakEvenTokens(perTokenLine('$3/M', Money.from(3)), line);
    // 500 tokens per request: 25,000,000/3 tokens ÷ 500 = 50,000/3 requests.
    expect(result.requestsPerMonth?.toFraction()).toBe('50000/3');
    expect(result.crossings[0]?.withinLimits).toBe(false);
  });
});

describe('plans that serve some models', () => {
  it('a plan that does not serve the workload model cannot carry it', () => {
    const plans = parsePlans('- name: Minis only\n  monthlyFee: 5\n  models: [gpt-4o-mini]\n');
    const volume = { tokensPerMonth: 1_000_000 };
    const other = comparePricing({ workload: volume, perToken: [{ pricePerMillion: 3 }], plans, model: 'gpt-4o' });
    expect(other.options[1]?.feasible).toBe(false);
    // 1 M tokens × $3/M = $3 — cheaper anyway, and the plan is out.
    expect(other.cheapest).toBe('$3/M');
    const same = comparePricing({ workload: volume, perToken: [{ pricePerMillion: 10 }], plans, model: 'GPT-4o-mini' });
    // 1 M tokens × $10/M = $10 > $5: the plan serves this model and is cheapest.
    expect(same.cheapest).toBe('Minis only');
  });
});

describe('limits that need a request count', () => {
  it('are reported unchecked, not passed, when only tokens are known', () => {
    const plans = parsePlans(
      '- name: Per-minute\n  monthlyFee: 5\n  includedRequests: 10\n  limits: { requestsPerMinute: 1 }\n',
    );
    const comparison = comparePricing({ workload: { tokensPerMonth: 1_000_000 }, plans });
    expect(comparison.options[0]?.unchecked).toEqual(['includedRequests', 'requestsPerMinute']);
    expect(comparison.options[0]?.feasible).toBe(true);
  });
});
