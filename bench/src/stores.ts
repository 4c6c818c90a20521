/**
 * Stores: budget reserve + settle pairs and event writes per second for memory, SQLite and Redis, in one
 * process and in four (SQLite: one shared file; Redis: one shared key prefix; memory: four independent
 * stores, since a memory store cannot be shared).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchChild, startChild } from './child-process';
import { type BenchSection, log, type TargetResult, table } from './report';
import { integer, sum } from './stats';

const PROCESSES = 4;
const RESERVE_COUNT = 20_000;
const EVENT_COUNT = 20_000;
const BUDGET_MS = 1_000;

interface Measurement {
  operations: number;
  ms: number;
}

async function run(children: BenchChild[], kind: string, operation: 'reserve' | 'events'): Promise<Measurement> {
  const count = (operation === 'reserve' ? RESERVE_COUNT : EVENT_COUNT) / children.length;
  // Redis answers over the network: keep requests in flight, as concurrent HTTP requests would.
  const concurrency = kind === 'redis' ? 16 : 1;
  const runs = await Promise.all(
    children.map((child) =>
      child.ask<Measurement>('run', { operation, count: Math.ceil(count), budgetMs: BUDGET_MS, concurrency }),
    ),
  );
  // Aggregate rate: all operations over the slowest process's time.
  return { operations: sum(runs.map((one) => one.operations)), ms: Math.max(...runs.map((one) => one.ms)) };
}

const rate = (measurement: Measurement) => (measurement.operations * 1000) / measurement.ms;

/** One store kind: a single process, then four at once (the first of the four doubles as the single one). */
async function measureKind(
  kind: string,
  location: string,
): Promise<{ rows: Array<Array<string | number>>; lost: number }> {
  const children: BenchChild[] = [];
  try {
    for (let index = 0; index < PROCESSES; index++) children.push(startChild('./store-worker.ts', [kind, location]));
    await Promise.all(children.map((child) => child.ready));
    const single = children.slice(0, 1);
    const rows: Array<Array<string | number>> = [];
    let written = 0;
    for (const group of [single, children]) {
      const reserve = await run(group, kind, 'reserve');
      const events = await run(group, kind, 'events');
      written += events.operations;
      rows.push([
        kind,
        group.length === 1 ? '1' : `${group.length}${kind === 'memory' ? ' (independent)' : ' (shared)'}`,
        integer(rate(reserve)),
        integer(rate(events)),
      ]);
    }
    // Every written event must be in the shared store afterwards (memory stores are per process).
    const stored = kind === 'memory' ? written : ((await children[0]?.ask<number>('count')) ?? 0);
    if (kind === 'redis') await children[0]?.ask('cleanup');
    await Promise.all(children.map((child) => child.ask('close')));
    return { rows, lost: written - stored };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

export async function storesBenchmark(): Promise<BenchSection> {
  const directory = mkdtempSync(join(tmpdir(), 'tokenmeter-bench-stores-'));
  const rows: Array<Array<string | number>> = [];
  const targets: TargetResult[] = [];
  try {
    for (const kind of ['memory', 'sqlite', 'redis']) {
      log(`stores: ${kind}`);
      const location =
        kind === 'sqlite' ? join(directory, 'usage.db') : `tokenmeter-bench-${randomBytes(6).toString('hex')}:`;
      const result = await measureKind(kind, location);
      rows.push(...result.rows);
      if (kind !== 'memory') {
        targets.push({
          name: `${kind}: events written = events stored`,
          target: '0 lost',
          measured: `${result.lost} lost`,
          met: result.lost === 0,
        });
      }
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  const markdown = [
    `Each process runs reserve + settle pairs (one budget, calendar day) then single-event \`recordEvents\` calls followed by \`flush()\`, each bounded to ${integer(RESERVE_COUNT)} operations in total or ${BUDGET_MS / 1000} s per process. Rates are all operations ÷ the slowest process's time. Memory and SQLite are synchronous (one at a time); Redis keeps 16 reserve + settle pairs in flight per process. SQLite: WAL, \`synchronous = NORMAL\`, reservations in \`BEGIN IMMEDIATE\` transactions, events in batched transactions. Redis: the machine's server on 127.0.0.1:6379, Lua scripts, a random key prefix deleted afterwards.`,
    '',
    table(['store', 'processes', 'reserve + settle per s', 'events written per s'], rows),
  ].join('\n');
  return { title: 'Stores', markdown, targets };
}
