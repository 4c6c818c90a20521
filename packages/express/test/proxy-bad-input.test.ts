import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream';
import { type ProxyApp, startProxyApp } from './test-app';

let upstream: FakeUpstream;
let app: ProxyApp;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  upstream = await startFakeUpstream();
  app = await startProxyApp(upstream, {
    budgets: { scope: 'global', limit: { tokens: 1_000_000_000 } },
    maxBodyBytes: 4096,
  });
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await app.close();
  await upstream.close();
});

async function send(body: Uint8Array | string, path = '/v1/chat/completions') {
  const response = await fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, text: await response.text() };
}

describe('metered proxy: hostile and malformed bodies', () => {
  it('answers every random byte string with a clear status and never crashes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 6000 }), async (bytes) => {
        const { status, text } = await send(bytes);
        let parsed: unknown;
        try {
          parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
        } catch {
          parsed = undefined;
        }
        if (bytes.length > 4096) expect(status).toBe(413);
        else if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          expect(status).toBe(400);
          expect(JSON.parse(text)).toMatchObject({ error: { code: 'invalid_json' } });
        }
      }),
      { numRuns: 60 },
    );
    expect(unhandled).toEqual([]);
  });

  it('meters any JSON object the upstream accepts, with whole, non-negative token counts', async () => {
    const before = app.events.length;
    const hostileFields = fc.record(
      {
        model: fc.oneof(fc.string({ maxLength: 300 }), fc.integer(), fc.constant(null)),
        messages: fc.oneof(
          fc.json(),
          fc.array(fc.record({ role: fc.string(), content: fc.oneof(fc.string(), fc.json()) })),
        ),
        max_tokens: fc.oneof(fc.integer(), fc.double(), fc.constant(1e300), fc.string()),
        n: fc.oneof(fc.integer(), fc.constant(1e12)),
        stream_options: fc.oneof(fc.constant('x'), fc.constant(null), fc.record({ include_usage: fc.boolean() })),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(hostileFields, async (body) => {
        const { status } = await send(JSON.stringify(body));
        expect([200, 400, 429]).toContain(status);
      }),
      { numRuns: 60 },
    );
    const events = (await app.eventsAfter(before + 1)).slice(before);
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) {
      for (const count of [event.inputTokens, event.outputTokens, event.cachedInputTokens, event.reasoningTokens]) {
        expect(Number.isSafeInteger(count) && count >= 0).toBe(true);
      }
      expect(event.model.length).toBeLessThanOrEqual(200);
    }
    expect(unhandled).toEqual([]);
  });
});
