import { InvalidSeriesError } from './invalid-series-error';
import { Money } from './money';
import { countOf, DEFAULT_PEAK_FACTOR, planCost } from './plans';
import { Rational } from './rational';
import { seededRandom } from './seeded-random';
import type { Confidence, DailyUsage, FlatRatePlan, MonthVolume, SeriesAnalysis } from './types';
import { DEFAULT_DAYS_PER_MONTH } from './workload';

const COLUMNS = ['date', 'requests', 'inputTokens', 'outputTokens', 'cost'] as const;
const DAY_MS = 86_400_000;

/**
 * Reads a daily usage series: CSV with a header row, or JSON (a list, or `{ days: [...] }`), each day
 * `{ date, requests, inputTokens, outputTokens, cost }` with cost a decimal string, exactly what the
 * middleware exports. Days come back sorted; a repeated day is an error.
 */
export function parseDailySeries(text: string, format?: 'csv' | 'json'): DailyUsage[] {
  if (typeof text !== 'string' || text.trim() === '') throw new InvalidSeriesError('The series is empty');
  const chosen = format ?? (/^\s*[[{]/.test(text) ? 'json' : 'csv');
  const rows = chosen === 'json' ? jsonRows(text) : csvRows(text);
  if (rows.length === 0) throw new InvalidSeriesError('The series has no days');
  const days = rows.map((row, index) => readDay(row, index));
  days.sort((a, b) => a.date.localeCompare(b.date));
  for (let index = 1; index < days.length; index++) {
    if (days[index]?.date === days[index - 1]?.date) {
      throw new InvalidSeriesError(`Day ${days[index]?.date} appears twice`);
    }
  }
  return days;
}

export interface AnalyzeSeriesOptions {
  /** Probability that next month's per-token cost exceeds this amount. */
  budget?: Money | string | number;
  plans?: FlatRatePlan[];
  /** Bootstrap months drawn; default 5,000. */
  samples?: number;
  /** PRNG seed; the same seed gives the same result. Default 1. */
  seed?: number;
  daysPerMonth?: number;
  /** Fit and carry forward a linear trend: default `'auto'` (only with 14 days or more). */
  trend?: boolean | 'auto';
  /** Busiest minute ÷ average minute for plan rate limits; default 3. */
  peakFactor?: string | number;
}

interface SampleMonth {
  cost: bigint;
  tokens: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  requests: bigint;
  peakDayTokens: bigint;
  peakDayRequests: bigint;
}

/**
 * Next month as a distribution. Bootstrap: each simulated month draws `daysPerMonth` days at random (with
 * replacement, seeded) from the history; with a trend, each drawn day is moved along the Theil–Sen (median pairwise slope) line
 * from its own date to the simulated date. p50/p95 are nearest-rank percentiles of the simulated months.
 */
export function analyzeSeries(series: DailyUsage[], options: AnalyzeSeriesOptions = {}): SeriesAnalysis {
  if (series.length === 0) throw new InvalidSeriesError('The series has no days');
  const days = [...series].sort((a, b) => a.date.localeCompare(b.date));
  const samples = options.samples ?? 5000;
  const seed = options.seed ?? 1;
  const daysPerMonth = options.daysPerMonth ?? DEFAULT_DAYS_PER_MONTH;
  if (!Number.isInteger(samples) || samples < 1 || samples > 1_000_000) {
    throw new InvalidSeriesError('samples must be a whole number from 1 to 1,000,000');
  }
  if (!Number.isInteger(daysPerMonth) || daysPerMonth < 1 || daysPerMonth > 31) {
    throw new InvalidSeriesError('daysPerMonth must be a whole number from 1 to 31');
  }
  const n = days.length;
  const first = days[0] as DailyUsage;
  const last = days[n - 1] as DailyUsage;
  const offsets = days.map((day) => Math.round((Date.parse(day.date) - Date.parse(first.date)) / DAY_MS));
  const lastOffset = offsets[n - 1] ?? 0;
  const costs = days.map((day) => day.cost.atto);

  const trendWanted = options.trend ?? 'auto';
  const trendApplied = n >= 2 && (trendWanted === true || (trendWanted === 'auto' && n >= 14));
  const slope = (values: bigint[]) => medianPairwiseSlope(offsets, values);
  const costSlope = trendApplied ? slope(costs) : Rational.ZERO;
  const inputSlope = trendApplied ? slope(days.map((day) => BigInt(day.inputTokens))) : Rational.ZERO;
  const outputSlope = trendApplied ? slope(days.map((day) => BigInt(day.outputTokens))) : Rational.ZERO;
  const requestSlope = trendApplied ? slope(days.map((day) => BigInt(day.requests))) : Rational.ZERO;
  // Shift by whole atto-dollars and whole tokens per day: the rounding stays far below anything shown.
  const shift = (rate: Rational, distance: number) => (rate.isZero() ? 0n : rate.times(distance).round());
  const positive = (value: bigint) => (value < 0n ? 0n : value);

  const random = seededRandom(seed);
  const months: SampleMonth[] = [];
  for (let sample = 0; sample < samples; sample++) {
    const month: SampleMonth = {
      cost: 0n,
      tokens: 0n,
      inputTokens: 0n,
      outputTokens: 0n,
      requests: 0n,
      peakDayTokens: 0n,
      peakDayRequests: 0n,
    };
    for (let day = 0; day < daysPerMonth; day++) {
      const pick = Math.min(n - 1, Math.floor(random() * n));
      const drawn = days[pick] as DailyUsage;
      const distance = lastOffset + 1 + day - (offsets[pick] ?? 0);
      const cost = positive(drawn.cost.atto + shift(costSlope, distance));
      const input = positive(BigInt(drawn.inputTokens) + shift(inputSlope, distance));
      const output = positive(BigInt(drawn.outputTokens) + shift(outputSlope, distance));
      const requests = positive(BigInt(drawn.requests) + shift(requestSlope, distance));
      month.cost += cost;
      month.inputTokens += input;
      month.outputTokens += output;
      month.tokens += input + output;
      month.requests += requests;
      if (input + output > month.peakDayTokens) month.peakDayTokens = input + output;
      if (requests > month.peakDayRequests) month.peakDayRequests = requests;
    }
    months.push(month);
  }
  const byCost = [...months].sort((a, b) => (a.cost < b.cost ? -1 : a.cost > b.cost ? 1 : 0));
  const p50 = nearestRank(byCost, 0.5);
  const p95 = nearestRank(byCost, 0.95);
  const byTokens = months.map((month) => month.tokens).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const byRequests = months.map((month) => month.requests).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const totalCost = months.reduce((sum, month) => sum + month.cost, 0n);

  const peakFactor = Rational.from(options.peakFactor ?? DEFAULT_PEAK_FACTOR);
  const p50Volume = sampleVolume(p50, daysPerMonth);
  const p95Volume = sampleVolume(p95, daysPerMonth);
  const plans = (options.plans ?? []).map((plan) => {
    const atP50 = planCost(plan, p50Volume, { peakFactor });
    const atP95 = planCost(plan, p95Volume, { peakFactor });
    return {
      plan: plan.name,
      p50: atP50,
      p95: atP95,
      cheaperThanPerTokenAtP50: atP50.cost.atto < p50.cost,
      cheaperThanPerTokenAtP95: atP95.cost.atto < p95.cost,
    };
  });

  let budget: SeriesAnalysis['budget'];
  if (options.budget !== undefined) {
    const amount = Money.from(options.budget);
    const over = months.filter((month) => month.cost > amount.atto).length;
    budget = { amount, probabilityOver: Math.round((over / samples) * 10_000) / 10_000 };
  }
  const { confidence, note } = describeConfidence(n);
  const sum = costs.reduce((total, cost) => total + cost, 0n);
  const volatility = coefficientOfVariation(costs);
  return {
    days: n,
    from: first.date,
    to: last.date,
    daysPerMonth,
    meanDailyCost: Money.fromAtto(sum).dividedBy(n),
    ...(volatility === undefined ? {} : { volatility }),
    ...(trendApplied ? { trendPerDay: costSlope.times(Rational.of(1n, 10n ** 18n)).toMoney() } : {}),
    trendApplied,
    samples,
    seed,
    nextMonth: {
      p50: Money.fromAtto(p50.cost),
      p95: Money.fromAtto(p95.cost),
      mean: Money.fromAtto(totalCost).dividedBy(samples),
      tokensP50: Rational.of(nearestRank(byTokens, 0.5)),
      tokensP95: Rational.of(nearestRank(byTokens, 0.95)),
      requestsP50: Rational.of(nearestRank(byRequests, 0.5)),
      requestsP95: Rational.of(nearestRank(byRequests, 0.95)),
    },
    volumeP50: p50Volume,
    volumeP95: p95Volume,
    ...(budget === undefined ? {} : { budget }),
    plans,
    confidence,
    confidenceNote: note,
  };
}

/** The month of traffic behind a simulated month, for plans and for re-pricing at other per-token prices. */
export function sampleVolume(
  month: {
    tokens: bigint;
    inputTokens: bigint;
    outputTokens: bigint;
    requests: bigint;
    peakDayTokens: bigint;
    peakDayRequests: bigint;
  },
  days: number,
): MonthVolume {
  const requests = Rational.of(month.requests);
  const volume: MonthVolume = {
    month: 1,
    days,
    requests,
    requestsPerDay: requests.dividedBy(days),
    inputTokens: Rational.of(month.inputTokens),
    // A measured series does not say how much was cached; re-pricing treats it all as uncached.
    cachedInputTokens: Rational.ZERO,
    outputTokens: Rational.of(month.outputTokens),
    tokens: Rational.of(month.tokens),
    tokensPerDay: Rational.of(month.tokens).dividedBy(days),
    peakDayTokens: Rational.of(month.peakDayTokens),
    peakDayRequests: Rational.of(month.peakDayRequests),
  };
  if (month.requests > 0n) {
    volume.perRequest = {
      inputTokens: Rational.of(month.inputTokens).dividedBy(requests),
      cachedInputTokens: Rational.ZERO,
      outputTokens: Rational.of(month.outputTokens).dividedBy(requests),
    };
  }
  return volume;
}

/** The simulated month at percentile `p` (nearest rank: the ⌈p·N⌉-th smallest). */
function nearestRank<T>(sorted: T[], p: number): T {
  const index = Math.max(0, Math.ceil(p * sorted.length) - 1);
  return sorted[Math.min(index, sorted.length - 1)] as T;
}

export function describeConfidence(days: number): { confidence: Confidence; note: string } {
  if (days < 14) {
    return {
      confidence: 'low',
      note: `Only ${days} day${days === 1 ? '' : 's'} of history: the spread is a rough guess and no trend is used; 14 days give a usable spread, 60 a reliable one.`,
    };
  }
  if (days < 60) {
    return {
      confidence: 'medium',
      note: `${countOf(days, 'day')} of history: enough for a spread and a short trend, not for seasonality; 60 days give a reliable forecast.`,
    };
  }
  return { confidence: 'high', note: `${countOf(days, 'day')} of history.` };
}

/** Population standard deviation ÷ mean, from exact sums; 6 decimal places. Undefined for a zero mean. */
export function coefficientOfVariation(values: bigint[]): number | undefined {
  const n = BigInt(values.length);
  const sum = values.reduce((total, value) => total + value, 0n);
  // One day says nothing about how much days vary: no spread, not a steady bill.
  if (n < 2n || sum === 0n) return undefined;
  const squares = values.reduce((total, value) => total + value * value, 0n);
  // sd / mean = sqrt(n·Σx² − (Σx)²) / Σx
  const spread = n * squares - sum * sum;
  const scaled = squareRoot(spread * 10n ** 12n) / (sum < 0n ? -sum : sum);
  return Number(scaled) / 1_000_000;
}

function squareRoot(value: bigint): bigint {
  if (value < 2n) return value < 0n ? 0n : value;
  // Newton's method from above: converges to ⌊√value⌋ for any size (a float estimate is too coarse here).
  let x = 1n << BigInt(Math.ceil(value.toString(2).length / 2));
  for (;;) {
    const next = (x + value / x) >> 1n;
    if (next >= x) return x;
    x = next;
  }
}

/**
 * Theil–Sen slope of values (in their own unit) per day: the median of the slopes between every pair of
 * days. Unlike least squares, one spike day barely moves it, so a single incident is not extrapolated into
 * next month. Fitted on the last 366 days at most.
 */
export function medianPairwiseSlope(xs: number[], ys: bigint[]): Rational {
  const from = Math.max(0, xs.length - 366);
  const slopes: Rational[] = [];
  for (let i = from; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) {
      const dx = (xs[j] ?? 0) - (xs[i] ?? 0);
      if (dx !== 0) slopes.push(Rational.of((ys[j] ?? 0n) - (ys[i] ?? 0n), dx));
    }
  }
  if (slopes.length === 0) return Rational.ZERO;
  slopes.sort((a, b) => a.compare(b));
  const middle = Math.floor(slopes.length / 2);
  const upper = slopes[middle] as Rational;
  return slopes.length % 2 === 1 ? upper : upper.plus(slopes[middle - 1] as Rational).dividedBy(2);
}

function jsonRows(text: string): Record<string, unknown>[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new InvalidSeriesError(`The series is not valid JSON: ${(error as Error).message}`);
  }
  const list = Array.isArray(document)
    ? document
    : typeof document === 'object' && document !== null
      ? ((document as Record<string, unknown>).days ?? (document as Record<string, unknown>).series)
      : undefined;
  if (!Array.isArray(list)) throw new InvalidSeriesError('Expected a JSON list of days, or { "days": [...] }');
  return list.map((item, index) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new InvalidSeriesError(`Day ${index + 1} is not an object`);
    }
    return item as Record<string, unknown>;
  });
}

