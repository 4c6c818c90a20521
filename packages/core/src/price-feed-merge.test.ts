import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PriceCatalog } from './price-catalog';
import { mergeFeedEntries } from './price-feed-merge';
import type { CatalogEntry } from './types';

const curated: CatalogEntry = {
  id: 'acme-pro',
  provider: 'acme',
  displayName: 'Acme Pro',
  aliases: ['acme-pro-2026-01-01', 'acme-latest'],
  mode: 'chat',
  prices: [
    { effectiveFrom: '2026-01-01', standard: { input: '10', output: '40' } },
    {
      effectiveFrom: '2026-06-01',
      standard: { input: '2', cachedInput: '0.5', cacheWrite1h: '4', output: '8' },
      batch: { input: '1', output: '4' },
    },
  ],
  contextWindow: 200_000,
  encoding: 'o200k_base',
  sourceUrl: 'https://acme.example/pricing',
  checkedAt: '2026-08-21',
};
const other: CatalogEntry = {
  id: 'acme-mini',
  provider: 'acme',
  aliases: [],
  mode: 'chat',
  prices: [{ effectiveFrom: '2026-01-01', standard: { input: '0.1', output: '0.4' } }],
  sourceUrl: 'https://acme.example/pricing',
  checkedAt: '2026-08-21',
};

function feedEntry(id: string, input: string, output: string, aliases: string[] = []): CatalogEntry {
  return {
    id,
    provider: 'acme',
    aliases,
    mode: 'chat',
    prices: [{ effectiveFrom: '1970-01-01', standard: { input, output } }],
    sourceUrl: 'https://feed.example/prices.json',
    checkedAt: '2026-12-01',
  };
}

describe('PriceCatalog.withFeed', () => {
  const base = new PriceCatalog([curated, other], { generatedAt: '2026-08-21' });

  it('keeps a curated id over a feed alias that claims it', () => {
    // The feed calls its own entry "acme-cheap" and lists the curated "acme-mini" and "acme-latest" as aliases.
    const refreshed = base.withFeed([feedEntry('acme-cheap', '0.01', '0.02', ['acme-mini', 'acme-latest'])], {
      asOf: '2026-12-01',
    });
    expect(refreshed.resolve('acme-mini').entry.id).toBe('acme-mini');
    expect(refreshed.resolve('acme-latest').entry.id).toBe('acme-pro');
    expect(refreshed.resolve('acme-cheap').entry.aliases).toEqual([]);
    // withEntries is for the user's own prices, which do win.
    expect(
      base.withEntries([feedEntry('acme-cheap', '0.01', '0.02', ['acme-mini'])]).resolve('acme-mini').entry.id,
    ).toBe('acme-cheap');
  });

  it('keeps price history and adds an undated new feed price from the feed date', () => {
    const refreshed = base.withFeed([feedEntry('acme-pro', '1.5', '6')], { asOf: '2026-12-01' });
    const { entry } = refreshed.resolve('acme-pro');
    expect(entry.prices.map((set) => [set.effectiveFrom, set.standard.input])).toEqual([
      ['2026-01-01', '10'],
      ['2026-06-01', '2'],
      ['2026-12-01', '1.5'],
    ]);
    // What the feed does not state (cache prices, batch) carries over from the curated set.
    expect(entry.prices[2]).toEqual({
      effectiveFrom: '2026-12-01',
      standard: { input: '1.5', cachedInput: '0.5', cacheWrite1h: '4', output: '6' },
      batch: { input: '1', output: '4' },
    });
    expect(refreshed.priceSetAt(entry, '2026-07-01').standard.input).toBe('2');
    expect(refreshed.priceSetAt(entry, '2026-12-02').standard.input).toBe('1.5');
    // Curated metadata stays.
    expect(entry).toMatchObject({ displayName: 'Acme Pro', encoding: 'o200k_base', contextWindow: 200_000 });
    expect(refreshed.generatedAt).toBe('2026-12-01');
  });

  it('adds nothing when the feed agrees with the curated price, and merges a feed id that is a curated alias', () => {
    const same = base.withFeed([feedEntry('acme-pro', '2', '8')], { asOf: '2026-12-01' });
    expect(same.resolve('acme-pro').entry.prices).toBe(curated.prices);
    // Same input and output, a different secondary price: the curated value stands (feeds err there).
    const secondary = feedEntry('acme-pro', '2', '8');
    secondary.prices[0] = { effectiveFrom: '1970-01-01', standard: { input: '2', cacheWrite1h: '48', output: '8' } };
    expect(base.withFeed([secondary], { asOf: '2026-12-01' }).resolve('acme-pro').entry.prices).toBe(curated.prices);
    const viaAlias = base.withFeed([feedEntry('acme-latest', '3', '9')], { asOf: '2026-12-01' });
    expect(viaAlias.resolve('acme-latest').entry.id).toBe('acme-pro');
    expect(viaAlias.resolve('acme-pro').entry.prices.at(-1)?.standard.input).toBe('3');
    expect(viaAlias.size).toBe(2);
  });

  it('adds dated feed sets the entry lacks; a date the curated entry has keeps the curated prices', () => {
    const dated: CatalogEntry = {
      ...feedEntry('acme-pro', '1', '1'),
      prices: [
        { effectiveFrom: '1970-01-01', standard: { input: '99', output: '99' } },
        { effectiveFrom: '2026-06-01', standard: { input: '77', output: '77' } },
        { effectiveFrom: '2026-10-01', standard: { input: '1.8', output: '7' } },
      ],
    };
    const { entry } = base.withFeed([dated], { asOf: '2026-12-01' }).resolve('acme-pro');
    expect(entry.prices.map((set) => [set.effectiveFrom, set.standard.input])).toEqual([
      ['2026-01-01', '10'],
      ['2026-06-01', '2'],
      ['2026-10-01', '1.8'],
    ]);
  });

  it('never touches the user’s own entries', () => {
    const mine = base.withEntries([feedEntry('my-model', '5', '5')]);
    const refreshed = mine.withFeed([feedEntry('my-model', '0', '0', ['acme-pro'])], { asOf: '2026-12-01' });
    expect(refreshed.resolve('my-model').entry.prices[0]?.standard.input).toBe('5');
    expect(refreshed.resolve('my-model').matchedBy).toBe('custom');
    expect(refreshed.resolve('acme-pro').entry.id).toBe('acme-pro');
  });

  it('over the shipped catalog: gpt-4o keeps its history and name, o3 keeps both dated sets', () => {
    const shipped = PriceCatalog.bundled();
    const feed = [feedEntry('gpt-4o', '2', '8', ['o3', 'gpt-4o-mini']), feedEntry('acme-new', '1', '2')];
    const refreshed = shipped.withFeed(feed, { asOf: '2026-12-01' });
    const gpt4o = refreshed.resolve('gpt-4o').entry;
    expect(gpt4o.prices[0]).toEqual(shipped.resolve('gpt-4o').entry.prices[0]);
    expect(refreshed.priceSetAt(gpt4o, '2026-12-01').standard).toEqual({
      input: '2',
      cachedInput: '1.25',
      output: '8',
    });
    expect(refreshed.resolve('o3').entry.id).toBe('o3');
    expect(refreshed.resolve('gpt-4o-mini').entry.id).toBe('gpt-4o-mini');
    expect(refreshed.resolve('acme-new').matchedBy).toBe('exact');
    expect(refreshed.size).toBe(shipped.size + 1);
  });
});

