import { expect } from 'vitest';
import type { BudgetWindow, Store, UsageEvent } from './types';

/** Test helpers shared by the store suites, published as `@tokenmeter/express/testing`. */

let counter = 0;

export function usageEvent(overrides: Partial<UsageEvent> = {}): UsageEvent {
  counter += 1;
  return {
    id: `event-${counter}-${Math.random().toString(36).slice(2)}`,
    timestamp: Date.parse('2026-03-10T12:00:00Z'),
    requestId: `request-${counter}`,
    route: '/chat',
    user: 'alice',
    provider: 'openai',
    model: 'gpt-4o-mini',
    operation: 'chat',
    inputTokens: 1000,
    cachedInputTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 500,
    reasoningTokens: 0,
    // gpt-4o-mini: $0.15 per million input, $0.60 per million output → 1000 × 0.15e-6 + 500 × 0.6e-6 = $0.00045.
    cost: '0.00045',
    priced: true,
    estimated: false,
    status: 200,
    durationMs: 120,
    streamed: false,
    ...overrides,
  };
}

export const DAY_UTC: BudgetWindow = { kind: 'calendar', period: 'day', timeZone: 'UTC' };

/**
 * The behaviour every store must share, run against memory, SQLite and Redis alike. Amounts and costs are
 * computed by hand in the comments.
 */
