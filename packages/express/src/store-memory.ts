import { BudgetLedger, DEFAULT_RESERVATION_TTL_MS } from './budget-ledger';
import { EventRing } from './event-ring';
import { InvalidMeterOptionsError } from './invalid-meter-options-error';
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
  dailySeriesFromReport,
  matchesFilter,
  normalizeQuery,
  ReportBuilder,
  TotalsAccumulator,
  validateEvent,
} from './usage-aggregate';

export interface MemoryStoreOptions {
  /** Events kept for queries; the oldest are forgotten first. Default 100,000. */
  maxEvents?: number;
  /** Events older than this are forgotten. Default 31 days. */
  maxAgeMs?: number;
  /** How long an unsettled reservation holds budget. Default 15 minutes. */
  reservationTtlMs?: number;
  /** Clock for retention (tests). Default `Date.now`. */
  now?: () => number;
}

export interface MemoryStore extends Store {
  readonly name: 'memory';
  /** Events currently retained. */
  readonly size: number;
  recordEvents(events: UsageEvent[]): void;
  reserve(requests: BudgetReservationRequest[], now: number): ReserveResult;
  settle(reservationId: string, actualAmounts: number[], now: number): void;
  release(reservationId: string, now: number): void;
  budgetUsage(budgetId: string, window: BudgetWindow, now: number): number;
  query(query: UsageQuery): UsageReport;
  dailySeries(query: Omit<UsageQuery, 'groupBy'>): DailyUsage[];
  flush(): void;
  close(): void;
}

/**
 * The default store: everything in this process. Budgets are exact and atomic (JavaScript runs one call at
 * a time); usage queries see the retained events only (bounded by count and age), and nothing survives a
 * restart. Use the SQLite store to keep usage, the Redis store to share budgets between processes.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const maxEvents = options.maxEvents ?? 100_000;
  if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) {
    throw new InvalidMeterOptionsError('maxEvents', 'expected a whole number of events ≥ 1');
  }
  const maxAgeMs = options.maxAgeMs ?? 31 * 86_400_000;
  const clock = options.now ?? Date.now;
  const ledger = new BudgetLedger(options.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS);
  const events = new EventRing(maxEvents);
  const ids = new Set<string>();

  /** Forgets events older than `oldest`, and the oldest until `room` more fit under maxEvents. */
  function evict(oldest: number, room: number): void {
    for (;;) {
      const timestamp = events.oldestTimestamp;
      if (timestamp === undefined || (events.size + room <= maxEvents && timestamp >= oldest)) return;
      ids.delete(events.shift());
    }
  }

  const store: MemoryStore = {
    name: 'memory',
    get size() {
      return events.size;
    },
    recordEvents(batch: UsageEvent[]) {
      // Validate the whole batch before keeping any of it: a bad event rejects the batch, not half of it.
      const costs = batch.map(validateEvent);
      // One clock reading per batch, as a batch is recorded at one moment.
      const oldest = clock() - maxAgeMs;
      for (let index = 0; index < batch.length; index++) {
        const event = batch[index] as UsageEvent;
        if (ids.has(event.id)) continue;
        // Room first: the ring never holds more than maxEvents.
        evict(oldest, 1);
        ids.add(event.id);
        events.push(event, costs[index] as bigint);
      }
      evict(oldest, 0);
    },
    reserve(requests: BudgetReservationRequest[], now: number) {
      return ledger.reserve(requests, now);
    },
    settle(reservationId: string, actualAmounts: number[], now: number) {
      ledger.settle(reservationId, actualAmounts, now);
    },
    release(reservationId: string) {
      ledger.release(reservationId);
    },
    budgetUsage(budgetId: string, window: BudgetWindow, now: number) {
      return ledger.usage(budgetId, window, now);
    },
    query(query: UsageQuery): UsageReport {
      const normalized = normalizeQuery(query, clock());
      const builder = new ReportBuilder(normalized);
      events.forEachBetween(normalized.from, normalized.to, new TotalsAccumulator(), (dimensions, timestamp, row) => {
        if (matchesFilter(dimensions, normalized.filter)) builder.addAggregate(dimensions, timestamp, row);
      });
      return builder.build();
    },
    dailySeries(query: Omit<UsageQuery, 'groupBy'>): DailyUsage[] {
      return dailySeriesFromReport(store.query({ ...query, groupBy: 'day' }));
    },
    flush() {},
    close() {},
  };
  return store;
}
