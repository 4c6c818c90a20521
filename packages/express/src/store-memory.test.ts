import { describe, expect, it } from 'vitest';
import { createMemoryStore } from './store-memory';
import { checkStoreContract, DAY_UTC, usageEvent } from './store-test-support';

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
