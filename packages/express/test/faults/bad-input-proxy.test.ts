import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type MeteredProxy, meteredProxy } from '../../src/metered-proxy';
import { createMemoryStore } from '../../src/store-memory';
import type { UsageEvent } from '../../src/types';
import { type FaultUpstream, startFaultUpstream } from './fault-upstream';

const MAX_BODY = 64 * 1024;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

/** Sends raw bytes; resolves with status and body bytes (status 0: the connection failed). */
function send(url: string, body: Uint8Array, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: Buffer }>((resolve) => {
    const request = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...headers },
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
      response.on('error', () => resolve({ status: 0, body: Buffer.concat(chunks) }));
    });
    request.on('error', () => resolve({ status: 0, body: Buffer.alloc(0) }));
    request.end(body);
  });
}

function isWellFormed(event: UsageEvent): boolean {
  const counts = [
    event.inputTokens,
    event.cachedInputTokens,
    event.cacheWrite5mTokens,
    event.cacheWrite1hTokens,
    event.outputTokens,
    event.reasoningTokens,
  ];
  return (
    counts.every((count) => Number.isSafeInteger(count) && count >= 0) &&
    (event.cost === undefined || /^\d+(\.\d+)?$/.test(event.cost)) &&
    event.priced === (event.cost !== undefined)
  );
}

