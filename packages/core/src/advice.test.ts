import { describe, expect, it } from 'vitest';
import { advise } from './advice';
import { costCurve, formatTokens, renderTerminalChart } from './chart';
import { comparePricing } from './compare';
import { flatRatePlan, parsePlans } from './plans';
import { applyScenario, compareScenarios } from './scenarios';
import { analyzeSeries, parseDailySeries } from './series';

// Hand-computed from the essay's numbers: 10.5 M tokens/month at $3/M = $31.50 against $25 flat.
const essay = () =>
  comparePricing({
    workload: { tokensPerMonth: 10_500_000 },
    perToken: [{ pricePerMillion: 3 }],
    plans: [flatRatePlan(25)],
  });

describe('advise', () => {
  it('says which is cheaper, by how much, and where it flips', () => {
    const advice = advise(essay());
    expect(advice.cheapest).toBe('flat $25/month');
    expect(advice.runnerUp).toBe('$3/M');
    expect(advice.savings?.toString()).toBe('6.5');
    expect(advice.flipsAt?.tokensPerMonth.toFraction()).toBe('25000000/3');
    expect(advice.predictability).toBe('unknown');
    expect(advice.sentence).toBe(
      'At 10,500,000 tokens/month, flat $25/month is the cheapest option at $25.00/month, $6.50 less than $3/M ($31.50); ' +
        'below 8,333,334 tokens/month $3/M would be cheaper. ' +
        'How predictable the per-token bill is cannot be told without a measured daily series (--series).',
    );
  });

  it('reports the volume the answer flips at when per-token is cheaper, and the predictability of a series', () => {
    const comparison = comparePricing({
      workload: { tokensPerMonth: 500_000 },
      perToken: [{ pricePerMillion: 3 }],
      plans: [flatRatePlan(25)],
    });
    const series = parseDailySeries(
      'date,requests,inputTokens,outputTokens,cost\n' +
        Array.from({ length: 10 }, (_, index) => `2026-01-${String(index + 1).padStart(2, '0')},10,100,100,0.05`).join(
          '\n',
        ),
    );
    const advice = advise(comparison, { analysis: analyzeSeries(series, { samples: 100 }) });
    // $25 − $1.50 = $23.50
    expect(advice.savings?.toString()).toBe('23.5');
    expect(advice.predictability).toBe('steady');
    expect(advice.sentence).toContain('from 8,333,334 tokens/month flat $25/month becomes cheaper');
    expect(advice.sentence).toContain('The per-token bill is steady (daily cost varies 0%): next month $1.50 (p50)');
  });
});

describe('scenarios', () => {
  const workload = { requestsPerDay: 500, inputTokensPerRequest: 300, outputTokensPerRequest: 400 };
  const plans = parsePlans('- name: Pro\n  monthlyFee: 25\n  limits: { tokensPerDay: 1000000 }\n');

  it('a spike ×5 for 2 days: 28 + 10 = 38 ordinary days of traffic → 13,300,000 tokens ($26.60 at $2/M)', () => {
    const [effect] = compareScenarios({ workload, perToken: [{ pricePerMillion: 2 }], plans }, [
      { kind: 'spike', multiplier: 5, days: 2 },
    ]);
    expect(effect?.label).toBe('traffic ×5 for 2 days');
    expect(effect?.perToken[0]?.base?.toString()).toBe('21');
    expect(effect?.perToken[0]?.scenario?.toString()).toBe('26.6');
    expect(effect?.perToken[0]?.change?.toString()).toBe('5.6');
    // The plan's fee does not move, but the spike day (5 × 350,000 = 1,750,000 tokens) breaks its daily limit.
    expect(effect?.plans[0]?.change.toString()).toBe('0');
    expect(effect?.plans[0]?.feasible).toBe(false);
    expect(effect?.plans[0]?.violations[0]?.peak.toFraction()).toBe('1750000');
  });

  it('a retry storm of +20% and context growth of +500 tokens/request', () => {
    const [storm, context] = compareScenarios({ workload, perToken: [{ pricePerMillion: 2 }], plans }, [
      { kind: 'retry-storm', extraRequests: '20%' },
      { kind: 'context-growth', tokensPerRequestPerMonth: 500 },
    ]);
    // 18,000 requests × 700 = 12.6 M tokens → $25.20.
    expect(storm?.perToken[0]?.scenario?.toString()).toBe('25.2');
    // 15,000 × (800 + 400) = 18 M tokens → $36; 600,000 tokens/day is within the 1 M daily limit.
    expect(context?.perToken[0]?.scenario?.toString()).toBe('36');
    expect(context?.plans[0]?.feasible).toBe(true);
    expect(applyScenario({ ...workload, retryRate: '5%' }, { kind: 'retry-storm', extraRequests: 0.2 }).retryRate).toBe(
      '1/4',
    );
  });
});

describe('chart', () => {
  it('gives curve data with the break-even marked, and renders it', () => {
    const curve = costCurve(essay(), { toTokens: 20_000_000, steps: 4 });
    expect(curve.series.map((entry) => entry.name)).toEqual(['$3/M', 'flat $25/month']);
    expect(curve.series[0]?.points.map((point) => point.cost)).toEqual(['0', '15', '30', '45', '60']);
    expect(curve.series[1]?.points.every((point) => point.cost === '25')).toBe(true);
    expect(curve.breakEvens).toHaveLength(1);
    expect(curve.breakEvens[0]?.cost).toBe('25');
    const text = renderTerminalChart(curve, { width: 40, height: 10 });
    expect(text).toContain('X  break-even $3/M = flat $25/month at 8.33M tokens/month ($25.00)');
    expect(text.split('\n').filter((line) => line.includes('┤'))).toHaveLength(10);
    expect(formatTokens(10_500_000)).toBe('10.5M');
  });
});
