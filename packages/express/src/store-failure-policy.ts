import { randomUUID } from 'node:crypto';
import { validateActualAmounts, validateReservationRequests } from './budget-ledger';
import { StoreUnavailableError } from './store-unavailable-error';
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
import { validateEvent } from './usage-aggregate';

/** Where the failure policy reports outages: once when one starts, once when it ends. */
export interface StoreLogger {
  warn(message: string): void;
  info?(message: string): void;
}

export interface FailurePolicyOptions {
  /**
   * `open` (default): when the store fails, requests are still served — budgets are not enforced (the
   * reservation is marked `unbacked`) and events wait in memory until the store is back. `closed`: a
   * reservation that cannot be made throws `StoreUnavailableError` (code `STORE_UNAVAILABLE`, HTTP 503).
   * Events are buffered and retried in both modes.
   */
  mode?: 'open' | 'closed';
  /** Default: `console`. */
  logger?: StoreLogger;
  /** Events held in memory while the store is down; beyond it the oldest are dropped (and counted). Default 10,000. */
  bufferLimit?: number;
  /** First retry delay; it doubles after each failed retry. Default 100 ms. */
  retryInitialMs?: number;
  /** Longest retry delay. Default 10,000 ms. */
  retryMaxMs?: number;
}

export interface FailurePolicyStats {
  mode: 'open' | 'closed';
  /** The store is currently considered down. */
  outage: boolean;
  /** Events waiting to be written. */
  buffered: number;
  /** Events dropped because the buffer was full (since creation). */
  dropped: number;
  /** Reservations allowed without the store (fail-open, since creation). */
  unbackedReservations: number;
  /** Settles and releases that could not reach the store; their reservations expire by TTL. */
  failedSettlements: number;
}

export interface PolicedStore extends Store {
  readonly inner: Store;
  /** Never throws for a store failure: events are buffered and retried. Throws on malformed events. */
  recordEvents(events: UsageEvent[]): void;
  reserve(requests: BudgetReservationRequest[], now: number): Promise<ReserveResult>;
  /** Never throws for a store failure (the response has been sent by then); the reservation expires by TTL. */
  settle(reservationId: string, actualAmounts: number[], now: number): Promise<void>;
  release(reservationId: string, now: number): Promise<void>;
  /** Throw `StoreUnavailableError` when the store fails, in both modes. */
  budgetUsage(budgetId: string, window: BudgetWindow, now: number): Promise<number>;
  query(query: UsageQuery): Promise<UsageReport>;
  dailySeries(query: Omit<UsageQuery, 'groupBy'>): Promise<DailyUsage[]>;
  /** Writes the buffered events and flushes the store; rejects with `StoreUnavailableError` if it is still down. */
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): FailurePolicyStats;
}

const UNBACKED_PREFIX = 'unbacked:';
const RETRY_BATCH = 500;

/**
 * Makes a store's failure behaviour explicit. Only store failures are absorbed: malformed events or budget
 * requests are the caller's bug and throw as they would without the policy.
 */
