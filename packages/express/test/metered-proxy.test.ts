import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../src/metrics';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream';
import { type ProxyApp, startProxyApp } from './test-app';

let upstream: FakeUpstream;
let app: ProxyApp;

beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await app?.close();
});

function openai(extra: Record<string, string> = {}) {
  return new OpenAI({
    apiKey: 'sk-test-secret-123',
    baseURL: `${app.url}/v1`,
    maxRetries: 0,
    defaultHeaders: { 'x-user': 'alice', ...extra },
  });
}

function anthropic(extra: Record<string, string> = {}) {
  return new Anthropic({
    apiKey: 'sk-ant-secret-456',
    baseURL: app.url,
    maxRetries: 0,
    defaultHeaders: { 'x-user': 'bob', ...extra },
  });
}

async function rawChat(base: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-raw', ...headers },
    body: JSON.stringify(body),
  });
  return { response, bytes: Buffer.from(await response.arrayBuffer()) };
}

const HI = [{ role: 'user' as const, content: 'Hi' }];

describe('metered proxy: OpenAI Chat Completions', () => {
  it('meters a non-streamed call with the provider-reported usage and adds cost headers', async () => {
    app = await startProxyApp(upstream);
    const { data, response } = await openai()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: HI })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('Hello there!');
    // gpt-4o-mini: $0.15 / $0.075 cached / $0.60 per million (OpenAI pricing page).
    // 12 uncached × 0.15 + 8 cached × 0.075 + 5 output × 0.60 = 1.8 + 0.6 + 3.0 = 5.4 µ$ = 0.0000054
    expect(response.headers.get('x-tokenmeter-cost')).toBe('0.0000054');
    expect(response.headers.get('x-tokenmeter-input-tokens')).toBe('12');
    expect(response.headers.get('x-tokenmeter-cached-input-tokens')).toBe('8');
    expect(response.headers.get('x-tokenmeter-output-tokens')).toBe('5');
    expect(response.headers.get('x-tokenmeter-estimated')).toBe('false');
    expect(response.headers.get('x-request-id')).toBe('req_fake');
    const [event] = await app.eventsAfter(1);
    expect(event).toMatchObject({
      route: '/v1/chat/completions',
      user: 'alice',
      provider: 'openai',
      model: 'gpt-4o-mini',
      operation: 'chat',
      inputTokens: 12,
      cachedInputTokens: 8,
      outputTokens: 5,
      reasoningTokens: 0,
      cost: '0.0000054',
      priced: true,
      estimated: false,
      status: 200,
      streamed: false,
    });
    // The key is forwarded upstream, and neither it nor the prompt or the answer is in the event.
    expect(upstream.requests.at(-1)?.headers.authorization).toBe('Bearer sk-test-secret-123');
    const stored = JSON.stringify(event);
    expect(stored).not.toContain('sk-test');
    expect(stored).not.toContain('Hello there');
  });

  it('asks a stream for usage, hides the usage chunk from a client that did not ask, and records the exact usage', async () => {
    app = await startProxyApp(upstream);
    const stream = await openai().chat.completions.create({ model: 'gpt-4o-mini', messages: HI, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('Hello there!');
    expect(chunks.every((chunk) => chunk.choices.length === 1 && !('usage' in chunk))).toBe(true);
    expect(upstream.requests.at(-1)?.body.stream_options).toEqual({ include_usage: true });
    const [event] = await app.eventsAfter(1);
    expect(event).toMatchObject({ inputTokens: 12, cachedInputTokens: 8, outputTokens: 5, cost: '0.0000054' });
    expect(event).toMatchObject({ streamed: true, estimated: false });
  });

  it('delivers a stream byte for byte: identical to the upstream without include_usage, and with it', async () => {
    app = await startProxyApp(upstream);
    const body = { model: 'gpt-4o-mini', messages: HI, stream: true };
    const direct = await rawChat(upstream.url, body);
    const proxied = await rawChat(app.url, body);
    expect(proxied.response.headers.get('content-type')).toBe('text/event-stream');
    expect(proxied.bytes.equals(direct.bytes)).toBe(true);
    expect(proxied.bytes.toString()).not.toContain('"usage"');

    const withUsage = { ...body, stream_options: { include_usage: true } };
    const proxiedWithUsage = await rawChat(app.url, withUsage);
    expect(proxiedWithUsage.bytes.equals(upstream.lastResponseBytes())).toBe(true);
    expect(proxiedWithUsage.bytes.toString()).toContain('"prompt_tokens":20');
    const events = await app.eventsAfter(2);
    expect(events.map((event) => event.outputTokens)).toEqual([5, 5]);
  });

  it('passes upstream 4xx and 5xx through unchanged and records no tokens', async () => {
    app = await startProxyApp(upstream);
    const direct = await rawChat(upstream.url, { model: 'gpt-4o-mini', messages: HI }, { 'x-fake': 'status-400' });
    const proxied = await rawChat(app.url, { model: 'gpt-4o-mini', messages: HI }, { 'x-fake': 'status-400' });
    expect(proxied.response.status).toBe(400);
    expect(proxied.response.headers.get('x-upstream-marker')).toBe('yes');
    expect(proxied.bytes.equals(direct.bytes)).toBe(true);
    await expect(
      openai({ 'x-fake': 'status-500' }).chat.completions.create({ model: 'gpt-4o-mini', messages: HI }),
    ).rejects.toMatchObject({ status: 500, message: expect.stringContaining('fake 500') });
    const events = await app.eventsAfter(2);
    expect(events.map((event) => [event.status, event.error, event.inputTokens, event.outputTokens])).toEqual([
      [400, 'upstream_error', 0, 0],
      [500, 'upstream_error', 0, 0],
    ]);
  });

  it('passes malformed upstream JSON through and records the counted prompt as estimated', async () => {
    app = await startProxyApp(upstream);
    const proxied = await rawChat(app.url, { model: 'gpt-4o-mini', messages: HI }, { 'x-fake': 'malformed' });
    expect(proxied.response.status).toBe(200);
    expect(proxied.bytes.toString()).toBe('{"id":"chatcmpl-bad","choices":[{"message":');
    const [event] = await app.eventsAfter(1);
    // [{role: user, content: Hi}] for gpt-4o-mini: 3 per message + "user" (1) + "Hi" (1) + 3 priming = 8.
    expect(event).toMatchObject({ estimated: true, inputTokens: 8, outputTokens: 0, status: 200 });
  });

  it('records a stream cut halfway as estimated with what was seen, and the client gets an error', async () => {
    app = await startProxyApp(upstream);
    const stream = await openai({ 'x-fake': 'cut' }).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: HI,
      stream: true,
    });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
      })(),
    ).rejects.toThrow(/closed the stream/);
    expect(seen.join('')).toBe('Hello there');
    const [event] = await app.eventsAfter(1);
    // Usage never arrived: 8 prompt tokens counted, "Hello there" = 2 output tokens counted (o200k_base).
    expect(event).toMatchObject({
      estimated: true,
      error: 'stream_cut',
      inputTokens: 8,
      outputTokens: 2,
      streamed: true,
    });
  });

  it('breaks the client connection when the upstream dies inside an event it already forwarded', async () => {
    app = await startProxyApp(upstream);
    const body = { model: 'gpt-4o-mini', messages: HI, stream: true, stream_options: { include_usage: true } };
    await expect(rawChat(app.url, body, { 'x-fake': 'cut' })).rejects.toThrow();
    const [event] = await app.eventsAfter(1);
    expect(event).toMatchObject({ estimated: true, error: 'stream_cut', inputTokens: 8 });
    expect(event?.outputTokens).toBeGreaterThan(0);
  });

  it('records a client abort mid-stream with what was seen', async () => {
    app = await startProxyApp(upstream);
    const controller = new AbortController();
    const response = await fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-fake': 'slow' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: HI, stream: true }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    const [event] = await app.eventsAfter(1);
    expect(event).toMatchObject({ estimated: true, error: 'client_abort', inputTokens: 8, streamed: true });
  });

  it('answers 504 when the upstream does not answer in time, and records the timeout', async () => {
    app = await startProxyApp(upstream, { upstreamTimeoutMs: 100 });
    const proxied = await rawChat(app.url, { model: 'gpt-4o-mini', messages: HI }, { 'x-fake': 'hang' });
    expect(proxied.response.status).toBe(504);
    expect(JSON.parse(proxied.bytes.toString())).toMatchObject({ error: { code: 'upstream_timeout' } });
    const [event] = await app.eventsAfter(1);
    expect(event).toMatchObject({ error: 'timeout', status: 504 });
  });

  it('refuses bodies over maxBodyBytes (413) and malformed JSON (400) without forwarding them', async () => {
    app = await startProxyApp(upstream, { maxBodyBytes: 1000 });
    const before = upstream.requests.length;
    const big = await rawChat(app.url, {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'x'.repeat(2000) }],
    });
    expect(big.response.status).toBe(413);
    expect(JSON.parse(big.bytes.toString())).toEqual({
      error: {
        type: 'invalid_request_error',
        code: 'request_too_large',
        message: "The request body is larger than 1000 bytes (the proxy's maxBodyBytes).",
        param: null,
      },
    });
    const broken = await fetch(`${app.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model": "gpt-4o-mini", "messages": [',
    });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_json' } });
    expect(upstream.requests.length).toBe(before);
    await app.proxy.flush();
    expect(app.events).toEqual([]);
  });

  it('forwards paths it does not meter (GET /v1/models) untouched', async () => {
    app = await startProxyApp(upstream);
    const models = await openai().models.list();
    expect(models.data[0]?.id).toBe('gpt-4o-mini');
    await app.proxy.flush();
    expect(app.events).toEqual([]);
  });
});

describe('metered proxy: Responses, Embeddings, Anthropic', () => {
  it('meters the Responses API, streamed and not', async () => {
    app = await startProxyApp(upstream);
    const client = openai();
    const response = await client.responses.create({ model: 'gpt-4.1-mini', input: 'Say hi' });
    expect(response.output_text).toBe('Hi there!');
    const stream = await client.responses.create({ model: 'gpt-4.1-mini', input: 'Say hi', stream: true });
    const kinds: string[] = [];
    for await (const event of stream) kinds.push(event.type);
    expect(kinds).toEqual([
      'response.created',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.completed',
    ]);
    const events = await app.eventsAfter(2);
    // gpt-4.1-mini: $0.40 input, $0.10 cached, $1.60 output per million (OpenAI pricing page); reasoning bills as output.
    // 20 × 0.4 + 10 × 0.1 + 8 × 1.6 + 4 × 1.6 = 8 + 1 + 12.8 + 6.4 = 28.2 µ$
    for (const event of events) {
      expect(event).toMatchObject({
        operation: 'responses',
        model: 'gpt-4.1-mini',
        inputTokens: 20,
        cachedInputTokens: 10,
        outputTokens: 8,
        reasoningTokens: 4,
        cost: '0.0000282',
        estimated: false,
      });
    }
    expect(events.map((event) => event.streamed)).toEqual([false, true]);
  });

  it('records embeddings of a model without a price with their tokens and priced: false', async () => {
    app = await startProxyApp(upstream);
    const { data, response } = await openai()
      .embeddings.create({ model: 'text-embedding-zz-unknown', input: 'hello world' })
      .withResponse();
    expect(data.data[0]?.embedding).toEqual([0.25, -0.5]);
    expect(response.headers.get('x-tokenmeter-priced')).toBe('false');
    expect(response.headers.get('x-tokenmeter-cost')).toBeNull();
    const [event] = await app.eventsAfter(1);
    expect(event).toMatchObject({
      operation: 'embeddings',
      inputTokens: 8,
      outputTokens: 0,
      priced: false,
      estimated: false,
    });
    expect(event?.cost).toBeUndefined();
  });

  it('meters Anthropic Messages, streamed and not, without double counting cache or cumulative deltas', async () => {
    app = await startProxyApp(upstream);
    const client = anthropic();
    const message = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: HI });
    expect(message.content[0]).toMatchObject({ text: 'Hello from Claude!' });
    const stream = client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: HI });
    expect(await stream.finalText()).toBe('Hello from Claude!');
    const events = await app.eventsAfter(2);
    // claude-sonnet-4-5: $3 input, $3.75 5-minute cache write, $0.30 cache read, $15 output per million
    // (Anthropic pricing page): 100 × 3 + 50 × 3.75 + 200 × 0.3 + 30 × 15 = 300 + 187.5 + 60 + 450 = 997.5 µ$
    for (const event of events) {
      expect(event).toMatchObject({
        provider: 'anthropic',
        operation: 'messages',
        route: '/v1/messages',
        user: 'bob',
        inputTokens: 100,
        cacheWrite5mTokens: 50,
        cachedInputTokens: 200,
        outputTokens: 30,
        cost: '0.0009975',
        estimated: false,
      });
    }
    expect(upstream.requests.at(-1)?.headers['x-api-key']).toBe('sk-ant-secret-456');
    expect(upstream.requests.at(-1)?.headers['anthropic-version']).toBeDefined();
  });

  it('joins an Anthropic upstream without a path (the default spelling) to exactly /v1/messages', async () => {
    // `https://api.anthropic.com` has the pathname `/`: the proxy used to send `//v1/messages`, a 404 upstream.
    for (const anthropicUpstream of [upstream.url, `${upstream.url}/`]) {
      app = await startProxyApp(upstream, { anthropicUpstream });
      const message = await anthropic().messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: HI });
      expect(message.content[0]).toMatchObject({ text: 'Hello from Claude!' });
      expect(upstream.requests.at(-1)).toMatchObject({ method: 'POST', path: '/v1/messages' });
      await app.close();
    }
  });

  it('records an Anthropic stream cut after message_start with its reported input, estimated', async () => {
    app = await startProxyApp(upstream);
    const stream = anthropic({ 'x-fake': 'cut' }).messages.stream({
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      messages: HI,
    });
    await expect(stream.finalMessage()).rejects.toThrow();
    const [event] = await app.eventsAfter(1);
    expect(event).toMatchObject({ error: 'stream_cut', estimated: true, inputTokens: 100, cachedInputTokens: 200 });
    expect(event?.outputTokens).toBeGreaterThanOrEqual(1);
  });
});