function csvRows(text: string): Record<string, unknown>[] {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '');
  const header = splitCsvLine(lines[0] ?? '').map((name) => name.toLowerCase().replace(/[\s_-]/g, ''));
  const positions = COLUMNS.map((column) => header.indexOf(column.toLowerCase()));
  const missing = COLUMNS.filter((_, index) => positions[index] === -1);
  if (missing.length > 0) {
    throw new InvalidSeriesError(`The CSV header lacks ${missing.join(', ')} (expected ${COLUMNS.join(',')})`);
  }
  return lines.slice(1).map((line) => {
    const cells = splitCsvLine(line);
    return Object.fromEntries(COLUMNS.map((column, index) => [column, cells[positions[index] ?? -1]]));
  });
}

function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let current = '';
  let quoted = false;
  for (let index = 0; index < line.length; index++) {
    const character = line[index];
    if (quoted) {
      if (character === '"' && line[index + 1] === '"') {
        current += '"';
        index++;
      } else if (character === '"') quoted = false;
      else current += character;
    } else if (character === '"') quoted = true;
    else if (character === ',') {
      cells.push(current.trim());
      current = '';
    } else current += character;
  }
  cells.push(current.trim());
  return cells;
}

function readDay(row: Record<string, unknown>, index: number): DailyUsage {
  const where = `Day ${index + 1}`;
  const date = row.date;
  if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(date) || Number.isNaN(Date.parse(date.slice(0, 10)))) {
    throw new InvalidSeriesError(`${where}: date must be YYYY-MM-DD, got ${JSON.stringify(date)}`);
  }
  const count = (key: 'requests' | 'inputTokens' | 'outputTokens') => {
    const value = row[key];
    const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
    const parsed = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(parsed)) {
      throw new InvalidSeriesError(
        `${where} (${date.slice(0, 10)}): ${key} must be a whole number ≥ 0, got ${JSON.stringify(value)}`,
      );
    }
    return parsed;
  };
  const rawCost = row.cost;
  let cost: Money;
  try {
    if (typeof rawCost !== 'string' && typeof rawCost !== 'number') throw new Error('missing');
    cost = Money.from(typeof rawCost === 'string' ? rawCost.trim().replace(/^\$/, '') : rawCost);
  } catch {
    throw new InvalidSeriesError(
      `${where} (${date.slice(0, 10)}): cost must be a decimal amount, got ${JSON.stringify(rawCost)}`,
    );
  }
  if (cost.isNegative()) throw new InvalidSeriesError(`${where}: cost must not be negative`);
  return {
    date: date.slice(0, 10),
    requests: count('requests'),
    inputTokens: count('inputTokens'),
    outputTokens: count('outputTokens'),
    cost,
  };
}
