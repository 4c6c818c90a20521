import { Money, TOKEN_BUCKETS } from '@tokenmeter/core';
import { assertTimeZone, localDateKey, localHourKey } from './budget-window';
import { InvalidUsageQueryError } from './invalid-usage-query-error';
import type { DailyUsage, UsageEvent, UsageGroup, UsageGroupBy, UsageQuery, UsageReport, UsageTotals } from './types';

/**
 * Persistent stores pre-aggregate by 15-minute bucket: every time zone in use today is a whole number of
 * quarter hours from UTC, so buckets roll up exactly into local days and hours of any zone.
 */
export const AGGREGATE_BUCKET_MS = 15 * 60_000;

/** Cost is exact in atto-dollars (10^-18 USD), the unit of `Money`. */
const ATTO_PER_NANO = 1_000_000_000n;

export const USAGE_GROUP_BYS: readonly UsageGroupBy[] = [
  'model',
  'provider',
  'user',
  'tenant',
  'feature',
  'route',
  'day',
  'hour',
];

/** Group key for events that have no value in the grouped dimension (no user, no tenant…). */
export const NONE_KEY = '(none)';
/** Stored instead of a value beyond a day's bound of distinct values for its dimension (see `folded`). */
export const FOLDED_KEY = '(other)';
/** The dimensions a client can fill with values of its choosing, each bounded per day by the Redis store. */
export const FOLDABLE_DIMENSIONS = ['model', 'user', 'tenant', 'feature', 'route'] as const;
export type FoldableDimension = (typeof FOLDABLE_DIMENSIONS)[number];

export interface NormalizedQuery {
  from: number;
  to: number;
  groupBy?: UsageGroupBy;
  timeZone: string;
  filter: { user?: string; tenant?: string; model?: string; route?: string };
}

/** Validates a query and fills its defaults (throws `InvalidUsageQueryError`). */
export function normalizeQuery(query: UsageQuery, now = Date.now()): NormalizedQuery {
  const from = query.from ?? 0;
  const to = query.to ?? now + 1;
  if (!Number.isFinite(from) || !Number.isFinite(to)) throw new InvalidUsageQueryError('from and to must be finite');
  if (from > to) throw new InvalidUsageQueryError('from is after to');
  if (query.groupBy !== undefined && !USAGE_GROUP_BYS.includes(query.groupBy)) {
    throw new InvalidUsageQueryError(`groupBy must be one of ${USAGE_GROUP_BYS.join(', ')}`);
  }
  const timeZone = query.timeZone ?? 'UTC';
  try {
    assertTimeZone(timeZone);
  } catch {
    throw new InvalidUsageQueryError(`unknown time zone ${JSON.stringify(timeZone)}`);
  }
  const filter: NormalizedQuery['filter'] = {};
  for (const name of ['user', 'tenant', 'model', 'route'] as const) {
    const value = query.filter?.[name];
    if (value !== undefined) {
      if (typeof value !== 'string') throw new InvalidUsageQueryError(`filter.${name} must be a string`);
      filter[name] = value;
    }
  }
  return { from, to, groupBy: query.groupBy, timeZone, filter };
}

/**
 * The exact cost of an event in atto-dollars; 0 when unpriced. A cost that is not a decimal with at most
 * 18 places throws `InvalidMoneyError` — stores reject such an event rather than round it.
 */
export function eventCostAtto(event: UsageEvent): bigint {
  if (!event.priced) return 0n;
  return eventCost(event)?.atto ?? 0n;
}

/**
 * An event's cost as `Money` (undefined when unpriced), read from its decimal string. Parsing is cheaper than
 * remembering the amount per event: a WeakMap entry per event cost more CPU under load than this parse.
 */
export function eventCost(event: UsageEvent): Money | undefined {
  return event.cost === undefined ? undefined : Money.from(event.cost);
}

/**
 * Splits an atto-dollar amount into whole nano-dollars and the atto-dollar remainder (same sign). Both fit
 * 64-bit integer sums (SQLite SUM, Redis HINCRBY) for billions of dollars and billions of events, and
 * `nano × 10^9 + remainder` is exact: the scheme the SQLite and Redis stores use to keep totals exact.
 */