describe('metered proxy: background responses', () => {
  const DAY = { kind: 'calendar', period: 'day', timeZone: 'UTC' } as const;
  const used = () => app.store.budgetUsage('user:alice:tokens:day', DAY, Date.now());

  it('holds the maximum while a background response runs, and settles it when the result is retrieved', async () => {
    app = await startProxyApp(upstream, { budgets: 'user:100000tokens/day' });
    const client = openai();
    const created = await client.responses.create({
      model: 'gpt-4.1-mini',
      input: 'Say hi',
      background: true,
      max_output_tokens: 1000,
    });
    expect(created.status).toBe('queued');
    await app.proxy.flush();
    // Not booked at the prompt's cost: nothing is recorded yet and the budget holds prompt + 1000 output tokens.
    expect(app.events).toEqual([]);
    expect(await used()).toBeGreaterThan(1000);

    expect((await client.responses.retrieve(created.id)).status).toBe('in_progress');
    await app.proxy.flush();
    expect(app.events).toEqual([]);

    const { data: done, response } = await client.responses.retrieve(created.id).withResponse();
    expect(done.output_text).toBe('Hi there!');
    expect(upstream.requests.at(-1)).toMatchObject({ method: 'GET', path: `/v1/responses/${created.id}` });
    expect(response.headers.get('x-tokenmeter-cost')).toBe('0.0000282');
    const [event] = await app.eventsAfter(1);
    // Same usage and price as the foreground Responses test: 28.2 µ$, attributed to who created it.
    expect(event).toMatchObject({
      operation: 'responses',
      route: '/v1/responses',
      user: 'alice',
      inputTokens: 20,
      cachedInputTokens: 10,
      outputTokens: 8,
      reasoningTokens: 4,
      cost: '0.0000282',
      estimated: false,
    });
    expect(await used()).toBe(42);
    // Settled once: retrieving it again records nothing more.
    await client.responses.retrieve(created.id);
    await app.proxy.flush();
    expect(app.events.length).toBe(1);
  });

  it('settles a background response when its result is streamed', async () => {
    app = await startProxyApp(upstream, { budgets: 'user:100000tokens/day' });
    const client = openai();
    const created = await client.responses.create({ model: 'gpt-4.1-mini', input: 'Say hi', background: true });
    const stream = await client.responses.retrieve(created.id, { stream: true });
    const kinds: string[] = [];
    for await (const event of stream) kinds.push(event.type);
    expect(kinds.at(-1)).toBe('response.completed');
    const [event] = await app.eventsAfter(1);
    expect(event).toMatchObject({
      user: 'alice',
      outputTokens: 8,
      cost: '0.0000282',
      streamed: true,
      estimated: false,
    });
    expect(await used()).toBe(42);
  });

  it('keeps a background stream the client cut short waiting for its result, not booked at what was seen', async () => {
    app = await startProxyApp(upstream, { budgets: 'user:100000tokens/day' });
    const stream = await openai({ 'x-fake': 'cut' }).responses.create({
      model: 'gpt-4.1-mini',
      input: 'Say hi',
      background: true,
      stream: true,
      max_output_tokens: 1000,
    });
    let id: string | undefined;
    await expect(
      (async () => {
        for await (const event of stream) if (event.type === 'response.created') id = event.response.id;
      })(),
    ).rejects.toThrow();
    expect(id).toMatch(/^resp_bg_/);
    await app.proxy.flush();
    // Still running upstream: nothing booked at the few tokens seen; the budget holds the maximum.
    expect(app.events).toEqual([]);
    expect(await used()).toBeGreaterThan(1000);
    // Resumed as a stream, the result settles it at the reported usage.
    const resumed = await openai().responses.retrieve(id as string, { stream: true });
    for await (const _event of resumed) {
      // drain
    }
    const [event] = await app.eventsAfter(1);
    expect(event).toMatchObject({ outputTokens: 8, cost: '0.0000282', estimated: false });
    expect(await used()).toBe(42);
  });

  it('settles one never retrieved at the reserved maximum after backgroundSettleMs, recorded as estimated', async () => {
    app = await startProxyApp(upstream, { budgets: 'user:100000tokens/day', backgroundSettleMs: 50 });
    const client = openai();
    const created = await client.responses.create({
      model: 'gpt-4.1-mini',
      input: 'Say hi',
      background: true,
      max_output_tokens: 1000,
    });
    const reserved = await used();
    const [event] = await app.eventsAfter(1);
    expect(event).toMatchObject({ error: 'not_retrieved', estimated: true, outputTokens: 1000, status: 200 });
    expect(event?.inputTokens).toBe(reserved - 1000);
    // gpt-4.1-mini output at $1.60 per million: the 1000 possible output tokens alone are 1600 µ$.
    expect(Number(event?.cost)).toBeGreaterThan(0.0016);
    expect(await used()).toBe(reserved);
    // A late retrieval is forwarded but not booked twice.
    await client.responses.retrieve(created.id);
    await client.responses.retrieve(created.id);
    await app.proxy.flush();
    expect(app.events.length).toBe(1);
  });

  it('settles pending background responses at the maximum when the proxy closes', async () => {
    app = await startProxyApp(upstream);
    await openai().responses.create({
      model: 'gpt-4.1-mini',
      input: 'Say hi',
      background: true,
      max_output_tokens: 500,
    });
    await app.proxy.flush();
    expect(app.events).toEqual([]);
    await app.close();
    expect(app.events).toEqual([
      expect.objectContaining({ error: 'not_retrieved', outputTokens: 500, estimated: true }),
    ]);
  });
});

