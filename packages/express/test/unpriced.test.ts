import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidMeterOptionsError } from '../src/invalid-meter-options-error';
import { budgetErrorHandler, meter, wrapOpenAI } from '../src/meter';
import { parseMeterOptions, UNPRICED_WARNING_LIMIT } from '../src/meter-config';
import type { MeterOptions } from '../src/meter-options';
import { createMetrics } from '../src/metrics';
import { createMemoryStore } from '../src/store-memory';
import { createRedisStore } from '../src/store-redis';
import type { BudgetWindow, Store, UsageEvent } from '../src/types';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream';
import { type ProxyApp, startProxyApp } from './test-app';

/**
 * `unpricedPolicy` under concurrency: many calls of a model the catalog has no price for, at once, through the
 * metered proxy and through meter() + wrapOpenAI, with the memory store and with Redis. The fake upstream
 * answers Chat Completions in the shape of OpenAI's chat completion object
 * (https://platform.openai.com/docs/api-reference/chat/object) with usage 20 prompt tokens (8 cached) +
 * 5 completion tokens, and echoes the requested model name. gpt-4o-mini prices (priceAs): $0.15 input,
 * $0.075 cached input, $0.60 output per million tokens (https://openai.com/api/pricing/).
 */

const DAY: BudgetWindow = { kind: 'calendar', period: 'day', timeZone: 'UTC' };
const CONCURRENT = 40;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const admin = new Redis(redisUrl, { lazyConnect: true });
const prefixes: string[] = [];
const opened: Store[] = [];

let upstream: FakeUpstream;
let app: { close(): Promise<void> } | undefined;

beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream.close();
  admin.disconnect();
});
afterEach(async () => {
  await app?.close();
  app = undefined;
  await Promise.all(opened.splice(0).map((store) => store.close()));
  for (const prefix of prefixes.splice(0)) {
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
  }
});

const STORES: Array<[string, () => Store]> = [
  ['memory', () => createMemoryStore()],
  [
    'redis',
    () => {
      const prefix = `tokenmeter-test:unpriced:${randomBytes(6).toString('hex')}:`;
      prefixes.push(prefix);
      const store = createRedisStore({ url: redisUrl, prefix });
      opened.push(store);
      return store;
    },
  ],
];

/** A model name no catalog knows, unique per test so upstream requests can be told apart. */
function unknownModel(): string {
  return `acme-frontier-${randomBytes(4).toString('hex')}`;
}

function upstreamCalls(model: string): number {
  return upstream.requests.filter((request) => request.body.model === model).length;
}

function logCollector() {
  const lines: string[] = [];
  return { lines, logger: { warn: (line: string) => lines.push(line) } };
}

