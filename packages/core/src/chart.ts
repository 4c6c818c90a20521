import { lineMoneyAt } from './break-even';
import { formatUsd, Money } from './money';
import { Rational } from './rational';
import type { PricingComparison } from './types';

export interface CurveRange {
  fromTokens?: number | string;
  /** Default: twice the compared volume, or 1.25 × the largest break-even if that is further. */
  toTokens?: number | string;
  /** Intervals between points; default 48. */
  steps?: number;
}

export interface CostCurvePoint {
  tokensPerMonth: number;
  /** Decimal string (exact Money). */
  cost: string;
  /** False where a plan's quotas or rate limits cannot carry the volume. */
  feasible: boolean;
}

export interface CostCurve {
  fromTokens: number;
  toTokens: number;
  /** The compared month's volume. */
  currentTokens: number;
  series: Array<{ name: string; kind: 'per-token' | 'flat-rate'; points: CostCurvePoint[] }>;
  breakEvens: Array<{ between: [string, string]; tokensPerMonth: number; cost: string; cheaperAbove: string }>;
}

/** Monthly cost against monthly token volume for every option of a comparison, with its break-evens: chart data. */
export function costCurve(comparison: PricingComparison, range: CurveRange = {}): CostCurve {
  const from = Rational.from(range.fromTokens ?? 0);
  const crossings = comparison.breakEven.flatMap((entry) => entry.crossings.map((crossing) => ({ entry, crossing })));
  let to: Rational;
  if (range.toTokens !== undefined) to = Rational.from(range.toTokens);
  else {
    to = comparison.volume.tokens.times(2);
    for (const { crossing } of crossings) to = Rational.max(to, crossing.tokensPerMonth.times(5).dividedBy(4));
    if (to.isZero()) to = Rational.of(1_000_000);
  }
  if (to.compare(from) <= 0) throw new RangeError('costCurve: toTokens must be above fromTokens');
  const steps = range.steps ?? 48;
  const series = comparison.lines.map((line) => ({
    name: line.name,
    kind: line.kind,
    points: Array.from({ length: steps + 1 }, (_, index) => {
      const tokens = from.plus(to.minus(from).times(index).dividedBy(steps));
      const { cost, feasible } = lineMoneyAt(line, tokens);
      return { tokensPerMonth: tokens.toNumber(), cost: cost.toString(), feasible };
    }),
  }));
  const breakEvens = crossings
    .filter(({ crossing }) => crossing.tokensPerMonth.compare(from) >= 0 && crossing.tokensPerMonth.compare(to) <= 0)
    .map(({ entry, crossing }) => {
      const perToken = comparison.lines.find((line) => line.name === entry.between[0]);
      const cost = perToken === undefined ? Money.ZERO : lineMoneyAt(perToken, crossing.tokensPerMonth).cost;
      return {
        between: entry.between,
        tokensPerMonth: crossing.tokensPerMonth.toNumber(),
        cost: cost.toString(),
        cheaperAbove: crossing.cheaperAbove,
      };
    });
  return {
    fromTokens: from.toNumber(),
    toTokens: to.toNumber(),
    currentTokens: comparison.volume.tokens.toNumber(),
    series,
    breakEvens,
  };
}

const SYMBOLS = ['*', 'o', '+', 'x', '#', '@', '%', '&'];

/**
 * A plain-text chart of a cost curve for a terminal: one symbol per option, `X` and `|` at each break-even, `:` at
 * the compared volume, `.` where a plan's limits cannot carry the volume. Numbers here are for drawing only.
 */
