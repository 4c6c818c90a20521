import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { refuseImplausible, snapshotDate } from '../scripts/catalog-checks';
import { formatScaled, PRICE_DECIMALS } from '../src/money';
import type { CatalogEntry, PriceSet } from '../src/types';

function entry(id: string, set: Omit<PriceSet, 'effectiveFrom'>, aliases: string[] = []): CatalogEntry {
  return {
    id,
    provider: 'acme',
    aliases,
    mode: 'chat',
    prices: [{ effectiveFrom: '2026-01-01', ...set }],
    sourceUrl: 'https://example.com/pricing',
    checkedAt: '2026-08-21',
  };
}

/** An exact price from an integer number of 10^-12 USD per million tokens. */
const price = (atto: bigint) => formatScaled(atto, PRICE_DECIMALS, true);
const positive = fc.bigInt({ min: 2n, max: 10n ** 15n });

describe('catalog plausibility checks', () => {
  it('refuses a cache-read price above the input price, in the base prices or a tier', () => {
    const result = refuseImplausible(
      [
        entry('ok', { standard: { input: '3', cachedInput: '3', output: '15' } }),
        entry('dear-cache', { standard: { input: '3', cachedInput: '3.000000000001', output: '15' } }),
        entry('dear-tier', {
          standard: { input: '3', cachedInput: '0.3', output: '15' },
          tiers: [
            { threshold: 200000, comparison: '>', counts: 'all-input', prices: { input: '6', cachedInput: '7' } },
          ],
        }),
        entry('dear-audio', { standard: { input: '3', output: '15', inputAudio: '32', cachedInputAudio: '40' } }),
      ],
      new Map(),
      {},
    );
    expect(result.kept.map((kept) => kept.id)).toEqual(['ok']);
    expect(result.refused).toHaveLength(3);
    expect(result.refused[0]).toMatch(/^dear-cache: cache read 3.000000000001 > input 3$/);
  });

  it('keeps a variant at exactly half or exactly 10× of standard, refuses one 10^-12 beyond (any price)', () => {
    fc.assert(
      fc.property(positive, (atto) => {
        const standard = { input: price(atto * 2n), output: price(atto * 2n) };
        const edge = refuseImplausible(
          [entry('edge', { standard, batch: { input: price(atto) }, priority: { output: price(atto * 20n) } })],
          new Map(),
          {},
        );
        const beyond = refuseImplausible(
          [
            entry('beyond', {
              standard,
              batch: { input: price(atto - 1n) },
              priority: { output: price(atto * 20n + 1n) },
            }),
          ],
          new Map(),
          {},
        );
        const kept = edge.kept[0]?.prices[0];
        const cut = beyond.kept[0]?.prices[0];
        return (
          edge.refused.length === 0 &&
          kept?.batch !== undefined &&
          kept.priority !== undefined &&
          beyond.refused.length === 2 &&
          cut?.batch === undefined &&
          cut?.priority === undefined &&
          // Only the variant is refused: the model keeps its standard prices.
          cut?.standard.input === standard.input
        );
      }),
    );
  });

  it('refuses a batch or flex price above standard and a priority price below it', () => {
    const result = refuseImplausible(
      [
        entry('m', {
          standard: { input: '1', output: '4' },
          batch: { input: '1.000000000001' },
          flex: { input: '0.5', output: '4' },
          priority: { output: '3.999999999999' },
        }),
      ],
      new Map(),
      {},
    );
    expect(result.refused).toEqual([
      'm#batch: batch input 1.000000000001 is above standard 1',
      'm#priority: priority output 3.999999999999 is below standard 4',
    ]);
    expect(result.kept[0]?.prices[0]?.flex).toEqual({ input: '0.5', output: '4' });
  });

  it('refuses a regional or dated variant priced below half or above 10× of its family', () => {
    const family = entry('anthropic.claude-3-5-haiku', { standard: { input: '0.8', output: '4' } });
    const cheap = entry('eu.anthropic.claude-3-5-haiku', { standard: { input: '0.25', output: '1.25' } });
    const uplift = entry('us.anthropic.claude-3-5-haiku', { standard: { input: '0.88', output: '4.4' } });
    const variantOf = new Map([
      [cheap.id, family.id],
      [uplift.id, family.id],
    ]);
    const result = refuseImplausible([family, cheap, uplift], variantOf, {});
    expect(result.kept.map((kept) => kept.id)).toEqual([family.id, uplift.id]);
    expect(result.refused).toEqual([
      'eu.anthropic.claude-3-5-haiku: priced unlike anthropic.claude-3-5-haiku: 0.25 is below half of 0.8',
    ]);
  });

  it('refuses a row with no price at all, or a generating model with a $0 output price (unknown is never zero)', () => {
    const embed = { ...entry('embed', { standard: { input: '0.02', output: '0' } }), mode: 'embedding' as const };
    const voice = entry('voice', { standard: { input: '0', output: '0', outputAudio: '12' } });
    const result = refuseImplausible(
      [
        entry('router', { standard: { input: '0', output: '0' } }),
        entry('no-output', { standard: { input: '0.5', output: '0' } }),
        embed,
        voice,
      ],
      new Map(),
      {},
    );
    expect(result.kept.map((kept) => kept.id)).toEqual(['embed', 'voice']);
    expect(result.refused).toEqual([
      'router: priced $0 for input and output',
      'no-output: a chat model priced $0 for output',
    ]);
  });

  it('ships a failing row that the curation accepts with a reason, and reports it', () => {
    const result = refuseImplausible(
      [entry('promo', { standard: { input: '1', output: '1' }, batch: { input: '0.1' } })],
      new Map(),
      { 'promo#batch': 'launch promotion, published on the pricing page' },
    );
    expect(result.refused).toEqual([]);
    expect(result.kept[0]?.prices[0]?.batch).toEqual({ input: '0.1' });
    expect(result.accepted[0]).toMatch(/promo#batch: .*accepted: launch promotion/);
  });

  it('refuses a -latest that differs from its newest dated member and points the name at that member', () => {
    const old = entry('codestral-2405', { standard: { input: '1', output: '3' } });
    const newest = entry('codestral-2508', { standard: { input: '0.3', output: '0.9' } });
    const stale = entry('codestral-latest', { standard: { input: '1', output: '3' } });
    const family = entry('grok-4', { standard: { input: '3', output: '15' } }, ['grok-4-0709', 'grok-4-latest']);
    const result = refuseImplausible([old, newest, stale, family], new Map(), {});
    expect(result.kept.map((kept) => kept.id)).toEqual(['codestral-2405', 'codestral-2508', 'grok-4']);
    expect(result.kept[1]?.aliases).toEqual(['codestral-latest']);
    expect(result.refused).toEqual([
      'codestral-latest: 1/-/3 differs from its newest dated member codestral-2508 (0.3/-/0.9)',
    ]);
    // A -latest alias on the same entry as its dated member agrees with itself.
    expect(result.kept[2]?.aliases).toEqual(['grok-4-0709', 'grok-4-latest']);
  });

  it('reads snapshot dates in every form the feeds use', () => {
    expect(snapshotDate('gpt-4o-2024-08-06', 'gpt-4o')).toBe('2024-08-06');
    expect(snapshotDate('claude-3-5-haiku-20241022', 'claude-3-5-haiku')).toBe('2024-10-22');
    expect(snapshotDate('mistral-large-2411', 'mistral-large')).toBe('2024-11');
    expect(snapshotDate('mistral-large-3', 'mistral-large')).toBeUndefined();
    expect(snapshotDate('gpt-4o-mini-2024-07-18', 'gpt-4o')).toBeUndefined();
  });
});
