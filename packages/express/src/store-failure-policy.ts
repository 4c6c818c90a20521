import { randomUUID } from 'node:crypto';
import { validateActualAmounts, validateReservationRequests } from './budget-ledger';
import { StoreConfigurationError } from './store-configuration-error';
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
  /** Operations answered without asking the store because it was down (the open circuit breaker). */
  shortCircuited: number;
  /** After `close()`: events that were waiting in memory and were written at shutdown. */
  flushedAtClose: number;
  /** After `close()`: events never written (still buffered, or dropped during an outage that never ended). */
  lostAtClose: number;
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
  /**
   * The store's startup check: a `StoreConfigurationError` (wrong password, database, ACL) is thrown; a store
   * that cannot be reached yet starts an outage (logged once) and the policy takes over.
   */
  connect(): Promise<void>;
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
  let outage: { since: number; failures: number; lastError: unknown } | undefined;
  /**
   * Circuit breaker for a store without `probe()`: once the retry delay has passed, the next budget write is
   * let through as the probe (`pending`, then `inFlight`); every other call keeps failing fast.
   */
  const trial = { pending: false, inFlight: false };
  let shortCircuited = 0;
  let flushedAtClose = 0;
  let lostAtClose = 0;
  let dropped = 0;
  let droppedAtOutageStart = 0;
  let unbackedReservations = 0;
  let failedSettlements = 0;
  let retryDelay = retryInitialMs;
  let retryTimer: NodeJS.Timeout | undefined;
  let draining: Promise<boolean> | undefined;
  let closed = false;

  function describe(error: unknown): string {
    if (error instanceof StoreUnavailableError && error.cause !== undefined) return describe(error.cause);
    return error instanceof Error ? error.message : String(error);
  }

  function failed(error: unknown): void {
    if (outage) {
      outage.failures += 1;
      outage.lastError = error;
      return;
    }
    outage = { since: Date.now(), failures: 1, lastError: error };
    droppedAtOutageStart = dropped;
    logger.warn(
      `tokenmeter: the ${inner.name} store is unavailable (${describe(error)}); ` +
        (mode === 'open'
          ? 'serving requests without budget enforcement and buffering usage events until it is back.'
          : 'refusing budgeted requests (503) and buffering usage events until it is back.'),
    );
  }

  /** Called only after a write succeeded: a read, or a flush with nothing to write, proves nothing. */
  function recovered(): void {
    if (!outage) return;
    const seconds = ((Date.now() - outage.since) / 1000).toFixed(1);
    const lost = dropped - droppedAtOutageStart;
    outage = undefined;
    trial.pending = false;
    retryDelay = retryInitialMs;
    (logger.info ?? logger.warn).call(
      logger,
      `tokenmeter: the ${inner.name} store is back after ${seconds} s` +
        (lost > 0
          ? `; ${lost} usage events were dropped (buffer limit ${bufferLimit}).`
          : '; no usage event was lost.'),
    );
    // What piled up during the outage goes out now rather than with the next event.
    if (buffer.length > 0) scheduleRetry();
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
    // Waiting for the breaker's trial write; buffered events are a probe of their own and go on retrying.
    if ((trial.pending || trial.inFlight) && buffer.length === 0) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void probe().then((done) => {
        if (done === false) retryLater();
      });
    }, retryDelay);
    // A store that stays down must not keep the process alive; close() makes the last attempt.
    retryTimer.unref();
  }

  function retryLater(): void {
    retryDelay = Math.min(retryDelay * 2, retryMaxMs);
    scheduleRetry();
  }

  /**
   * The breaker's single probe: buffered events if there are any (drain() logs the recovery after the first
   * batch the store took), else the store's own probe write, else the next budget write (`undefined`).
   */
  async function probe(): Promise<boolean | undefined> {
    if (buffer.length > 0 || !outage) return drain();
    if (!inner.probe) {
      trial.pending = true;
      return undefined;
    }
    try {
      await inner.probe();
      recovered();
      return true;
    } catch (error) {
      failed(error);
      return false;
    }
  }

  /** Whether a call may reach the store: always while it is up; during an outage only the breaker's trial. */
  function admit(isWrite: boolean): 'yes' | 'trial' | 'no' {
    if (!outage) return 'yes';
    if (isWrite && trial.pending && !trial.inFlight) {
      trial.pending = false;
      trial.inFlight = true;
      return 'trial';
    }
    shortCircuited += 1;
    return 'no';
  }

  function admittedFailed(admitted: 'yes' | 'trial', error: unknown): void {
    failed(error);
    if (admitted === 'trial') {
      trial.inFlight = false;
      retryLater();
    } else scheduleRetry();
  }

  function admittedSucceeded(admitted: 'yes' | 'trial'): void {
    if (admitted === 'trial') trial.inFlight = false;
    recovered();
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
      recovered();
    }
    return true;
  }

  function unavailable(error: unknown): StoreUnavailableError {
    return error instanceof StoreUnavailableError ? error : new StoreUnavailableError(inner.name, { cause: error });
  }

  /** Reads: refused at once during an outage; their success does not end one (only a write does). */
  async function guarded<T>(operation: () => T | Promise<T>): Promise<T> {
    if (admit(false) === 'no') throw unavailable(outage?.lastError);
    try {
      return await operation();
    } catch (error) {
      failed(error);
      scheduleRetry();
      throw unavailable(error);
    }
  }

  /** Settle and release: skipped during an outage (the reservation expires by TTL), never thrown. */
  async function endHold(operation: () => void | Promise<void>): Promise<void> {
    const admitted = admit(true);
    if (admitted === 'no') {
      failedSettlements += 1;
      return;
    }
    try {
      await operation();
      admittedSucceeded(admitted);
    } catch (error) {
      failedSettlements += 1;
      admittedFailed(admitted, error);
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
      const admitted = admit(true);
      let error: unknown = outage?.lastError;
      if (admitted !== 'no') {
        try {
          const result = await inner.reserve(requests, now);
          admittedSucceeded(admitted);
          return result;
        } catch (failure) {
          error = failure;
          admittedFailed(admitted, failure);
        }
      }
      if (mode === 'closed') throw unavailable(error);
      unbackedReservations += 1;
      return {
        ok: true,
        reservationId: `${UNBACKED_PREFIX}${randomUUID()}`,
        remaining: requests.map((request) => Math.max(0, request.limit - request.amount)),
        unbacked: true,
      };
    },
    async settle(reservationId: string, actualAmounts: number[], now: number) {
      validateActualAmounts(actualAmounts);
      if (reservationId.startsWith(UNBACKED_PREFIX)) return;
      await endHold(() => inner.settle(reservationId, actualAmounts, now));
    },
    async release(reservationId: string, now: number) {
      if (reservationId.startsWith(UNBACKED_PREFIX)) return;
      await endHold(() => inner.release(reservationId, now));
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
        retryLater();
        throw unavailable(outage?.lastError);
      }
      if (outage && inner.probe) {
        // Nothing buffered to prove the store is back with: ask it for one write.
        if ((await probe()) === false) {
          retryLater();
          throw unavailable(outage?.lastError);
        }
      }
      // During an outage of a store without probe() there is nothing to write: that flush has succeeded.
      if (outage) return;
      try {
        await inner.flush?.();
      } catch (error) {
        failed(error);
        scheduleRetry();
        throw unavailable(error);
      }
    },
    async connect() {
      if (!inner.connect) return;
      try {
        await inner.connect();
      } catch (error) {
        if (error instanceof StoreConfigurationError) throw error;
        failed(error);
        scheduleRetry();
      }
    },
    async close() {
      if (closed) return;
      const waiting = buffer.length + retrying;
      let flushError: unknown;
      try {
        await store.flush();
      } catch (error) {
        flushError = error;
      }
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      try {
        await inner.close();
      } catch (error) {
        flushError ??= error;
      }
      // Writes the inner store failed during close come back to the buffer once their promises settle.
      await new Promise((resolve) => setImmediate(resolve));
      const lostInOutage = outage ? dropped - droppedAtOutageStart : 0;
      lostAtClose = buffer.length + retrying + lostInOutage;
      flushedAtClose = Math.max(0, waiting - buffer.length - retrying);
      // One line, and only one of the two statements: the events written or the events lost.
      if (lostAtClose > 0 || flushError !== undefined) {
        logger.warn(
          `tokenmeter: closing with the ${inner.name} store down (${describe(flushError ?? outage?.lastError)}); ` +
            `${lostAtClose} usage events are lost` +
            (lostInOutage > 0 ? ` (${lostInOutage} of them dropped earlier at the buffer limit ${bufferLimit}).` : '.'),
        );
      }
    },
    stats() {
      return {
        mode,
        outage: outage !== undefined,
        buffered: buffer.length + retrying,
        dropped,
        unbackedReservations,
        failedSettlements,
        shortCircuited,
        flushedAtClose,
        lostAtClose,
      };
    },
  };
  return store;
}
