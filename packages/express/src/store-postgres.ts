import { randomUUID } from 'node:crypto';
import { DEFAULT_RESERVATION_TTL_MS, validateActualAmounts, validateReservationRequests } from './budget-ledger';
import { currentWindow, ROLLING_SLICES, retryAfterMs, validateBudgetWindow } from './budget-window';
import type {
  BudgetReservationRequest,
  BudgetWindow,
  DailyUsage,
  ReserveResult,
  Store,
  UsageEvent,
  UsageQuery,
  UsageReport,
} from './types';
import {
  AGGREGATE_BUCKET_MS,
  dailySeriesFromReport,
  type EventDimensions,
  eventCostAtto,
  joinAtto,
  normalizeQuery,
  ReportBuilder,
  splitAtto,
  TotalsAccumulator,
  validateEvent,
} from './usage-aggregate';

/** The part of a `pg` query result the store reads. */
export interface PostgresQueryResult {
  rows: Record<string, unknown>[];
}

/** A checked-out connection (`pg.PoolClient`). */
export interface PostgresClient {
  query(text: string, values?: unknown[]): Promise<PostgresQueryResult>;
  /** `release(error)` destroys a connection that may be in a broken state instead of reusing it. */
  release(error?: Error | boolean): void;
}

/** The part of a `pg.Pool` the store uses (structural, so `pg`'s types are not needed to compile against it). */
export interface PostgresPool {
  query(text: string, values?: unknown[]): Promise<PostgresQueryResult>;
  connect(): Promise<PostgresClient>;
  end(): Promise<void>;
}

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/database`. Ignored when `pool` is given. */
  connectionString?: string;
  /** A `pg.Pool` you manage: the store does not end it on `close()`. */
  pool?: PostgresPool;
  /** Schema of the tables, created when missing. Default `public`. */
  schema?: string;
  /** Prefix of the table and index names. Default `tokenmeter_`. */
  tablePrefix?: string;
  /** Connections of the pool the store creates (not used with `pool`). Default 10. */
  maxConnections?: number;
  /**
   * Connecting, and every statement, fails after this long (the failure policy then decides) rather than
   * holding a request while the database hangs. Sets the pool's `connectionTimeoutMillis`, `query_timeout` and
   * the server's `statement_timeout`; not used with `pool` (configure yours alike). Default 2000 ms.
   */
  timeoutMs?: number;
  /** Events are written at most this long after they were recorded. Default 50 ms. */
  batchIntervalMs?: number;
  /** A batch this large is written at once. Default 500. */
  batchSize?: number;
  /** How long an unsettled reservation holds budget before it is presumed lost. Default 15 minutes. */
  reservationTtlMs?: number;
  /** Called when background housekeeping (deleting ended budget windows) fails; the next call retries it. */
  onError?: (error: unknown) => void;
}

export interface PostgresStore extends Store {
  readonly name: 'postgres';
  /** Schema-qualified table names, e.g. `"public"."tokenmeter_events"`. */
  readonly tables: { events: string; spend: string; reservations: string };
  /**
   * Loads `pg`, connects and creates the tables if needed. Every method waits for it, so calling it is
   * optional; await it at startup to fail fast on a wrong URL or a missing `pg` package. A failed attempt
   * is retried by the next call.
   */
  ready(): Promise<void>;
  recordEvents(events: UsageEvent[]): Promise<void>;
  reserve(requests: BudgetReservationRequest[], now: number): Promise<ReserveResult>;
  settle(reservationId: string, actualAmounts: number[], now: number): Promise<void>;
  release(reservationId: string, now: number): Promise<void>;
  budgetUsage(budgetId: string, window: BudgetWindow, now: number): Promise<number>;
  query(query: UsageQuery): Promise<UsageReport>;
  dailySeries(query: Omit<UsageQuery, 'groupBy'>): Promise<DailyUsage[]>;
  /** Writes every buffered event; resolves when they are committed (rejects if they could not be). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PREFIX = /^[A-Za-z0-9_]*$/;

const GROUP_COLUMNS = {
  model: 'model',
  provider: 'provider',
  user: '"user"',
  tenant: 'tenant',
  feature: 'feature',
  route: 'route',
} as const;

const FILTER_COLUMNS = { user: '"user"', tenant: 'tenant', model: 'model', route: 'route' } as const;

// Sums are cast to text: SUM(bigint) is numeric, which may pass 2^53 for tokens and nano-dollars.
const SUMS = `COUNT(*)::text AS requests,
  COALESCE(SUM(input_tokens), 0)::text AS input_tokens,
  COALESCE(SUM(cached_input_tokens), 0)::text AS cached_input_tokens,
  COALESCE(SUM(cache_write_5m_tokens + cache_write_1h_tokens), 0)::text AS cache_write_tokens,
  COALESCE(SUM(output_tokens), 0)::text AS output_tokens,
  COALESCE(SUM(reasoning_tokens), 0)::text AS reasoning_tokens,
  COALESCE(SUM(cost_nano), 0)::text AS cost_nano,
  COALESCE(SUM(cost_atto), 0)::text AS cost_atto,
  COUNT(*) FILTER (WHERE NOT priced)::text AS unpriced,
  COUNT(*) FILTER (WHERE estimated)::text AS estimated,
  COUNT(*) FILTER (WHERE rejected)::text AS rejected`;

/** Event columns in insert order, with the array type each is sent as. */
const EVENT_COLUMNS = [
  ['id', 'text'],
  ['ts', 'bigint'],
  ['request_id', 'text'],
  ['route', 'text'],
  ['"user"', 'text'],
  ['tenant', 'text'],
  ['feature', 'text'],
  ['provider', 'text'],
  ['model', 'text'],
  ['operation', 'text'],
  ['input_tokens', 'bigint'],
  ['cached_input_tokens', 'bigint'],
  ['cache_write_5m_tokens', 'bigint'],
  ['cache_write_1h_tokens', 'bigint'],
  ['output_tokens', 'bigint'],
  ['reasoning_tokens', 'bigint'],
  ['cost', 'text'],
  ['cost_nano', 'bigint'],
  ['cost_atto', 'bigint'],
  ['priced', 'boolean'],
  ['priced_as', 'text'],
  ['unpriced_policy', 'text'],
  ['estimated', 'boolean'],
  ['status', 'integer'],
  ['rejected', 'boolean'],
  ['duration_ms', 'double precision'],
  ['streamed', 'boolean'],
  ['error', 'text'],
] as const;

/**
 * PostgreSQL text cannot hold U+0000, and one such character fails the whole statement: a model name with a
 * NUL in a request body would make every batch it is in fail for good, and a budget id with one would fail
 * the reservation (and fail-open would then serve the call unbudgeted). NUL becomes U+FFFD, alike in writes,
 * filters and budget ids.
 */
function pgText(value: string): string {
  return value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value;
}

function pgOptionalText(value: string | undefined): string | null {
  return value === undefined ? null : pgText(String(value));
}

function eventRow(event: UsageEvent): unknown[] {
  const { nano, remainder } = splitAtto(eventCostAtto(event));
  return [
    pgText(event.id),
    Math.trunc(event.timestamp),
    pgText(String(event.requestId ?? '')),
    pgText(event.route),
    pgOptionalText(event.user),
    pgOptionalText(event.tenant),
    pgOptionalText(event.feature),
    pgText(event.provider),
    pgText(event.model),
    pgText(event.operation),
    event.inputTokens,
    event.cachedInputTokens,
    event.cacheWrite5mTokens,
    event.cacheWrite1hTokens,
    event.outputTokens,
    event.reasoningTokens,
    event.priced ? (event.cost ?? null) : null,
    nano.toString(),
    remainder.toString(),
    event.priced,
    pgOptionalText(event.pricedAs),
    event.unpricedPolicy ?? null,
    event.estimated,
    event.status,
    event.rejected === true,
    event.durationMs,
    event.streamed,
    pgOptionalText(event.error),
  ];
}

interface Batch {
  events: UsageEvent[];
  waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

/**
 * The store for apps that already run PostgreSQL: several processes (or machines) share one event log and
 * one set of budget counters. Events are buffered and written in batches (`INSERT … ON CONFLICT DO
 * NOTHING`, so a repeated id is not counted twice). A reservation is one call of a PL/pgSQL function (one
 * round trip, one transaction) that takes a transaction-scoped advisory lock per budget counter (budget ×
 * window), in a fixed order, then reads spent + reserved and inserts the reservation: two processes
 * reserving against the same counter are serialized, so the limit is never overspent. Settle is one
 * statement too. Costs are summed exactly as nano-dollars plus an atto-dollar
 * remainder, both `bigint` columns. `pg` is an optional peer dependency, loaded on first use.
 */
export function createPostgresStore(options: PostgresStoreOptions = {}): PostgresStore {
  const schema = options.schema ?? 'public';
  const prefix = options.tablePrefix ?? 'tokenmeter_';
  if (!IDENTIFIER.test(schema) || schema.length > 63) {
    throw new TypeError(`schema must be a plain SQL identifier (letters, digits, _), got ${JSON.stringify(schema)}`);
  }
  if (!PREFIX.test(prefix) || prefix.length > 40) {
    throw new TypeError(`tablePrefix must be letters, digits and _ (at most 40), got ${JSON.stringify(prefix)}`);
  }
  if (!options.pool && !options.connectionString) {
    throw new TypeError('createPostgresStore needs a connectionString or a pool');
  }
  const batchIntervalMs = options.batchIntervalMs ?? 50;
  const batchSize = options.batchSize ?? 500;
  const reservationTtlMs = options.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS;
  const table = (name: string) => `"${schema}"."${prefix}${name}"`;
  const index = (name: string) => `"${prefix}${name}"`;
  const events = table('events');
  const spend = table('budget_spend');
  const reservations = table('reservations');
  const reserveFunction = table('reserve');

  const schemaSql = `
