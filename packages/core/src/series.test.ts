import { describe, expect, it } from 'vitest';
import { InvalidSeriesError } from './invalid-series-error';
import { flatRatePlan } from './plans';
import { analyzeSeries, coefficientOfVariation, medianPairwiseSlope, parseDailySeries } from './series';

/** Ten days at $1 (100 requests, 70,000 tokens), one of them a spike at $11 (1,100 requests, 770,000 tokens). */
function spikeSeries(): string {
  const lines = ['date,requests,inputTokens,outputTokens,cost'];
  for (let day = 1; day <= 10; day++) {
    const spike = day === 4;
    const date = `2026-03-${String(day).padStart(2, '0')}`;
    lines.push(spike ? `${date},1100,330000,440000,11` : `${date},100,30000,40000,1.00`);
  }
  return lines.join('\n');
}

describe('parseDailySeries', () => {
  it('reads the middleware export as CSV and as JSON', () => {
    const csv = parseDailySeries(spikeSeries());
    expect(csv).toHaveLength(10);
    expect(csv[3]).toMatchObject({ date: '2026-03-04', requests: 1100, inputTokens: 330000, outputTokens: 440000 });
    expect(csv[3]?.cost.toString()).toBe('11');
    const json = parseDailySeries(
      JSON.stringify([
        { date: '2026-03-02', requests: 3, inputTokens: 30, outputTokens: 40, cost: '0.000123' },
        { date: '2026-03-01', requests: 1, inputTokens: 10, outputTokens: 20, cost: '0.5' },
      ]),
    );
    expect(json.map((day) => day.date)).toEqual(['2026-03-01', '2026-03-02']);
    expect(json[1]?.cost.toString()).toBe('0.000123');
  });

  it('rejects a missing column, a bad date, a negative count and a repeated day', () => {
    expect(() => parseDailySeries('date,requests,cost\n2026-01-01,1,1')).toThrow(/lacks inputTokens, outputTokens/);
    expect(() =>
      parseDailySeries('[{"date":"yesterday","requests":1,"inputTokens":1,"outputTokens":1,"cost":"1"}]'),
    ).toThrow(/YYYY-MM-DD/);
    expect(() => parseDailySeries('date,requests,inputTokens,outputTokens,cost\n2026-01-01,-1,1,1,1')).toThrow(
      /requests/,
    );
    expect(() =>
      parseDailySeries('date,requests,inputTokens,outputTokens,cost\n2026-01-01,1,1,1,1\n2026-01-01,1,1,1,1'),
    ).toThrow(InvalidSeriesError);
    expect(() => parseDailySeries('{ nope')).toThrow(/not valid JSON/);
  });
});

describe('analyzeSeries — one spike day', () => {
  // A simulated month draws 30 days; K of them are the spike day, K ~ Binomial(30, 0.1), cost = $30 + $10·K.
  // P(K ≤ 2) = 0.411, P(K ≤ 3) = 0.647 → p50 at K = 3: $60. P(K ≤ 5) = 0.927, P(K ≤ 6) = 0.974 → p95 at K = 6: $90.
  const series = parseDailySeries(spikeSeries());
  const analysis = analyzeSeries(series, { budget: '75', plans: [flatRatePlan(25), flatRatePlan(100)] });

  it('projects p50 and p95 from the bootstrap', () => {
    expect(analysis.nextMonth.p50.toString()).toBe('60');
    expect(analysis.nextMonth.p95.toString()).toBe('90');
    // Tokens follow the same draw: 30 × 70,000 + 3 × 700,000 = 4,200,000 at p50.
    expect(analysis.nextMonth.tokensP50.toFraction()).toBe('4200000');
    expect(analysis.trendApplied).toBe(false);
  });

  it('gives the volatility: daily costs 9 × $1 and 1 × $11 → mean $2, sd $3, CV 1.5', () => {
    expect(analysis.meanDailyCost.toString()).toBe('2');
    expect(analysis.volatility).toBe(1.5);
    expect(coefficientOfVariation([5n, 5n, 5n])).toBe(0);
  });

  it('estimates the chance of exceeding a budget: P(K ≥ 5) = 1 − 0.8245 = 0.1755', () => {
    expect(analysis.budget?.probabilityOver).toBeGreaterThan(0.15);
    expect(analysis.budget?.probabilityOver).toBeLessThan(0.2);
  });

  it('compares flat plans at p50 and p95', () => {
    const [cheap, dear] = analysis.plans;
    expect(cheap?.cheaperThanPerTokenAtP50).toBe(true);
    expect(dear?.cheaperThanPerTokenAtP50).toBe(false);
    expect(dear?.cheaperThanPerTokenAtP95).toBe(false);
    expect(dear?.p95.cost.toString()).toBe('100');
  });

  it('says plainly that 10 days is short, and is reproducible by seed', () => {
    expect(analysis.confidence).toBe('low');
    expect(analysis.confidenceNote).toContain('Only 10 days');
    const again = analyzeSeries(series, { budget: '75' });
    expect(again.budget?.probabilityOver).toBe(analysis.budget?.probabilityOver);
  });

  it('carries a steady trend forward: +$1/day for 20 days', () => {
    // Day i costs $i (i = 1…20); slope $1/day, so every drawn day is moved to its simulated date: the month
    // after day 20 costs $21 + … + $50 = $1,065 whatever is drawn.
    const days = Array.from({ length: 20 }, (_, index) => ({
      date: `2026-04-${String(index + 1).padStart(2, '0')}`,
      requests: 10,
      inputTokens: 100,
      outputTokens: 100,
      cost: `${index + 1}`,
    }));
    const trended = analyzeSeries(parseDailySeries(JSON.stringify(days)), { samples: 200 });
    expect(trended.trendApplied).toBe(true);
    expect(trended.trendPerDay?.toString()).toBe('1');
    expect(trended.nextMonth.p50.toString()).toBe('1065');
    expect(trended.nextMonth.p95.toString()).toBe('1065');
    expect(trended.confidence).toBe('medium');
  });
});

describe('medianPairwiseSlope', () => {
  it('ignores one spike day that would tilt a least-squares line', () => {
    // Flat at 100 for 20 days with a spike of 1,000 on day 15: 171 of the 190 pairwise slopes are 0
    // (the 19 pairs with the spike day are the only non-zero ones), so the median is 0.
    const xs = Array.from({ length: 20 }, (_, index) => index);
    const ys = xs.map((x) => (x === 15 ? 1000n : 100n));
    expect(medianPairwiseSlope(xs, ys).toFraction()).toBe('0');
    // A straight line +3/day: every pairwise slope is 3.
    expect(
      medianPairwiseSlope(
        xs,
        xs.map((x) => BigInt(3 * x + 7)),
      ).toFraction(),
    ).toBe('3');
  });
});
