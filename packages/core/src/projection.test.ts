import { describe, expect, it } from 'vitest';
import { InvalidWorkloadError } from './invalid-workload-error';
import { projectWorkload } from './projection';
import { Rational } from './rational';

// Every expectation below is worked by hand from the essay's figures (DESIGN.md, "The essay's worked numbers").
describe('projectWorkload — the essay', () => {
  it('500 conversations/day × (300 + 400) tokens → 350,000 tokens/day, 10.5 M/month, $21 at $2/M', () => {
    const projection = projectWorkload({
      conversationsPerDay: 500,
      inputTokensPerRequest: 300,
      outputTokensPerRequest: 400,
      pricing: { pricePerMillion: '2' },
    });
    expect(projection.tokensPerDay.toFraction()).toBe('350000');
    expect(projection.tokensPerMonth.toFraction()).toBe('10500000');
    expect(projection.costPerMonth?.toString()).toBe('21');
    // $21 / 30 days = $0.70 a day.
    expect(projection.costPerDay?.toString()).toBe('0.7');
    expect(projection.requestsPerMonth?.toFraction()).toBe('15000');
  });

  it('the same workload at $15/M is $157.50', () => {
    const projection = projectWorkload({
      requestsPerDay: 500,
      inputTokensPerRequest: 300,
      outputTokensPerRequest: 400,
      pricing: { pricePerMillion: '15' },
    });
    expect(projection.costPerMonth?.toFixed(2)).toBe('157.50');
  });

  it('200 users → 500,000 tokens → $1.50 at $3/M; 5,000 users → $37.50; 50,000 users → $375', () => {
    // 2,500 tokens per user per month: 5 requests of 200 in + 300 out.
    const at = (users: number) =>
      projectWorkload({
        users,
        requestsPerUser: 5,
        inputTokensPerRequest: 200,
        outputTokensPerRequest: 300,
        pricing: { pricePerMillion: 3 },
      });
    expect(at(200).tokensPerMonth.toFraction()).toBe('500000');
    expect(at(200).costPerMonth?.toString()).toBe('1.5');
    expect(at(5_000).tokensPerMonth.toFraction()).toBe('12500000');
    expect(at(5_000).costPerMonth?.toString()).toBe('37.5');
    expect(at(50_000).tokensPerMonth.toFraction()).toBe('125000000');
    expect(at(50_000).costPerMonth?.toString()).toBe('375');
  });
});

describe('projectWorkload — growth, retries, cache, context', () => {
  it('compounds monthly growth: 10% on 15,000 requests → 16,500 then 18,150', () => {
    const projection = projectWorkload(
      {
        requestsPerMonth: 15_000,
        inputTokensPerRequest: 300,
        outputTokensPerRequest: 400,
        monthlyGrowth: '10%',
        pricing: { pricePerMillion: '2' },
      },
      { months: 3 },
    );
    const [first, second, third] = projection.months;
    expect(first?.requests?.toFraction()).toBe('15000');
    expect(second?.requests?.toFraction()).toBe('16500');
    expect(third?.requests?.toFraction()).toBe('18150');
    // 18,150 × 700 = 12,705,000 tokens × $2/M = $25.41
    expect(third?.cost?.toString()).toBe('25.41');
    // $21 + $23.10 + $25.41
    expect(projection.total.cost?.toString()).toBe('69.51');
    expect(projection.total.tokens.toFraction()).toBe('34755000');
  });

  it('keeps fractional counts exact: 10% growth on 333 requests/month', () => {
    const projection = projectWorkload(
      { requestsPerMonth: 333, inputTokensPerRequest: 1, outputTokensPerRequest: 0, monthlyGrowth: 0.1 },
      { months: 2 },
    );
    expect(projection.months[1]?.requests?.toFraction()).toBe('3663/10');
    expect(projection.priced).toBe(false);
    expect(projection.costPerMonth).toBeUndefined();
  });

  it('adds retries billed in full and grows context linearly', () => {
    const projection = projectWorkload(
      {
        requestsPerMonth: 1000,
        inputTokensPerRequest: 1000,
        outputTokensPerRequest: 200,
        retryRate: '5%',
        contextGrowthPerMonth: 100,
        pricing: { inputPricePerMillion: '2.50', outputPricePerMillion: '10' },
      },
      { months: 2 },
    );
    // Month 1: 1,050 requests × 1,000 in = 1,050,000 in ($2.625), × 200 out = 210,000 out ($2.10) → $4.725.
    expect(projection.months[0]?.cost?.toString()).toBe('4.725');
    // Month 2: 1,050 × 1,100 in = 1,155,000 ($2.8875) + 210,000 out ($2.10) → $4.9875.
    expect(projection.months[1]?.inputTokens?.toFraction()).toBe('1155000');
    expect(projection.months[1]?.cost?.toString()).toBe('4.9875');
  });

  it('bills the cache-hit share at the cached price', () => {
    const projection = projectWorkload({
      requestsPerMonth: 1000,
      inputTokensPerRequest: 1000,
      outputTokensPerRequest: 0,
      cacheHitShare: '40%',
      pricing: { inputPricePerMillion: '3', outputPricePerMillion: '15', cachedInputPricePerMillion: '0.30' },
    });
    // 600,000 uncached × $3/M = $1.80; 400,000 cached × $0.30/M = $0.12.
    expect(projection.costPerMonth?.toString()).toBe('1.92');
    expect(projection.months[0]?.cachedInputTokens?.toFraction()).toBe('400000');
  });

  it('rejects two volumes, a missing size and a bad share', () => {
    expect(() =>
      projectWorkload({ requestsPerDay: 1, requestsPerMonth: 1, inputTokensPerRequest: 1, outputTokensPerRequest: 1 }),
    ).toThrow(InvalidWorkloadError);
    expect(() => projectWorkload({ requestsPerDay: 1 })).toThrow(/inputTokensPerRequest/);
    expect(() =>
      projectWorkload({
        requestsPerDay: 1,
        inputTokensPerRequest: 1,
        outputTokensPerRequest: 1,
        cacheHitShare: 'lots',
      }),
    ).toThrow(/cacheHitShare/);
    expect(() =>
      projectWorkload({
        requestsPerDay: 1,
        inputTokensPerRequest: 1,
        outputTokensPerRequest: 1,
        cacheHitShare: '120%',
      }),
    ).toThrow(/at most/);
  });

  it('accepts a token total alone for a blended price', () => {
    const projection = projectWorkload({ tokensPerMonth: '10,500,000', pricing: { pricePerMillion: 2 } });
    expect(projection.costPerMonth?.toString()).toBe('21');
    expect(projection.requestsPerMonth).toBeUndefined();
    expect(projection.tokensPerDay.equals(Rational.of(350_000))).toBe(true);
  });
});
