import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import express from 'express';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instrumentFetch } from '../src/instrumented-fetch';
import type { InAppMeterOptions } from '../src/meter';
import { budgetErrorHandler, type MeterMiddleware, meter, wrapAnthropic, wrapOpenAI } from '../src/meter';
import { type RequestUsage, requestUsage } from '../src/meter-context';
import { createMemoryStore } from '../src/store-memory';
import type { UsageEvent } from '../src/types';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream';

let upstream: FakeUpstream;
const HI = [{ role: 'user' as const, content: 'Hi' }];

beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream.close();
});

interface InAppHarness {
  url: string;
  middleware: MeterMiddleware;
  events: UsageEvent[];
  totals: RequestUsage[];
  close(): Promise<void>;
}

/** A real Express 5 app that calls the fake upstream through wrapped SDK clients and an instrumented fetch. */
async function startInApp(options: InAppMeterOptions = {}): Promise<InAppHarness> {
  const events: UsageEvent[] = [];
  const totals: RequestUsage[] = [];
  const middleware = meter({
    store: createMemoryStore(),
    identify: (req) => ({ user: req.get('x-user') ?? 'anonymous', feature: 'qa' }),
    onEvent: (event) => events.push(event),
    onRequest: (usage) => totals.push(usage),
    ...options,
  });
  const openai = wrapOpenAI(new OpenAI({ apiKey: 'sk-in-app', baseURL: `${upstream.url}/v1`, maxRetries: 0 }));
  const anthropic = wrapAnthropic(new Anthropic({ apiKey: 'sk-ant-in-app', baseURL: upstream.url, maxRetries: 0 }));
  const meteredFetch = instrumentFetch(fetch);
  const app = express();
  app.use(middleware);
  const topics = express.Router();
  topics.get('/:topic', async (_req, res) => {
    const completion = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: HI, max_tokens: 100 });
    const message = await anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: HI });
    res.json({
      text: `${completion.choices[0]?.message.content} / ${message.content[0]?.type === 'text' ? message.content[0].text : ''}`,
      usage: requestUsage(),
    });
  });
  app.use('/ask', topics);
  app.get('/stream', async (_req, res) => {
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: HI, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    res.json({ chunks: chunks.length, text: chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('') });
  });
  app.get('/gemini', async (_req, res) => {
    const model = `${upstream.url}/v1beta/models/gemini-2.5-flash`;
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] });
    const whole = await meteredFetch(`${model}:generateContent`, { method: 'POST', body });
    const streamed = await meteredFetch(`${model}:streamGenerateContent?alt=sse`, { method: 'POST', body });
    res.json({ whole: await whole.json(), streamed: await streamed.text() });
  });
  app.use(budgetErrorHandler());
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    middleware,
    events,
    totals,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function settled(harness: InAppHarness, count: number): Promise<UsageEvent[]> {
  for (let attempt = 0; attempt < 200 && harness.events.length < count; attempt += 1) {
    await harness.middleware.flush();
    if (harness.events.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return harness.events;
}

/** Chat calls through an instrumented fetch, outside any request, with the fake upstream's `x-fake` fault. */
function faultyChat(events: UsageEvent[], extra: Record<string, unknown> = {}) {
  const meteredFetch = instrumentFetch(fetch, { onEvent: (event) => events.push(event) });
  return (fault: string) =>
    meteredFetch(`${upstream.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-fake': fault },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: HI, ...extra }),
    });
}

describe('meter(): in-app metering through AsyncLocalStorage', () => {
  it('attributes the calls of wrapped OpenAI and Anthropic clients to the request, route pattern and user', async () => {
    const harness = await startInApp();
    try {
      const response = await fetch(`${harness.url}/ask/pricing?secret=1`, { headers: { 'x-user': 'erin' } });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { text: string; usage: RequestUsage };
      expect(body.text).toBe('Hello there! / Hello from Claude!');
      // 5.4 µ$ (gpt-4o-mini, see the proxy test) + 997.5 µ$ (claude-sonnet-4-5) = 1002.9 µ$.
      expect(response.headers.get('x-tokenmeter-calls')).toBe('2');
      expect(response.headers.get('x-tokenmeter-cost')).toBe('0.0010029');
      expect(body.usage).toMatchObject({ calls: 2, cost: '0.0010029', route: '/ask/:topic', user: 'erin' });
      const events = await settled(harness, 2);
      expect(events.map((event) => [event.provider, event.model, event.cost])).toEqual([
        ['openai', 'gpt-4o-mini', '0.0000054'],
        ['anthropic', 'claude-sonnet-4-5', '0.0009975'],
      ]);
      for (const event of events) {
        expect(event).toMatchObject({ route: '/ask/:topic', user: 'erin', feature: 'qa', estimated: false });
      }
      expect(events[0]?.requestId).toBe(events[1]?.requestId);
      expect(harness.totals).toEqual([expect.objectContaining({ calls: 2, cost: '0.0010029', inputTokens: 112 })]);
    } finally {
      await harness.close();
    }
  });

  it('gets usage for an app stream without showing it the usage chunk it did not ask for', async () => {
    const harness = await startInApp();
    try {
      const body = await (await fetch(`${harness.url}/stream`)).json();
      // role chunk, four content chunks, the finish chunk: no extra usage-only chunk.
      expect(body).toEqual({ chunks: 6, text: 'Hello there!' });
      const [event] = await settled(harness, 1);
      expect(event).toMatchObject({
        route: '/stream',
        streamed: true,
        inputTokens: 12,
        cachedInputTokens: 8,
        outputTokens: 5,
      });
    } finally {
      await harness.close();
    }
  });

  it('meters Gemini-shaped calls through an instrumented fetch, whole and streamed', async () => {
    const harness = await startInApp();
    try {
      const body = (await (await fetch(`${harness.url}/gemini`)).json()) as { whole: unknown; streamed: string };
      expect(body.whole).toMatchObject({ usageMetadata: { totalTokenCount: 65 } });
      expect(body.streamed).toContain('Gemini');
      const events = await settled(harness, 2);
      // gemini-2.5-flash: $0.30 input, $0.03 cached, $2.50 output and thinking per million (Google pricing page).
      // 30 × 0.3 + 10 × 0.03 + 20 × 2.5 + 5 × 2.5 = 9 + 0.3 + 50 + 12.5 = 71.8 µ$
      for (const event of events) {
        expect(event).toMatchObject({
          provider: 'google',
          operation: 'generate_content',
          model: 'gemini-2.5-flash',
          inputTokens: 30,
          cachedInputTokens: 10,
          outputTokens: 20,
          reasoningTokens: 5,
          cost: '0.0000718',
          estimated: false,
        });
      }
      expect(events.map((event) => event.streamed)).toEqual([false, true]);
    } finally {
      await harness.close();
    }
  });

  it('refuses a call over budget: the SDK does not retry and budgetErrorHandler answers 429', async () => {
    const harness = await startInApp({ budgets: { scope: 'user', limit: { tokens: 50 } } });
    try {
      const response = await fetch(`${harness.url}/ask/limits`, { headers: { 'x-user': 'frank' } });
      expect(response.status).toBe(429);
      expect(response.headers.get('x-tokenmeter-budget-id')).toBe('user:frank:tokens:day');
      expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await response.json()).toMatchObject({ error: { type: 'budget_exceeded', code: 'budget_exceeded' } });
      const before = upstream.requests.length;
      const [event] = await settled(harness, 1);
      expect(event).toMatchObject({ rejected: true, status: 429, user: 'frank', inputTokens: 0 });
      expect(upstream.requests.length).toBe(before);
    } finally {
      await harness.close();
    }
  });

  it('meters calls made outside any request with the options given to the wrapper', async () => {
    const events: UsageEvent[] = [];
    const client = wrapOpenAI(new OpenAI({ apiKey: 'sk-bg', baseURL: `${upstream.url}/v1`, maxRetries: 0 }), {
      onEvent: (event) => events.push(event),
    });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: HI });
    for (let attempt = 0; attempt < 100 && events.length === 0; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(events).toEqual([expect.objectContaining({ route: '(background)', cost: '0.0000054' })]);
  });

  it('records a stream the caller cancels, and one the upstream cuts, with what was seen (estimated)', async () => {
    const events: UsageEvent[] = [];
    const request = faultyChat(events, { stream: true });
    const slow = await request('slow');
    const reader = slow.body!.getReader();
    await reader.read();
    await reader.cancel();
    const cut = await request('cut');
    await expect(cut.text()).rejects.toThrow();
    for (let attempt = 0; attempt < 100 && events.length < 2; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // 8 prompt tokens counted (see the proxy test); the cut stream showed "Hello there" = 2 tokens.
    expect(events).toEqual([
      expect.objectContaining({ error: 'client_abort', estimated: true, inputTokens: 8, streamed: true }),
      expect.objectContaining({
        error: 'stream_cut',
        estimated: true,
        inputTokens: 8,
        outputTokens: 2,
        streamed: true,
      }),
    ]);
  });

  it('records a JSON answer the app never reads, one cut mid-body and one that is not JSON, which fail only when read', async () => {
    const events: UsageEvent[] = [];
    const request = faultyChat(events);
    const unread = await request('');
    expect(unread.status).toBe(200);
    const cut = await request('cut');
    expect(cut.status).toBe(200);
    await expect(cut.json()).rejects.toThrow();
    // Not JSON at all: the app's json() fails as it would have without tokenmeter; the call is still recorded.
    const malformed = await request('malformed');
    await expect(malformed.json()).rejects.toThrow(SyntaxError);
    for (let attempt = 0; attempt < 100 && events.length < 3; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(events).toEqual([
      expect.objectContaining({ estimated: false, inputTokens: 12, cachedInputTokens: 8, streamed: false }),
      expect.objectContaining({ error: 'stream_cut', estimated: true, inputTokens: 8, outputTokens: 0 }),
      expect.objectContaining({ estimated: true, inputTokens: 8, status: 200 }),
    ]);
  });

  it('rejects, never throws, when the wrapped fetch throws', async () => {
    const events: UsageEvent[] = [];
    const throwing = instrumentFetch(
      () => {
        throw new TypeError('no network');
      },
      { onEvent: (event) => events.push(event) },
    );
    const body = JSON.stringify({ model: 'gpt-4o-mini', messages: HI });
    let pending: Promise<Response> | undefined;
    expect(() => {
      pending = throwing(`${upstream.url}/v1/chat/completions`, { method: 'POST', body });
    }).not.toThrow();
    await expect(pending).rejects.toThrow('no network');
    // A request that is not an AI call goes straight to the wrapped fetch, and fails the same way.
    let passedThrough: Promise<Response> | undefined;
    expect(() => {
      passedThrough = throwing(`${upstream.url}/v1/models`);
    }).not.toThrow();
    await expect(passedThrough).rejects.toThrow('no network');
    // The call never reached an upstream: recorded as an upstream error with no tokens spent.
    for (let attempt = 0; attempt < 100 && events.length === 0; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(events).toEqual([expect.objectContaining({ error: 'upstream_error', inputTokens: 0, status: 0 })]);
  });

  it('leaves requests that are not AI calls alone', async () => {
    const wrapped = instrumentFetch(fetch, { onEvent: () => expect.unreachable() });
    const response = await wrapped(`${upstream.url}/v1/models`);
    expect(response.status).toBe(200);
  });
});
