import { BudgetLedger, DEFAULT_RESERVATION_TTL_MS } from './budget-ledger';
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
import { dailySeriesFromReport, matchesFilter, normalizeQuery, ReportBuilder, validateEvent } from './usage-aggregate';

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
  const maxAgeMs = options.maxAgeMs ?? 31 * 86_400_000;
  const clock = options.now ?? Date.now;
  const ledger = new BudgetLedger(options.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS);
  // A queue with a moving head: shifting a 100k-element array per event would be quadratic.
  let events: UsageEvent[] = [];
  let head = 0;
  const ids = new Set<string>();

  function evict(): void {
    const oldest = clock() - maxAgeMs;
    while (head < events.length) {
      const event = events[head]!;
      if (events.length - head <= maxEvents && event.timestamp >= oldest) break;
      ids.delete(event.id);
      head += 1;
    }
    if (head > 1024 && head * 2 > events.length) {
      events = events.slice(head);
      head = 0;
    }
  }

  function live(): UsageEvent[] {
    return head === 0 ? events : events.slice(head);
  }

  const store: MemoryStore = {
    name: 'memory',
    get size() {
      return events.length - head;
    },
    recordEvents(batch: UsageEvent[]) {
      batch.forEach(validateEvent);
      for (const event of batch) {
        if (ids.has(event.id)) continue;
        ids.add(event.id);
        // Copied so a caller mutating its object later cannot change what was recorded.
        events.push({ ...event });
      }
      evict();
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
      for (const event of live()) {
        if (event.timestamp < normalized.from || event.timestamp >= normalized.to) continue;
        if (!matchesFilter(event, normalized.filter)) continue;
        builder.addEvent(event);
      }
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
