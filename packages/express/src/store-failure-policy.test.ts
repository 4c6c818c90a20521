import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { withFailurePolicy } from './store-failure-policy';
import { createMemoryStore } from './store-memory';
import { createRedisStore, type RedisStore } from './store-redis';
import { DAY_UTC, usageEvent } from './store-test-support';
import { StoreUnavailableError } from './store-unavailable-error';
import type { Store } from './types';

const redisUrl = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const now = Date.parse('2026-03-10T12:00:00Z');
const budget = { budgetId: 'global', window: DAY_UTC, limit: 1_000_000, amount: 10 };

/** A TCP proxy in front of the shared Redis that a test can cut and restore (the real server keeps running). */
class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(Number(redisUrl.port || 6379), redisUrl.hostname);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function captureLogger() {
  const lines: string[] = [];
  return {
    lines,
    warn: (line: string) => lines.push(`warn ${line}`),
    info: (line: string) => lines.push(`info ${line}`),
  };
}

async function redisBehindProxy(): Promise<{ proxy: CuttableProxy; store: RedisStore; prefix: string }> {
  const proxy = new CuttableProxy();
  await proxy.start();
  const prefix = `tokenmeter-test:${randomBytes(6).toString('hex')}:`;
  const store = createRedisStore({ url: `redis://127.0.0.1:${proxy.port}`, prefix, commandTimeoutMs: 200 });
  cleanups.push(async () => {
    await proxy.cut();
    await store.client.disconnect();
    const admin = new Redis(redisUrl.toString());
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });
  return { proxy, store, prefix };
}

async function eventually(check: () => Promise<boolean>, attempts = 200): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('condition not reached');
}

describe('withFailurePolicy against Redis cut mid-load', () => {
  it('fail-open serves every request and loses no event across the outage', async () => {
    const { proxy, store: inner, prefix } = await redisBehindProxy();
    const logger = captureLogger();
    const store = withFailurePolicy(inner, { mode: 'open', logger, retryInitialMs: 20, retryMaxMs: 200 });
    const reservations: boolean[] = [];
    const unbacked: boolean[] = [];
    let id = 0;
    async function load(requests: number): Promise<void> {
      await Promise.all(
        Array.from({ length: requests }, async () => {
          const result = await store.reserve([budget], now);
          reservations.push(result.ok);
          if (result.ok) {
            unbacked.push(result.unbacked === true);
            await store.settle(result.reservationId, [10], now);
          }
          store.recordEvents([usageEvent({ id: `outage-${id++}`, cost: '0.001' })]);
        }),
      );
    }
    await load(50);
    // Cut while requests and event batches are in flight: some batches may be applied by Redis yet
    // reported failed to us; their retry must not count them twice.
    const inFlight = load(50);
    await new Promise((resolve) => setTimeout(resolve, 2));
    await proxy.cut();
    await inFlight;
    await load(100);
    await proxy.start();
    await load(100);
    await eventually(async () => {
      try {
        await store.flush();
        return true;
      } catch {
        return false;
      }
    });
    // Every request was served; those during the outage without the store.
    expect(reservations).toHaveLength(300);
    expect(reservations.every(Boolean)).toBe(true);
    expect(unbacked.filter(Boolean).length).toBeGreaterThan(0);
    expect(store.stats()).toMatchObject({ outage: false, buffered: 0, dropped: 0 });
    // Every event is in Redis exactly once: 300 × $0.001 = $0.3.
    const reader = createRedisStore({ url: redisUrl.toString(), prefix });
    expect((await reader.query({})).totals).toMatchObject({ requests: 300, cost: '0.3' });
    await reader.close();
    // One warning for the outage and one notice for the recovery, not one per request.
    expect(logger.lines.filter((line) => line.startsWith('warn'))).toHaveLength(1);
    expect(logger.lines.filter((line) => line.startsWith('info'))).toEqual([
      expect.stringMatching(/store is back after .* no usage event was lost/),
    ]);
    await store.close();
  }, 30_000);

  it('fail-closed refuses reservations with STORE_UNAVAILABLE while Redis is unreachable, then recovers', async () => {
    const { proxy, store: inner } = await redisBehindProxy();
    const store = withFailurePolicy(inner, { mode: 'closed', logger: captureLogger() });
    expect(await store.reserve([budget], now)).toMatchObject({ ok: true });
    await proxy.cut();
    const refusal = await store.reserve([budget], now).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(StoreUnavailableError);
    expect(refusal).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(store.query({})).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await proxy.start();
    await eventually(async () => (await store.reserve([budget], now).catch(() => ({ ok: false }))).ok);
    expect(store.stats().outage).toBe(false);
    await store.close();
  }, 30_000);
});

