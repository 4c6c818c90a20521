import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { instrumentFetch } from '../src/instrumented-fetch';
import type { UsageEvent } from '../src/types';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream';
import { type ProxyApp, startProxyApp } from './test-app';

// A counting spy around core's tokenizer entry points (counts and reservation bounds): the real counters run,
// every call is tallied.
const counted = vi.hoisted(() => ({ calls: 0 }));
vi.mock('@tokenmeter/core', async (importOriginal) => {
  const core = await importOriginal<typeof import('@tokenmeter/core')>();
  const spy =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      counted.calls += 1;
      return fn(...args);
    };
  return {
    ...core,
    countTokens: spy(core.countTokens),
    countTokensAsync: spy(core.countTokensAsync),
    countChatTokens: spy(core.countChatTokens),
    // Reservations bound the prompt instead of estimating it: the same tokenizer work, counted the same.
    promptTokenBound: spy(core.promptTokenBound),
    promptTokenBoundAsync: spy(core.promptTokenBoundAsync),
  };
});

let upstream: FakeUpstream;
let app: ProxyApp | undefined;

beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream.close();
});
beforeEach(() => {
  counted.calls = 0;
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const HI = [{ role: 'user' as const, content: 'Hi' }];

function openai(base: string, extra: Record<string, string> = {}) {
  return new OpenAI({
    apiKey: 'sk-lazy',
    baseURL: `${base}/v1`,
    maxRetries: 0,
    defaultHeaders: { 'x-user': 'lazy', ...extra },
  });
}

describe('the prompt is counted only when a call needs it', () => {
  it('proxy, no budget, reported usage: the tokenizer is never called (plain and streamed)', async () => {
    app = await startProxyApp(upstream);
    await openai(app.url).chat.completions.create({ model: 'gpt-4o-mini', messages: HI });
    const stream = await openai(app.url).chat.completions.create({ model: 'gpt-4o-mini', messages: HI, stream: true });
    for await (const _chunk of stream) {
      // drain
    }
    await openai(app.url).responses.create({ model: 'gpt-4.1-mini', input: 'Say hi' });
    const events = await app.eventsAfter(3);
    expect(events.map((event) => event.estimated)).toEqual([false, false, false]);
    expect(counted.calls).toBe(0);
  });

  it('proxy, no budget, background response: counted only if its result is never retrieved', async () => {
    app = await startProxyApp(upstream);
    const started = await openai(app.url).responses.create({
      model: 'gpt-4.1-mini',
      input: 'Say hi',
      background: true,
    });
    let status: string = started.status ?? '';
    for (let poll = 0; poll < 10 && status !== 'completed'; poll += 1) {
      status = (await openai(app.url).responses.retrieve(started.id)).status ?? '';
    }
    expect(status).toBe('completed');
    const [event] = await app.eventsAfter(1);
    expect(event).toMatchObject({ estimated: false });
    expect(counted.calls).toBe(0);
  });

  it('proxy, no budget, background response never retrieved: the prompt is counted when it expires', async () => {
    app = await startProxyApp(upstream, { backgroundSettleMs: 50 });
    await openai(app.url).responses.create({ model: 'gpt-4.1-mini', input: 'Say hi', background: true });
    const [event] = await app.eventsAfter(1);
    expect(event).toMatchObject({ error: 'not_retrieved', estimated: true });
    expect(event?.inputTokens).toBeGreaterThan(0);
    expect(counted.calls).toBeGreaterThan(0);
  });

  it('proxy, no budget, stream cut before usage: the prompt and the output seen are counted', async () => {
    app = await startProxyApp(upstream);
    const stream = await openai(app.url, { 'x-fake': 'cut' }).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: HI,
      stream: true,
    });
    await expect(
      (async () => {
        for await (const _chunk of stream) {
          // drain
        }
      })(),
    ).rejects.toThrow();
    const [event] = await app.eventsAfter(1);
    expect(event).toMatchObject({ estimated: true, error: 'stream_cut', inputTokens: 8 });
    expect(counted.calls).toBeGreaterThan(0);
  });

  it('proxy with a budget: the prompt is counted for the reservation', async () => {
    app = await startProxyApp(upstream, { budgets: { scope: 'user', limit: { tokens: 100_000 }, window: 'day' } });
    await openai(app.url).chat.completions.create({ model: 'gpt-4o-mini', messages: HI });
    await app.eventsAfter(1);
    expect(counted.calls).toBeGreaterThan(0);
  });

  it('instrumented fetch: no count with reported usage, a count when the usage block is missing', async () => {
    const events: UsageEvent[] = [];
    const meteredFetch = instrumentFetch(fetch, { onEvent: (event) => events.push(event) });
    const chat = async (fault?: string) => {
      const response = await meteredFetch(`${upstream.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(fault ? { 'x-fake': fault } : {}) },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: HI }),
      });
      await response.json();
    };
    await chat();
    await vi.waitFor(() => expect(events).toHaveLength(1));
    expect(events[0]).toMatchObject({ estimated: false });
    expect(counted.calls).toBe(0);
    await chat('no-usage');
    await vi.waitFor(() => expect(events).toHaveLength(2));
    expect(events[1]).toMatchObject({ estimated: true, inputTokens: 8 });
    expect(counted.calls).toBeGreaterThan(0);
  });
});
