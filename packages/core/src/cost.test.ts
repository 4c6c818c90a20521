import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeCost } from './cost';
import { Money } from './money';
import { PriceCatalog } from './price-catalog';
import type { CatalogEntry, TokenBuckets } from './types';
import { normalizeUsage } from './usage-normalize';

function entry(fields: Partial<CatalogEntry> & Pick<CatalogEntry, 'id' | 'provider' | 'prices'>): CatalogEntry {
  return { aliases: [], mode: 'chat', sourceUrl: 'https://example.test/pricing', checkedAt: '2025-10-01', ...fields };
}

// Prices below are the providers' published list prices (USD per million tokens) at the dates given.
const catalog = new PriceCatalog(
  [
    entry({
      id: 'gpt-4o',
      provider: 'openai',
      aliases: ['gpt-4o-2024-08-06'],
      prices: [
        {
          effectiveFrom: '2024-10-01',
          standard: { input: '2.50', cachedInput: '1.25', output: '10.00' },
          batch: { input: '1.25', output: '5.00' },
          priority: { input: '4.25', cachedInput: '2.125', output: '17.00' },
        },
      ],
    }),
    entry({
      id: 'gpt-4o-mini',
      provider: 'openai',
      prices: [{ effectiveFrom: '2024-07-18', standard: { input: '0.15', cachedInput: '0.075', output: '0.60' } }],
    }),
    entry({
      id: 'o3',
      provider: 'openai',
      prices: [
        { effectiveFrom: '2025-04-16', standard: { input: '10', cachedInput: '2.50', output: '40' } },
        {
          effectiveFrom: '2025-06-10',
          standard: { input: '2', cachedInput: '0.50', output: '8' },
          flex: { input: '1', cachedInput: '0.25', output: '4' },
        },
      ],
    }),
    entry({
      id: 'claude-sonnet-4-5',
      provider: 'anthropic',
      prices: [
        {
          effectiveFrom: '2025-09-29',
          standard: { input: '3', cachedInput: '0.30', cacheWrite5m: '3.75', cacheWrite1h: '6', output: '15' },
          batch: { input: '1.50', cachedInput: '0.15', cacheWrite5m: '1.875', cacheWrite1h: '3', output: '7.50' },
          tiers: [
            {
              threshold: 200_000,
              comparison: '>',
              counts: 'all-input',
              prices: { input: '6', cachedInput: '0.60', cacheWrite5m: '7.50', cacheWrite1h: '12', output: '22.50' },
            },
          ],
        },
      ],
    }),
    // A made-up entry to pin the `>=` comparison and uncached-only counting (no provider uses both today).
    entry({
      id: 'test-gte',
      provider: 'test',
      prices: [
        {
          effectiveFrom: '2025-01-01',
          standard: { input: '1', output: '2' },
          tiers: [{ threshold: 1000, comparison: '>=', counts: 'uncached-input', prices: { input: '2', output: '4' } }],
        },
      ],
    }),
  ],
  { generatedAt: '2025-10-01' },
);

function usage(buckets: Partial<TokenBuckets>): TokenBuckets {
  return {
    inputTokens: 0,
    cachedInputTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
    ...buckets,
  };
}

const total = (result: { total?: Money }) => result.total?.toString();