describe('withFailurePolicy', () => {
  function brokenStore(): Store & { down: boolean; written: number } {
    const memory = createMemoryStore();
    const state = {
      ...memory,
      name: 'flaky',
      down: true,
      written: 0,
      recordEvents(events: Parameters<Store['recordEvents']>[0]) {
        if (state.down) throw new Error('disk on fire');
        state.written += events.length;
        memory.recordEvents(events);
      },
      reserve(...args: Parameters<Store['reserve']>) {
        if (state.down) throw new Error('disk on fire');
        return memory.reserve(...args);
      },
    };
    return state;
  }

  it('keeps at most bufferLimit events, counting the dropped ones, and says so once recovered', async () => {
    const inner = brokenStore();
    const logger = captureLogger();
    const store = withFailurePolicy(inner, { logger, bufferLimit: 5, retryInitialMs: 10_000 });
    for (let index = 0; index < 8; index += 1) store.recordEvents([usageEvent()]);
    expect(store.stats()).toMatchObject({ outage: true, buffered: 5, dropped: 3 });
    inner.down = false;
    await store.flush();
    expect(inner.written).toBe(5);
    expect(logger.lines).toEqual([
      expect.stringMatching(/^warn tokenmeter: the flaky store is unavailable \(disk on fire\); serving requests/),
      expect.stringMatching(/^info .*3 usage events were dropped/),
    ]);
  });

  it('keeps draining after a retry that found the buffer empty (an outage seen only by reserve)', async () => {
    const inner = brokenStore();
    const store = withFailurePolicy(inner, { logger: captureLogger(), retryInitialMs: 10_000 });
    // Only a reservation fails: the outage starts with nothing buffered, so the first drain has nothing to write.
    await store.reserve([budget], now);
    expect(store.stats()).toMatchObject({ outage: true, buffered: 0 });
    await expect(store.flush()).resolves.toBeUndefined();
    inner.down = true;
    store.recordEvents([usageEvent()]);
    expect(store.stats().buffered).toBe(1);
    inner.down = false;
    await store.flush();
    expect(inner.written).toBe(1);
    expect(store.stats()).toMatchObject({ outage: false, buffered: 0 });
  });

  it('fail-open allows an unbacked reservation whose settle is a no-op', async () => {
    const inner = brokenStore();
    const store = withFailurePolicy(inner, { logger: captureLogger() });
    const result = await store.reserve([{ ...budget, limit: 100, amount: 30 }], now);
    expect(result).toMatchObject({ ok: true, unbacked: true, remaining: [70] });
    if (result.ok) await store.settle(result.reservationId, [30], now);
    expect(store.stats().unbackedReservations).toBe(1);
  });

  it('still throws on malformed input instead of treating it as an outage', async () => {
    const store = withFailurePolicy(createMemoryStore(), { logger: captureLogger() });
    expect(() => store.recordEvents([usageEvent({ cost: 'free' })])).toThrow(/Invalid amount/);
    await expect(store.reserve([{ ...budget, amount: -1 }], now)).rejects.toThrow(/amount/);
    expect(store.stats().outage).toBe(false);
  });
});

