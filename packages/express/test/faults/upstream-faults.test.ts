import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type MeteredProxy, meteredProxy } from '../../src/metered-proxy';
import { createMemoryStore, type MemoryStore } from '../../src/store-memory';
import type { UsageEvent } from '../../src/types';
import { chatBody, type FaultUpstream, post, startFaultUpstream } from './fault-upstream';

const DAY_UTC = { kind: 'calendar', period: 'day', timeZone: 'UTC' } as const;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

function tokensOf(event: UsageEvent): number {
  return (
    event.inputTokens +
    event.cachedInputTokens +
    event.cacheWrite5mTokens +
    event.cacheWrite1hTokens +
    event.outputTokens +
    event.reasoningTokens
  );
}

describe('upstream and client faults at the metered proxy', { timeout: 60_000 }, () => {
  let upstream: FaultUpstream;
  let store: MemoryStore;
  let proxy: MeteredProxy;
  let server: http.Server;
  let url: string;
  const events: UsageEvent[] = [];
  let budgetId = '';

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    upstream = await startFaultUpstream();
    store = createMemoryStore();
    proxy = meteredProxy({
      upstream: `${upstream.url}/v1`,
      store,
      budgets: { scope: 'global', limit: { tokens: 10_000_000 } },
      upstreamTimeoutMs: 300,
      onEvent: (event) => events.push(event),
    });
    const app = express();
    app.use('/v1', proxy);
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
    const healthy = await post(url, chatBody(0));
    expect(healthy.status).toBe(200);
    budgetId = String(healthy.headers['x-tokenmeter-budget-id']);
  });

  afterEach(() => {
    expect(unhandled).toEqual([]);
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    await proxy?.close();
    await upstream?.close();
  });

  /** Waits (bounded) for the next event and returns it with the budget used before and after. */
  async function nextEvent(action: () => Promise<unknown>) {
    const count = events.length;
    const usedBefore = store.budgetUsage(budgetId, DAY_UTC, Date.now());
    const outcome = await action();
    for (let attempt = 0; attempt < 300 && events.length === count; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(events.length).toBe(count + 1);
    const event = events[count] as UsageEvent;
    // The reservation (prompt + 10 max tokens) is gone: only what the event settled remains.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const usedAfter = store.budgetUsage(budgetId, DAY_UTC, Date.now());
    return { outcome, event, spent: usedAfter - usedBefore };
  }

  it('upstream reset mid-stream: an SSE error event, the call recorded as estimated, the budget settled to it', async () => {
    const { outcome, event, spent } = await nextEvent(() =>
      post(url, chatBody(1, { stream: true, stream_options: { include_usage: true } }), {
        'x-fault': 'reset-mid-stream',
      }),
    );
    const { body } = outcome as { body: string };
    expect(body).toContain('Hello');
    expect(body).toContain('event: error');
    expect(body).toContain('"code":"stream_cut"');
    expect(event).toMatchObject({ error: 'stream_cut', estimated: true, streamed: true });
    expect(event.inputTokens).toBeGreaterThan(0);
    // "Hello there" was seen: counted, never zero.
    expect(event.outputTokens).toBeGreaterThanOrEqual(2);
    expect(spent).toBe(tokensOf(event));
  });

  it('upstream reset before answering: 502 with a clear code, the reservation released', async () => {
    const { outcome, event, spent } = await nextEvent(() =>
      post(url, chatBody(2), { 'x-fault': 'reset-before-response' }),
    );
    const { status, body } = outcome as { status: number; body: string };
    expect(status).toBe(502);
    expect(JSON.parse(body)).toMatchObject({ error: { code: 'upstream_unreachable' } });
    expect(event).toMatchObject({ status: 502, error: 'upstream_error' });
    expect(spent).toBe(tokensOf(event));
  });

  it('upstream timeout before answering: 504, recorded, the reservation released', async () => {
    const { outcome, event, spent } = await nextEvent(() => post(url, chatBody(3), { 'x-fault': 'hang' }));
    const { status, body } = outcome as { status: number; body: string };
    expect(status).toBe(504);
    expect(JSON.parse(body)).toMatchObject({ error: { code: 'upstream_timeout' } });
    expect(event).toMatchObject({ status: 504, error: 'timeout' });
    expect(spent).toBe(tokensOf(event));
  });

  it('upstream silent mid-stream: a timeout error event, the output seen counted', async () => {
    const { outcome, event, spent } = await nextEvent(() =>
      post(url, chatBody(4, { stream: true }), { 'x-fault': 'hang-mid-stream' }),
    );
    expect((outcome as { body: string }).body).toContain('"code":"timeout"');
    expect(event).toMatchObject({ error: 'timeout', estimated: true, streamed: true });
    expect(event.outputTokens).toBeGreaterThanOrEqual(1);
    expect(spent).toBe(tokensOf(event));
  });

  it('client abort mid-stream: recorded as estimated with what was seen, the upstream call cut', async () => {
    const { event, spent } = await nextEvent(
      () =>
        new Promise<void>((resolve) => {
          const body = chatBody(5, { stream: true, stream_options: { include_usage: true } });
          const request = http.request(url, {
            method: 'POST',
            agent: false,
            headers: { 'content-type': 'application/json', 'x-fault': 'big-stream', 'x-chunks': '5000' },
          });
          request.on('response', (response) => {
            response.once('data', () => {
              request.destroy();
              resolve();
            });
          });
          request.on('error', () => resolve());
          request.end(body);
        }),
    );
    expect(event).toMatchObject({ error: 'client_abort', estimated: true, streamed: true });
    expect(event.outputTokens).toBeGreaterThan(0);
    expect(spent).toBe(tokensOf(event));
  });

  it('slow client reading a long stream: every byte arrives and the reported usage is recorded exactly', async () => {
    const { outcome, event, spent } = await nextEvent(
      () =>
        new Promise<string>((resolve, reject) => {
          const body = chatBody(6, { stream: true, stream_options: { include_usage: true } });
          const request = http.request(url, {
            method: 'POST',
            agent: false,
            headers: { 'content-type': 'application/json', 'x-fault': 'big-stream', 'x-chunks': '400' },
          });
          request.on('response', (response) => {
            let text = '';
            let pauses = 0;
            response.on('data', (chunk: Buffer) => {
              text += chunk.toString('utf8');
              // A slow reader: stop reading five times for 50 ms, so backpressure reaches the upstream.
              if (pauses < 5) {
                pauses++;
                response.pause();
                setTimeout(() => response.resume(), 50);
              }
            });
            response.on('end', () => resolve(text));
            response.on('error', reject);
          });
          request.on('error', reject);
          request.end(body);
        }),
    );
    const text = outcome as string;
    expect(text.match(/"content":"\d+ x+"/g)?.length).toBe(400);
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(event).toMatchObject({ estimated: false, outputTokens: 10, streamed: true });
    expect(event.error).toBeUndefined();
    expect(spent).toBe(tokensOf(event));
  });

  it('slow client sending its body in pieces: answered normally', async () => {
    const { outcome, event } = await nextEvent(
      () =>
        new Promise<number>((resolve, reject) => {
          const body = Buffer.from(chatBody(7));
          const request = http.request(url, {
            method: 'POST',
            agent: false,
            headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
          });
          request.on('response', (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode ?? 0));
          });
          request.on('error', reject);
          request.write(body.subarray(0, 10));
          setTimeout(() => request.write(body.subarray(10, 40)), 50);
          setTimeout(() => request.end(body.subarray(40)), 100);
        }),
    );
    expect(outcome).toBe(200);
    expect(event).toMatchObject({ status: 200, estimated: false, outputTokens: 10 });
  });

  it('client gone before its body is complete: nothing forwarded, nothing reserved, nothing recorded', async () => {
    const received = upstream.received;
    const count = events.length;
    const usedBefore = store.budgetUsage(budgetId, DAY_UTC, Date.now());
    await new Promise<void>((resolve) => {
      const request = http.request(url, {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': '500' },
      });
      request.on('error', () => resolve());
      request.write('{"model":"gpt-4o-mini","messages":[');
      setTimeout(() => {
        request.destroy();
        resolve();
      }, 50);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(upstream.received).toBe(received);
    expect(events.length).toBe(count);
    expect(store.budgetUsage(budgetId, DAY_UTC, Date.now())).toBe(usedBefore);
  });
});