export function withFailurePolicy(inner: Store, options: FailurePolicyOptions = {}): PolicedStore {
  const mode = options.mode ?? 'open';
  const logger = options.logger ?? console;
  const bufferLimit = options.bufferLimit ?? 10_000;
  const retryInitialMs = options.retryInitialMs ?? 100;
  const retryMaxMs = options.retryMaxMs ?? 10_000;

  let buffer: UsageEvent[] = [];
  /** Events of the retry batch in flight. */
  let retrying = 0;
  let outage: { since: number; failures: number } | undefined;
  let dropped = 0;
  let droppedAtOutageStart = 0;
  let unbackedReservations = 0;
  let failedSettlements = 0;
  let retryDelay = retryInitialMs;
  let retryTimer: NodeJS.Timeout | undefined;
  let draining: Promise<boolean> | undefined;
  let closed = false;

  function describe(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
  }

  function failed(error: unknown): void {
    if (outage) {
      outage.failures += 1;
      return;
    }
    outage = { since: Date.now(), failures: 1 };
    droppedAtOutageStart = dropped;
    logger.warn(
      `tokenmeter: the ${inner.name} store is unavailable (${describe(error)}); ` +
        (mode === 'open'
          ? 'serving requests without budget enforcement and buffering usage events until it is back.'
          : 'refusing budgeted requests (503) and buffering usage events until it is back.'),
    );
  }

  function recovered(): void {
    if (!outage || buffer.length > 0 || retrying > 0) return;
    const seconds = ((Date.now() - outage.since) / 1000).toFixed(1);
    const lost = dropped - droppedAtOutageStart;
    outage = undefined;
    retryDelay = retryInitialMs;
    (logger.info ?? logger.warn).call(
      logger,
      `tokenmeter: the ${inner.name} store is back after ${seconds} s` +
        (lost > 0
          ? `; ${lost} usage events were dropped (buffer limit ${bufferLimit}).`
          : '; no usage event was lost.'),
    );
  }

  function enqueue(events: UsageEvent[], atFront = false): void {
    buffer = atFront ? events.concat(buffer) : buffer.concat(events);
    if (buffer.length > bufferLimit) {
      const excess = buffer.length - bufferLimit;
      // The oldest go first: recent usage matters most to budgets and dashboards.
      buffer = buffer.slice(excess);
      dropped += excess;
    }
  }

  function scheduleRetry(): void {
    if (retryTimer || closed) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void drain().then((done) => {
        if (!done) {
          retryDelay = Math.min(retryDelay * 2, retryMaxMs);
          scheduleRetry();
        }
      });
    }, retryDelay);
    // A store that stays down must not keep the process alive; close() makes the last attempt.
    retryTimer.unref();
  }

  /**
   * One drain at a time; concurrent callers share it. The reset goes through `.finally()`, which always runs
   * after the assignment: an async function that finishes without awaiting (an empty buffer) would otherwise
   * clear `draining` before it was set, leaving a settled `true` there for good and the buffer never drained.
   */
  function drain(): Promise<boolean> {
    draining ??= writeBuffer().finally(() => {
      draining = undefined;
    });
    return draining;
  }

  /** Writes the buffer in order; true when it is empty and the store took everything. */
  async function writeBuffer(): Promise<boolean> {
    while (buffer.length > 0) {
      // Taken out while in flight (events failing meanwhile are added to the buffer concurrently).
      const batch = buffer.splice(0, RETRY_BATCH);
      retrying = batch.length;
      try {
        await inner.recordEvents(batch);
        await inner.flush?.();
      } catch (error) {
        // A failed write goes back to the front; ids make the retry harmless if it was half applied.
        enqueue(batch, true);
        failed(error);
        return false;
      } finally {
        retrying = 0;
      }
    }
    recovered();
    return true;
  }

  function unavailable(error: unknown): StoreUnavailableError {
    return error instanceof StoreUnavailableError ? error : new StoreUnavailableError(inner.name, { cause: error });
  }

  async function guarded<T>(operation: () => T | Promise<T>): Promise<T> {
    try {
      const result = await operation();
      recovered();
      return result;
    } catch (error) {
      failed(error);
      scheduleRetry();
      throw unavailable(error);
    }
  }

  const store: PolicedStore = {
    name: inner.name,
    inner,
    recordEvents(events: UsageEvent[]) {
      events.forEach(validateEvent);
      if (events.length === 0) return;
      if (outage || buffer.length > 0) {
        enqueue(events);
        scheduleRetry();
        return;
      }
      const onFailure = (error: unknown) => {
        failed(error);
        enqueue(events, true);
        scheduleRetry();
      };
      try {
        const result = inner.recordEvents(events);
        if (result instanceof Promise) result.catch(onFailure);
      } catch (error) {
        onFailure(error);
      }
    },
    async reserve(requests: BudgetReservationRequest[], now: number): Promise<ReserveResult> {
      validateReservationRequests(requests);
      try {
        const result = await inner.reserve(requests, now);
        recovered();
        return result;
      } catch (error) {
        failed(error);
        scheduleRetry();
        if (mode === 'closed') throw unavailable(error);
        unbackedReservations += 1;
        return {
          ok: true,
          reservationId: `${UNBACKED_PREFIX}${randomUUID()}`,
          remaining: requests.map((request) => Math.max(0, request.limit - request.amount)),
          unbacked: true,
        };
      }
    },
    async settle(reservationId: string, actualAmounts: number[], now: number) {
      validateActualAmounts(actualAmounts);
      if (reservationId.startsWith(UNBACKED_PREFIX)) return;
      try {
        await inner.settle(reservationId, actualAmounts, now);
      } catch (error) {
        failedSettlements += 1;
        failed(error);
        scheduleRetry();
      }
    },
    async release(reservationId: string, now: number) {
      if (reservationId.startsWith(UNBACKED_PREFIX)) return;
      try {
        await inner.release(reservationId, now);
      } catch (error) {
        failedSettlements += 1;
        failed(error);
        scheduleRetry();
      }
    },
    budgetUsage(budgetId: string, window: BudgetWindow, now: number) {
      return guarded(() => inner.budgetUsage(budgetId, window, now));
    },
    query(query: UsageQuery) {
      return guarded(() => inner.query(query));
    },
    dailySeries(query: Omit<UsageQuery, 'groupBy'>) {
      return guarded(() => inner.dailySeries(query));
    },
    async flush() {
      if (retryTimer) {
        clearTimeout(retryTimer);
        retryTimer = undefined;
      }
      if (!(await drain())) {
        scheduleRetry();
        throw new StoreUnavailableError(inner.name);
      }
      await guarded(() => inner.flush?.());
    },
    async close() {
      try {
        await store.flush();
      } catch {
        logger.warn(`tokenmeter: closing with the ${inner.name} store down; ${buffer.length} usage events are lost.`);
      }
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      await inner.close();
    },
    stats() {
      return {
        mode,
        outage: outage !== undefined,
        buffered: buffer.length + retrying,
        dropped,
        unbackedReservations,
        failedSettlements,
      };
    },
  };
  return store;
}
