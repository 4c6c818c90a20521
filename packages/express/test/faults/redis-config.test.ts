import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProxy, startProxy } from '../../src/proxy-server';
import { StoreConfigurationError } from '../../src/store-configuration-error';
import type { PolicedStore } from '../../src/store-failure-policy';
import { createRedisStore } from '../../src/store-redis';
import { DAY_UTC } from '../../src/store-test-support';
import { chatBody, type FaultUpstream, post, startFaultUpstream } from './fault-upstream';
import { type OwnRedis, startOwnRedis } from './own-redis';

const PASSWORD = 'tokenmeter-test-secret';
const quiet = { warn: () => {}, info: () => {} };

describe('a Redis that refuses the configuration stops the start, loudly', { timeout: 60_000 }, () => {
  let redis: OwnRedis;
  let noScripts: OwnRedis;
  let upstream: FaultUpstream;

  beforeAll(async () => {
    // One after the other, so that afterAll stops whichever started even if a later one fails.
    redis = await startOwnRedis({ password: PASSWORD });
    // A Redis-compatible server without scripting, as some managed offerings are.
    noScripts = await startOwnRedis({ extra: ['--rename-command', 'SCRIPT', '', '--rename-command', 'EVALSHA', ''] });
    upstream = await startFaultUpstream();
  });

  afterAll(async () => {
    await redis?.stop();
    await noScripts?.stop();
    await upstream?.close();
  });

  const cases: [string, () => string, RegExp][] = [
    ['no password', () => `redis://127.0.0.1:${redis.port}`, /NOAUTH.*password/],
    ['a wrong password', () => `redis://:wrong@127.0.0.1:${redis.port}`, /WRONGPASS.*password/],
    ['a database the server does not have', () => `${redis.url}/99`, /DB index is out of range.*database number/],
    ['no Lua scripting', () => noScripts.url, /unknown command.*scripting/],
  ];
  for (const [name, url, message] of cases) {
    it(`startProxy() rejects with STORE_MISCONFIGURED for ${name}, at once`, async () => {
      const started = performance.now();
      const failure = await startProxy({
        port: 0,
        upstream: `${upstream.url}/v1`,
        store: url(),
        logger: quiet,
      }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(StoreConfigurationError);
      expect(failure).toMatchObject({ code: 'STORE_MISCONFIGURED', store: 'redis' });
      expect((failure as Error).message).toMatch(message);
      // The password never appears in the message.
      expect((failure as Error).message).not.toContain(PASSWORD);
      expect(performance.now() - started).toBeLessThan(5_000);
    });
  }

  it('a budgeted call through a store whose password is wrong fails with the cause, not a vague timeout', async () => {
    const store = createRedisStore({ url: `redis://:wrong@127.0.0.1:${redis.port}`, commandTimeoutMs: 2_000 });
    const started = performance.now();
    await expect(store.connect()).rejects.toMatchObject({ code: 'STORE_MISCONFIGURED' });
    const budget = { budgetId: 'b', window: DAY_UTC, limit: 10, amount: 1 };
    await expect(store.reserve([budget], Date.now())).rejects.toThrow(/WRONGPASS/);
    expect(performance.now() - started).toBeLessThan(1_500);
    await store.close();
  });

  it('with the right password it starts; a killed Redis costs one timeout, then recovery is logged once', async () => {
    const lines: string[] = [];
    const logger = {
      warn: (line: string) => lines.push(`warn ${line}`),
      info: (line: string) => lines.push(`info ${line}`),
    };
    const { withFailurePolicy } = await import('../../src/store-failure-policy');
    const store = withFailurePolicy(
      createRedisStore({ url: redis.url, prefix: 'tm-config-test:', commandTimeoutMs: 500 }),
      { mode: 'closed', logger, retryInitialMs: 50, retryMaxMs: 200 },
    );
    const running: RunningProxy = await startProxy({
      port: 0,
      upstream: `${upstream.url}/v1`,
      store,
      budgets: { scope: 'global', limit: { tokens: 100_000_000 } },
      logger: quiet,
    });
    try {
      expect((await post(`${running.url}/v1/chat/completions`, chatBody(0))).status).toBe(200);
      await redis.kill();
      const started = performance.now();
      const during: number[] = [];
      for (let index = 1; index <= 20; index += 1) {
        during.push((await post(`${running.url}/v1/chat/completions`, chatBody(index))).status);
      }
      expect(during).toEqual(Array(20).fill(503));
      // One command timeout (500 ms) at most for the first refusal; the other 19 fail fast.
      expect(performance.now() - started).toBeLessThan(1_500);
      expect((running.store as PolicedStore).stats().shortCircuited).toBeGreaterThanOrEqual(19);
      expect(lines.filter((line) => line.startsWith('info'))).toEqual([]);
      await redis.restart();
      let status = 0;
      for (let attempt = 0; attempt < 100 && status !== 200; attempt += 1) {
        status = (await post(`${running.url}/v1/chat/completions`, chatBody(100 + attempt))).status;
        if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(status).toBe(200);
      expect(lines.filter((line) => line.startsWith('warn'))).toHaveLength(1);
      expect(lines.filter((line) => line.startsWith('info'))).toEqual([expect.stringMatching(/store is back after/)]);
    } finally {
      await running.close();
    }
  });

  it('shutting down with Redis down reports the events lost, and only that', async () => {
    const lines: string[] = [];
    const logger = {
      warn: (line: string) => lines.push(`warn ${line}`),
      info: (line: string) => lines.push(`info ${line}`),
    };
    const { withFailurePolicy } = await import('../../src/store-failure-policy');
    const store = withFailurePolicy(
      createRedisStore({ url: redis.url, prefix: 'tm-config-test:', commandTimeoutMs: 300 }),
      { logger, retryInitialMs: 10_000 },
    );
    const running = await startProxy({ port: 0, upstream: `${upstream.url}/v1`, store, logger: quiet });
    await redis.kill();
    for (let index = 0; index < 5; index += 1) {
      expect((await post(`${running.url}/v1/chat/completions`, chatBody(index))).status).toBe(200);
    }
    const report = await running.close();
    expect(report).toEqual({ eventsFlushed: 0, eventsLost: 5 });
    expect(lines.at(-1)).toMatch(/closing with the redis store down .*; 5 usage events are lost\.$/);
    expect(lines.some((line) => /flushed/.test(line))).toBe(false);
    await redis.restart();
  });
});