// Names drawn from a small pool so feeds and the base collide often.
const name = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'a-1', 'b-2', 'x', 'y');
const price = fc.integer({ min: 0, max: 50 }).map(String);
const date = fc.constantFrom('1970-01-01', '2025-01-01', '2026-01-01', '2026-06-01', '2026-12-01');
const entry = fc.record({
  id: name,
  aliases: fc.uniqueArray(name, { maxLength: 3 }),
  prices: fc.uniqueArray(fc.record({ effectiveFrom: date, standard: fc.record({ input: price, output: price }) }), {
    minLength: 1,
    maxLength: 3,
    selector: (set) => set.effectiveFrom,
  }),
});
const entries = fc.uniqueArray(entry, { maxLength: 6, selector: (item) => item.id }).map((items) =>
  items.map(
    (item): CatalogEntry => ({
      ...item,
      aliases: item.aliases.filter((alias) => alias !== item.id),
      provider: 'p',
      mode: 'chat',
      prices: [...item.prices].sort((a, b) => (a.effectiveFrom < b.effectiveFrom ? -1 : 1)),
      sourceUrl: 'u',
      checkedAt: '2026-08-21',
    }),
  ),
);

describe('mergeFeedEntries (property)', () => {
  it('every curated name resolves as before, every curated price set survives, every feed id resolves', () => {
    fc.assert(
      fc.property(entries, entries, (base, feed) => {
        const before = new PriceCatalog(base);
        const after = new PriceCatalog(mergeFeedEntries(base, feed, { asOf: '2026-12-01' }));
        for (const original of base) {
          for (const alias of [original.id, ...original.aliases]) {
            const was = before.tryResolve(alias)?.entry.id;
            expect(after.tryResolve(alias)?.entry.id).toBe(was);
          }
          const merged = after.resolve(original.id).entry;
          for (const set of original.prices) expect(merged.prices).toContainEqual(set);
          const dates = merged.prices.map((set) => set.effectiveFrom);
          expect(new Set(dates).size).toBe(dates.length);
          expect([...dates].sort()).toEqual(dates);
        }
        for (const incoming of feed) expect(after.tryResolve(incoming.id)).toBeDefined();
      }),
      { numRuns: 500 },
    );
  });
});