/** Through the proxy: `count` concurrent Chat Completions by user alice. */
async function proxyCalls(proxy: ProxyApp, model: string, count: number): Promise<Response[]> {
  return Promise.all(
    Array.from({ length: count }, () =>
      fetch(`${proxy.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user': 'alice' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 100 }),
      }),
    ),
  );
}

interface InApp {
  url: string;
  events: UsageEvent[];
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** meter() + a wrapped OpenAI client calling the fake upstream from a real Express handler. */
async function startInApp(options: MeterOptions): Promise<InApp> {
  const events: UsageEvent[] = [];
  const middleware = meter({
    identify: () => ({ user: 'alice' }),
    ...options,
    onEvent: (event) => events.push(event),
  });
  const openai = wrapOpenAI(new OpenAI({ apiKey: 'sk-test', baseURL: `${upstream.url}/v1`, maxRetries: 0 }));
  const server = express()
    .use(middleware)
    .get('/ask/:model', async (req, res) => {
      const completion = await openai.chat.completions.create({
        model: req.params.model,
        messages: [{ role: 'user', content: 'Hi' }],
        max_tokens: 100,
      });
      res.json({ text: completion.choices[0]?.message.content });
    })
    .use(budgetErrorHandler())
    .listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    events,
    flush: () => middleware.flush(),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await middleware.flush();
    },
  };
}

async function inAppCalls(inApp: InApp, model: string, count: number): Promise<Response[]> {
  return Promise.all(Array.from({ length: count }, () => fetch(`${inApp.url}/ask/${model}`)));
}

async function waitForEvents(events: UsageEvent[], count: number, flush: () => Promise<void>): Promise<void> {
  for (let attempt = 0; attempt < 400 && events.length < count; attempt += 1) {
    await flush();
    if (events.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(events.length).toBe(count);
}

const paths = [
  ['proxy', 'metered proxy'],
  ['in-app', 'meter() + wrapOpenAI'],
] as const;

/** Starts either front with the options and returns a uniform handle. */
async function start(path: 'proxy' | 'in-app', options: MeterOptions) {
  if (path === 'proxy') {
    const proxy = await startProxyApp(upstream, options);
    app = proxy;
    return {
      events: proxy.events,
      calls: (model: string, count: number) => proxyCalls(proxy, model, count),
      settled: (count: number) => waitForEvents(proxy.events, count, () => proxy.proxy.flush()),
    };
  }
  const inApp = await startInApp(options);
  app = inApp;
  return {
    events: inApp.events,
    calls: (model: string, count: number) => inAppCalls(inApp, model, count),
    settled: (count: number) => waitForEvents(inApp.events, count, inApp.flush),
  };
}

describe.each(STORES)('unpriced models under concurrency (%s store)', (_name, openStore) => {
  describe.each(paths)('%s', (path) => {
    it('refuse (the default): no call reaches the upstream, each answers 403 unpriced_model, one log line', async () => {
      const store = openStore();
      const { lines, logger } = logCollector();
      const metrics = createMetrics();
      const front = await start(path, { store, logger, metrics, budgets: 'user:5/day' });
      const model = unknownModel();
      const responses = await front.calls(model, CONCURRENT);
      expect(responses.map((response) => response.status)).toEqual(Array(CONCURRENT).fill(403));
      const body = (await responses[0]?.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('unpriced_model');
      expect(body.error.message).toContain(`Model "${model}" has no price`);
      expect(responses[0]?.headers.get('x-tokenmeter-budget-id')).toBe('user:alice:usd:day');
      expect(upstreamCalls(model)).toBe(0);
      await front.settled(CONCURRENT);
      for (const event of front.events) {
        expect(event).toMatchObject({ model, rejected: true, status: 403, priced: false, unpricedPolicy: 'refuse' });
      }
      expect(await store.budgetUsage('user:alice:usd:day', DAY, Date.now())).toBe(0);
      expect(lines.filter((line) => line.includes('[UNPRICED_MODEL]'))).toHaveLength(1);
      expect(lines[0]).toContain(`model "${model}" has no price`);
      expect(lines[0]).toContain('docs/errors.md#unpriced-model');
      const text = await metrics.registry.metrics();
      expect(text).toContain(`tokenmeter_unpriced_calls_total{model="${model}",policy="refuse"} ${CONCURRENT}`);
      expect(text).toContain(`tokenmeter_budget_rejections_total{scope="user"} ${CONCURRENT}`);
      // A priced model under the same budget still goes through.
      const [priced] = await front.calls('gpt-4o-mini', 1);
      expect(priced?.status).toBe(200);
    });

    it('price-as: reserved and settled at the named model, spend never exceeds the budget', async () => {
      const store = openStore();
      // At gpt-4o-mini prices a call reserves ≈ 61 µ$ (its prompt + 100 output tokens) and costs 5.4 µ$
      // (12 uncached × $0.15 + 8 cached × $0.075 + 5 output × $0.60 per million): 100 µ$ holds one at a time.
      const front = await start(path, {
        store,
        logger: logCollector().logger,
        budgets: { scope: 'user', limit: '0.0001', window: 'day' },
        unpricedPolicy: { priceAs: 'gpt-4o-mini' },
      });
      const model = unknownModel();
      const responses = await front.calls(model, CONCURRENT);
      const statuses = responses.map((response) => response.status);
      const accepted = statuses.filter((status) => status === 200).length;
      expect(accepted + statuses.filter((status) => status === 429).length).toBe(CONCURRENT);
      expect(accepted).toBeGreaterThanOrEqual(1);
      expect(accepted).toBeLessThanOrEqual(8);
      expect(upstreamCalls(model)).toBe(accepted);
      if (path === 'proxy') {
        const served = responses.find((response) => response.status === 200);
        expect(served?.headers.get('x-tokenmeter-priced-as')).toBe('gpt-4o-mini');
        expect(served?.headers.get('x-tokenmeter-cost')).toBe('0.0000054');
      }
      await front.settled(CONCURRENT);
      const used = await store.budgetUsage('user:alice:usd:day', DAY, Date.now());
      expect(used).toBe(accepted * 5400);
      expect(used).toBeLessThanOrEqual(100_000);
      const served = front.events.filter((event) => !event.rejected);
      expect(served).toHaveLength(accepted);
      for (const event of served) {
        expect(event).toMatchObject({
          model,
          priced: true,
          cost: '0.0000054',
          pricedAs: 'gpt-4o-mini',
          unpricedPolicy: 'price_as',
        });
      }
    });

    it('allow: served and recorded unpriced, $0 on USD budgets, tokens counted against token budgets', async () => {
      const store = openStore();
      const front = await start(path, {
        store,
        logger: logCollector().logger,
        // Each call reserves its prompt + 100 output tokens and settles at 25 (20 prompt + 5 completion).
        budgets: ['user:5/day', { scope: 'user', limit: { tokens: 600 }, window: 'day' }],
        unpricedPolicy: 'allow',
      });
      const model = unknownModel();
      const responses = await front.calls(model, CONCURRENT);
      const statuses = responses.map((response) => response.status);
      const accepted = statuses.filter((status) => status === 200).length;
      const refused = statuses.filter((status) => status === 429).length;
      expect(accepted + refused).toBe(CONCURRENT);
      expect(accepted).toBeGreaterThanOrEqual(1);
      // The token budget is what stops them: at most 600 / 25 calls ever fit.
      expect(refused).toBeGreaterThanOrEqual(1);
      expect(accepted).toBeLessThanOrEqual(24);
      expect(upstreamCalls(model)).toBe(accepted);
      await front.settled(CONCURRENT);
      expect(await store.budgetUsage('user:alice:tokens:day', DAY, Date.now())).toBe(accepted * 25);
      expect(await store.budgetUsage('user:alice:usd:day', DAY, Date.now())).toBe(0);
      const served = front.events.filter((event) => !event.rejected);
      expect(served).toHaveLength(accepted);
      for (const event of served) {
        expect(event).toMatchObject({ model, priced: false, unpricedPolicy: 'allow', inputTokens: 12 });
        expect(event.cost).toBeUndefined();
      }
      const rejected = front.events.filter((event) => event.rejected);
      expect(rejected.every((event) => event.status === 429 && event.unpricedPolicy === 'allow')).toBe(true);
    });
  });
});

describe('unpricedPolicy option', () => {
  it('is validated when the middleware is created', () => {
    expect(() => parseMeterOptions({ unpricedPolicy: 'ignore' as never })).toThrow(InvalidMeterOptionsError);
    expect(() => parseMeterOptions({ unpricedPolicy: { priceAs: '' } })).toThrow(/unpricedPolicy\.priceAs/);
    expect(() => parseMeterOptions({ unpricedPolicy: { priceAs: 'gpt-4oo' } })).toThrow(
      /"gpt-4oo" is not in the catalog.*did you mean "gpt-4o"/,
    );
    expect(parseMeterOptions({}).unpricedPolicy).toEqual({ kind: 'refuse' });
    expect(parseMeterOptions({ unpricedPolicy: 'allow' }).unpricedPolicy).toEqual({ kind: 'allow' });
    const priceAs = parseMeterOptions({ unpricedPolicy: { priceAs: 'openai/gpt-4o-mini' } }).unpricedPolicy;
    expect(priceAs.kind === 'price_as' && priceAs.model.entry.id).toBe('gpt-4o-mini');
  });

  it('logs each unknown model once and stops naming them after the limit', () => {
    const { lines, logger } = logCollector();
    const config = parseMeterOptions({ logger });
    for (let round = 0; round < 3; round += 1) {
      for (let index = 0; index < UNPRICED_WARNING_LIMIT + 50; index += 1) config.warnUnpricedModel(`model-${index}`);
    }
    expect(lines).toHaveLength(UNPRICED_WARNING_LIMIT + 1);
    expect(lines[0]).toContain('"model-0" has no price');
    expect(lines[0]).toContain('no USD budget is configured');
    expect(lines.at(-1)).toContain(`more than ${UNPRICED_WARNING_LIMIT} models without a price`);
  });

  it('serves an unknown model under a soft USD budget only, as allow', async () => {
    const store = createMemoryStore();
    const proxy = await startProxyApp(upstream, {
      store,
      logger: logCollector().logger,
      budgets: { scope: 'user', limit: '1', window: 'day', soft: true },
    });
    app = proxy;
    const model = unknownModel();
    const responses = await proxyCalls(proxy, model, 3);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
    await waitForEvents(proxy.events, 3, () => proxy.proxy.flush());
    expect(proxy.events.every((event) => event.unpricedPolicy === 'allow' && !event.priced)).toBe(true);
  });
});
