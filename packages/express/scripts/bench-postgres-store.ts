// How many budgeted calls per second the PostgreSQL store sustains, and what each call leaves behind.
// One budgeted call = what the proxy asks of the store: reserve (a user budget + one global budget),
// settle, record one event. Bounded: each scenario runs for at most DURATION_MS or CALLS calls.
// Run once, by hand (never in CI): `node --import tsx --conditions=source scripts/bench-postgres-store.ts`
// with DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test). It works in a schema of its own and
// drops it at the end.
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import pg from 'pg';
import { createPostgresStore, type PostgresStore } from '../src/store-postgres';
import type { BudgetWindow } from '../src/types';

const connectionString = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DURATION_MS = 10_000;
const CALLS = 50_000;
let failedEvents = 0;
const DAY: BudgetWindow = { kind: 'calendar', period: 'day', timeZone: 'UTC' };

interface Result {
  scenario: string;
  calls: number;
  seconds: number;
  p50: number;
  p99: number;
}

async function run(
  scenario: string,
  idPrefix: string,
  stores: PostgresStore[],
  concurrency: number,
  withGlobal: boolean,
  now: number,
): Promise<Result> {
  const latencies: number[] = [];
  let started = 0;
  const deadline = performance.now() + DURATION_MS;
  const begin = performance.now();
  async function worker(id: number) {
    while (started < CALLS && performance.now() < deadline) {
      const call = started++;
      const store = stores[call % stores.length]!;
      const user = `user:${call % 1000}`;
      const t0 = performance.now();
      const requests = [{ budgetId: user, window: DAY, limit: 1e15, amount: 1_000 }];
      if (withGlobal) requests.push({ budgetId: 'global', window: DAY, limit: 1e15, amount: 1_000 });
      const reserved = await store.reserve(requests, now);
      if (!reserved.ok) throw new Error('the benchmark budgets are large enough for every call');
      await store.settle(reserved.reservationId, withGlobal ? [900, 900] : [900], now);
      // The event is recorded after the response, as the proxy does: its write is batched, not awaited here.
      store
        .recordEvents([
          {
            id: `${idPrefix}-${id}-${call}`,
            timestamp: now,
            requestId: `r-${call}`,
            route: '/v1/chat/completions',
            user,
            provider: 'openai',
            model: 'gpt-4o-mini',
            operation: 'chat',
            inputTokens: 1200,
            cachedInputTokens: 0,
            cacheWrite5mTokens: 0,
            cacheWrite1hTokens: 0,
            outputTokens: 300,
            reasoningTokens: 0,
            cost: '0.00036',
            priced: true,
            estimated: false,
            status: 200,
            durationMs: 812.5,
            streamed: true,
          },
        ])
        .catch(() => {
          failedEvents++;
        });
      latencies.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, id) => worker(id)));
  await Promise.all(stores.map((store) => store.flush()));
  const seconds = (performance.now() - begin) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { scenario, calls: latencies.length, seconds, p50: at(0.5), p99: at(0.99) };
}

async function main() {
  const schema = `tokenmeter_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString });
  await admin.connect();
  const version = (await admin.query('SHOW server_version')).rows[0].server_version as string;
  console.log(
    `node ${process.version}, PostgreSQL ${version} on the same machine, ${cpus().length} × ${cpus()[0]?.model}, ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB, load average at start ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')}`,
  );
  const results: Result[] = [];
  try {
    const now = Date.now();
    for (const [scenario, processes, concurrency, withGlobal] of [
      ['user budgets only, 1 instance × 8 in flight', 1, 8, false],
      ['user + one global budget, 1 instance × 8 in flight', 1, 8, true],
      ['user + one global budget, 4 instances × 8 in flight', 4, 32, true],
    ] as const) {
      // Each instance its own pool, as separate processes would have.
      const stores = Array.from({ length: processes }, () =>
        createPostgresStore({ connectionString, schema, tablePrefix: `s${results.length}_`, maxConnections: 8 }),
      );
      await Promise.all(stores.map((store) => store.ready()));
      results.push(await run(scenario, `s${results.length}`, stores, concurrency, withGlobal, now));
      await Promise.all(stores.map((store) => store.close()));
    }
    for (const result of results) {
      console.log(
        `${result.scenario}: ${result.calls} calls in ${result.seconds.toFixed(1)} s = ` +
          `${Math.round(result.calls / result.seconds)} calls/s, latency p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms`,
      );
    }
    // What grows with traffic, measured on the first scenario's tables.
    const table = (name: string) => `"${schema}"."s0_${name}"`;
    await admin.query(`VACUUM ANALYZE ${table('events')}`);
    const size = await admin.query(
      `SELECT count(*)::int AS rows,
         pg_relation_size('${table('events')}')::bigint AS heap,
         pg_indexes_size('${table('events')}')::bigint AS indexes,
         avg(pg_column_size(e.*))::int AS row_bytes
       FROM ${table('events')} e`,
    );
    const { rows, heap, indexes, row_bytes } = size.rows[0];
    console.log(
      `events: ${rows} rows, ${row_bytes} bytes per row tuple, table ${Math.round(Number(heap) / rows)} B/event, ` +
        `indexes ${Math.round(Number(indexes) / rows)} B/event`,
    );
    const spend = await admin.query(`SELECT count(*)::int AS n FROM ${table('budget_spend')}`);
    const reservations = await admin.query(`SELECT count(*)::int AS n FROM ${table('reservations')}`);
    console.log(`budget_spend rows: ${spend.rows[0].n}; reservations rows left: ${reservations.rows[0].n}`);
    console.log(`event writes that failed: ${failedEvents}`);
    console.log(
      `load average at end ${loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
}

await main();
