import { describe, expect, it } from 'vitest';
import { formatWait } from './budget-rules';
import {
  calendarWindow,
  currentWindow,
  localDateKey,
  ROLLING_SLICES,
  retryAfterMs,
  startOfLocalDay,
  validateBudgetWindow,
} from './budget-window';
import { InvalidBudgetWindowError } from './invalid-budget-window-error';

const at = (iso: string) => Date.parse(iso);

describe('calendar windows', () => {
  it('gives the UTC day', () => {
    expect(calendarWindow('day', 'UTC', at('2026-03-10T15:30:00Z'))).toEqual({
      start: at('2026-03-10T00:00:00Z'),
      end: at('2026-03-11T00:00:00Z'),
    });
  });

  it('starts the local day at local midnight in a zone west of UTC', () => {
    // 02:00 UTC on 10 March is still 9 March in New York (UTC−4 after the 8 March 2026 DST change).
    expect(calendarWindow('day', 'America/New_York', at('2026-03-10T02:00:00Z'))).toEqual({
      start: at('2026-03-09T04:00:00Z'),
      end: at('2026-03-10T04:00:00Z'),
    });
  });

  it('makes the spring-forward day 23 hours long and the fall-back day 25 hours', () => {
    // US DST 2026: starts Sunday 8 March at 02:00 EST, ends Sunday 1 November at 02:00 EDT.
    const spring = calendarWindow('day', 'America/New_York', at('2026-03-08T12:00:00Z'));
    expect(spring).toEqual({ start: at('2026-03-08T05:00:00Z'), end: at('2026-03-09T04:00:00Z') });
    expect(spring.end - spring.start).toBe(23 * 3_600_000);
    const fall = calendarWindow('day', 'America/New_York', at('2026-11-01T12:00:00Z'));
    expect(fall).toEqual({ start: at('2026-11-01T04:00:00Z'), end: at('2026-11-02T05:00:00Z') });
    expect(fall.end - fall.start).toBe(25 * 3_600_000);
  });

  it('starts the day after the gap where DST skips midnight (America/Santiago)', () => {
    // Chile 2026: clocks jump from 24:00 on Saturday 5 September to 01:00 on Sunday 6 September (UTC−4 → UTC−3);
    // 00:00 local does not exist, the day begins at 01:00 −03:00 = 04:00 UTC.
    expect(startOfLocalDay(2026, 9, 6, 'America/Santiago')).toBe(at('2026-09-06T04:00:00Z'));
    expect(localDateKey(at('2026-09-06T03:59:59Z'), 'America/Santiago')).toBe('2026-09-05');
  });

  it('handles quarter-hour offsets (Asia/Kathmandu, UTC+5:45)', () => {
    expect(calendarWindow('day', 'Asia/Kathmandu', at('2026-06-01T00:00:00Z'))).toEqual({
      start: at('2026-05-31T18:15:00Z'),
      end: at('2026-06-01T18:15:00Z'),
    });
  });

  it('starts ISO weeks on Monday', () => {
    // Sunday 15 March 2026 belongs to the week of Monday 9 March.
    expect(calendarWindow('week', 'UTC', at('2026-03-15T23:59:59Z'))).toEqual({
      start: at('2026-03-09T00:00:00Z'),
      end: at('2026-03-16T00:00:00Z'),
    });
    expect(calendarWindow('week', 'Europe/Paris', at('2026-03-16T00:30:00Z')).start).toBe(at('2026-03-15T23:00:00Z'));
  });

  it('gives months with their local length, across the year end', () => {
    expect(calendarWindow('month', 'Europe/Berlin', at('2026-12-31T23:30:00Z'))).toEqual({
      start: at('2027-01-01T00:00:00+01:00'),
      end: at('2027-02-01T00:00:00+01:00'),
    });
    expect(calendarWindow('month', 'UTC', at('2028-02-29T10:00:00Z'))).toEqual({
      start: at('2028-02-01T00:00:00Z'),
      end: at('2028-03-01T00:00:00Z'),
    });
  });

  it('retries a calendar budget when the window ends', () => {
    const now = at('2026-03-10T15:30:00Z');
    const instance = currentWindow({ kind: 'calendar', period: 'day', timeZone: 'UTC' }, now);
    expect(retryAfterMs(instance, now, 100, 100, 1)).toBe(8.5 * 3_600_000);
  });
});

describe('rolling windows', () => {
  it('counts in 60 slices of the window', () => {
    const instance = currentWindow({ kind: 'rolling', durationMs: 3_600_000 }, 3_600_000 * 10 + 61_000);
    expect(ROLLING_SLICES).toBe(60);
    expect(instance).toEqual({
      kind: 'rolling',
      key: 'rolling:3600000',
      sliceMs: 60_000,
      currentSlice: 601,
      firstLiveSlice: 542,
    });
  });

  it('waits for the oldest slices to expire until the amount fits', () => {
    const now = 60_000 * 600 + 30_000; // slice 600, live slices 541…600
    const instance = currentWindow({ kind: 'rolling', durationMs: 3_600_000 }, now);
    const slices = new Map([
      [540, 999], // already expired: not counted
      [545, 30],
      [550, 50],
      [600, 20],
    ]);
    // used 100 of 100; 40 more need slices 545 and 550 gone: slice 550 expires at (550 + 60) × 60 s.
    expect(retryAfterMs(instance, now, 100, 100, 40, slices)).toBe(610 * 60_000 - now);
    // 10 more fit once slice 545 is gone.
    expect(retryAfterMs(instance, now, 100, 100, 10, slices)).toBe(605 * 60_000 - now);
  });

  it('rejects windows it cannot count', () => {
    expect(() => validateBudgetWindow({ kind: 'rolling', durationMs: 10 })).toThrow(InvalidBudgetWindowError);
    expect(() => validateBudgetWindow({ kind: 'calendar', period: 'day', timeZone: 'Mars/Olympus' })).toThrow(
      /unknown time zone/,
    );
    expect(() => validateBudgetWindow({ kind: 'calendar', period: 'year' as 'day', timeZone: 'UTC' })).toThrow(
      /unknown calendar period/,
    );
  });
});

describe('formatWait', () => {
  it('says a wait in the two largest units, never earlier than the seconds it stands for', () => {
    expect(formatWait(0.2)).toBe('1 s');
    expect(formatWait(45)).toBe('45 s');
    expect(formatWait(61)).toBe('2 min');
    expect(formatWait(3600)).toBe('1 h');
    // The README's example: a daily window that resets in 17,160 s.
    expect(formatWait(17_160)).toBe('4 h 46 min');
    expect(formatWait(86_400 * 2 + 3 * 3600)).toBe('2 d 3 h');
  });
});