describe('computeCost', () => {
  it('gpt-4o: 1M prompt tokens of which 400k cached + 100k completion = $3', () => {
    const normalized = normalizeUsage({
      prompt_tokens: 1_000_000,
      completion_tokens: 100_000,
      prompt_tokens_details: { cached_tokens: 400_000 },
    });
    const result = computeCost(normalized, 'gpt-4o-2024-08-06', { catalog });
    // 600k × $2.50 + 400k × $1.25 + 100k × $10 per M = $1.50 + $0.50 + $1.00.
    expect(result.breakdown?.input.toString()).toBe('1.5');
    expect(result.breakdown?.cachedInput.toString()).toBe('0.5');
    expect(result.breakdown?.output.toString()).toBe('1');
    expect(total(result)).toBe('3');
    expect(result).toMatchObject({
      model: 'gpt-4o',
      provider: 'openai',
      priced: true,
      tier: 'standard',
      tierApplied: 'standard',
    });
    expect(result.pricesEffectiveFrom).toBe('2024-10-01');
  });

  it('Anthropic with 5-minute and 1-hour cache writes (the fixture numbers)', () => {
    const normalized = normalizeUsage({
      input_tokens: 42,
      cache_creation_input_tokens: 3000,
      cache_read_input_tokens: 18000,
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
      output_tokens: 512,
    });
    const result = computeCost(normalized, 'claude-sonnet-4-5', { catalog });
    // 42×$3 + 18,000×$0.30 + 1,000×$3.75 + 2,000×$6 + 512×$15 per M
    // = 0.000126 + 0.0054 + 0.00375 + 0.012 + 0.00768 = $0.028956
    expect(result.breakdown?.cacheWrite5m.toString()).toBe('0.00375');
    expect(result.breakdown?.cacheWrite1h.toString()).toBe('0.012');
    expect(total(result)).toBe('0.028956');
    expect(result.longContextTier).toBeUndefined();
  });

  it('long-context tier with `>`: exactly at 200k stays on base prices, one more token switches the whole request', () => {
    const at = computeCost(usage({ inputTokens: 200_000, outputTokens: 1000 }), 'claude-sonnet-4-5', { catalog });
    // 200,000×$3 + 1,000×$15 per M = 0.6 + 0.015
    expect(total(at)).toBe('0.615');
    const above = computeCost(usage({ inputTokens: 200_001, outputTokens: 1000 }), 'claude-sonnet-4-5', { catalog });
    // 200,001×$6 + 1,000×$22.50 per M = 1.200006 + 0.0225
    expect(total(above)).toBe('1.222506');
    expect(above.longContextTier?.threshold).toBe(200_000);
  });

  it('long-context tier counts cache reads toward the threshold when the entry says all-input', () => {
    const result = computeCost(
      usage({ inputTokens: 10_000, cachedInputTokens: 190_001, outputTokens: 1000 }),
      'claude-sonnet-4-5',
      {
        catalog,
      },
    );
    // 10,000×$6 + 190,001×$0.60 + 1,000×$22.50 per M = 0.06 + 0.1140006 + 0.0225
    expect(total(result)).toBe('0.1965006');
  });

  it('long-context tier with `>=` applies exactly at the threshold; uncached-input counting ignores cache reads', () => {
    const at = computeCost(usage({ inputTokens: 1000, outputTokens: 1000 }), 'test-gte', { catalog });
    // 1,000×$2 + 1,000×$4 per M
    expect(total(at)).toBe('0.006');
    const below = computeCost(usage({ inputTokens: 999, cachedInputTokens: 5000, outputTokens: 1000 }), 'test-gte', {
      catalog,
    });
    // Below: 999×$1 + 5,000 cache reads at the input price $1 (no cache price) + 1,000×$2 per M.
    expect(total(below)).toBe('0.007999');
    expect(below.notes.join(' ')).toMatch(/cache reads billed at the input price/);
  });

  it('batch: the variant prices replace the standard ones it has', () => {
    const result = computeCost(usage({ inputTokens: 1_000_000, outputTokens: 1_000_000 }), 'gpt-4o', {
      catalog,
      tier: 'batch',
    });
    // 1M × $1.25 + 1M × $5 per M
    expect(total(result)).toBe('6.25');
    expect(result.tierApplied).toBe('batch');
  });

  it('batch and long context together: the tier prices carry the batch discount (Anthropic: 50 %)', () => {
    const result = computeCost(usage({ inputTokens: 300_000, outputTokens: 1000 }), 'claude-sonnet-4-5', {
      catalog,
      tier: 'batch',
    });
    // Published batch long-context prices: $3 input, $11.25 output per M → 0.9 + 0.01125.
    expect(total(result)).toBe('0.91125');
  });

  it('flex from the usage the provider reported (Responses fixture numbers)', () => {
    const result = computeCost(
      {
        ...usage({ inputTokens: 1024, cachedInputTokens: 4096, outputTokens: 234, reasoningTokens: 1216 }),
        serviceTier: 'flex',
      },
      'o3',
      { catalog, at: '2025-07-01' },
    );
    // 1,024×$1 + 4,096×$0.25 + (234 + 1,216)×$4 per M = 0.001024 + 0.001024 + 0.0058
    expect(total(result)).toBe('0.007848');
    expect(result.tier).toBe('flex');
  });

  it('a tier the model lacks: standard prices, and the result says so', () => {
    const result = computeCost(usage({ inputTokens: 1_000_000 }), 'o3', {
      catalog,
      tier: 'priority',
      at: '2025-07-01',
    });
    expect(total(result)).toBe('2');
    expect(result).toMatchObject({ tier: 'priority', tierApplied: 'standard' });
    expect(result.notes[0]).toMatch(/no priority prices/);
  });

  it('historic prices by date', () => {
    const tokens = usage({ inputTokens: 1_000_000, outputTokens: 1_000_000 });
    // o3 launched at $10/$40 and was cut to $2/$8 on 2025-06-10.
    expect(total(computeCost(tokens, 'o3', { catalog, at: '2025-05-01' }))).toBe('50');
    expect(total(computeCost(tokens, 'o3', { catalog, at: new Date('2025-06-10T12:00:00Z') }))).toBe('10');
  });

  it('an unknown model is unpriced, keeps the tokens, and never throws', () => {
    const tokens = usage({ inputTokens: 5, outputTokens: 7 });
    const result = computeCost({ ...tokens, estimated: true }, 'gpt-99-turbo', { catalog });
    expect(result).toMatchObject({ priced: false, model: 'gpt-99-turbo', usage: tokens, estimated: true });
    expect(result.total).toBeUndefined();
  });

  it('rejects garbage buckets', () => {
    expect(() => computeCost(usage({ inputTokens: -1 }), 'gpt-4o', { catalog })).toThrow(
      /inputTokens must be a whole number/,
    );
    expect(() => computeCost(usage({ outputTokens: 0.5 }), 'gpt-4o', { catalog })).toThrow(/INVALID|whole number/);
  });

  it('reasoning tokens bill at the output price when there is no reasoning price', () => {
    const result = computeCost(usage({ reasoningTokens: 1_000_000 }), 'gpt-4o-mini', { catalog });
    expect(result.breakdown?.reasoning.toString()).toBe('0.6');
  });
});

