/** Small statistics helpers for the benchmarks. */

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile of unsorted values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/**
 * A percentile per round, then the median over rounds. On a shared machine one stall (another tenant, the
 * load generator's own collector) lands in one round and moves a pooled p99 by milliseconds; here it moves
 * one round's value, and the median of the rounds says what a typical round saw.
 */
export function roundPercentile(rounds: number[][], p: number): number {
  return median(rounds.map((round) => percentile(round, p)));
}

export function sum(values: number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

/** Runs `body` until `count` iterations or `budgetMs` elapsed, whichever first; returns iterations and ms. */
export function timeLoop(
  count: number,
  budgetMs: number,
  body: (index: number) => void,
): { iterations: number; ms: number } {
  const started = performance.now();
  let index = 0;
  while (index < count) {
    body(index);
    index++;
    // Checking the clock every 16 iterations keeps its cost out of short bodies.
    if ((index & 15) === 0 && performance.now() - started > budgetMs) break;
  }
  return { iterations: index, ms: performance.now() - started };
}

export async function timeLoopAsync(
  count: number,
  budgetMs: number,
  body: (index: number) => Promise<void>,
): Promise<{ iterations: number; ms: number }> {
  const started = performance.now();
  let index = 0;
  while (index < count) {
    await body(index);
    index++;
    if (performance.now() - started > budgetMs) break;
  }
  return { iterations: index, ms: performance.now() - started };
}

export function fixed(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toFixed(digits);
}

export function integer(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return Math.round(value).toLocaleString('en-US');
}

/** A deterministic pseudo-random generator (mulberry32), so every run benchmarks the same text. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