CREATE SCHEMA IF NOT EXISTS "${schema}";
CREATE TABLE IF NOT EXISTS ${events} (
  id text PRIMARY KEY,
  ts bigint NOT NULL,
  request_id text NOT NULL,
  route text NOT NULL,
  "user" text,
  tenant text,
  feature text,
  provider text NOT NULL,
  model text NOT NULL,
  operation text NOT NULL,
  input_tokens bigint NOT NULL,
  cached_input_tokens bigint NOT NULL,
  cache_write_5m_tokens bigint NOT NULL,
  cache_write_1h_tokens bigint NOT NULL,
  output_tokens bigint NOT NULL,
  reasoning_tokens bigint NOT NULL,
  cost text,
  cost_nano bigint NOT NULL,
  cost_atto bigint NOT NULL,
  priced boolean NOT NULL,
  priced_as text,
  unpriced_policy text,
  estimated boolean NOT NULL,
  status integer NOT NULL,
  rejected boolean NOT NULL,
  duration_ms double precision NOT NULL,
  streamed boolean NOT NULL,
  error text
);
CREATE INDEX IF NOT EXISTS ${index('events_ts')} ON ${events} (ts);
CREATE INDEX IF NOT EXISTS ${index('events_user_ts')} ON ${events} ("user", ts);
CREATE INDEX IF NOT EXISTS ${index('events_tenant_ts')} ON ${events} (tenant, ts);
CREATE INDEX IF NOT EXISTS ${index('events_model_ts')} ON ${events} (model, ts);
CREATE INDEX IF NOT EXISTS ${index('events_route_ts')} ON ${events} (route, ts);
CREATE TABLE IF NOT EXISTS ${spend} (
  budget_id text NOT NULL,
  window_key text NOT NULL,
  slice bigint NOT NULL,
  amount bigint NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (budget_id, window_key, slice)
);
CREATE INDEX IF NOT EXISTS ${index('budget_spend_expiry')} ON ${spend} (expires_at);
CREATE TABLE IF NOT EXISTS ${reservations} (
  id text NOT NULL,
  position integer NOT NULL,
  budget_id text NOT NULL,
  window_key text NOT NULL,
  amount bigint NOT NULL,
  expires_at bigint NOT NULL,
  slice_ms bigint NOT NULL,
  spend_expires_at bigint NOT NULL,
  PRIMARY KEY (id, position)
);
CREATE INDEX IF NOT EXISTS ${index('reservations_budget')} ON ${reservations} (budget_id, window_key, expires_at);
CREATE OR REPLACE FUNCTION ${reserveFunction}(
  p_id text, p_lock_keys text[], p_budget text[], p_window text[], p_first_slice bigint[], p_limit bigint[],
  p_amount bigint[], p_slice_ms bigint[], p_spend_expires_at bigint[], p_now bigint, p_expires_at bigint
) RETURNS TABLE (failed integer, used bigint, remaining bigint[]) LANGUAGE plpgsql AS $fn$
DECLARE
  n integer := coalesce(array_length(p_budget, 1), 0);
  u bigint;
  rest bigint[] := '{}';