describe('withFailurePolicy circuit breaker and outage logs', () => {
  /** A store that, while down, answers every call after `delayMs` with an error (a command timeout). */
  function slowStore(delayMs: number, withProbe: boolean) {
    const memory = createMemoryStore();
    const calls = { reserve: 0, settle: 0, record: 0, query: 0, probe: 0 };
    const state = {
      down: true,
      calls,
    };
    const fail = async (): Promise<never> => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      throw new Error('Command timed out');
    };
    const store: Store = {
      ...memory,
      name: 'slow',
      async recordEvents(events) {
        calls.record += 1;
        if (state.down) await fail();
        memory.recordEvents(events);
      },
      async reserve(...args) {
        calls.reserve += 1;
        if (state.down) await fail();
        return memory.reserve(...args);
      },
      async settle(...args) {
        calls.settle += 1;
        if (state.down) await fail();
        return memory.settle(...args);
      },
      async query(...args) {
        calls.query += 1;
        if (state.down) await fail();
        return memory.query(...args);
      },
      ...(withProbe
        ? {
            async probe() {
              calls.probe += 1;
              if (state.down) await fail();
            },
          }
        : {}),
    };
    return { store, state };
  }

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  for (const withProbe of [true, false]) {
    it(`an outage costs one timeout, not one per call (${withProbe ? 'probe()' : 'a trial write'} closes it)`, async () => {
      const { store: inner, state } = slowStore(150, withProbe);
      const logger = captureLogger();
      const store = withFailurePolicy(inner, { mode: 'open', logger, retryInitialMs: 30, retryMaxMs: 60 });
      const first = await store.reserve([budget], now);
      expect(first).toMatchObject({ ok: true, unbacked: true });
      // Every later call during the outage is answered at once, without asking the store.
      const started = performance.now();
      for (let index = 0; index < 20; index += 1) {
        expect(await store.reserve([budget], now)).toMatchObject({ ok: true, unbacked: true });
        await store.settle('some-reservation', [5], now);
        await expect(store.query({})).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      }
      expect(performance.now() - started).toBeLessThan(150);
      expect(state.calls.settle + state.calls.query).toBe(0);
      // Probes are single and spaced by the retry delay, never one per call.
      await sleep(200);
      expect(state.calls.reserve + state.calls.probe).toBeLessThanOrEqual(4);
      expect(store.stats().shortCircuited).toBeGreaterThanOrEqual(60);
      state.down = false;
      let backed = false;
      for (let attempt = 0; attempt < 100 && !backed; attempt += 1) {
        const result = await store.reserve([budget], now);
        backed = result.ok && result.unbacked !== true;
        if (!backed) await sleep(20);
      }
      expect(backed).toBe(true);
      expect(store.stats().outage).toBe(false);
      expect(logger.lines).toEqual([
        expect.stringMatching(/^warn tokenmeter: the slow store is unavailable \(Command timed out\)/),
        expect.stringMatching(/^info tokenmeter: the slow store is back after .* no usage event was lost/),
      ]);
      await store.close();
    });
  }

  it('fail-closed logs one "store down" line per outage and "store back" only after a write succeeded', async () => {
    const { store: inner, state } = slowStore(5, true);
    const logger = captureLogger();
    const store = withFailurePolicy(inner, { mode: 'closed', logger, retryInitialMs: 5, retryMaxMs: 10 });
    for (let index = 0; index < 15; index += 1) {
      await expect(store.reserve([budget], now)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      // Let retry timers fire between calls: an empty retry must not count as the store coming back.
      await sleep(15);
    }
    expect(logger.lines).toEqual([expect.stringMatching(/^warn .*slow store is unavailable.*refusing budgeted/)]);
    state.down = false;
    for (let attempt = 0; attempt < 100 && store.stats().outage; attempt += 1) await sleep(10);
    expect(await store.reserve([budget], now)).toMatchObject({ ok: true });
    expect(logger.lines).toHaveLength(2);
    expect(logger.lines[1]).toMatch(/^info .*slow store is back after/);
    // A second outage is a second pair of lines, no more.
    state.down = true;
    for (let index = 0; index < 5; index += 1) await store.reserve([budget], now).catch(() => undefined);
    expect(logger.lines.filter((line) => line.startsWith('warn'))).toHaveLength(2);
    state.down = false;
    await store.close();
  });

  it('closing with the store down reports exactly the events lost, and never that they were flushed', async () => {
    const { store: inner } = slowStore(5, true);
    const logger = captureLogger();
    const store = withFailurePolicy(inner, { logger, retryInitialMs: 10_000 });
    for (let index = 0; index < 3; index += 1) store.recordEvents([usageEvent()]);
    await sleep(20);
    await store.close();
    expect(store.stats()).toMatchObject({ flushedAtClose: 0, lostAtClose: 3 });
    expect(logger.lines).toEqual([
      expect.stringMatching(/^warn .*slow store is unavailable/),
      expect.stringMatching(
        /^warn tokenmeter: closing with the slow store down \(Command timed out\); 3 usage events are lost\.$/,
      ),
    ]);
  });

  it('closing after the store came back writes what was waiting and says nothing was lost', async () => {
    const { store: inner, state } = slowStore(5, true);
    const logger = captureLogger();
    const store = withFailurePolicy(inner, { logger, retryInitialMs: 10_000 });
    for (let index = 0; index < 4; index += 1) store.recordEvents([usageEvent()]);
    await sleep(20);
    state.down = false;
    await store.close();
    expect(store.stats()).toMatchObject({ flushedAtClose: 4, lostAtClose: 0, buffered: 0 });
    expect(logger.lines.some((line) => /lost/.test(line) && !/no usage event was lost/.test(line))).toBe(false);
  });
});
