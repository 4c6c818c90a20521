import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from './store-memory';
import { createSqliteStore } from './store-sqlite';
import { usageEvent } from './store-test-support';
import type { UsageGroupBy } from './types';
import { formatAtto, joinAtto, splitAtto, USAGE_GROUP_BYS } from './usage-aggregate';

describe('exact cost arithmetic', () => {
  it('splits atto-dollars into nano-dollars and a remainder that recombine exactly', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), (atto) => {
        const { nano, remainder } = splitAtto(atto);
        expect(joinAtto(nano, remainder)).toBe(atto);
        expect(remainder < 1_000_000_000n && remainder > -1_000_000_000n).toBe(true);
      }),
    );
    expect(formatAtto(1_500_000_000_000_000_001n)).toBe('1.500000000000000001');
  });
});

describe('memory and SQLite stores agree', () => {
  const eventArbitrary = fc.record({
    // Within March 2026, so day and hour groups cross midnight in several zones.
    timestamp: fc.integer({ min: Date.parse('2026-03-01T00:00:00Z'), max: Date.parse('2026-03-31T23:59:59Z') }),
    user: fc.option(fc.constantFrom('alice', 'bob', 'carol'), { nil: undefined }),
    model: fc.constantFrom('gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5'),
    inputTokens: fc.nat({ max: 1_000_000 }),
    outputTokens: fc.nat({ max: 100_000 }),
    atto: fc.bigInt({ min: 0n, max: 10n ** 20n }),
    priced: fc.boolean(),
  });

  it('on totals and groups for any events, grouping, range and time zone', () => {
    fc.assert(
      fc.property(
        fc.array(eventArbitrary, { maxLength: 60 }),
        fc.constantFrom<UsageGroupBy | undefined>(undefined, ...USAGE_GROUP_BYS),
        fc.constantFrom('UTC', 'America/New_York', 'Asia/Kathmandu', 'Australia/Lord_Howe'),
        fc.integer({ min: Date.parse('2026-03-01T00:00:00Z'), max: Date.parse('2026-03-31T00:00:00Z') }),
        (drafts, groupBy, timeZone, from) => {
          const events = drafts.map((draft) =>
            usageEvent({
              timestamp: draft.timestamp,
              user: draft.user,
              model: draft.model,
              inputTokens: draft.inputTokens,
              outputTokens: draft.outputTokens,
              priced: draft.priced,
              cost: draft.priced ? formatAtto(draft.atto) : undefined,
            }),
          );
          const memory = createMemoryStore({ now: () => Date.parse('2026-04-01T00:00:00Z') });
          const sqlite = createSqliteStore({ path: ':memory:' });
          memory.recordEvents(events);
          sqlite.recordEvents(events);
          sqlite.flush();
          const query = { from, to: Date.parse('2026-04-01T00:00:00Z'), groupBy, timeZone };
          const expected = memory.query(query);
          expect(sqlite.query(query)).toEqual(expected);
          const exactCost = drafts
            .filter((draft) => draft.priced && draft.timestamp >= from)
            .reduce((sum, draft) => sum + draft.atto, 0n);
          expect(expected.totals.cost).toBe(formatAtto(exactCost));
          expect(sqlite.dailySeries({ timeZone })).toEqual(memory.dailySeries({ timeZone }));
          sqlite.close();
        },
      ),
      { numRuns: 40 },
    );
  });
});
