import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import express from 'express';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from './metrics';
import { createMemoryStore } from './store-memory';
import { createRedisStore, type RedisStore } from './store-redis';
import { checkStoreContract, DAY_UTC, usageEvent } from './store-test-support';
import { USAGE_GROUP_BYS } from './usage-aggregate';
import { usageRouter } from './usage-router';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const admin = new Redis(url);
const prefixes: string[] = [];
const stores: RedisStore[] = [];

function newPrefix(): string {
  const prefix = `tokenmeter-test:${randomBytes(6).toString('hex')}:`;
  prefixes.push(prefix);
  return prefix;
}

function open(prefix: string, options: { reservationTtlMs?: number } = {}): RedisStore {
  const store = createRedisStore({ url, prefix, ...options });
  stores.push(store);
  return store;
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  for (const prefix of prefixes.splice(0)) {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
  }
});
afterAll(async () => {
  await admin.quit();
});

describe('createRedisStore', () => {
  it('meets the store contract', async () => {
    await checkStoreContract(open(newPrefix()));
  });

  it('leaves no key behind without an expiry, except the aggregates index', async () => {
    const prefix = newPrefix();
    const store = open(prefix);
    await checkStoreContract(store);
    const keys = await admin.keys(`${prefix}*`);
    const withoutTtl = [];
    for (const key of keys) if ((await admin.pttl(key)) < 0) withoutTtl.push(key.slice(prefix.length));
    expect(withoutTtl).toEqual(['agg-buckets']);
  });

  it('keeps the key names of one Redis unchanged (no hash tags), so an upgraded deployment reads its keys', async () => {
    const prefix = newPrefix();
    const now = Date.parse('2026-03-10T12:00:00Z');
    // What a deployment wrote before hash tags existed: 70 spent today on user:a, 15-minute bucket 12:00.
    const day = `calendar:day:UTC:${Date.parse('2026-03-10T00:00:00Z')}`;
    await admin.hset(`${prefix}spend:user:a:${day}`, '0', '70');
    const store = open(prefix);
    expect(await store.budgetUsage('user:a', DAY_UTC, now)).toBe(70);
    const held = await store.reserve([{ budgetId: 'user:a', window: DAY_UTC, limit: 100, amount: 20 }], now);
    expect(held).toMatchObject({ ok: true, remaining: [10] });
    if (held.ok) await store.settle(held.reservationId, [20], now);
    await store.recordEvents([usageEvent({ id: 'event-old-names', timestamp: now })]);
    await store.flush();
    expect((await admin.keys(`${prefix}*`)).map((key) => key.slice(prefix.length)).sort()).toEqual([
      'agg-buckets',
      `agg:${now}`,
      'event:event-old-names',
      // The reservation set emptied by the settle is gone; its name is `reserved:user:a:<window>`.
      // The day's distinct-value sets (cardinality bound), untagged too.
      ...['model', 'route', 'user'].map((dimension) => `seen:${Math.floor(now / 86_400_000)}:${dimension}`),
      `spend:user:a:${day}`,
    ]);
    expect(await admin.hget(`${prefix}spend:user:a:${day}`, '0')).toBe('90');
  });

  it('never overspends a budget shared by four instances under 200 concurrent reservations', async () => {
    const prefix = newPrefix();
    const instances = [open(prefix), open(prefix), open(prefix), open(prefix)];
    const now = Date.parse('2026-03-10T12:00:00Z');
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, index) => {
        const store = instances[index % 4]!;
        const result = await store.reserve(
          [
            { budgetId: 'tenant:acme', window: DAY_UTC, limit: 1000, amount: 7 },
            { budgetId: `user:${index % 10}`, window: DAY_UTC, limit: 1_000_000, amount: 7 },
          ],
          now,
        );
        if (result.ok) await store.settle(result.reservationId, [7, 7], now);
        return result.ok;
      }),
    );
    // ⌊1000 / 7⌋ = 142 reservations fit: 994 of 1000 spent (99.4 % usable), never more.
    expect(results.filter(Boolean)).toHaveLength(142);
    expect(await instances[3]!.budgetUsage('tenant:acme', DAY_UTC, now)).toBe(994);
    // Rejected calls held nothing on the other budget either: 142 × 7 spread over the ten users.
    let userTotal = 0;
    for (let user = 0; user < 10; user += 1) {
      userTotal += await instances[0]!.budgetUsage(`user:${user}`, DAY_UTC, now);
    }
    expect(userTotal).toBe(994);
  });

  it('never overspends a budget shared by four processes under 200 concurrent reservations', async () => {
    const prefix = newPrefix();
    const now = Date.parse('2026-03-10T12:00:00Z');
    const tsx = resolve(import.meta.dirname, '../../../node_modules/.bin/tsx');
    const fixture = resolve(import.meta.dirname, '../test/fixtures/redis-reserver.ts');
    const outputs = await Promise.all(
      [0, 1, 2, 3].map(() =>
        promisify(execFile)(tsx, ['--conditions=source', fixture, url, prefix, '50', String(now)]),
      ),
    );
    const granted = outputs.map(({ stdout }) => (JSON.parse(stdout) as { granted: number }).granted);
    // ⌊1000 / 7⌋ = 142 of the 200 calls fit: 994 spent, 99.4 % of the budget usable, never more than 1000.
    expect(granted.reduce((sum, count) => sum + count, 0)).toBe(142);
    const reader = open(prefix);
    expect(await reader.budgetUsage('tenant:shared', DAY_UTC, now)).toBe(994);
  }, 60_000);

  it('lets reservations of a crashed instance expire', async () => {
    const store = open(newPrefix(), { reservationTtlMs: 60_000 });
    const now = Date.parse('2026-03-10T12:00:00Z');
    const result = await store.reserve([{ budgetId: 'global', window: DAY_UTC, limit: 100, amount: 100 }], now);
    expect(result.ok).toBe(true);
    expect(
      await store.reserve([{ budgetId: 'global', window: DAY_UTC, limit: 100, amount: 1 }], now + 59_999),
    ).toMatchObject({ ok: false, used: 100 });
    expect(
      await store.reserve([{ budgetId: 'global', window: DAY_UTC, limit: 100, amount: 1 }], now + 60_000),
    ).toMatchObject({ ok: true, remaining: [99] });
  });

  it('counts an event once however many instances record it', async () => {
    const prefix = newPrefix();
    const a = open(prefix);
    const b = open(prefix);
    const events = Array.from({ length: 50 }, () => usageEvent());
    await Promise.all([a.recordEvents(events), b.recordEvents(events), a.recordEvents(events.slice(0, 10))]);
    const report = await b.query({});
    // 50 × $0.00045 = $0.0225
    expect(report.totals).toMatchObject({ requests: 50, cost: '0.0225' });
  });

  it('keeps cost exact to the atto-dollar over 100,000 events in shared aggregates', async () => {
    const prefix = newPrefix();
    const writers = [open(prefix), open(prefix)];
    let expected = 0n;
    const expectedByModel = new Map<string, bigint>();
    const models = ['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5'];
    const start = Date.parse('2026-03-01T00:00:00Z');
    const pending: Promise<void>[] = [];
    for (let index = 0; index < 100_000; index += 1) {
      // Costs with all 18 decimal places and amounts up to $12: floats would drift; the sum must not.
      const atto = BigInt(index) * 123_456_789_012_345_679n + 1n;
      const cost = `${atto / 10n ** 18n}.${(atto % 10n ** 18n).toString().padStart(18, '0')}`;
      const model = models[index % 3]!;
      expected += atto;
      expectedByModel.set(model, (expectedByModel.get(model) ?? 0n) + atto);
      pending.push(
        writers[index % 2]!.recordEvents([usageEvent({ model, cost, timestamp: start + (index % 1000) * 3_600_000 })]),
      );
    }
    await Promise.all(pending);
    const format = (atto: bigint) =>
      `${atto / 10n ** 18n}.${(atto % 10n ** 18n).toString().padStart(18, '0')}`.replace(/\.?0+$/, '');
    const report = await writers[0]!.query({ groupBy: 'model' });
    expect(report.totals.requests).toBe(100_000);
    expect(report.totals.cost).toBe(format(expected));
    expect(Object.fromEntries(report.groups.map((group) => [group.key, group.cost]))).toEqual(
      Object.fromEntries(models.map((model) => [model, format(expectedByModel.get(model)!)])),
    );
  }, 120_000);

  it('answers the same reports as the memory store for ranges on 15-minute boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            minute: fc.integer({ min: 0, max: 3 * 24 * 60 }),
            user: fc.option(fc.constantFrom('alice', 'bob'), { nil: undefined }),
            tenant: fc.option(fc.constantFrom('acme', 'globex'), { nil: undefined }),
            model: fc.constantFrom('gpt-4o', 'claude-sonnet-4-5'),
            cost: fc.bigInt({ min: 0n, max: 10n ** 19n }),
          }),
          { maxLength: 40 },
        ),
        fc.constantFrom(...USAGE_GROUP_BYS),
        fc.constantFrom('UTC', 'Asia/Kolkata', 'America/Los_Angeles'),
        fc.integer({ min: 0, max: 3 * 24 * 4 }),
        async (drafts, groupBy, timeZone, fromQuarter) => {
          const start = Date.parse('2026-03-07T00:00:00Z');
          const events = drafts.map((draft) =>
            usageEvent({
              timestamp: start + draft.minute * 60_000,
              user: draft.user,
              tenant: draft.tenant,
              model: draft.model,
              cost: `${draft.cost / 10n ** 18n}.${(draft.cost % 10n ** 18n).toString().padStart(18, '0')}`,
            }),
          );
          const memory = createMemoryStore({ now: () => Date.parse('2026-03-20T00:00:00Z') });
          memory.recordEvents(events);
          const redis = open(newPrefix());
          await redis.recordEvents(events);
          const query = { from: start + fromQuarter * 15 * 60_000, to: start + 4 * 86_400_000, groupBy, timeZone };
          expect(await redis.query(query)).toEqual(memory.query(query));
        },
      ),
      { numRuns: 15 },
    );
  });

  it('rejects bad events without sending anything', async () => {
    const store = open(newPrefix());
    await expect(store.recordEvents([usageEvent({ outputTokens: Number.NaN })])).rejects.toThrow(/outputTokens/);
    expect((await store.query({})).totals.requests).toBe(0);
  });
});