export function splitAtto(atto: bigint): { nano: bigint; remainder: bigint } {
  return { nano: atto / ATTO_PER_NANO, remainder: atto % ATTO_PER_NANO };
}

export function joinAtto(nano: bigint, remainder: bigint): bigint {
  return nano * ATTO_PER_NANO + remainder;
}

export function formatAtto(atto: bigint): string {
  return Money.fromAtto(atto).toString();
}

/** The dimensions events are grouped and filtered by. */
export interface EventDimensions {
  model: string;
  provider: string;
  user?: string | null;
  tenant?: string | null;
  feature?: string | null;
  route: string;
}

/** Sums of one group, with the exact cost as a bigint. */
export class TotalsAccumulator {
  requests = 0;
  inputTokens = 0;
  cachedInputTokens = 0;
  cacheWriteTokens = 0;
  outputTokens = 0;
  reasoningTokens = 0;
  costAtto = 0n;
  unpricedRequests = 0;
  estimatedRequests = 0;
  rejectedRequests = 0;

  addEvent(event: UsageEvent, costAtto = eventCostAtto(event)): void {
    this.requests += 1;
    this.inputTokens += event.inputTokens;
    this.cachedInputTokens += event.cachedInputTokens;
    this.cacheWriteTokens += event.cacheWrite5mTokens + event.cacheWrite1hTokens;
    this.outputTokens += event.outputTokens;
    this.reasoningTokens += event.reasoningTokens;
    this.costAtto += costAtto;
    if (!event.priced) this.unpricedRequests += 1;
    if (event.estimated) this.estimatedRequests += 1;
    if (event.rejected) this.rejectedRequests += 1;
  }

  addTotals(other: Omit<TotalsAccumulator, 'addEvent' | 'addTotals' | 'toTotals'>): void {
    this.requests += other.requests;
    this.inputTokens += other.inputTokens;
    this.cachedInputTokens += other.cachedInputTokens;
    this.cacheWriteTokens += other.cacheWriteTokens;
    this.outputTokens += other.outputTokens;
    this.reasoningTokens += other.reasoningTokens;
    this.costAtto += other.costAtto;
    this.unpricedRequests += other.unpricedRequests;
    this.estimatedRequests += other.estimatedRequests;
    this.rejectedRequests += other.rejectedRequests;
  }

  toTotals(): UsageTotals {
    return {
      requests: this.requests,
      inputTokens: this.inputTokens,
      cachedInputTokens: this.cachedInputTokens,
      cacheWriteTokens: this.cacheWriteTokens,
      outputTokens: this.outputTokens,
      reasoningTokens: this.reasoningTokens,
      cost: formatAtto(this.costAtto),
      unpricedRequests: this.unpricedRequests,
      estimatedRequests: this.estimatedRequests,
      rejectedRequests: this.rejectedRequests,
    };
  }
}

/** Whether an event's dimensions pass a query's filter. */
export function matchesFilter(dimensions: EventDimensions, filter: NormalizedQuery['filter']): boolean {
  if (filter.user !== undefined && dimensions.user !== filter.user) return false;
  if (filter.tenant !== undefined && dimensions.tenant !== filter.tenant) return false;
  if (filter.model !== undefined && dimensions.model !== filter.model) return false;
  if (filter.route !== undefined && dimensions.route !== filter.route) return false;
  return true;
}

/** The group an event (or an aggregate bucket starting at `instant`) belongs to. */
export function groupKeyOf(
  dimensions: EventDimensions,
  instant: number,
  groupBy: UsageGroupBy,
  timeZone: string,
): string {
  switch (groupBy) {
    case 'day':
      return localDateKey(instant, timeZone);
    case 'hour':
      return localHourKey(instant, timeZone);
    default: {
      const value = dimensions[groupBy];
      return value === undefined || value === null || value === '' ? NONE_KEY : value;
    }
  }
}

