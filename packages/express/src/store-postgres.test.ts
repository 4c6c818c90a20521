import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidMeterOptionsError } from './invalid-meter-options-error';
import { storeFromSpec } from './proxy-server';
import { createMemoryStore } from './store-memory';
import { createPostgresStore, type PostgresStore, type PostgresStoreOptions } from './store-postgres';
import { checkStoreContract, DAY_UTC, usageEvent } from './store-test-support';
import { USAGE_GROUP_BYS } from './usage-aggregate';

const connectionString = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString, max: 2 });
const schemas: string[] = [];
const stores: PostgresStore[] = [];

/** A schema of this test run's own: the database is shared with other test runs. */
function newSchema(): string {
  const schema = `tokenmeter_test_${randomBytes(6).toString('hex')}`;
  schemas.push(schema);
  return schema;
}

function open(schema: string, options: Partial<PostgresStoreOptions> = {}): PostgresStore {
  const store = createPostgresStore({ connectionString, schema, maxConnections: 4, ...options });
  stores.push(store);
  return store;
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  for (const schema of schemas.splice(0)) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
});
afterAll(async () => {
  await admin.end();
});

const now = Date.parse('2026-03-10T12:00:00Z');

describe('createPostgresStore', () => {
  it('meets the store contract', async () => {
    await checkStoreContract(open(newSchema()));
  });

  it('meets the store contract with a pool it does not own and a table prefix', async () => {
    const schema = newSchema();
    const pool = new pg.Pool({ connectionString, max: 2 });
    const store = createPostgresStore({ pool, schema, tablePrefix: 'meter_' });
    await checkStoreContract(store);
    await store.close();
    // close() leaves a pool it was given open: the app still uses it.
    const { rows } = await pool.query(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
      [schema],
    );
    expect(rows.map((row) => row.table_name)).toEqual(['meter_budget_spend', 'meter_events', 'meter_reservations']);
    await pool.end();
  });

  it('never overspends a budget shared by four instances under 200 concurrent reservations', async () => {
    const schema = newSchema();
    const instances = [open(schema), open(schema), open(schema), open(schema)];
    // All four create the tables at once: the migration lock makes them wait for each other, not fail.
    await Promise.all(instances.map((instance) => instance.ready()));
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, index) => {
        const store = instances[index % 4]!;
        // The two budgets come in either order: lock ordering must not deadlock.
        const requests = [
          { budgetId: 'tenant:acme', window: DAY_UTC, limit: 1000, amount: 7 },
          { budgetId: `user:${index % 10}`, window: DAY_UTC, limit: 1_000_000, amount: 7 },
        ];
        const result = await store.reserve(index % 2 === 0 ? requests : requests.reverse(), now);
        if (result.ok) await store.settle(result.reservationId, [7, 7], now);
        return result.ok;
      }),
    );
    // ⌊1000 / 7⌋ = 142 reservations fit: 994 of 1000 spent, never more.
    expect(results.filter(Boolean)).toHaveLength(142);
    expect(await instances[3]!.budgetUsage('tenant:acme', DAY_UTC, now)).toBe(994);
  }, 60_000);

  it('books a reservation settled by two instances at once only once', async () => {
    const schema = newSchema();
    const [a, b] = [open(schema), open(schema)];
    const result = await a.reserve([{ budgetId: 'global', window: DAY_UTC, limit: 100, amount: 40 }], now);
    if (!result.ok) throw new Error('expected a reservation');
    await Promise.all([a.settle(result.reservationId, [30], now), b.settle(result.reservationId, [30], now)]);
    expect(await b.budgetUsage('global', DAY_UTC, now)).toBe(30);
  });

  it('lets reservations of a crashed instance expire', async () => {
    const store = open(newSchema(), { reservationTtlMs: 60_000 });
    const result = await store.reserve([{ budgetId: 'global', window: DAY_UTC, limit: 100, amount: 100 }], now);
    expect(result.ok).toBe(true);
    expect(
      await store.reserve([{ budgetId: 'global', window: DAY_UTC, limit: 100, amount: 1 }], now + 59_999),
    ).toMatchObject({ ok: false, used: 100 });
    expect(
      await store.reserve([{ budgetId: 'global', window: DAY_UTC, limit: 100, amount: 1 }], now + 60_000),
    ).toMatchObject({ ok: true, remaining: [99] });
  });

  it('keeps spend until its window ends, then deletes it', async () => {
    const schema = newSchema();
    const store = open(schema);
    const rolling = { kind: 'rolling', durationMs: 3_600_000 } as const;
    const result = await store.reserve(
      [
        { budgetId: 'day', window: DAY_UTC, limit: 100, amount: 10 },
        { budgetId: 'hour', window: rolling, limit: 100, amount: 10 },
      ],
      now,
    );
    if (!result.ok) throw new Error('expected a reservation');
    // Settled two minutes later: the rolling spend lands in that minute's slice.
    await store.settle(result.reservationId, [4, 5], now + 120_000);
    const spendRows = async () =>
      (
        await admin.query(
          `SELECT budget_id, slice::float8 AS slice, amount::float8 AS amount, expires_at::float8 AS expires_at
           FROM ${store.tables.spend} ORDER BY budget_id`,
        )
      ).rows;
    const slice = (now + 120_000) / 60_000;
    expect(await spendRows()).toEqual([
      { budget_id: 'day', slice: 0, amount: 4, expires_at: Date.parse('2026-03-11T00:00:00Z') },
      { budget_id: 'hour', slice, amount: 5, expires_at: (slice + 60) * 60_000 },
    ]);
    // A reservation a minute later runs the housekeeping: nothing has ended yet.
    await store.reserve([{ budgetId: 'other', window: DAY_UTC, limit: 1, amount: 1 }], now + 180_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await spendRows()).toHaveLength(2);
    expect(await store.budgetUsage('day', DAY_UTC, now + 180_000)).toBe(4);
    // The next day both windows have ended: their rows go.
    await store.reserve([{ budgetId: 'other', window: DAY_UTC, limit: 1, amount: 1 }], now + 86_400_000);
    await vi.waitFor(async () => expect(await spendRows()).toEqual([]), { timeout: 5000, interval: 50 });
  });

  it('holds both amounts when one call names the same budget twice', async () => {
    const store = open(newSchema());
    const twice = [
      { budgetId: 'global', window: DAY_UTC, limit: 100, amount: 60 },
      { budgetId: 'global', window: DAY_UTC, limit: 100, amount: 60 },
    ];
    expect(await store.reserve(twice, now)).toMatchObject({ ok: false, used: 60 });
    const fits = await store.reserve([twice[0]!, { ...twice[1]!, amount: 40 }], now);
    if (!fits.ok) throw new Error('expected a reservation');
    // Both settle into the same spend row in one statement.
    await store.settle(fits.reservationId, [10, 20], now);
    expect(await store.budgetUsage('global', DAY_UTC, now)).toBe(30);
  });

  it('counts an event once however many instances record it, and keeps it after a restart', async () => {
    const schema = newSchema();
    const a = open(schema);
    const b = open(schema);
    const events = Array.from({ length: 50 }, () => usageEvent());
    await Promise.all([a.recordEvents(events), b.recordEvents(events), a.recordEvents(events.slice(0, 10))]);
    await Promise.all([a.close(), b.close()]);
    const reopened = open(schema);
    // 50 × $0.00045 = $0.0225
    expect((await reopened.query({})).totals).toMatchObject({ requests: 50, cost: '0.0225' });
  });

  it('keeps cost exact to the atto-dollar past 2^63 atto-dollars', async () => {
    const store = open(newSchema(), { batchSize: 1000 });
    let expected = 0n;
    const pending: Promise<void>[] = [];
    for (let index = 0; index < 3000; index += 1) {
      // Up to ~$3700 per event with all 18 decimals: the atto sum passes 2^63, the nano + atto columns must not drift.
      const atto = BigInt(index) * 1_234_567_890_123_456_789_012n + 1n;
      expected += atto;
      const cost = `${atto / 10n ** 18n}.${(atto % 10n ** 18n).toString().padStart(18, '0')}`;
      pending.push(store.recordEvents([usageEvent({ cost, timestamp: now - index * 60_000 })]));
    }
    await Promise.all(pending);
    expect(expected > 2n ** 63n).toBe(true);
    const format = (atto: bigint) =>
      `${atto / 10n ** 18n}.${(atto % 10n ** 18n).toString().padStart(18, '0')}`.replace(/\.?0+$/, '');
    const report = await store.query({ from: 0, to: now + 1 });
    expect(report.totals.requests).toBe(3000);
    expect(report.totals.cost).toBe(format(expected));
  }, 60_000);

  it('answers the same reports as the memory store', async () => {
    const schema = newSchema();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            minute: fc.integer({ min: 0, max: 3 * 24 * 60 }),
            user: fc.option(fc.constantFrom('alice', 'bob', "o'brien"), { nil: undefined }),
            tenant: fc.option(fc.constantFrom('acme', 'globex'), { nil: undefined }),
            model: fc.constantFrom('gpt-4o', 'claude-sonnet-4-5'),
            cost: fc.bigInt({ min: 0n, max: 10n ** 19n }),
            priced: fc.boolean(),
            rejected: fc.boolean(),
          }),
          { maxLength: 40 },
        ),
        fc.constantFrom(...USAGE_GROUP_BYS),
        fc.constantFrom('UTC', 'Asia/Kolkata', 'America/Los_Angeles'),
        fc.integer({ min: 0, max: 3 * 24 * 4 }),
        fc.option(fc.constantFrom('alice', "o'brien"), { nil: undefined }),
        async (drafts, groupBy, timeZone, fromQuarter, user) => {
          const start = Date.parse('2026-03-07T00:00:00Z');
          const events = drafts.map((draft) =>
            usageEvent({
              timestamp: start + draft.minute * 60_000,
              user: draft.user,
              tenant: draft.tenant,
              model: draft.model,
              priced: draft.priced,
              rejected: draft.rejected,
              cost: draft.priced
                ? `${draft.cost / 10n ** 18n}.${(draft.cost % 10n ** 18n).toString().padStart(18, '0')}`
                : undefined,
            }),
          );
          const memory = createMemoryStore({ now: () => Date.parse('2026-03-20T00:00:00Z') });
          memory.recordEvents(events);
          run += 1;
          const store = open(schema, { tablePrefix: `run${run}_` });
          await store.recordEvents(events);
          const query = {
            from: start + fromQuarter * 15 * 60_000,
            to: start + 4 * 86_400_000,
            groupBy,
            timeZone,
            ...(user === undefined ? {} : { filter: { user } }),
          };
          expect(await store.query(query)).toEqual(memory.query(query));
          expect(await store.dailySeries(query)).toEqual(memory.dailySeries(query));
          await store.close();
        },
      ),
      { numRuns: 12 },
    );
  }, 60_000);

  it('records and budgets names with a NUL character instead of failing the batch', async () => {
    const store = open(newSchema());
    // A NUL inside a JSON string is legal ("gpt-4o\u0000x"): PostgreSQL text cannot hold it.
    const odd = usageEvent({ model: 'gpt-4o\u0000x', user: 'eve\u0000' });
    await Promise.all([store.recordEvents([odd]), store.recordEvents([usageEvent()])]);
    const report = await store.query({ groupBy: 'model', filter: { user: 'eve\u0000' } });
    expect(report.totals.requests).toBe(1);
    expect(report.groups.map((group) => group.key)).toEqual(['gpt-4o\uFFFDx']);
    expect((await store.query({})).totals.requests).toBe(2);
    const budget = { budgetId: 'model:gpt-4o\u0000x', window: DAY_UTC, limit: 10, amount: 6 };
    expect(await store.reserve([budget], now)).toMatchObject({ ok: true, remaining: [4] });
    expect(await store.reserve([budget], now)).toMatchObject({ ok: false, budgetId: 'model:gpt-4o\u0000x', used: 6 });
    expect(await store.budgetUsage('model:gpt-4o\u0000x', DAY_UTC, now)).toBe(6);
  });

  it('rejects bad events without writing anything', async () => {
    const store = open(newSchema());
    await expect(store.recordEvents([usageEvent({ outputTokens: Number.NaN })])).rejects.toThrow(/outputTokens/);
    expect((await store.query({})).totals.requests).toBe(0);
  });

  it('refuses a schema or table prefix that is not a plain identifier', () => {
    expect(() => createPostgresStore({ connectionString, schema: 'public"; DROP TABLE x; --' })).toThrow(TypeError);
    expect(() => createPostgresStore({ connectionString, tablePrefix: 'a b' })).toThrow(TypeError);
    expect(() => createPostgresStore({})).toThrow(/connectionString or a pool/);
  });

  it('fails every call on an unreachable server with the connection error', async () => {
    // Nothing listens on port 1: the connection is refused at once.
    const store = createPostgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test' });
    await expect(store.reserve([{ budgetId: 'g', window: DAY_UTC, limit: 1, amount: 1 }], now)).rejects.toThrow(
      /ECONNREFUSED/,
    );
    await expect(store.recordEvents([usageEvent()])).rejects.toThrow(/ECONNREFUSED/);
    await store.close();
  });
  it('fails within timeoutMs when the server accepts connections but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const store = createPostgresStore({
      connectionString: `postgres://postgres@127.0.0.1:${port}/test`,
      timeoutMs: 300,
    });
    try {
      const started = Date.now();
      await expect(store.query({})).rejects.toThrow(/timeout/i);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe("storeFromSpec('postgres://…')", () => {
  it('opens a PostgreSQL store with the schema and table prefix from the URL', async () => {
    const schema = newSchema();
    const separator = connectionString.includes('?') ? '&' : '?';
    const store = storeFromSpec(`${connectionString}${separator}schema=${schema}&tablePrefix=spec_`) as PostgresStore;
    stores.push(store);
    expect(store.name).toBe('postgres');
    expect(store.tables.events).toBe(`"${schema}"."spec_events"`);
    // The two parameters are tokenmeter's: pg must not send them to the server.
    await store.recordEvents([usageEvent()]);
    expect((await store.query({})).totals.requests).toBe(1);
    expect(
      (await admin.query('SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1', [schema]))
        .rows[0].n,
    ).toBe(3);
  });

  it('accepts postgresql:// and refuses a bad schema as an options error', () => {
    expect(() => storeFromSpec('postgresql://postgres@127.0.0.1:5432/test?schema=a-b')).toThrow(
      InvalidMeterOptionsError,
    );
  });
});

describe('createPostgresStore without the pg package', () => {
  it('names the package to install', async () => {
    vi.resetModules();
    vi.doMock('pg', () => {
      throw new Error("Cannot find package 'pg'");
    });
    try {
      const { createPostgresStore: create } = await import('./store-postgres');
      const store = create({ connectionString });
      await expect(store.ready()).rejects.toThrow(/needs the "pg" package.*npm install pg/);
      await expect(store.query({})).rejects.toThrow(/npm install pg/);
    } finally {
      vi.doUnmock('pg');
      vi.resetModules();
    }
  });
});
