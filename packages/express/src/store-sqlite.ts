import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DEFAULT_RESERVATION_TTL_MS, validateActualAmounts, validateReservationRequests } from './budget-ledger';
import { currentWindow, retryAfterMs, sliceExpiresAt, validateBudgetWindow } from './budget-window';
import Database from './peer-better-sqlite3';
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

export interface SqliteStoreOptions {
  /**
   * Database file. Its directory is created when missing (`data/tokenmeter.db` works on a first run).
   * `:memory:` works for tests (nothing survives).
   */
  path: string;
  /** Buffered events are written at most this long after they were recorded. Default 50 ms. */
  batchIntervalMs?: number;
  /** A batch this large is written at once, without waiting for the timer. Default 500. */
  batchSize?: number;
  /** How long an unsettled reservation holds budget before it is presumed lost. Default 15 minutes. */
  reservationTtlMs?: number;
  /**
   * `normal` (default, with WAL): a committed batch survives a crash of the process (SIGKILL included) but
   * the last batches may be rolled back by an OS crash or power loss. `full` survives those too, slower.
   */
  synchronous?: 'normal' | 'full';
  /** Called when a background (timer) batch write fails; the batch stays buffered and is retried. */
  onError?: (error: unknown) => void;
}

export interface SqliteStore extends Store {
  readonly name: 'sqlite';
  /** Where the events are written: the absolute path of the database file, or `:memory:`. */
  readonly location: string;
  /** Writes every buffered event in one transaction. When it returns, those events are committed. */
  flush(): void;
  /** Events recorded but not yet written. */
  readonly pending: number;
  recordEvents(events: UsageEvent[]): void;
  reserve(requests: BudgetReservationRequest[], now: number): ReserveResult;
  settle(reservationId: string, actualAmounts: number[], now: number): void;
  release(reservationId: string, now: number): void;
  budgetUsage(budgetId: string, window: BudgetWindow, now: number): number;
  query(query: UsageQuery): UsageReport;
  dailySeries(query: Omit<UsageQuery, 'groupBy'>): DailyUsage[];
  close(): void;
}