/** Collects groups and totals, then orders them: time groups by time, others by cost then requests. */
export class ReportBuilder {
  private readonly totals = new TotalsAccumulator();
  private readonly groups = new Map<string, TotalsAccumulator>();

  constructor(private readonly query: NormalizedQuery) {}

  group(dimensions: EventDimensions, instant: number): TotalsAccumulator | undefined {
    const { groupBy } = this.query;
    if (groupBy === undefined) return undefined;
    const key = groupKeyOf(dimensions, instant, groupBy, this.query.timeZone);
    let group = this.groups.get(key);
    if (!group) {
      group = new TotalsAccumulator();
      this.groups.set(key, group);
    }
    return group;
  }

  addEvent(event: UsageEvent): void {
    const cost = eventCostAtto(event);
    this.totals.addEvent(event, cost);
    this.group(event, event.timestamp)?.addEvent(event, cost);
  }

  addAggregate(dimensions: EventDimensions, instant: number, sums: TotalsAccumulator): void {
    this.totals.addTotals(sums);
    this.group(dimensions, instant)?.addTotals(sums);
  }

  build(): UsageReport {
    const groups: UsageGroup[] = [...this.groups.entries()].map(([key, sums]) => ({ key, ...sums.toTotals() }));
    const byTime = this.query.groupBy === 'day' || this.query.groupBy === 'hour';
    const costs = new Map([...this.groups.entries()].map(([key, sums]) => [key, sums.costAtto]));
    groups.sort((a, b) => {
      if (!byTime) {
        const costA = costs.get(a.key) ?? 0n;
        const costB = costs.get(b.key) ?? 0n;
        if (costA !== costB) return costA > costB ? -1 : 1;
        if (a.requests !== b.requests) return b.requests - a.requests;
      }
      return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
    });
    return { totals: this.totals.toTotals(), groups };
  }
}

/**
 * The planner's daily series from a report grouped by day. `inputTokens` counts every input token (uncached,
 * cache read, cache write) and `outputTokens` every output token (visible and reasoning): the planner
 * projects volumes, and the buckets' prices are already in `cost`. Days without traffic between the first
 * and the last day that had some are filled with zeros.
 */
export function dailySeriesFromReport(report: UsageReport): DailyUsage[] {
  const days = report.groups.filter((group) => group.key !== NONE_KEY).sort((a, b) => (a.key < b.key ? -1 : 1));
  const first = days[0];
  const last = days.at(-1);
  if (!first || !last) return [];
  const byDate = new Map(days.map((group) => [group.key, group]));
  const series: DailyUsage[] = [];
  for (let day = Date.parse(`${first.key}T00:00:00Z`); ; day += 86_400_000) {
    const date = new Date(day).toISOString().slice(0, 10);
    const group = byDate.get(date);
    series.push(
      group
        ? {
            date,
            requests: group.requests,
            inputTokens: group.inputTokens + group.cachedInputTokens + group.cacheWriteTokens,
            outputTokens: group.outputTokens + group.reasoningTokens,
            cost: group.cost,
          }
        : { date, requests: 0, inputTokens: 0, outputTokens: 0, cost: '0' },
    );
    if (date >= last.key) break;
  }
  return series;
}

/** Rejects events a store could not count correctly: missing id, non-integer token counts, a bad cost. */
/** Throws a TypeError naming the first malformed field; returns the event's exact cost in atto-dollars. */
export function validateEvent(event: UsageEvent): bigint {
  if (typeof event !== 'object' || event === null) throw new TypeError('usage event must be an object');
  if (typeof event.id !== 'string' || event.id === '') throw new TypeError('usage event needs a non-empty id');
  if (!Number.isFinite(event.timestamp)) throw new TypeError(`usage event ${event.id}: timestamp must be finite`);
  for (const name of TOKEN_BUCKETS) {
    const value = event[name];
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new TypeError(`usage event ${event.id}: ${name} must be a non-negative integer`);
    }
  }
  return eventCostAtto(event);
}