BEGIN
  -- Locks in hash order (not key order): two keys sharing a hash share a lock, and one fixed order over
  -- the locks themselves is what rules out a deadlock between two reservations.
  PERFORM pg_advisory_xact_lock(h) FROM (
    SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(p_lock_keys) AS k ORDER BY h
  ) AS locks;
  FOR i IN 1..n LOOP
    -- One statement, one snapshot: a settle committing meanwhile is seen whole (spend in, reservation out)
    -- or not at all.
    SELECT COALESCE((SELECT SUM(s.amount) FROM ${spend} s WHERE s.budget_id = p_budget[i]
        AND s.window_key = p_window[i] AND s.slice >= p_first_slice[i]), 0)
      + COALESCE((SELECT SUM(r.amount) FROM ${reservations} r WHERE r.budget_id = p_budget[i]
        AND r.window_key = p_window[i] AND r.expires_at > p_now), 0)
      INTO u;
    -- The same counter named twice in one call holds both amounts.
    FOR j IN 1..i - 1 LOOP
      IF p_budget[j] = p_budget[i] AND p_window[j] = p_window[i] THEN u := u + p_amount[j]; END IF;
    END LOOP;
    IF u + p_amount[i] > p_limit[i] THEN
      RETURN QUERY SELECT i, u, NULL::bigint[];
      RETURN;
    END IF;
    rest := rest || (p_limit[i] - u - p_amount[i]);
  END LOOP;
  INSERT INTO ${reservations} (id, position, budget_id, window_key, amount, expires_at, slice_ms, spend_expires_at)
    SELECT p_id, (t.o - 1)::integer, t.b, t.w, t.a, p_expires_at, t.m, t.e
    FROM unnest(p_budget, p_window, p_amount, p_slice_ms, p_spend_expires_at) WITH ORDINALITY AS t(b, w, a, m, e, o);
  RETURN QUERY SELECT 0, 0::bigint, rest;
