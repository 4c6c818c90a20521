import { describe, expect, it } from 'vitest';
import { PriceCatalog } from './price-catalog';
import { cheapestModels, projectWorkload } from './projection';
import { Rational } from './rational';
import type { CatalogEntry } from './types';
import { UnknownModelError } from './unknown-model-error';

function entry(id: string, input: string, output: string, extra: Partial<CatalogEntry> = {}): CatalogEntry {
  return {
    id,
    provider: 'test',
    aliases: [],
    mode: 'chat',
    prices: [{ effectiveFrom: '2024-01-01', standard: { input, output, cachedInput: '0.25' } }],
    contextWindow: 128_000,
    sourceUrl: 'https://example.test/prices',
    checkedAt: '2026-01-01',
    ...extra,
  };
}

// Prices invented for the test; costs worked by hand from them.
const catalog = new PriceCatalog([
  entry('mid', '2.50', '10'),
  entry('cheap', '0.15', '0.60'),
  entry('tiny-window', '0.01', '0.01', { contextWindow: 4_096 }),
  entry('embedder', '0.02', '0', { mode: 'embedding' }),
  entry('no-window', '0.01', '0.01', { contextWindow: undefined }),
  entry('dear', '15', '75'),
]);

const workload = {
  requestsPerMonth: 1000,
  inputTokensPerRequest: 4000,
  outputTokensPerRequest: 500,
  cacheHitShare: '50%',
};

describe('catalog models', () => {
  it('prices a model from the catalog, the cache-hit share at its cached price', () => {
    const projection = projectWorkload({ ...workload, pricing: { model: 'mid' } }, { catalog });
    // Per request: 2,000 uncached × $2.50/M = $0.005, 2,000 cached × $0.25/M = $0.0005, 500 out × $10/M = $0.005.
    // × 1,000 requests = $10.50.
    expect(projection.costPerMonth?.toString()).toBe('10.5');
    expect(projection.pricing).toMatchObject({ name: 'mid', kind: 'model', model: 'mid', provider: 'test' });
  });

  it('rounds a fractional average request to whole tokens before the catalog prices it', () => {
    // 333 input × 10% = 33.3 cached → 33 cached + 300 uncached: 300 × $2.50/M + 33 × $0.25/M + 100 × $10/M
    // = $0.00075 + $0.00000825 + $0.001 = $0.00175825 per request; × 3 requests = $0.00527475.
    const projection = projectWorkload(
      {
        requestsPerMonth: 3,
        inputTokensPerRequest: 333,
        outputTokensPerRequest: 100,
        cacheHitShare: '10%',
        pricing: { model: 'mid' },
      },
      { catalog },
    );
    expect(projection.costPerMonth?.toString()).toBe('0.00527475');
  });

  it('throws UnknownModelError with suggestions for a name the catalog does not know', () => {
    expect(() => projectWorkload({ ...workload, pricing: { model: 'mdi' } }, { catalog })).toThrow(UnknownModelError);
  });

  it('lists the cheapest chat models whose context window holds a request', () => {
    const cheapest = cheapestModels(workload, { catalog, count: 2 });
    // cheap: 2,000 × $0.15/M + 2,000 × $0.25/M + 500 × $0.60/M = $0.0011 per request → $1.10 a month.
    expect(cheapest.map((model) => [model.model, model.costPerMonth.toString()])).toEqual([
      ['cheap', '1.1'],
      ['mid', '10.5'],
    ]);
    // tiny-window (4,096 < 4,500 tokens), the embedding model and the one without a known window are left out.
    const all = cheapestModels(workload, { catalog, count: 10 }).map((model) => model.model);
    expect(all).toEqual(['cheap', 'mid', 'dear']);
  });
});

describe('Rational', () => {
  it('keeps fractions exact and rounds only when asked', () => {
    const third = Rational.of(1, 3);
    expect(third.plus(third).plus(third).toFraction()).toBe('1');
    expect(Rational.from('0.1').times(3).toFraction()).toBe('3/10');
    expect(Rational.from('25000000/3').toDecimal(2)).toBe('8333333.33');
    expect(Rational.of(5, 2).round()).toBe(2n);
    expect(Rational.of(7, 2).round()).toBe(4n);
    expect(Rational.of(7, 2).ceil()).toBe(4n);
    expect(Rational.of(-7, 2).floor()).toBe(-4n);
    expect(Rational.from('1.1').pow(2).toFraction()).toBe('121/100');
    expect(() => Rational.from('abc')).toThrow();
    expect(() => Rational.of(1, 0)).toThrow(RangeError);
  });
});
