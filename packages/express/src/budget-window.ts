import { InvalidBudgetWindowError } from './invalid-budget-window-error';
import type { BudgetWindow } from './types';

/**
 * Rolling windows are counted in slices: a window of D is kept as `ROLLING_SLICES` slices of D / 60 each,
 * and its sum is the sum of the live slices. Spend therefore leaves a rolling window between D − D/60 and
 * D after it happened (a 1-hour window forgets in one-minute steps; a 24-hour window in 24-minute steps).
 * Slices keep the counter a fixed size whatever the traffic, and every store (memory, SQLite, Redis Lua)
 * computes the same slice numbers from the same instant.
 */
export const ROLLING_SLICES = 60;

/** The smallest rolling window accepted: below 60 ms a slice would be shorter than a millisecond. */
const MIN_ROLLING_MS = ROLLING_SLICES;

export interface CalendarWindowInstance {
  kind: 'calendar';
  /** Stable key of this window for storage: same budget, same key until the window ends. */
  key: string;
  /** First instant of the window (ms since the epoch, inclusive). */
  start: number;
  /** First instant after the window (exclusive). */
  end: number;
}

export interface RollingWindowInstance {
  kind: 'rolling';
  /** Stable key of the window definition (slices are numbered within it). */
  key: string;
  /** Length of one slice in ms. */
  sliceMs: number;
  /** Index (⌊now / sliceMs⌋) of the slice `now` falls in: spend made now is added to it. */
  currentSlice: number;
  /** Lowest slice index still inside the window: slices below it have expired. */
  firstLiveSlice: number;
}

export type WindowInstance = CalendarWindowInstance | RollingWindowInstance;

/** Checks a window definition; throws `InvalidBudgetWindowError` (code `INVALID_BUDGET_WINDOW`). */
export function validateBudgetWindow(window: BudgetWindow): void {
  if (window.kind === 'rolling') {
    if (!Number.isSafeInteger(window.durationMs) || window.durationMs < MIN_ROLLING_MS) {
      throw new InvalidBudgetWindowError(
        `a rolling window needs a whole number of milliseconds ≥ ${MIN_ROLLING_MS}, got ${String(window.durationMs)}`,
      );
    }
    return;
  }
  if (window.kind !== 'calendar') {
    throw new InvalidBudgetWindowError(`unknown window kind ${JSON.stringify((window as { kind: unknown }).kind)}`);
  }
  if (window.period !== 'day' && window.period !== 'week' && window.period !== 'month') {
    throw new InvalidBudgetWindowError(`unknown calendar period ${JSON.stringify(window.period)}`);
  }
  formatterFor(window.timeZone ?? 'UTC');
}

/** The slice length of a rolling window. */
export function rollingSliceMs(durationMs: number): number {
  return Math.ceil(durationMs / ROLLING_SLICES);
}

/**
 * The window a budget is counting at `now`. Calendar windows start at local midnight (weeks on Monday, ISO)
 * in the window's IANA time zone, so a day is 23 or 25 hours long across a DST change.
 */
export function currentWindow(window: BudgetWindow, now: number): WindowInstance {
  if (window.kind === 'rolling') {
    validateBudgetWindow(window);
    const sliceMs = rollingSliceMs(window.durationMs);
    const currentSlice = Math.floor(now / sliceMs);
    return {
      kind: 'rolling',
      key: `rolling:${window.durationMs}`,
      sliceMs,
      currentSlice,
      firstLiveSlice: currentSlice - ROLLING_SLICES + 1,
    };
  }
  const { start, end } = calendarWindow(window.period, window.timeZone ?? 'UTC', now);
  return { kind: 'calendar', key: `calendar:${window.period}:${window.timeZone ?? 'UTC'}:${start}`, start, end };
}

/** When a rolling slice stops counting: the instant its index falls below the window's first live slice. */
export function sliceExpiresAt(slice: number, sliceMs: number): number {
  return (slice + ROLLING_SLICES) * sliceMs;
}

/**
 * How long until `needed` more fits under `limit`, given the amount `used` now.
 *
 * Calendar: until the window ends (the whole counter resets). Rolling: until enough of the oldest slices
 * have expired; reservations in flight are not in slices, so when even an empty window could not hold the
 * amount the answer is the time until every slice has expired (the best moment to try again).
 */
export function retryAfterMs(
  instance: WindowInstance,
  now: number,
  limit: number,
  used: number,
  needed: number,
  slices?: ReadonlyMap<number, number>,
): number {
  if (instance.kind === 'calendar') return Math.max(0, instance.end - now);
  let excess = used + needed - limit;
  if (excess <= 0) return 0;
  const live = [...(slices ?? new Map<number, number>()).entries()]
    .filter(([index, amount]) => index >= instance.firstLiveSlice && amount !== 0)
    .sort((a, b) => a[0] - b[0]);
  let last = now;
  for (const [index, amount] of live) {
    last = sliceExpiresAt(index, instance.sliceMs);
    excess -= amount;
    if (excess <= 0) break;
  }
  return Math.max(1, last - now);
}

