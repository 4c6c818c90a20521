import http from 'node:http';
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

/** Sends a path byte for byte: fetch() would resolve dot segments itself, as a front end might not. */
function rawPost(
  path: string,
  body: string,
): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  const { hostname, port } = new URL(app.url);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { hostname, port, path, method: 'POST', headers: { 'content-type': 'application/json' } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
            headers: response.headers,
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const CHAT = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
/** The metered endpoints as the providers spell them (the upstream must only ever see these spellings). */
const METERED_UPSTREAM = new Set([
  '/v1/chat/completions',
  '/v1/responses',
  '/v1/embeddings',
  '/v1/completions',
  '/v1/messages',
]);
/** The free list as documented in the README (spelled out here, not imported, so the test checks the code). */
const FREE_POST =
  /^\/v1\/(moderations|responses\/input_tokens|messages\/count_tokens|batches\/[^/]+\/cancel|messages\/batches\/[^/]+\/cancel|chat\/completions\/[^/]+|responses\/[^/]+\/cancel)$/;

/** One endpoint name in any spelling a front end would read as the same: any case, unreserved letters %-encoded. */
const spelled = (name: string) =>
  fc.array(fc.tuple(fc.boolean(), fc.boolean()), { minLength: name.length, maxLength: name.length }).map((flags) =>
    [...name]
      .map((char, index) => {
        const [upper, encode] = flags[index] as [boolean, boolean];
        const cased = upper ? char.toUpperCase() : char;
        return encode && /[a-z]/i.test(cased) ? `%${cased.charCodeAt(0).toString(16).toUpperCase()}` : cased;
      })
      .join(''),
  );
const separator = fc.constantFrom('/', '//', '/./', '/x/../', '///', '/./././', '/a/b/../../', '/.//');

describe('metered proxy: every spelling of a path is one path', () => {
  it('meters and budgets every spelling of /v1/chat/completions, and forwards only the canonical path', async () => {
    const spellings = fc
      .tuple(fc.constantFrom('/v1', '/V1'), separator, spelled('chat'), separator, spelled('completions'))
      .chain((parts) => fc.constantFrom('', '/', '//', '/.', '/x/..').map((tail) => [...parts, tail].join('')));
    await fc.assert(
      fc.asyncProperty(spellings, async (path) => {
        const eventsBefore = app.events.length;
        const { status, headers } = await rawPost(path, CHAT);
        expect(status).toBe(200);
        // The global budget held and settled this call.
        expect(headers['x-tokenmeter-budget-id']).toBe('global:tokens:day');
        expect(upstream.requests.at(-1)).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
        const events = await app.eventsAfter(eventsBefore + 1);
        expect(events.length).toBe(eventsBefore + 1);
        expect(events.at(-1)).toMatchObject({ route: '/v1/chat/completions', operation: 'chat', outputTokens: 5 });
      }),
      { numRuns: 50 },
    );
  });

  it('refuses encoded slashes, backslashes, encoded dots and climbs above the mount with 400, never forwarding them', async () => {
    const before = upstream.requests.length;
    for (const path of [
      '/v1/chat%2Fcompletions',
      '/v1/chat%2fcompletions',
      '/v1/x/%2E%2E/chat/completions',
      '/v1/x/%2e%2e/chat/completions',
      '/v1/%2e/chat/completions',
      '/v1/chat%5Ccompletions',
      '/v1/chat\\completions',
      '/v1/../v1/chat/completions',
      '/v1/x/../../v1/chat/completions',
    ]) {
      const { status, text } = await rawPost(path, CHAT);
      expect([path, status]).toEqual([path, 400]);
      expect(JSON.parse(text)).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_path' } });
    }
    expect(upstream.requests.length).toBe(before);
  });

  it('lets no path reach the upstream unmetered under a budget: only metered calls (each recorded) and the free list', async () => {
    const segment = fc.constantFrom(
      'chat',
      'Chat',
      'completions',
      'COMPLETIONS',
      'responses',
      'messages',
      'embeddings',
      'images',
      'generations',
      'batches',
      'files',
      'audio',
      'count_tokens',
      'moderations',
      'cancel',
      'resp_1',
      '.',
      '..',
      '',
      'x',
      '%63hat',
      '%2e',
    );
    const paths = fc.array(segment, { maxLength: 5 }).map((segments) => `/v1/${segments.join('/')}`);
    await fc.assert(
      fc.asyncProperty(paths, async (path) => {
        const requestsBefore = upstream.requests.length;
        const eventsBefore = app.events.length;
        const { status } = await rawPost(path, CHAT);
        expect([200, 400, 403, 404]).toContain(status);
        const forwarded = upstream.requests.slice(requestsBefore);
        expect(forwarded.length).toBeLessThanOrEqual(1);
        const [request] = forwarded;
        if (request === undefined) return;
        expect(request.path).not.toMatch(/\/\/|\/\.\.?(\/|$)|\/$|%2e/i);
        if (METERED_UPSTREAM.has(request.path)) {
          const events = await app.eventsAfter(eventsBefore + 1);
          expect(events.length).toBe(eventsBefore + 1);
        } else {
          expect(request.path).toMatch(FREE_POST);
        }
      }),
      { numRuns: 120 },
    );
  });
});