describe('computeCost: exact sums', () => {
  it('the sum of ten million small costs equals the cost of the summed usage', () => {
    // Three small requests on gpt-4o-mini ($0.15 / $0.075 cached / $0.60 per M), repeated in turn.
    const patterns = [
      usage({ inputTokens: 1, outputTokens: 1 }),
      usage({ inputTokens: 3, cachedInputTokens: 7, outputTokens: 2 }),
      usage({ inputTokens: 13, reasoningTokens: 5 }),
    ];
    const costs = patterns.map((pattern) => computeCost(pattern, 'gpt-4o-mini', { catalog }).total?.atto ?? 0n);
    let sum = 0n;
    const summed = usage({});
    const n = 10_000_000;
    for (let index = 0; index < n; index++) sum += costs[index % 3] ?? 0n;
    for (let index = 0; index < 3; index++) {
      const count = Math.floor(n / 3) + (index < n % 3 ? 1 : 0);
      for (const key of Object.keys(summed) as Array<keyof TokenBuckets>)
        summed[key] += (patterns[index]?.[key] ?? 0) * count;
    }
    const whole = computeCost(summed, 'gpt-4o-mini', { catalog }).total;
    expect(Money.fromAtto(sum).toString()).toBe(whole?.toString());
    // By hand, per M: 3,333,334 × (1×0.15 + 1×0.6) + 3,333,333 × (3×0.15 + 7×0.075 + 2×0.6) + 3,333,333 × (13×0.15 + 5×0.6)
    // = 2,500,000.5 + 7,249,999.275 + 16,499,998.35 = 26,249,998.125 → $26.249998125.
    expect(whole?.toString()).toBe('26.249998125');
  });

  it('property: cost is additive over any split of the usage', () => {
    const bucket = fc.integer({ min: 0, max: 5_000_000 });
    const buckets = fc.record({
      inputTokens: bucket,
      cachedInputTokens: bucket,
      cacheWrite5mTokens: bucket,
      cacheWrite1hTokens: bucket,
      outputTokens: bucket,
      reasoningTokens: bucket,
    });
    fc.assert(
      fc.property(fc.array(buckets, { minLength: 1, maxLength: 20 }), (list) => {
        const summed = usage({});
        let sum = Money.ZERO;
        for (const item of list) {
          sum = sum.plus(computeCost(item, 'gpt-4o-mini', { catalog }).total ?? Money.ZERO);
          for (const key of Object.keys(summed) as Array<keyof typeof item>) summed[key] += item[key];
        }
        return sum.equals(computeCost(summed, 'gpt-4o-mini', { catalog }).total ?? Money.ZERO);
      }),
    );
  });
});