describe('metered proxy: endpoints it cannot meter', () => {
  const BATCH = { input_file_id: 'file-abc123', endpoint: '/v1/chat/completions', completion_window: '24h' } as const;

  it('refuses batches, images and unknown paths with 403 under a budget; forwards the free list', async () => {
    const logged: string[] = [];
    const metrics = createMetrics();
    app = await startProxyApp(upstream, {
      budgets: 'user:5/day',
      metrics,
      logger: { warn: (line) => logged.push(line) },
    });
    const before = upstream.requests.length;
    const client = openai();
    await expect(client.batches.create(BATCH)).rejects.toMatchObject({
      status: 403,
      code: 'unmetered_endpoint',
      message: expect.stringContaining('--forward-unmetered'),
    });
    await expect(client.images.generate({ model: 'gpt-image-1', prompt: 'a cat' })).rejects.toMatchObject({
      status: 403,
    });
    const unknown = await fetch(`${app.url}/v1/Vector_Stores/vs_1/files`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user': 'alice' },
      body: '{}',
    });
    expect(unknown.status).toBe(403);
    expect(upstream.requests.length).toBe(before);
    // The free list is served under the budget: listing models costs nothing.
    expect((await client.models.list()).data[0]?.id).toBe('gpt-4o-mini');

    // No budget applies to an unidentified caller (the rule is per user): forwarded, logged once, counted.
    const anonymous = new OpenAI({ apiKey: 'sk-anon', baseURL: `${app.url}/v1`, maxRetries: 0 });
    expect(await anonymous.batches.create(BATCH)).toMatchObject({ id: 'batch_abc123', status: 'validating' });
    await anonymous.batches.create(BATCH);
    expect(upstream.requests.at(-1)).toMatchObject({ method: 'POST', path: '/v1/batches' });
    expect(logged.filter((line) => line.includes('UNMETERED_FORWARD'))).toEqual([
      expect.stringContaining('POST /batches is forwarded without metering'),
    ]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('tokenmeter_unmetered_requests_total{endpoint="POST /batches",outcome="refused"} 1');
    expect(text).toContain('tokenmeter_unmetered_requests_total{endpoint="POST /batches",outcome="forwarded"} 2');
    expect(text).toContain('tokenmeter_unmetered_requests_total{endpoint="POST /images",outcome="refused"} 1');
    await app.proxy.flush();
    expect(app.events).toEqual([]);
  });

  it('forwards them under a budget with forwardUnmetered, still counted as unmetered', async () => {
    const metrics = createMetrics();
    app = await startProxyApp(upstream, {
      budgets: 'user:5/day',
      forwardUnmetered: true,
      metrics,
      logger: { warn() {} },
    });
    expect(await openai().batches.create(BATCH)).toMatchObject({ id: 'batch_abc123' });
    expect(upstream.requests.at(-1)).toMatchObject({ method: 'POST', path: '/v1/batches' });
    expect(await metrics.registry.metrics()).toContain(
      'tokenmeter_unmetered_requests_total{endpoint="POST /batches",outcome="forwarded"} 1',
    );
  });
});

describe('metered proxy: options', () => {
  it('rejects bad options once, at creation, with a code', async () => {
    const { meteredProxy } = await import('../src/metered-proxy');
    expect(() => meteredProxy({ upstream: 'ftp://example' })).toThrow(
      expect.objectContaining({ code: 'INVALID_METER_OPTIONS', option: 'upstream' }),
    );
    expect(() => meteredProxy({ budgets: '5 per day' })).toThrow(/cannot read budget/);
    expect(() => meteredProxy({ maxBodyBytes: -1 })).toThrow(/maxBodyBytes/);
    expect(() => meteredProxy({ upstrem: 'x' } as never)).toThrow(/unknown option/);
    expect(() => meteredProxy({ forwardUnmetered: 'yes' } as never)).toThrow(/forwardUnmetered/);
    expect(() => meteredProxy({ backgroundSettleMs: 0 })).toThrow(/backgroundSettleMs/);
  });
});
