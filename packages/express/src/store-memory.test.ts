import { describe, expect, it } from 'vitest';
import { createMemoryStore } from './store-memory';
import { checkStoreContract, DAY_UTC, usageEvent } from './store-test-support';
import type { UsageEvent, UsageGroupBy } from './types';
import { normalizeQuery, ReportBuilder } from './usage-aggregate';

describe('createMemoryStore', () => {
  it('meets the store contract', async () => {
    await checkStoreContract(createMemoryStore({ now: () => Date.parse('2026-03-12T00:00:00Z') }));
  });

  it('keeps a bounded number of events, forgetting the oldest', () => {
    const store = createMemoryStore({ maxEvents: 3, now: () => Date.parse('2026-03-12T00:00:00Z') });
    const events = [1, 2, 3, 4, 5].map((minute) =>
      usageEvent({ timestamp: Date.parse('2026-03-10T00:00:00Z') + minute * 60_000 }),
    );
    store.recordEvents(events);
    expect(store.size).toBe(3);
    const report = store.query({});
    expect(report.totals.requests).toBe(3);
  });

  it('answers every query as the events themselves would, across growth, wrap-around and eviction', () => {
    const now = Date.parse('2026-03-12T00:00:00Z');
    const store = createMemoryStore({ maxEvents: 2_500, now: () => now });
    const users = ['alice', 'bob', 'carol', undefined];
    const all: UsageEvent[] = [];
    for (let index = 0; index < 6_000; index += 1) {
      const user = users[index % users.length];
      const event = usageEvent({
        ...(user === undefined ? {} : { user }),
        timestamp: Date.parse('2026-03-09T00:00:00Z') + index * 37_000,
        model: index % 3 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
        route: index % 5 === 0 ? '/summarize' : '/chat',
        inputTokens: index,
        cachedInputTokens: index % 7,
        cacheWrite1hTokens: index % 3,
        outputTokens: 2 * index,
        reasoningTokens: index % 11,
        cost: `0.${String(index).padStart(6, '0')}000000000001`,
        priced: index % 13 !== 0,
        estimated: index % 17 === 0,
        ...(index % 19 === 0 ? { rejected: true } : {}),
        ...(index % 23 === 0 ? { tenant: 'acme', feature: 'qa' } : {}),
      });
      if (user === undefined) delete event.user;
      all.push(event);
    }
    // In batches, so the ring grows, wraps and evicts while recording.
    for (let index = 0; index < all.length; index += 700) store.recordEvents(all.slice(index, index + 700));
    expect(store.size).toBe(2_500);
    const kept = all.slice(-2_500);
    expect(store.query({ from: kept[100]!.timestamp }).totals.requests).toBe(2_400);
    expect(store.query({ filter: { user: 'bob' } }).totals.requests).toBe(625);
    const groupings: (UsageGroupBy | undefined)[] = [undefined, 'model', 'user', 'tenant', 'route', 'day', 'hour'];
    for (const groupBy of groupings) {
      for (const filter of [{}, { user: 'bob' }, { model: 'gpt-4o', route: '/summarize' }]) {
        const query = { filter, ...(groupBy ? { groupBy } : {}), from: kept[100]!.timestamp };
        const expected = new ReportBuilder(normalizeQuery(query, now));
        for (const event of kept) {
          if (event.timestamp < kept[100]!.timestamp) continue;
          if (filter.user !== undefined && event.user !== filter.user) continue;
          if (filter.model !== undefined && event.model !== filter.model) continue;
          if (filter.route !== undefined && event.route !== filter.route) continue;
          expected.addEvent(event);
        }
        expect(store.query(query)).toEqual(expected.build());
      }
    }
  });

  it('keeps costs too large for 64 bits exactly, and forgets them with their event', () => {
    const store = createMemoryStore({ maxEvents: 2, now: () => Date.parse('2026-03-12T00:00:00Z') });
    // 9e15 tokens at $75 per million: $675,000,000,000, i.e. 6.75e20 nano-dollars (over 2^63).
    store.recordEvents([usageEvent({ outputTokens: 9e15, cost: '675000000000.000000000000000001' })]);
    expect(store.query({}).totals.cost).toBe('675000000000.000000000000000001');
    store.recordEvents([usageEvent(), usageEvent()]);
    expect(store.query({}).totals.cost).toBe('0.0009');
  });

  it('forgets events older than the retention age', () => {
    let now = Date.parse('2026-03-10T00:00:00Z');
    const store = createMemoryStore({ maxAgeMs: 86_400_000, now: () => now });
    store.recordEvents([usageEvent({ timestamp: now })]);
    now += 86_400_001;
    store.recordEvents([usageEvent({ timestamp: now })]);
    expect(store.size).toBe(1);
  });

  it('rejects events it could not count, recording none of the batch', () => {
    const store = createMemoryStore();
    expect(() => store.recordEvents([usageEvent(), usageEvent({ cost: '0.1234567890123456789' })])).toThrow(
      /18 decimal/,
    );
    expect(() => store.recordEvents([usageEvent({ inputTokens: -1 })])).toThrow(/non-negative/);
    expect(store.size).toBe(0);
  });

  it('never lets 50 concurrent reservations overspend, and expired reservations free their budget', async () => {
    const store = createMemoryStore({ reservationTtlMs: 60_000 });
    const now = Date.parse('2026-03-10T12:00:00Z');
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        Promise.resolve().then(() =>
          store.reserve([{ budgetId: 'global', window: DAY_UTC, limit: 1000, amount: 30 }], now),
        ),
      ),
    );
    // ⌊1000 / 30⌋ = 33 fit.
    expect(results.filter((result) => result.ok)).toHaveLength(33);
    expect(store.budgetUsage('global', DAY_UTC, now)).toBe(990);
    // The process "crashed": nobody settles; after the TTL the reservations no longer hold budget.
    expect(store.budgetUsage('global', DAY_UTC, now + 60_001)).toBe(0);
  });

  it('rejects malformed budget requests with a clear error', () => {
    const store = createMemoryStore();
    expect(() => store.reserve([{ budgetId: 'x', window: DAY_UTC, limit: 10, amount: 1.5 }], 0)).toThrow(/amount/);
    expect(() => store.reserve([{ budgetId: '', window: DAY_UTC, limit: 10, amount: 1 }], 0)).toThrow(/budgetId/);
  });
});
