import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProxy, startProxy } from '../../src/proxy-server';
import type { PolicedStore } from '../../src/store-failure-policy';
import { createRedisStore, type RedisStore } from '../../src/store-redis';
import { chatBody, type FaultUpstream, post, startFaultUpstream } from './fault-upstream';
import { deleteKeys } from './redis-keys';
import { startTcpCut, type TcpCut } from './tcp-cut';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisPort = Number(new URL(REDIS_URL).port || 6379);
const redisHost = new URL(REDIS_URL).hostname;

// Any promise rejected without a handler while Redis is down is a bug: collect them and fail the test.
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

async function batches(url: string, from: number, count: number, size = 10) {
  const results: Array<{ status: number; body: string }> = [];
  for (let start = from; start < from + count; start += size) {
    const batch = Array.from({ length: Math.min(size, from + count - start) }, (_, offset) =>
      post(`${url}/v1/chat/completions`, chatBody(start + offset)),
    );
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

/**
 * Retries `flush()` until the store takes every buffered event. Bounded by a generous deadline, not a count of
 * attempts: on a loaded 2-core machine ioredis can take several seconds to reconnect after the link returns.
 */
async function flushed(store: PolicedStore): Promise<void> {
  const deadline = Date.now() + 60_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      await store.flush();
      if (store.stats().buffered === 0) return;
    } catch (error) {
      // still down or reconnecting
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const inner = store.inner as RedisStore;
  const cause = lastError instanceof Error && lastError.cause instanceof Error ? lastError.cause.message : '';
  throw new Error(
    `events still buffered: ${JSON.stringify(store.stats())}; Redis client ${inner.client.status}; last error: ${String(lastError)} ${cause}`,
  );
}

describe('Redis stopped in the middle of load, then started again', { timeout: 120_000 }, () => {
  let upstream: FaultUpstream;
  let link: TcpCut;
  let proxy: RunningProxy | undefined;
  const prefixes: string[] = [];
  const quiet = { warn: () => {}, info: () => {} };

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    upstream = await startFaultUpstream();
    link = await startTcpCut(redisPort, redisHost);
  });

  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    link.restore();
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await link?.close();
    await upstream?.close();
    for (const prefix of prefixes) await deleteKeys(REDIS_URL, prefix);
  });

  async function start(storeFailure: 'open' | 'closed'): Promise<{ running: RunningProxy; prefix: string }> {
    const prefix = `tokenmeter-outage-${randomBytes(6).toString('hex')}:`;
    prefixes.push(prefix);
    const running = await startProxy({
      port: 0,
      upstream: `${upstream.url}/v1`,
      store: createRedisStore({ url: link.url, prefix, commandTimeoutMs: 300 }),
      storeFailure,
      budgets: { scope: 'global', limit: { tokens: 100_000_000 } },
      logger: quiet,
    });
    proxy = running;
    return { running, prefix };
  }

  it('fail-open serves every request and loses no usage event', async () => {
    const { running, prefix } = await start('open');
    const before = await batches(running.url, 0, 30);
    link.cut();
    const during = await batches(running.url, 30, 40);
    link.restore();
    const after = await batches(running.url, 70, 30);

    expect([...before, ...during, ...after].map((result) => result.status)).toEqual(Array(100).fill(200));
    expect(upstream.received).toBeGreaterThanOrEqual(100);

    const store = running.store as PolicedStore;
    await flushed(store);
    const stats = store.stats();
    expect(stats.dropped).toBe(0);
    expect(stats.unbackedReservations).toBeGreaterThan(0);
    // Counted from Redis itself, through a fresh connection: buffered events were written once, none twice.
    const reader = createRedisStore({ url: REDIS_URL, prefix });
    const report = await reader.query({});
    await reader.close();
    expect(report.totals.requests).toBe(100);
    expect(unhandled).toEqual([]);
  });

  it('fail-closed answers 503 without calling the upstream, and recovers', async () => {
    const { running } = await start('closed');
    const before = await batches(running.url, 0, 10);
    expect(before.map((result) => result.status)).toEqual(Array(10).fill(200));
    const received = upstream.received;
    link.cut();
    const during = await batches(running.url, 10, 20);
    expect(during.map((result) => result.status)).toEqual(Array(20).fill(503));
    for (const result of during) {
      expect(JSON.parse(result.body)).toMatchObject({ error: { code: 'store_unavailable' } });
    }
    expect(upstream.received).toBe(received);
    link.restore();
    // Once ioredis has reconnected, budgeted requests are served again (bounded wait).
    let status = 0;
    for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
      status = (await post(`${running.url}/v1/chat/completions`, chatBody(attempt))).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
    expect(unhandled).toEqual([]);
  });
});