END
$fn$;
`;

  const insertEvents = `INSERT INTO ${events} (${EVENT_COLUMNS.map(([name]) => name).join(', ')})
    SELECT * FROM unnest(${EVENT_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})
    ON CONFLICT (id) DO NOTHING`;
  // One statement, one snapshot: a settle committing meanwhile is seen whole (spend in, reservation out) or not at all.
  const usedSql = `SELECT
      COALESCE((SELECT SUM(s.amount) FROM ${spend} s
        WHERE s.budget_id = k.budget_id AND s.window_key = k.window_key AND s.slice >= k.first_slice), 0)::text AS spent,
      COALESCE((SELECT SUM(r.amount) FROM ${reservations} r
        WHERE r.budget_id = k.budget_id AND r.window_key = k.window_key AND r.expires_at > $4), 0)::text AS reserved
    FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS k(budget_id, window_key, first_slice, position)
    ORDER BY k.position`;
  const slicesSql = `SELECT slice::text AS slice, amount::text AS amount FROM ${spend}
    WHERE budget_id = $1 AND window_key = $2 AND slice >= $3`;
  // DELETE … RETURNING hands the rows to exactly one settle: a second one finds nothing to book. Rolling spend
  // lands in the slice of the moment it was settled; calendar spend in the window the reservation was made in.
  // One row per counter and slice (ON CONFLICT DO UPDATE may not touch a row twice), in a fixed order so two
  // settles touching the same rows lock them in the same order.
  const settleSql = `WITH taken AS (
      DELETE FROM ${reservations} WHERE id = $1
      RETURNING position, budget_id, window_key, amount, slice_ms, spend_expires_at
    ), actual AS (
      SELECT budget_id, window_key, slice_ms, spend_expires_at,
        CASE WHEN slice_ms > 0 THEN $2::bigint / slice_ms ELSE 0 END AS slice,
        COALESCE(($3::bigint[])[position + 1], amount) AS amount
      FROM taken
    )
    INSERT INTO ${spend} (budget_id, window_key, slice, amount, expires_at)
    SELECT budget_id, window_key, slice, SUM(amount),
      MAX(CASE WHEN slice_ms > 0 THEN (slice + ${ROLLING_SLICES}) * slice_ms ELSE spend_expires_at END)
    FROM actual WHERE amount > 0
    GROUP BY budget_id, window_key, slice
    ORDER BY budget_id, window_key, slice
    ON CONFLICT (budget_id, window_key, slice) DO UPDATE SET
      amount = ${spend}.amount + excluded.amount,
      expires_at = GREATEST(${spend}.expires_at, excluded.expires_at)`;

  let pool: PostgresPool | undefined = options.pool;
  const ownsPool = !options.pool;
  let initializing: Promise<PostgresPool> | undefined;
  let closed = false;
  let batch: Batch = { events: [], waiters: [] };
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();
  let nextCleanup = 0;

  async function connect(): Promise<PostgresPool> {
    if (!pool) {
      let module: { default?: { Pool?: unknown }; Pool?: unknown };
      try {
        module = (await import('pg')) as typeof module;
      } catch (error) {
        throw new Error(
          'createPostgresStore needs the "pg" package, an optional peer dependency of @tokenmeter/express: npm install pg',
          { cause: error },
        );
      }
      const Pool = (module.default?.Pool ?? module.Pool) as new (config: object) => PostgresPool;
      const timeoutMs = options.timeoutMs ?? 2000;
      pool = new Pool({
        connectionString: options.connectionString,
        max: options.maxConnections ?? 10,
        connectionTimeoutMillis: timeoutMs,
        query_timeout: timeoutMs,
        statement_timeout: timeoutMs,
      });
    }
    const client = await pool.connect();
    try {
      // Existing tables are left alone: even a CREATE INDEX IF NOT EXISTS takes a share lock on its table,
      // which deadlocks against other processes' settles and reservations.
      if (!(await tablesExist(client))) {
        // Several processes starting at once would race on CREATE … IF NOT EXISTS (a unique violation in
        // the catalog): one creates the tables while the others wait on this lock.
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`tokenmeter schema ${events}`]);
        await client.query(schemaSql);
        await client.query('COMMIT');
      }
      client.release();
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(error instanceof Error ? error : true);
      throw error;
    }
    return pool;
  }

  async function tablesExist(client: PostgresClient): Promise<boolean> {
    const { rows } = await client.query(
      `SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AND to_regclass($3) IS NOT NULL
        AND to_regproc($4) IS NOT NULL AS present`,
      [events, spend, reservations, reserveFunction],
    );
    return rows[0]?.present === true;
  }

  function ready(): Promise<PostgresPool> {
    if (closed) return Promise.reject(new Error('the PostgreSQL store is closed'));
    initializing ??= connect().catch((error: unknown) => {
      initializing = undefined;
      throw error;
    });
    return initializing;
  }

  function cleanup(now: number): void {
    if (now < nextCleanup) return;
    nextCleanup = now + 60_000;
    const run = async () => {
      const db = await ready();
      await db.query(`DELETE FROM ${spend} WHERE expires_at <= $1`, [now]);
      // Expired reservations stop holding budget at once (queries check expires_at) but are kept one more
      // TTL so that a late settle still finds where to book its spend.
      await db.query(`DELETE FROM ${reservations} WHERE expires_at <= $1`, [now - reservationTtlMs]);
    };
    run().catch((error: unknown) => {
      nextCleanup = 0;
      options.onError?.(error);
    });
  }

  async function usedOf(
    db: Pick<PostgresClient, 'query'>,
    counters: { budgetId: string; windowKey: string; firstSlice: number }[],
    now: number,
  ): Promise<number[]> {
    const { rows } = await db.query(usedSql, [
      counters.map((counter) => counter.budgetId),
      counters.map((counter) => counter.windowKey),
      counters.map((counter) => counter.firstSlice),
      now,
    ]);
    return rows.map((row) => Number(row.spent) + Number(row.reserved));
  }

  async function reserve(requests: BudgetReservationRequest[], now: number): Promise<ReserveResult> {
    validateReservationRequests(requests);
    const planned = requests.map((request) => {
      const instance = currentWindow(request.window, now);
      return {
        request,
        instance,
        budgetId: pgText(request.budgetId),
        windowKey: instance.key,
        firstSlice: instance.kind === 'rolling' ? instance.firstLiveSlice : 0,
      };
    });
    cleanup(now);
    const db = await ready();
    const reservationId = randomUUID();
    // One round trip: the function locks the counters, checks them and inserts the reservation in one
    // transaction (the statement's own).
    const { rows } = await db.query(
      `SELECT failed, used::text AS used, remaining::text[] AS remaining FROM ${reserveFunction}($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        reservationId,
        planned.map((item) => JSON.stringify([item.budgetId, item.windowKey])),
        planned.map((item) => item.budgetId),
        planned.map((item) => item.windowKey),
        planned.map((item) => item.firstSlice),
        planned.map((item) => item.request.limit),
        planned.map((item) => item.request.amount),
        planned.map((item) => (item.instance.kind === 'rolling' ? item.instance.sliceMs : 0)),
        planned.map((item) => (item.instance.kind === 'calendar' ? item.instance.end : 0)),
        now,
        now + reservationTtlMs,
      ],
    );
    const row = rows[0] ?? {};
    const failed = Number(row.failed);
    if (failed === 0) {
      return { ok: true, reservationId, remaining: (row.remaining as string[]).map(Number) };
    }
    const item = planned[failed - 1];
    if (!item) throw new Error(`the reserve function answered an unknown position ${String(row.failed)}`);
    const used = Number(row.used);
    const { request, instance } = item;
    let slices: Map<number, number> | undefined;
    if (instance.kind === 'rolling') {
      // Read after the lock was released: a hint of when to retry, not part of the decision.
      const result = await db.query(slicesSql, [item.budgetId, item.windowKey, item.firstSlice]);
      slices = new Map(result.rows.map((slice) => [Number(slice.slice), Number(slice.amount)] as const));
    }
    return {
      ok: false,
      budgetId: request.budgetId,
      limit: request.limit,
      used,
      retryAfterMs: retryAfterMs(instance, now, request.limit, used, request.amount, slices),
    };
  }

  async function settle(reservationId: string, actualAmounts: number[] | undefined, now: number): Promise<void> {
    const db = await ready();
    if (actualAmounts) await db.query(settleSql, [reservationId, now, actualAmounts]);
    else await db.query(`DELETE FROM ${reservations} WHERE id = $1`, [reservationId]);
  }

  async function writeBatch(target: Batch): Promise<void> {
    try {
      const db = await ready();
      const columns: unknown[][] = EVENT_COLUMNS.map(() => []);
      for (const event of target.events) {
        eventRow(event).forEach((value, column) => {
          columns[column]?.push(value);
        });
      }
      await db.query(insertEvents, columns);
      for (const waiter of target.waiters) waiter.resolve();
    } catch (error) {
      for (const waiter of target.waiters) waiter.reject(error);
      throw error;
    }
  }

  function sendBatch(): void {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (batch.events.length === 0) return;
    const target = batch;
    batch = { events: [], waiters: [] };
    const write: Promise<void> = writeBatch(target).finally(() => inFlight.delete(write));
    // The batch's own callers get the error; flush() gets it from this set. Nobody else must see it as unhandled.
    write.catch(() => undefined);
    inFlight.add(write);
  }

  async function queryReport(query: UsageQuery): Promise<UsageReport> {
    const normalized = normalizeQuery(query);
    const where = ['ts >= $1', 'ts < $2'];
    const parameters: (string | number)[] = [Math.ceil(normalized.from), Math.ceil(normalized.to)];
    for (const name of ['user', 'tenant', 'model', 'route'] as const) {
      const value = normalized.filter[name];
      if (value !== undefined) {
        parameters.push(pgText(value));
        where.push(`${FILTER_COLUMNS[name]} = $${parameters.length}`);
      }
    }
    const { groupBy } = normalized;
    const timeGroup = groupBy === 'day' || groupBy === 'hour';
    let groupExpression = 'NULL';
    if (timeGroup) groupExpression = `(ts - (ts % ${AGGREGATE_BUCKET_MS}))::text`;
    else if (groupBy !== undefined) groupExpression = GROUP_COLUMNS[groupBy as keyof typeof GROUP_COLUMNS];
    const sql =
      `SELECT ${groupExpression} AS group_key, ${SUMS} FROM ${events} WHERE ${where.join(' AND ')}` +
      (groupBy === undefined ? '' : ' GROUP BY 1');
    const { rows } = await (await ready()).query(sql, parameters);
    const builder = new ReportBuilder(normalized);
    for (const row of rows) {
      if (row.requests === '0') continue;
      const sums = new TotalsAccumulator();
      sums.requests = Number(row.requests);
      sums.inputTokens = Number(row.input_tokens);
      sums.cachedInputTokens = Number(row.cached_input_tokens);
      sums.cacheWriteTokens = Number(row.cache_write_tokens);
      sums.outputTokens = Number(row.output_tokens);
      sums.reasoningTokens = Number(row.reasoning_tokens);
      sums.costAtto = joinAtto(BigInt(String(row.cost_nano)), BigInt(String(row.cost_atto)));
      sums.unpricedRequests = Number(row.unpriced);
      sums.estimatedRequests = Number(row.estimated);
      sums.rejectedRequests = Number(row.rejected);
      const dimensions: EventDimensions = { model: '', provider: '', route: '' };
      if (groupBy !== undefined && !timeGroup) {
        dimensions[groupBy as keyof typeof GROUP_COLUMNS] = row.group_key === null ? '' : String(row.group_key);
      }
      builder.addAggregate(dimensions, timeGroup ? Number(row.group_key) : 0, sums);
    }
    return builder.build();
  }

  const store: PostgresStore = {
    name: 'postgres',
    tables: { events, spend, reservations },
    async ready() {
      await ready();
    },
    recordEvents(list: UsageEvent[]): Promise<void> {
      if (closed) return Promise.reject(new Error('the PostgreSQL store is closed'));
      try {
        list.forEach(validateEvent);
      } catch (error) {
        return Promise.reject(error);
      }
      if (list.length === 0) return Promise.resolve();
      const target = batch;
      for (const event of list) target.events.push({ ...event });
      const written = new Promise<void>((resolve, reject) => target.waiters.push({ resolve, reject }));
      if (target.events.length >= batchSize) sendBatch();
      else if (!timer) timer = setTimeout(sendBatch, batchIntervalMs);
      return written;
    },
    reserve,
    async settle(reservationId: string, actualAmounts: number[], now: number) {
      validateActualAmounts(actualAmounts);
      await settle(reservationId, actualAmounts, now);
    },
    async release(reservationId: string, now: number) {
      await settle(reservationId, undefined, now);
    },
    async budgetUsage(budgetId: string, window: BudgetWindow, now: number) {
      validateBudgetWindow(window);
      const instance = currentWindow(window, now);
      const firstSlice = instance.kind === 'rolling' ? instance.firstLiveSlice : 0;
      const [used] = await usedOf(
        await ready(),
        [{ budgetId: pgText(budgetId), windowKey: instance.key, firstSlice }],
        now,
      );
      return used ?? 0;
    },
    query: queryReport,
    async dailySeries(query: Omit<UsageQuery, 'groupBy'>): Promise<DailyUsage[]> {
      return dailySeriesFromReport(await queryReport({ ...query, groupBy: 'day' }));
    },
    async flush() {
      sendBatch();
      await Promise.all([...inFlight]);
    },
    async close() {
      if (closed) return;
      sendBatch();
      await Promise.allSettled([...inFlight]);
      closed = true;
      if (ownsPool && pool) await pool.end();
    },
  };
  return store;
}