describe('Redis store: distinct values per day are bounded', () => {
  it('folds values beyond maxDistinctValuesPerDay into (other), counts them, and keeps totals exact', async () => {
    const prefix = newPrefix();
    const folds: string[] = [];
    const store = createRedisStore({
      url,
      prefix,
      maxDistinctValuesPerDay: 3,
      onFold: (dimension) => folds.push(dimension),
    });
    stores.push(store);
    const today = Date.UTC(2026, 11, 8, 12);
    const events = Array.from({ length: 10 }, (_, index) =>
      usageEvent({ timestamp: today, model: `made-up-${index}`, user: `user-${index % 5}`, route: '/chat' }),
    );
    // Values already admitted stay themselves after the bound is reached.
    events.push(usageEvent({ timestamp: today, model: 'made-up-1', user: 'user-0' }));
    // A new day starts with an empty set.
    events.push(usageEvent({ timestamp: today + 86_400_000, model: 'made-up-9', user: 'user-4' }));
    await store.recordEvents(events);
    const report = await store.query({ from: today - 86_400_000, to: today + 2 * 86_400_000, groupBy: 'model' });
    expect(report.totals).toMatchObject({ requests: 12, cost: '0.0054' });
    expect(Object.fromEntries(report.groups.map((group) => [group.key, group.requests]))).toEqual({
      'made-up-0': 1,
      'made-up-1': 2,
      'made-up-2': 1,
      'made-up-9': 1,
      '(other)': 7,
    });
    // Users: user-0..2 admitted, user-3 and user-4 folded twice each on the first day.
    expect(report.folded).toEqual({ model: 7, user: 4 });
    const byUser = await store.query({ from: today - 86_400_000, to: today + 2 * 86_400_000, groupBy: 'user' });
    expect(byUser.groups.find((group) => group.key === '(other)')?.requests).toBe(4);
    expect(folds.filter((dimension) => dimension === 'model')).toHaveLength(7);
    expect(folds.filter((dimension) => dimension === 'user')).toHaveLength(4);
    // Nothing is folded on a day under the bound.
    const quiet = await store.query({ from: today + 86_400_000, to: today + 2 * 86_400_000 });
    expect(quiet.folded).toBeUndefined();
    // The day's sets never hold more than the bound.
    expect(await admin.scard(`${prefix}seen:${Math.floor(today / 86_400_000)}:model`)).toBe(3);
  });

  it('reports folds in the usage API and in tokenmeter_store_folded_values_total', async () => {
    const prefix = newPrefix();
    const metrics = createMetrics();
    const store = createRedisStore({
      url,
      prefix,
      maxDistinctValuesPerDay: 2,
      onFold: (dimension) => metrics.observeFold(dimension),
    });
    stores.push(store);
    const now = Date.now();
    await store.recordEvents(
      Array.from({ length: 5 }, (_, index) =>
        usageEvent({ timestamp: now, model: 'gpt-4o-mini', route: `/r/${index}` }),
      ),
    );
    const app = express();
    app.use('/tokenmeter', usageRouter({ store }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/tokenmeter/usage?groupBy=route`);
      const body = (await response.json()) as { folded?: Record<string, number>; groups: { key: string }[] };
      expect(body.folded).toEqual({ route: 3 });
      expect(body.groups.map((group) => group.key).sort()).toEqual(['(other)', '/r/0', '/r/1']);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    expect(await metrics.registry.metrics()).toContain('tokenmeter_store_folded_values_total{dimension="route"} 3');
  });

  it('refuses a bound that is not a whole number ≥ 1', () => {
    for (const bound of [0, -1, 1.5, Number.NaN]) {
      expect(() => createRedisStore({ url, maxDistinctValuesPerDay: bound })).toThrow(/maxDistinctValuesPerDay/);
    }
  });
});