const GROUP_COLUMNS = {
  model: 'model',
  provider: 'provider',
  user: 'user',
  tenant: 'tenant',
  feature: 'feature',
  route: 'route',
} as const;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tokenmeter_events (
  id TEXT PRIMARY KEY,
  ts INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  route TEXT NOT NULL,
  user TEXT,
  tenant TEXT,
  feature TEXT,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  operation TEXT NOT NULL,
  input_tokens INTEGER NOT NULL,
  cached_input_tokens INTEGER NOT NULL,
  cache_write_5m_tokens INTEGER NOT NULL,
  cache_write_1h_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  reasoning_tokens INTEGER NOT NULL,
  cost TEXT,
  cost_nano INTEGER NOT NULL,
  cost_atto INTEGER NOT NULL,
  priced INTEGER NOT NULL,
  estimated INTEGER NOT NULL,
  status INTEGER NOT NULL,
  rejected INTEGER NOT NULL,
  duration_ms REAL NOT NULL,
  streamed INTEGER NOT NULL,
  error TEXT
);
CREATE INDEX IF NOT EXISTS tokenmeter_events_ts ON tokenmeter_events (ts);
CREATE INDEX IF NOT EXISTS tokenmeter_events_user_ts ON tokenmeter_events (user, ts);
CREATE INDEX IF NOT EXISTS tokenmeter_events_tenant_ts ON tokenmeter_events (tenant, ts);
CREATE INDEX IF NOT EXISTS tokenmeter_events_model_ts ON tokenmeter_events (model, ts);
CREATE INDEX IF NOT EXISTS tokenmeter_events_route_ts ON tokenmeter_events (route, ts);
CREATE TABLE IF NOT EXISTS tokenmeter_budget_spend (
  budget_id TEXT NOT NULL,
  window_key TEXT NOT NULL,
  slice INTEGER NOT NULL,
  amount INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (budget_id, window_key, slice)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tokenmeter_budget_spend_expiry ON tokenmeter_budget_spend (expires_at);
CREATE TABLE IF NOT EXISTS tokenmeter_reservations (
  id TEXT NOT NULL,
  position INTEGER NOT NULL,
  budget_id TEXT NOT NULL,
  window_key TEXT NOT NULL,
  window TEXT NOT NULL,
  amount INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (id, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tokenmeter_reservations_budget
  ON tokenmeter_reservations (budget_id, window_key, expires_at);
`;

const SUMS = `COUNT(*) AS requests,
  COALESCE(SUM(input_tokens), 0) AS input_tokens,
  COALESCE(SUM(cached_input_tokens), 0) AS cached_input_tokens,
  COALESCE(SUM(cache_write_5m_tokens + cache_write_1h_tokens), 0) AS cache_write_tokens,
  COALESCE(SUM(output_tokens), 0) AS output_tokens,
  COALESCE(SUM(reasoning_tokens), 0) AS reasoning_tokens,
  COALESCE(SUM(cost_nano), 0) AS cost_nano,
  COALESCE(SUM(cost_atto), 0) AS cost_atto,
  COALESCE(SUM(priced = 0), 0) AS unpriced,
  COALESCE(SUM(estimated), 0) AS estimated,
  COALESCE(SUM(rejected), 0) AS rejected`;

interface SumsRow {
  group_key: string | bigint | null;
  requests: bigint;
  input_tokens: bigint;
  cached_input_tokens: bigint;
  cache_write_tokens: bigint;
  output_tokens: bigint;
  reasoning_tokens: bigint;
  cost_nano: bigint;
  cost_atto: bigint;
  unpriced: bigint;
  estimated: bigint;
  rejected: bigint;
}

/**
 * The embedded persistent store for one machine. Events are buffered and written in batched transactions
 * (every `batchIntervalMs`, or at once when `batchSize` are waiting); an event is *acknowledged* once a
 * `flush()` that started after it was recorded has returned — from then on it survives a killed process.
 * Budgets are reserved and settled in `BEGIN IMMEDIATE` transactions, so several processes may share one
 * file. Cost is summed exactly: each event stores whole nano-dollars and the atto-dollar remainder as two
 * integers, and a query adds both sums as bigints.
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const batchIntervalMs = options.batchIntervalMs ?? 50;
  const batchSize = options.batchSize ?? 500;
  const reservationTtlMs = options.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS;
  const location = options.path === ':memory:' ? options.path : resolve(options.path);
  if (location !== ':memory:') mkdirSync(dirname(location), { recursive: true });
  const db = new Database(location);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  // Another process holding the write lock makes us wait, not fail.
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);

  const insertEvent = db.prepare(`INSERT OR IGNORE INTO tokenmeter_events VALUES (
    @id, @ts, @request_id, @route, @user, @tenant, @feature, @provider, @model, @operation,
    @input_tokens, @cached_input_tokens, @cache_write_5m_tokens, @cache_write_1h_tokens, @output_tokens,
    @reasoning_tokens, @cost, @cost_nano, @cost_atto, @priced, @estimated, @status, @rejected, @duration_ms,
    @streamed, @error)`);
  const spentIn = db.prepare<[string, string, number], { spent: number }>(
    'SELECT COALESCE(SUM(amount), 0) AS spent FROM tokenmeter_budget_spend WHERE budget_id = ? AND window_key = ? AND slice >= ?',
  );
  const slicesOf = db.prepare<[string, string, number], { slice: number; amount: number }>(
    'SELECT slice, amount FROM tokenmeter_budget_spend WHERE budget_id = ? AND window_key = ? AND slice >= ?',
  );
  const reservedIn = db.prepare<[string, string, number], { reserved: number }>(
    'SELECT COALESCE(SUM(amount), 0) AS reserved FROM tokenmeter_reservations WHERE budget_id = ? AND window_key = ? AND expires_at > ?',
  );
  const insertReservation = db.prepare(
    'INSERT INTO tokenmeter_reservations (id, position, budget_id, window_key, window, amount, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const reservationRows = db.prepare<
    [string],
    { position: number; budget_id: string; window_key: string; window: string; amount: number }
  >(
    'SELECT position, budget_id, window_key, window, amount FROM tokenmeter_reservations WHERE id = ? ORDER BY position',
  );
  const deleteReservation = db.prepare('DELETE FROM tokenmeter_reservations WHERE id = ?');
  const addSpend = db.prepare(`INSERT INTO tokenmeter_budget_spend (budget_id, window_key, slice, amount, expires_at)
    VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (budget_id, window_key, slice) DO UPDATE SET
      amount = amount + excluded.amount, expires_at = MAX(expires_at, excluded.expires_at)`);
  const deleteEndedSpend = db.prepare('DELETE FROM tokenmeter_budget_spend WHERE expires_at <= ?');
  const deleteOldReservations = db.prepare('DELETE FROM tokenmeter_reservations WHERE expires_at <= ?');

  const queryStatements = new Map<string, Database.Statement<(string | number)[], SumsRow>>();
  let buffer: UsageEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let nextCleanup = 0;

  const writeBatch = db.transaction((events: UsageEvent[]) => {
    for (const event of events) {
      const atto = eventCostAtto(event);
      const { nano, remainder } = splitAtto(atto);
      insertEvent.run({
        id: event.id,
        ts: Math.trunc(event.timestamp),
        request_id: String(event.requestId ?? ''),
        route: event.route,
        user: event.user ?? null,
        tenant: event.tenant ?? null,
        feature: event.feature ?? null,
        provider: event.provider,
        model: event.model,
        operation: event.operation,
        input_tokens: event.inputTokens,
        cached_input_tokens: event.cachedInputTokens,
        cache_write_5m_tokens: event.cacheWrite5mTokens,
        cache_write_1h_tokens: event.cacheWrite1hTokens,
        output_tokens: event.outputTokens,
        reasoning_tokens: event.reasoningTokens,
        cost: event.priced ? (event.cost ?? null) : null,
        cost_nano: nano,
        cost_atto: remainder,
        priced: event.priced ? 1 : 0,
        estimated: event.estimated ? 1 : 0,
        status: event.status,
        rejected: event.rejected ? 1 : 0,
        duration_ms: event.durationMs,
        streamed: event.streamed ? 1 : 0,
        error: event.error ?? null,
      });
    }
  });

  function flush(): void {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    try {
      writeBatch(batch);
    } catch (error) {
      // Keep the batch, ahead of anything recorded meanwhile; ids make a retry harmless.
      buffer = batch.concat(buffer);
      throw error;
    }
  }

  function scheduleFlush(): void {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      try {
        flush();
      } catch (error) {
        options.onError?.(error);
        scheduleFlush();
      }
    }, batchIntervalMs);
  }

  function cleanup(now: number): void {
    if (now < nextCleanup) return;
    nextCleanup = now + 60_000;
    deleteEndedSpend.run(now);
    // Expired reservations stop holding budget at once (queries check expires_at) but are kept one more
    // TTL so that a late settle still finds where to book its spend.
    deleteOldReservations.run(now - reservationTtlMs);
  }

  function usedIn(budgetId: string, window: BudgetWindow, now: number) {
    const instance = currentWindow(window, now);
    const firstSlice = instance.kind === 'rolling' ? instance.firstLiveSlice : 0;
    const spent = spentIn.get(budgetId, instance.key, firstSlice)?.spent ?? 0;
    const reserved = reservedIn.get(budgetId, instance.key, now)?.reserved ?? 0;
    return { instance, firstSlice, used: spent + reserved };
  }

  const reserveTransaction = db.transaction((requests: BudgetReservationRequest[], now: number): ReserveResult => {
    cleanup(now);
    const pending = new Map<string, number>();
    const planned: { budgetId: string; windowKey: string; window: string; amount: number }[] = [];
    const remaining: number[] = [];
    for (const request of requests) {
      const { instance, firstSlice, used: stored } = usedIn(request.budgetId, request.window, now);
      const pendingKey = `${request.budgetId}\u0000${instance.key}`;
      const used = stored + (pending.get(pendingKey) ?? 0);
      if (used + request.amount > request.limit) {
        const slices = new Map(
          slicesOf.all(request.budgetId, instance.key, firstSlice).map((row) => [row.slice, row.amount] as const),
        );
        return {
          ok: false,
          budgetId: request.budgetId,
          limit: request.limit,
          used,
          retryAfterMs: retryAfterMs(instance, now, request.limit, used, request.amount, slices),
        };
      }
      pending.set(pendingKey, (pending.get(pendingKey) ?? 0) + request.amount);
      planned.push({
        budgetId: request.budgetId,
        windowKey: instance.key,
        window: JSON.stringify(request.window),
        amount: request.amount,
      });
      remaining.push(request.limit - used - request.amount);
    }
    const reservationId = randomUUID();
    planned.forEach((item, position) => {
      insertReservation.run(
        reservationId,
        position,
        item.budgetId,
        item.windowKey,
        item.window,
        item.amount,
        now + reservationTtlMs,
      );
    });
    return { ok: true, reservationId, remaining };
  });

  const settleTransaction = db.transaction(
    (reservationId: string, actualAmounts: number[] | undefined, now: number) => {
      const rows = reservationRows.all(reservationId);
      deleteReservation.run(reservationId);
      if (!actualAmounts) return;
      for (const row of rows) {
        const amount = actualAmounts[row.position] ?? row.amount;
        if (amount === 0) continue;
        const window = JSON.parse(row.window) as BudgetWindow;
        if (window.kind === 'rolling') {
          // Rolling spend lands in the slice of the moment it was settled.
          const instance = currentWindow(window, now);
          if (instance.kind !== 'rolling') continue;
          addSpend.run(
            row.budget_id,
            row.window_key,
            instance.currentSlice,
            amount,
            sliceExpiresAt(instance.currentSlice, instance.sliceMs),
          );
        } else {
          // Calendar spend lands in the window the reservation was made in (its key names the window start).
          const start = Number(row.window_key.slice(row.window_key.lastIndexOf(':') + 1));
          addSpend.run(row.budget_id, row.window_key, 0, amount, calendarEnd(window, start));
        }
      }
    },
  );

  function queryReport(query: UsageQuery): UsageReport {
    const normalized = normalizeQuery(query);
    const where = ['ts >= ?', 'ts < ?'];
    const parameters: (string | number)[] = [Math.ceil(normalized.from), Math.ceil(normalized.to)];
    for (const name of ['user', 'tenant', 'model', 'route'] as const) {
      const value = normalized.filter[name];
      if (value !== undefined) {
        where.push(`${name} = ?`);
        parameters.push(value);
      }
    }
    const { groupBy } = normalized;
    let groupExpression = 'NULL';
    if (groupBy === 'day' || groupBy === 'hour') groupExpression = `ts - (ts % ${AGGREGATE_BUCKET_MS})`;
    else if (groupBy !== undefined) groupExpression = GROUP_COLUMNS[groupBy];
    const sql =
      `SELECT ${groupExpression} AS group_key, ${SUMS} FROM tokenmeter_events WHERE ${where.join(' AND ')}` +
      (groupBy === undefined ? '' : ' GROUP BY group_key');
    let statement = queryStatements.get(sql);
    if (!statement) {
      // Sums come back as bigints: token and nano-dollar totals may pass 2^53.
      statement = db.prepare<(string | number)[], SumsRow>(sql).safeIntegers(true);
      queryStatements.set(sql, statement);
    }
    const builder = new ReportBuilder(normalized);
    for (const row of statement.all(...parameters)) {
      if (row.requests === 0n) continue;
      const sums = new TotalsAccumulator();
      sums.requests = Number(row.requests);
      sums.inputTokens = Number(row.input_tokens);
      sums.cachedInputTokens = Number(row.cached_input_tokens);
      sums.cacheWriteTokens = Number(row.cache_write_tokens);
      sums.outputTokens = Number(row.output_tokens);
      sums.reasoningTokens = Number(row.reasoning_tokens);
      sums.costAtto = joinAtto(row.cost_nano, row.cost_atto);
      sums.unpricedRequests = Number(row.unpriced);
      sums.estimatedRequests = Number(row.estimated);
      sums.rejectedRequests = Number(row.rejected);
      const timeGroup = groupBy === 'day' || groupBy === 'hour';
      const dimensions: EventDimensions = { model: '', provider: '', route: '' };
      if (groupBy !== undefined && !timeGroup) {
        dimensions[groupBy as keyof typeof GROUP_COLUMNS] = row.group_key === null ? '' : String(row.group_key);
      }
      builder.addAggregate(dimensions, timeGroup ? Number(row.group_key) : 0, sums);
    }
    return builder.build();
  }

  const store: SqliteStore = {
    name: 'sqlite',
    location,
    get pending() {
      return buffer.length;
    },
    recordEvents(events: UsageEvent[]) {
      if (closed) throw new Error('the SQLite store is closed');
      events.forEach(validateEvent);
      for (const event of events) buffer.push({ ...event });
      if (buffer.length >= batchSize) flush();
      else scheduleFlush();
    },
    reserve(requests: BudgetReservationRequest[], now: number) {
      validateReservationRequests(requests);
      return reserveTransaction.immediate(requests, now);
    },
    settle(reservationId: string, actualAmounts: number[], now: number) {
      validateActualAmounts(actualAmounts);
      settleTransaction.immediate(reservationId, actualAmounts, now);
    },
    release(reservationId: string, now: number) {
      settleTransaction.immediate(reservationId, undefined, now);
    },
    budgetUsage(budgetId: string, window: BudgetWindow, now: number) {
      validateBudgetWindow(window);
      return usedIn(budgetId, window, now).used;
    },
    query(query: UsageQuery) {
      return queryReport(query);
    },
    dailySeries(query: Omit<UsageQuery, 'groupBy'>): DailyUsage[] {
      return dailySeriesFromReport(queryReport({ ...query, groupBy: 'day' }));
    },
    flush,
    close() {
      if (closed) return;
      flush();
      closed = true;
      db.close();
    },
  };
  return store;
}

function calendarEnd(window: BudgetWindow, start: number): number {
  const instance = currentWindow(window, start);
  return instance.kind === 'calendar' ? instance.end : start;
}
