/**
 * Child process for the store benchmark: opens one store and, on `run`, hammers it with budget reserve +
 * settle pairs or event writes, bounded by count and time.
 */
import { randomUUID } from 'node:crypto';
import { createMemoryStore, type Store, type UsageEvent } from '@tokenmeter/express';
import { createRedisStore, type RedisStore } from '@tokenmeter/express/redis';
import { createSqliteStore } from '@tokenmeter/express/sqlite';
import { serveParent } from './child-process';

const [kind, location] = process.argv.slice(2);
const store: Store =
  kind === 'memory'
    ? createMemoryStore()
    : kind === 'sqlite'
      ? createSqliteStore({ path: location as string })
      : createRedisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: location as string });

const WINDOW = { kind: 'calendar', period: 'day', timeZone: 'UTC' } as const;
const LIMIT = 2 ** 50;

function event(): UsageEvent {
  return {
    id: randomUUID(),
    timestamp: Date.now(),
    requestId: randomUUID(),
    route: '/v1/chat/completions',
    user: `user-${Math.floor(Math.random() * 50)}`,
    provider: 'openai',
    model: 'gpt-4o-mini',
    operation: 'chat',
    inputTokens: 120,
    cachedInputTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 14,
    reasoningTokens: 0,
    cost: '0.0000264',
    priced: true,
    estimated: false,
    status: 200,
    durationMs: 3,
    streamed: false,
  };
}

interface RunRequest {
  operation: 'reserve' | 'events';
  count: number;
  budgetMs: number;
  concurrency: number;
}

async function reserveSettle(request: RunRequest): Promise<number> {
  const started = performance.now();
  let done = 0;
  let issued = 0;
  const worker = async () => {
    while (issued < request.count && performance.now() - started < request.budgetMs) {
      issued++;
      const now = Date.now();
      const result = await store.reserve(
        [{ budgetId: 'global:usd:day', window: WINDOW, limit: LIMIT, amount: 1000 }],
        now,
      );
      if (!result.ok) throw new Error('the benchmark budget is never exhausted');
      await store.settle(result.reservationId, [900], now);
      done++;
    }
  };
  await Promise.all(Array.from({ length: request.concurrency }, worker));
  return done;
}

async function writeEvents(request: RunRequest): Promise<number> {
  const started = performance.now();
  let done = 0;
  let pending: Array<void | Promise<void>> = [];
  while (done < request.count && performance.now() - started < request.budgetMs) {
    pending.push(store.recordEvents([event()]));
    done++;
    // Bounded in flight: a store that answers asynchronously is given a chance to drain.
    if (pending.length >= 1000) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  await store.flush?.();
  return done;
}

serveParent({
  run: async (payload) => {
    const request = payload as RunRequest;
    const started = performance.now();
    const operations = request.operation === 'reserve' ? await reserveSettle(request) : await writeEvents(request);
    return { operations, ms: performance.now() - started };
  },
  count: async () => (await store.query({})).totals.requests,
  cleanup: async () => {
    if (kind !== 'redis') return 0;
    const client = (store as RedisStore).client;
    let cursor = '0';
    let removed = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${location}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) removed += await client.del(...keys);
    } while (cursor !== '0');
    return removed;
  },
  close: async () => {
    await store.close();
    return true;
  },
});
process.send?.({ ready: true });