export function renderTerminalChart(curve: CostCurve, options: { width?: number; height?: number } = {}): string {
  const width = Math.max(20, options.width ?? 60);
  const height = Math.max(6, options.height ?? 14);
  const maxCost = Math.max(1e-9, ...curve.series.flatMap((entry) => entry.points.map((point) => Number(point.cost))));
  const span = curve.toTokens - curve.fromTokens;
  const column = (tokens: number) => Math.round(((tokens - curve.fromTokens) / span) * (width - 1));
  const row = (cost: number) => height - 1 - Math.round((cost / maxCost) * (height - 1));
  const grid = Array.from({ length: height }, () => Array.from({ length: width }, () => ' '));
  const current = column(curve.currentTokens);
  if (current >= 0 && current < width) for (const line of grid) line[current] = ':';
  for (const breakEven of curve.breakEvens) {
    const x = column(breakEven.tokensPerMonth);
    for (const line of grid) line[x] = '|';
  }
  const crossingMarks = curve.breakEvens.map((breakEven) => ({
    x: column(breakEven.tokensPerMonth),
    y: row(Number(breakEven.cost)),
  }));
  curve.series.forEach((entry, index) => {
    const symbol = SYMBOLS[index % SYMBOLS.length] ?? '*';
    for (let x = 0; x < width; x++) {
      const tokens = curve.fromTokens + (span * x) / (width - 1);
      const { cost, feasible } = interpolate(entry.points, tokens);
      const y = row(cost);
      const line = grid[y];
      if (line) line[x] = feasible ? symbol : '.';
    }
  });
  // The crossing itself goes on top of both lines.
  for (const mark of crossingMarks) {
    const line = grid[mark.y];
    if (line && mark.x >= 0 && mark.x < width) line[mark.x] = 'X';
  }
  const labels = grid.map((_, y) => {
    const atRow = ((height - 1 - y) / (height - 1)) * maxCost;
    return y === 0 || y === height - 1 || y === Math.floor((height - 1) / 2) ? formatAxisUsd(atRow) : '';
  });
  const labelWidth = Math.max(...labels.map((label) => label.length));
  const lines = grid.map((line, y) => `${(labels[y] ?? '').padStart(labelWidth)} ┤${line.join('')}`);
  const axis = Array.from({ length: width }, () => '─');
  for (const mark of crossingMarks) if (mark.x >= 0 && mark.x < width) axis[mark.x] = '┴';
  lines.push(`${' '.repeat(labelWidth)} └${axis.join('')}`);
  const left = formatTokens(curve.fromTokens);
  const right = formatTokens(curve.toTokens);
  const ticks = Array.from({ length: width }, () => ' ');
  const place = (text: string, at: number) => {
    const start = Math.max(0, Math.min(width - text.length, at));
    if (ticks.slice(start, start + text.length).some((cell) => cell !== ' ')) return;
    for (let index = 0; index < text.length; index++) ticks[start + index] = text[index] ?? ' ';
  };
  place(left, 0);
  place(right, width - right.length);
  for (const breakEven of curve.breakEvens) {
    const label = formatTokens(breakEven.tokensPerMonth);
    place(label, column(breakEven.tokensPerMonth) - Math.floor(label.length / 2));
  }
  lines.push(`${' '.repeat(labelWidth + 2)}${ticks.join('').trimEnd()}`);
  lines.push(`${' '.repeat(labelWidth + 2)}tokens per month${' '.repeat(Math.max(1, width - 31))}: compared volume`);
  lines.push('');
  curve.series.forEach((entry, index) => {
    lines.push(`  ${SYMBOLS[index % SYMBOLS.length]}  ${entry.name}`);
  });
  for (const breakEven of curve.breakEvens) {
    lines.push(
      `  X  break-even ${breakEven.between[0]} = ${breakEven.between[1]} at ${formatTokens(breakEven.tokensPerMonth)} tokens/month (${formatUsd(Money.from(breakEven.cost))}); above it ${breakEven.cheaperAbove} is cheaper`,
    );
  }
  if (curve.series.some((entry) => entry.points.some((point) => !point.feasible))) {
    lines.push('  .  beyond what a plan’s quota or rate limits carry');
  }
  return lines.join('\n');
}

function interpolate(points: CostCurvePoint[], tokens: number): { cost: number; feasible: boolean } {
  let previous = points[0];
  for (const point of points) {
    if (point.tokensPerMonth >= tokens) {
      if (previous === undefined || previous === point || point.tokensPerMonth === previous.tokensPerMonth) {
        return { cost: Number(point.cost), feasible: point.feasible };
      }
      const share = (tokens - previous.tokensPerMonth) / (point.tokensPerMonth - previous.tokensPerMonth);
      const cost = Number(previous.cost) + share * (Number(point.cost) - Number(previous.cost));
      return { cost, feasible: share < 0.5 ? previous.feasible : point.feasible };
    }
    previous = point;
  }
  return { cost: Number(previous?.cost ?? 0), feasible: previous?.feasible ?? true };
}

/** `10.5M`, `8.33M`, `500k`, `750`. */
export function formatTokens(tokens: number): string {
  const compact = (value: number, suffix: string) => `${Number(value.toPrecision(3))}${suffix}`;
  if (tokens >= 1e9) return compact(tokens / 1e9, 'B');
  if (tokens >= 1e6) return compact(tokens / 1e6, 'M');
  if (tokens >= 1e3) return compact(tokens / 1e3, 'k');
  return String(Math.round(tokens));
}

function formatAxisUsd(amount: number): string {
  return `$${amount >= 100 ? amount.toFixed(0) : amount.toFixed(2)}`;
}
