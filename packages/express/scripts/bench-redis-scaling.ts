/**
 * Budgeted calls per second that one Redis primary and a local 3-primary Redis Cluster sustain, and what
 * grows with traffic. Bounded: `SECONDS` (default 8) per setup. Starts its own redis-server processes on
 * random loopback ports (never the shared Redis) and stops them. Numbers for docs/scaling.md:
 *   node --import tsx --conditions=source packages/express/scripts/bench-redis-scaling.ts
 * One call = reserve over two budgets (user, tenant) + settle + one usage event, as the middleware does.
 */
import { execFile, spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { promisify } from 'node:util';
import { createRedisStore, type RedisStore } from '../src/store-redis';
import { usageEvent } from '../src/store-test-support';
import { type LocalCluster, startLocalCluster } from '../test/faults/redis-cluster';

const run = promisify(execFile);
const SECONDS = Number(process.env.SECONDS ?? '8');
const CONCURRENCY = 64;
const DAY_UTC = { kind: 'calendar', period: 'day', timeZone: 'UTC' } as const;

async function usedMemory(ports: number[]): Promise<number> {
  let total = 0;
  for (const port of ports) {
    const { stdout } = await run('redis-cli', ['-p', String(port), 'INFO', 'memory']);
    total += Number(/used_memory:(\d+)/.exec(stdout)?.[1]);
  }
  return total;
}

async function keyCount(ports: number[]): Promise<number> {
  let total = 0;
  for (const port of ports) total += Number((await run('redis-cli', ['-p', String(port), 'DBSIZE'])).stdout.trim());
  return total;
}

async function measure(name: string, store: RedisStore, ports: number[]): Promise<void> {
  await store.budgetUsage('warm-up', DAY_UTC, Date.now());
  const memoryBefore = await usedMemory(ports);
  const keysBefore = await keyCount(ports);
  const deadline = Date.now() + SECONDS * 1000;
  let calls = 0;
  let refused = 0;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      let index = worker;
      while (Date.now() < deadline) {
        const started = performance.now();
        const now = Date.now();
        const user = `user:${index % 1000}`;
        const tenant = `tenant:${index % 10}`;
        const held = await store.reserve(
          [
            { budgetId: user, window: DAY_UTC, limit: 1e12, amount: 1500 },
            { budgetId: tenant, window: DAY_UTC, limit: 1e12, amount: 1500 },
          ],
          now,
        );
        if (held.ok) await store.settle(held.reservationId, [1000, 1000], now);
        else refused++;
        await store.recordEvents([usageEvent({ timestamp: now, user, tenant })]);
        latencies.push(performance.now() - started);
        calls++;
        index += CONCURRENCY;
      }
    }),
  );
  await store.flush();
  latencies.sort((a, b) => a - b);
  const memoryAfter = await usedMemory(ports);
  const keysAfter = await keyCount(ports);
  console.log(
    JSON.stringify({
      setup: name,
      seconds: SECONDS,
      concurrency: CONCURRENCY,
      calls,
      refused,
      callsPerSecond: Math.round(calls / SECONDS),
      p50ms: Number(latencies[Math.floor(latencies.length / 2)]?.toFixed(1)),
      p99ms: Number(latencies[Math.floor(latencies.length * 0.99)]?.toFixed(1)),
      keysAdded: keysAfter - keysBefore,
      bytesPerCall: Math.round((memoryAfter - memoryBefore) / calls),
    }),
  );
}

async function main(): Promise<void> {
  console.log(JSON.stringify({ cpus: cpus().length, loadavg: loadavg().map((load) => load.toFixed(1)) }));
  // One primary: a redis-server of our own, same flags as the cluster nodes.
  const port = 20_000 + Math.floor(Math.random() * 30_000);
  const single = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  let cluster: LocalCluster | undefined;
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      const ok = await run('redis-cli', ['-p', String(port), 'PING']).then(
        () => true,
        () => false,
      );
      if (ok) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const one = createRedisStore({ url: `redis://127.0.0.1:${port}`, prefix: 'bench:' });
    await measure('one primary', one, [port]);
    await one.close();

    cluster = await startLocalCluster(3);
    const three = createRedisStore({ nodes: cluster.nodes, prefix: 'bench:' });
    await measure(
      '3-primary cluster',
      three,
      cluster.nodes.map((node) => node.port),
    );
    await three.close();
  } finally {
    single.kill('SIGKILL');
    await cluster?.stop();
  }
  console.log(JSON.stringify({ loadavgAfter: loadavg().map((load) => load.toFixed(1)) }));
}

await main();