export async function checkStoreContract(store: Store): Promise<void> {
  const now = Date.parse('2026-03-10T12:00:00Z');
  const budget = (budgetId: string, limit: number, amount: number, window: BudgetWindow = DAY_UTC) => ({
    budgetId,
    window,
    limit,
    amount,
  });

  // Reserve 60 of 100, then 50 more does not fit (60 + 50 > 100); nothing of the failed call is held.
  const first = await store.reserve([budget('user:a', 100, 60), budget('global', 1000, 60)], now);
  expect(first).toMatchObject({ ok: true, remaining: [40, 940] });
  const second = await store.reserve([budget('global', 1000, 50), budget('user:a', 100, 50)], now);
  expect(second).toEqual({
    ok: false,
    budgetId: 'user:a',
    limit: 100,
    used: 60,
    retryAfterMs: Date.parse('2026-03-11T00:00:00Z') - now,
  });
  expect(await store.budgetUsage('global', DAY_UTC, now)).toBe(60);

  // Settling to the actual 25 frees 35: used 25.
  if (!first.ok) throw new Error('unreachable');
  await store.settle(first.reservationId, [25, 25], now + 1000);
  expect(await store.budgetUsage('user:a', DAY_UTC, now + 1000)).toBe(25);
  // Settling twice does not count twice.
  await store.settle(first.reservationId, [25, 25], now + 1000);
  expect(await store.budgetUsage('user:a', DAY_UTC, now + 1000)).toBe(25);

  // A released reservation gives everything back.
  const third = await store.reserve([budget('user:a', 100, 75)], now + 2000);
  expect(third).toMatchObject({ ok: true, remaining: [0] });
  if (!third.ok) throw new Error('unreachable');
  await store.release(third.reservationId, now + 2000);
  expect(await store.budgetUsage('user:a', DAY_UTC, now + 2000)).toBe(25);

  // The next UTC day starts from zero.
  expect(await store.budgetUsage('user:a', DAY_UTC, Date.parse('2026-03-11T00:00:00Z'))).toBe(0);

  // Rolling 1-hour window (1-minute slices): 30 spent at 12:00 leaves the window at 13:00.
  const rolling: BudgetWindow = { kind: 'rolling', durationMs: 3_600_000 };
  const fourth = await store.reserve([budget('route:x', 50, 30, rolling)], now);
  if (!fourth.ok) throw new Error('expected a reservation');
  await store.settle(fourth.reservationId, [30], now);
  const fifth = await store.reserve([budget('route:x', 50, 30, rolling)], now + 30 * 60_000);
  expect(fifth).toEqual({ ok: false, budgetId: 'route:x', limit: 50, used: 30, retryAfterMs: 30 * 60_000 });
  expect(await store.budgetUsage('route:x', rolling, now + 59 * 60_000)).toBe(30);
  expect(await store.budgetUsage('route:x', rolling, now + 60 * 60_000)).toBe(0);

  // Events: idempotent by id; totals exact.
  const morning = Date.parse('2026-03-10T08:00:00Z');
  const events = [
    usageEvent({ timestamp: morning, user: 'alice', model: 'gpt-4o-mini', cost: '0.00045' }),
    usageEvent({
      timestamp: morning + 3_600_000,
      user: 'bob',
      model: 'claude-sonnet-4-5',
      provider: 'anthropic',
      inputTokens: 2000,
      cachedInputTokens: 10_000,
      cacheWrite5mTokens: 300,
      outputTokens: 100,
      reasoningTokens: 50,
      // claude-sonnet-4-5: $3 input, $0.30 cache read, $3.75 cache write 5m, $15 output (per million):
      // 2000 × 3 + 10000 × 0.3 + 300 × 3.75 + 150 × 15 = 6000 + 3000 + 1125 + 2250 = 12375 µ$ = $0.012375.
      cost: '0.012375',
    }),
    usageEvent({
      timestamp: Date.parse('2026-03-11T01:00:00Z'),
      user: undefined,
      model: 'mystery-model',
      provider: 'unknown',
      cost: undefined,
      priced: false,
      estimated: true,
    }),
    usageEvent({ timestamp: morning, status: 429, rejected: true, inputTokens: 0, outputTokens: 0, cost: '0' }),
  ];
  await store.recordEvents(events);
  await store.recordEvents([events[0]!, events[1]!]);
  await store.flush?.();

  const all = await store.query({ from: Date.parse('2026-03-01T00:00:00Z'), to: Date.parse('2026-04-01T00:00:00Z') });
  // $0.00045 + $0.012375 + $0 = $0.012825
  expect(all.totals).toEqual({
    requests: 4,
    inputTokens: 4000,
    cachedInputTokens: 10_000,
    cacheWriteTokens: 300,
    outputTokens: 1100,
    reasoningTokens: 50,
    cost: '0.012825',
    unpricedRequests: 1,
    estimatedRequests: 1,
    rejectedRequests: 1,
  });
  expect(all.groups).toEqual([]);

  const byUser = await store.query({ from: 0, to: Date.parse('2026-04-01T00:00:00Z'), groupBy: 'user' });
  expect(byUser.groups.map((group) => [group.key, group.requests, group.cost])).toEqual([
    ['bob', 1, '0.012375'],
    ['alice', 2, '0.00045'],
    ['(none)', 1, '0'],
  ]);

  // In New York (UTC−4 in March) 01:00 UTC on the 11th is still the 10th.
  const byDayNewYork = await store.query({
    from: 0,
    to: Date.parse('2026-04-01T00:00:00Z'),
    groupBy: 'day',
    timeZone: 'America/New_York',
  });
  expect(byDayNewYork.groups.map((group) => [group.key, group.requests])).toEqual([['2026-03-10', 4]]);

  const filtered = await store.query({
    from: 0,
    to: Date.parse('2026-04-01T00:00:00Z'),
    groupBy: 'hour',
    filter: { model: 'gpt-4o-mini', user: 'alice' },
  });
  expect(filtered.groups.map((group) => [group.key, group.requests])).toEqual([['2026-03-10T08', 2]]);

  const series = await store.dailySeries({ from: 0, to: Date.parse('2026-04-01T00:00:00Z') });
  expect(series).toEqual([
    {
      date: '2026-03-10',
      requests: 3,
      inputTokens: 3000 + 10_000 + 300,
      outputTokens: 500 + 100 + 50,
      cost: '0.012825',
    },
    { date: '2026-03-11', requests: 1, inputTokens: 1000, outputTokens: 500, cost: '0' },
  ]);
}