// ───────────────────────────── calendar arithmetic ─────────────────────────────

interface LocalParts {
  year: number;
  month: number;
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone,
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
        hourCycle: 'h23',
      });
    } catch {
      throw new InvalidBudgetWindowError(`unknown time zone ${JSON.stringify(timeZone)}`);
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Checks an IANA time zone name (throws `InvalidBudgetWindowError`). */
export function assertTimeZone(timeZone: string): void {
  formatterFor(timeZone);
}

/** The wall-clock date and time at `instant` in `timeZone`, as if that wall clock were UTC (ms). */
function wallClockAsUtc(instant: number, timeZone: string): number {
  const parts = formatterFor(timeZone).formatToParts(new Date(instant));
  const value = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((part) => part.type === type)?.value);
  return Date.UTC(value('year'), value('month') - 1, value('day'), value('hour'), value('minute'), value('second'));
}

/** The local calendar date at `instant` in `timeZone`. */
export function localDate(instant: number, timeZone: string): LocalParts {
  const wall = new Date(wallClockAsUtc(instant, timeZone));
  return { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate() };
}

/** `YYYY-MM-DD` of `instant` in `timeZone`. */
export function localDateKey(instant: number, timeZone: string): string {
  const wall = new Date(wallClockAsUtc(instant, timeZone));
  return wall.toISOString().slice(0, 10);
}

/** `YYYY-MM-DDTHH` of `instant` in `timeZone` (the local hour). */
export function localHourKey(instant: number, timeZone: string): string {
  const wall = new Date(wallClockAsUtc(instant, timeZone));
  return wall.toISOString().slice(0, 13);
}

/**
 * The first instant whose local date in `timeZone` is (year, month, day). Usually local midnight; where a
 * DST change skips midnight (e.g. America/Santiago) it is the first instant after the gap.
 */
export function startOfLocalDay(year: number, month: number, day: number, timeZone: string): number {
  const target = Date.UTC(year, month - 1, day);
  // Two offset corrections land within the day's first hours; the search below makes it exact.
  let guess = target - (wallClockAsUtc(target, timeZone) - target);
  guess = target - (wallClockAsUtc(guess, timeZone) - guess);
  const reached = (instant: number) => wallClockAsUtc(instant, timeZone) >= target;
  // Offsets change on whole minutes; a 6-hour bracket covers every offset jump on record.
  let low = guess - 6 * 3_600_000;
  let high = guess + 6 * 3_600_000;
  while (reached(low)) low -= 6 * 3_600_000;
  while (!reached(high)) high += 6 * 3_600_000;
  low = Math.floor(low / 60_000);
  high = Math.ceil(high / 60_000);
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (reached(middle * 60_000)) high = middle;
    else low = middle;
  }
  return high * 60_000;
}

function addDays(parts: LocalParts, days: number): LocalParts {
  const date = new Date(Date.UTC(parts.year, parts.month - 1, parts.day + days));
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

const calendarCache = new Map<string, { start: number; end: number }>();

/** The calendar day / ISO week / month containing `now` in `timeZone`, as [start, end) instants. */
export function calendarWindow(
  period: 'day' | 'week' | 'month',
  timeZone: string,
  now: number,
): { start: number; end: number } {
  const cacheKey = `${period}\u0000${timeZone}`;
  const cached = calendarCache.get(cacheKey);
  // Budgets ask on every request; the window only changes at its end.
  if (cached && now >= cached.start && now < cached.end) return cached;
  const today = localDate(now, timeZone);
  let first: LocalParts;
  let next: LocalParts;
  if (period === 'day') {
    first = today;
    next = addDays(today, 1);
  } else if (period === 'week') {
    const weekday = new Date(Date.UTC(today.year, today.month - 1, today.day)).getUTCDay();
    const sinceMonday = (weekday + 6) % 7;
    first = addDays(today, -sinceMonday);
    next = addDays(first, 7);
  } else {
    first = { year: today.year, month: today.month, day: 1 };
    next = today.month === 12 ? { year: today.year + 1, month: 1, day: 1 } : { ...first, month: today.month + 1 };
  }
  const result = {
    start: startOfLocalDay(first.year, first.month, first.day, timeZone),
    end: startOfLocalDay(next.year, next.month, next.day, timeZone),
  };
  calendarCache.set(cacheKey, result);
  return result;
}