describe('hostile input at the metered proxy', { timeout: 120_000 }, () => {
  let upstream: FaultUpstream;
  let proxy: MeteredProxy;
  let server: http.Server;
  let url: string;
  const events: UsageEvent[] = [];

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    upstream = await startFaultUpstream();
    proxy = meteredProxy({
      upstream: `${upstream.url}/v1`,
      store: createMemoryStore(),
      maxBodyBytes: MAX_BODY,
      budgets: { scope: 'global', limit: '1000' },
      logger: { warn: () => {} },
      onEvent: (event) => events.push(event),
    });
    const app = express();
    app.use('/v1', proxy);
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
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

  /**
   * One event per call the upstream received plus one per budget refusal (429, recorded as rejected):
   * nothing recorded twice, nothing lost.
   */
  async function expectOneEventPerCall(receivedBefore: number, eventsBefore: number, refused: number) {
    const expected = upstream.received - receivedBefore + refused;
    for (let attempt = 0; attempt < 200 && events.length - eventsBefore < expected; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(events.length - eventsBefore).toBe(expected);
    expect(events.slice(eventsBefore).filter((event) => event.rejected).length).toBe(refused);
    const fresh = events.slice(eventsBefore);
    expect(new Set(fresh.map((event) => event.id)).size).toBe(fresh.length);
    for (const event of fresh) expect(isWellFormed(event), JSON.stringify(event)).toBe(true);
  }

  it('malformed and hostile request bodies get a clear 4xx or pass through, never a crash', async () => {
    const hostileValue = fc.oneof(
      fc.constantFrom(null, -1, 0, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, '', '∞', '__proto__', 'constructor'),
      fc.string({ maxLength: 50 }),
      fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.anything({ maxDepth: 1 }), { maxKeys: 3 }),
    );
    const hostileRequest = fc.record(
      {
        model: fc.oneof(fc.constantFrom('gpt-4o-mini', 'gpt-4o', 'no-such-model', ''), hostileValue),
        messages: fc.oneof(
          fc.array(
            fc.record(
              { role: fc.oneof(fc.constantFrom('user', 'system'), hostileValue), content: hostileValue },
              { requiredKeys: [] },
            ),
            { maxLength: 4 },
          ),
          hostileValue,
        ),
        max_tokens: hostileValue,
        stream: fc.oneof(fc.boolean(), hostileValue),
        stream_options: hostileValue,
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      hostileRequest.map((request) => Buffer.from(JSON.stringify(request))),
      fc.json({ maxDepth: 3 }).map((text) => Buffer.from(text)),
      fc.string({ maxLength: 200 }).map((text) => Buffer.from(text)),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      fc.constantFrom(
        Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\\ud800"}]}'),
        Buffer.from([0x7b, 0x22, 0x6d, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
        Buffer.from('{"__proto__":{"polluted":true},"model":"gpt-4o-mini","messages":[]}'),
        // An object that cannot become a number (found by fast-check in CI: it crashed the fake upstream).
        Buffer.from('{"model":"gpt-4o-mini","messages":[],"max_tokens":{"valueOf":1,"toString":2}}'),
        Buffer.from('['.repeat(5000)),
        Buffer.from(''),
      ),
    );
    const receivedBefore = upstream.received;
    const eventsBefore = events.length;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(body, async (bytes) => {
        const result = await send(url, bytes);
        // 429: over budget; 403: a model without a price under the USD budget (unpricedPolicy 'refuse').
        if (result.status === 429 || result.status === 403) refused++;
        // The proxy's own refusals are 400 (not JSON, not an object); everything else is the upstream's answer.
        expect([200, 400, 403, 429]).toContain(result.status);
        if (result.status !== 200) {
          const parsed = JSON.parse(result.body.toString('utf8')) as { error?: { message?: unknown } };
          expect(typeof parsed.error?.message).toBe('string');
        }
      }),
      { numRuns: 150 },
    );
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    await expectOneEventPerCall(receivedBefore, eventsBefore, refused);
  });

  it('bodies over maxBodyBytes get 413 and are not forwarded', async () => {
    const receivedBefore = upstream.received;
    const eventsBefore = events.length;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: MAX_BODY + 1, max: MAX_BODY * 4 }), async (size) => {
        const content = 'x'.repeat(size);
        const result = await send(
          url,
          Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] })),
        );
        expect(result.status).toBe(413);
        expect(JSON.parse(result.body.toString('utf8'))).toMatchObject({ error: { code: 'request_too_large' } });
      }),
      { numRuns: 20 },
    );
    expect(upstream.received).toBe(receivedBefore);
    expect(events.length).toBe(eventsBefore);
  });

  it('invalid UTF-8 inside a JSON string gets 400 invalid_json and is not forwarded', async () => {
    // Sequences a strict decoder refuses: a stray continuation byte, 0xff, an overlong "/", a UTF-16 surrogate
    // encoded as UTF-8, a code point above U+10FFFF, and a lead byte cut short by the closing quote.
    const invalid = fc.constantFrom(
      [0x80],
      [0xff],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x82],
    );
    const text = fc.string({ maxLength: 30 }).filter((value) => !value.includes('\u0000'));
    const receivedBefore = upstream.received;
    const eventsBefore = events.length;
    await fc.assert(
      fc.asyncProperty(text, invalid, text, async (before, bad, after) => {
        const [head, tail] = JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: `${before}\u0000${after}` }],
        }).split('\\u0000') as [string, string];
        const result = await send(url, Buffer.concat([Buffer.from(head), Buffer.from(bad), Buffer.from(tail)]));
        expect(result.status).toBe(400);
        expect(JSON.parse(result.body.toString('utf8'))).toMatchObject({
          error: { type: 'invalid_request_error', code: 'invalid_json' },
        });
      }),
      { numRuns: 60 },
    );
    expect(upstream.received).toBe(receivedBefore);
    expect(events.length).toBe(eventsBefore);
  });

  it('broken SSE framing and invalid UTF-8 from the upstream reach the client untouched, recorded once', async () => {
    const stream = fc.oneof(
      fc.string({ maxLength: 400 }).map((text) => Buffer.from(text)),
      fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
      fc
        .array(
          fc.oneof(
            fc.constant('data: [DONE]\n\n'),
            fc.constant('data: {"choices":[{"delta":{"content":"hi"}}]}\n\n'),
            fc.constant('data: {"usage":{"prompt_tokens":-5,"completion_tokens":1e309}}\n\n'),
            fc.constant('data: {"choices":[],"usage":{"prompt_tokens":"12","completion_tokens":null}}\n\n'),
            fc.constant('event: error\ndata: {"error":{"message":"boom"}}\n\n'),
            fc.constant('data: {"truncated":'),
            fc.constant('\r\n\r\n'),
            fc.constant(':comment\n'),
            fc.string({ maxLength: 40 }),
          ),
          { maxLength: 12 },
        )
        .map((parts) => Buffer.from(parts.join(''))),
    );
    const receivedBefore = upstream.received;
    const eventsBefore = events.length;
    await fc.assert(
      fc.asyncProperty(stream, async (bytes) => {
        const request = Buffer.from(
          JSON.stringify({
            model: 'gpt-4o-mini',
            messages: [{ role: 'user', content: 'Stream me something broken.' }],
            stream: true,
            stream_options: { include_usage: true },
          }),
        );
        const result = await send(url, request, {
          'x-fault': 'raw',
          'x-content-type': 'text/event-stream',
          'x-body': bytes.toString('base64'),
        });
        expect(result.status).toBe(200);
        expect(result.body.equals(bytes)).toBe(true);
      }),
      { numRuns: 150 },
    );
    await expectOneEventPerCall(receivedBefore, eventsBefore, 0);
  });

  it('absurd usage numbers in a JSON answer are never recorded as negative, fractional or unsafe counts', async () => {
    const count = fc.oneof(
      fc.integer(),
      fc.double(),
      fc.constantFrom(1e300, -1, Number.MAX_SAFE_INTEGER, 2 ** 60, '12', '1e999', null, true, [], {}),
    );
    const answer = fc.record(
      {
        model: fc.oneof(fc.constant('gpt-4o-mini'), fc.string({ maxLength: 20 })),
        usage: fc.record(
          {
            prompt_tokens: count,
            completion_tokens: count,
            total_tokens: count,
            prompt_tokens_details: fc.record({ cached_tokens: count }, { requiredKeys: [] }),
            completion_tokens_details: fc.record({ reasoning_tokens: count }, { requiredKeys: [] }),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    );
    const receivedBefore = upstream.received;
    const eventsBefore = events.length;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(answer, async (body) => {
        const bytes = Buffer.from(JSON.stringify(body));
        const request = Buffer.from(
          JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Count me.' }] }),
        );
        const result = await send(url, request, { 'x-fault': 'raw', 'x-body': bytes.toString('base64') });
        // Huge but plausible reported usage (≤ 1e12 tokens) is real spend: it may exhaust the $1,000 budget.
        if (result.status === 429) {
          refused++;
          return;
        }
        expect(result.status).toBe(200);
        expect(result.body.equals(bytes)).toBe(true);
      }),
      { numRuns: 150 },
    );
    await expectOneEventPerCall(receivedBefore, eventsBefore, refused);
  });
});
