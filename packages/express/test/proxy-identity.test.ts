import http from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import fc from 'fast-check';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryKeyStore } from '../src/key-store';
import { type RunningProxy, startProxy } from '../src/proxy-server';
import type { UsageReport } from '../src/types';
import { createVirtualKey } from '../src/virtual-keys';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream';

const ADMIN = 'admin-0123456789abcdef';
const OPENAI_KEY = 'sk-real-openai-0123456789';
const ANTHROPIC_KEY = 'sk-ant-real-0123456789';
const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Hi' }] };

let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
});
afterAll(async () => {
  await upstream.close();
});

async function usageByUser(running: RunningProxy): Promise<UsageReport> {
  const response = await fetch(`${running.url}/tokenmeter/usage?groupBy=user`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  return (await response.json()) as UsageReport;
}

/** A POST whose header lines are sent exactly as given, repeats included (fetch would merge them). */
function rawPost(
  running: RunningProxy,
  headers: Record<string, string | string[]>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${running.url}/v1/chat/completions`, { method: 'POST' }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.setHeader('content-type', 'application/json');
    for (const [name, value] of Object.entries(headers)) request.setHeader(name, value);
    request.end(JSON.stringify(chat));
  });
}

function post(running: RunningProxy, headers: Record<string, string>, body: unknown = chat) {
  return fetch(`${running.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

describe('trusted user headers', () => {
  it('refuses a repeated or missing user header with 400 instead of opening a fresh budget', async () => {
    const running = await startProxy({
      port: 0,
      upstream: `${upstream.url}/v1`,
      trustUserHeader: 'x-user',
      // 25 tokens a call (the fake's usage); the reservation is the counted prompt + max_tokens 5.
      budgets: ['user:30tokens/day'],
      adminToken: ADMIN,
    });
    try {
      const before = upstream.requests.length;
      // Two header lines: Node joins them to "alice, mallory", a user nobody has spent as yet.
      const repeated = await rawPost(running, { authorization: 'Bearer sk-client', 'x-user': ['alice', 'mallory'] });
      expect(repeated.status).toBe(400);
      expect((JSON.parse(repeated.body) as { error: { code: string } }).error.code).toBe('ambiguous_identity');
      // One line with a list, as a forwarder that merges repeats would send it.
      const merged = await rawPost(running, { authorization: 'Bearer sk-client', 'x-user': 'alice, mallory' });
      expect(merged.status).toBe(400);
      const missing = await post(running, { authorization: 'Bearer sk-client' });
      expect(missing.status).toBe(400);
      const blank = await post(running, { authorization: 'Bearer sk-client', 'x-user': '  ' });
      expect(blank.status).toBe(400);
      expect(upstream.requests.length).toBe(before);
      // One value: attributed, and the user budget applies.
      const small = { ...chat, max_tokens: 5 };
      expect((await post(running, { authorization: 'Bearer sk-client', 'x-user': 'alice' }, small)).status).toBe(200);
      expect((await post(running, { authorization: 'Bearer sk-client', 'x-user': 'alice' }, small)).status).toBe(429);
      const report = await usageByUser(running);
      expect(report.groups.map((group) => group.key)).toEqual(['alice']);
    } finally {
      await running.close();
    }
  });

  it('trusts the header only from the gateway: a shared secret (never forwarded) and source addresses', async () => {
    const secret = 'gateway-secret-0123456789';
    const running = await startProxy({
      port: 0,
      upstream: `${upstream.url}/v1`,
      trustUserHeader: 'x-user',
      gatewaySecret: secret,
    });
    const elsewhere = await startProxy({
      port: 0,
      upstream: `${upstream.url}/v1`,
      trustUserHeader: 'x-user',
      trustedAddresses: ['10.9.8.7'],
    });
    try {
      const noSecret = await post(running, { authorization: 'Bearer sk-client', 'x-user': 'alice' });
      expect(noSecret.status).toBe(401);
      const wrong = await post(running, {
        authorization: 'Bearer sk-client',
        'x-user': 'alice',
        'x-tokenmeter-gateway-secret': `${secret}x`,
      });
      expect(wrong.status).toBe(401);
      const through = await post(running, {
        authorization: 'Bearer sk-client',
        'x-user': 'alice',
        'x-tokenmeter-gateway-secret': secret,
      });
      expect(through.status).toBe(200);
      const seen = upstream.requests.at(-1);
      expect(seen?.headers['x-tokenmeter-gateway-secret']).toBeUndefined();
      expect(JSON.stringify(seen?.headers)).not.toContain(secret);
      // This test connects from 127.0.0.1, not from the gateway's address.
      expect((await post(elsewhere, { authorization: 'Bearer sk-client', 'x-user': 'alice' })).status).toBe(401);
    } finally {
      await Promise.all([running.close(), elsewhere.close()]);
    }
  });

  it('refuses credential headers as identity at startup, and offers a fingerprint of the key instead', async () => {
    for (const header of ['authorization', 'Authorization', 'x-api-key', 'cookie', 'proxy-authorization']) {
      await expect(startProxy({ port: 0, userHeader: header })).rejects.toMatchObject({
        code: 'INVALID_METER_OPTIONS',
        message: expect.stringMatching(/credentials/),
      });
      await expect(startProxy({ port: 0, trustTenantHeader: header })).rejects.toMatchObject({
        code: 'INVALID_METER_OPTIONS',
      });
    }
    const running = await startProxy({
      port: 0,
      upstream: `${upstream.url}/v1`,
      anthropicUpstream: upstream.url,
      userFromKey: true,
      adminToken: ADMIN,
    });
    try {
      const openai = new OpenAI({ apiKey: 'sk-one-0123456789', baseURL: `${running.url}/v1`, maxRetries: 0 });
      await openai.chat.completions.create(chat);
      const anthropic = new Anthropic({ apiKey: 'sk-one-0123456789', baseURL: running.url, maxRetries: 0 });
      await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: chat.messages });
      // The client's own key still goes upstream, untouched.
      expect(upstream.requests.at(-1)?.headers['x-api-key']).toBe('sk-one-0123456789');
      const report = await usageByUser(running);
      // Same key through both SDKs (Bearer and x-api-key): one fingerprint, never the key.
      expect(report.groups).toEqual([
        expect.objectContaining({ key: expect.stringMatching(/^key:sha256:[0-9a-f]{12}$/) }),
      ]);
      expect(JSON.stringify(report)).not.toContain('sk-one');
    } finally {
      await running.close();
    }
  });
});

describe('identity promises under generated input', () => {
  it('a trusted header yields exactly its one value as the user, or a 400; never anything else', async () => {
    const running = await startProxy({
      port: 0,
      upstream: `${upstream.url}/v1`,
      trustUserHeader: 'x-user',
      adminToken: ADMIN,
    });
    const expected = new Map<string, number>();
    try {
      const value = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,230}[\x21-\x7e])?$/);
      await fc.assert(
        fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 3 }), async (values) => {
          const answer = await rawPost(running, {
            authorization: 'Bearer sk-client',
            'x-user': values.length === 1 ? (values[0] as string) : values,
          });
          const single = values.length === 1 ? (values[0] as string) : undefined;
          if (single !== undefined && !single.includes(',') && single.length <= 200) {
            expect(answer.status).toBe(200);
            expected.set(single, (expected.get(single) ?? 0) + 1);
          } else {
            expect(answer.status).toBe(400);
          }
        }),
        { numRuns: 60 },
      );
      const report = await usageByUser(running);
      expect(new Map(report.groups.map((group) => [group.key, group.requests]))).toEqual(expected);
    } finally {
      await running.close();
    }
  });

  it('no credential but a live virtual key reaches the upstream', async () => {
    const keys = createMemoryKeyStore();
    const live = await createVirtualKey(keys, { user: 'alice' });
    const running = await startProxy({
      port: 0,
      upstream: `${upstream.url}/v1`,
      virtualKeys: keys,
      providerKeys: { openai: OPENAI_KEY },
    });
    try {
      const before = upstream.requests.length;
      const near = fc
        .tuple(fc.nat({ max: live.key.length - 1 }), fc.stringMatching(/^[A-Za-z0-9_-]$/))
        .map(([at, char]) => `${live.key.slice(0, at)}${char}${live.key.slice(at + 1)}`)
        .filter((key) => key !== live.key);
      const credential = fc.oneof(
        near,
        fc.stringMatching(/^tm_[A-Za-z0-9_-]{43}$/),
        fc.stringMatching(/^[\x21-\x7e]{1,80}$/),
        fc.constant(live.key.toUpperCase()),
        fc.constant(live.record.hash),
        fc.constant(OPENAI_KEY),
      );
      await fc.assert(
        fc.asyncProperty(credential, fc.boolean(), async (key, asApiKey) => {
          const answer = await rawPost(running, asApiKey ? { 'x-api-key': key } : { authorization: `Bearer ${key}` });
          expect(answer.status).toBe(401);
        }),
        { numRuns: 60 },
      );
      expect(upstream.requests.length).toBe(before);
      expect((await rawPost(running, { authorization: `Bearer ${live.key}` })).status).toBe(200);
      // Two different keys at once (one live): refused, whichever the proxy would have read.
      const both = await rawPost(running, { authorization: `Bearer ${live.key}`, 'x-api-key': `tm_${'B'.repeat(43)}` });
      expect(both.status).toBe(401);
    } finally {
      await running.close();
    }
  });
});

describe('virtual keys', () => {
  it('swaps a live virtual key for the provider key upstream and attributes the call to its user', async () => {
    const keys = createMemoryKeyStore();
    const alice = await createVirtualKey(keys, { user: 'alice', tenant: 'acme' });
    const running = await startProxy({
      port: 0,
      upstream: `${upstream.url}/v1`,
      anthropicUpstream: upstream.url,
      virtualKeys: keys,
      providerKeys: { openai: OPENAI_KEY, anthropic: ANTHROPIC_KEY },
      adminToken: ADMIN,
    });
    try {
      const openai = new OpenAI({ apiKey: alice.key, baseURL: `${running.url}/v1`, maxRetries: 0 });
      await openai.chat.completions.create(chat);
      let seen = upstream.requests.at(-1);
      expect(seen?.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
      expect(JSON.stringify(seen?.headers)).not.toContain(alice.key);
      const anthropic = new Anthropic({ apiKey: alice.key, baseURL: running.url, maxRetries: 0 });
      await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: chat.messages });
      seen = upstream.requests.at(-1);
      expect(seen?.headers['x-api-key']).toBe(ANTHROPIC_KEY);
      expect(seen?.headers.authorization).toBeUndefined();
      expect(JSON.stringify(seen?.headers)).not.toContain(alice.key);
      // Unmetered paths are authenticated and swapped too.
      await openai.models.list();
      expect(upstream.requests.at(-1)?.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
      const report = await usageByUser(running);
      expect(report.groups).toEqual([expect.objectContaining({ key: 'alice', requests: 2 })]);
    } finally {
      await running.close();
    }
  });

  // The key is chosen on the canonical path, the one the proxy forwards: `/V1//Messages` goes to Anthropic, and
  // before this the OpenAI key rode along with it (a secret of one provider sent to the other).
  it('sends the Anthropic key, never the OpenAI key, for any spelling of the Messages path', async () => {
    const keys = createMemoryKeyStore();
    const alice = await createVirtualKey(keys, { user: 'alice' });
    const running = await startProxy({
      port: 0,
      upstream: `${upstream.url}/v1`,
      anthropicUpstream: upstream.url,
      virtualKeys: keys,
      providerKeys: { openai: OPENAI_KEY, anthropic: ANTHROPIC_KEY },
      adminToken: ADMIN,
    });
    try {
      for (const path of ['/v1/messages', '/V1/Messages', '/v1//messages/', '/v1/x/../messages']) {
        const response = await new Promise<number>((resolve, reject) => {
          const request = http.request(
            {
              hostname: '127.0.0.1',
              port: running.port,
              path,
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-api-key': alice.key },
            },
            (answer) => {
              answer.resume();
              answer.on('end', () => resolve(answer.statusCode ?? 0));
            },
          );
          request.on('error', reject);
          request.end(JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 10, messages: chat.messages }));
        });
        expect(response, path).toBe(200);
        const seen = upstream.requests.at(-1);
        expect(seen?.path, path).toBe('/v1/messages');
        expect(seen?.headers['x-api-key'], path).toBe(ANTHROPIC_KEY);
        expect(JSON.stringify(seen?.headers), path).not.toContain(OPENAI_KEY);
      }
    } finally {
      await running.close();
    }
  });

  it('answers 401 in each provider shape to unknown, malformed, missing and revoked keys, and never calls upstream', async () => {
    const keys = createMemoryKeyStore();
    const bob = await createVirtualKey(keys, { user: 'bob' });
    const running = await startProxy({
      port: 0,
      upstream: `${upstream.url}/v1`,
      anthropicUpstream: upstream.url,
      virtualKeys: keys,
      providerKeys: { openai: OPENAI_KEY, anthropic: ANTHROPIC_KEY },
    });
    try {
      const before = upstream.requests.length;
      const made = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${running.url}/v1`, maxRetries: 0 });
      const forged = `tm_${'A'.repeat(43)}`;
      for (const apiKey of [forged, 'sk-real-looking', `${bob.key}x`, OPENAI_KEY]) {
        // OpenAI's 401 body: {"error":{"message","type","param","code":"invalid_api_key"}}
        // (https://platform.openai.com/docs/guides/error-codes).
        const error = await made(apiKey)
          .chat.completions.create(chat)
          .catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
        expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
      }
      const bare = await post(running, {});
      expect(bare.status).toBe(401);
      // Anthropic's 401 body: {"type":"error","error":{"type":"authentication_error","message"}}
      // (https://docs.anthropic.com/en/api/errors).
      const anthropicError = await new Anthropic({ apiKey: forged, baseURL: running.url, maxRetries: 0 }).messages
        .create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: chat.messages })
        .catch((caught: unknown) => caught);
      expect(anthropicError).toBeInstanceOf(Anthropic.AuthenticationError);
      expect((anthropicError as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({
        type: 'error',
        error: { type: 'authentication_error' },
      });
      expect(await made(bob.key).chat.completions.create(chat)).toMatchObject({ object: 'chat.completion' });
      await keys.revokeKey(bob.record.id, Date.now());
      await expect(made(bob.key).chat.completions.create(chat)).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
      expect(upstream.requests.length).toBe(before + 1);
    } finally {
      await running.close();
    }
  });

  it('answers 403 to a model outside the key allow-list, before any upstream call', async () => {
    const keys = createMemoryKeyStore();
    const limited = await createVirtualKey(keys, { user: 'carol', models: ['gpt-4o-mini', 'claude-haiku*'] });
    const running = await startProxy({
      port: 0,
      upstream: `${upstream.url}/v1`,
      anthropicUpstream: upstream.url,
      virtualKeys: keys,
      providerKeys: { openai: OPENAI_KEY, anthropic: ANTHROPIC_KEY },
    });
    try {
      const openai = new OpenAI({ apiKey: limited.key, baseURL: `${running.url}/v1`, maxRetries: 0 });
      const before = upstream.requests.length;
      const error = await openai.chat.completions
        .create({ ...chat, model: 'gpt-4o' })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
      const anthropic = new Anthropic({ apiKey: limited.key, baseURL: running.url, maxRetries: 0 });
      await expect(
        anthropic.messages.create({ model: 'claude-opus-4-1', max_tokens: 10, messages: chat.messages }),
      ).rejects.toBeInstanceOf(Anthropic.PermissionDeniedError);
      // No model named (an upload, a batch): it could reach any model, so it is refused too.
      const unnamed = await post(running, { authorization: `Bearer ${limited.key}` }, { messages: chat.messages });
      expect(unnamed.status).toBe(403);
      expect(upstream.requests.length).toBe(before);
      // Allowed models go through with the body intact (the proxy read it to check the model).
      const answer = await openai.chat.completions.create(chat);
      expect(answer.usage?.prompt_tokens).toBe(20);
      expect(upstream.requests.at(-1)?.body).toMatchObject({ model: 'gpt-4o-mini', messages: chat.messages });
      await anthropic.messages.create({ model: 'claude-haiku-4-5', max_tokens: 10, messages: chat.messages });
      expect(upstream.requests.length).toBe(before + 2);
    } finally {
      await running.close();
    }
  });

  it("enforces a key's own budget, separately from the same user's other keys", async () => {
    const keys = createMemoryKeyStore();
    // 25 tokens a call through the fake; the reservation is the counted prompt + max_tokens 5.
    const small = await createVirtualKey(keys, { user: 'dan', budgets: ['30tokens/day'] });
    const body = { ...chat, max_tokens: 5 };
    const other = await createVirtualKey(keys, { user: 'dan' });
    const running = await startProxy({
      port: 0,
      upstream: `${upstream.url}/v1`,
      virtualKeys: keys,
      providerKeys: { openai: OPENAI_KEY },
      adminToken: ADMIN,
    });
    try {
      expect((await post(running, { authorization: `Bearer ${small.key}` }, body)).status).toBe(200);
      const refused = await post(running, { authorization: `Bearer ${small.key}` }, body);
      expect(refused.status).toBe(429);
      expect((await post(running, { authorization: `Bearer ${other.key}` }, body)).status).toBe(200);
      const report = await usageByUser(running);
      expect(report.groups).toEqual([expect.objectContaining({ key: 'dan', requests: 3, rejectedRequests: 1 })]);
    } finally {
      await running.close();
    }
  });

  it('refuses inconsistent identity options at startup', async () => {
    const keys = createMemoryKeyStore();
    await expect(startProxy({ port: 0, virtualKeys: keys })).rejects.toMatchObject({ option: 'providerKeys' });
    await expect(
      startProxy({ port: 0, virtualKeys: keys, providerKeys: { openai: 'sk' }, trustUserHeader: 'x-user' }),
    ).rejects.toMatchObject({ option: 'virtualKeys' });
    await expect(startProxy({ port: 0, providerKeys: { openai: 'sk' } })).rejects.toMatchObject({
      option: 'providerKeys',
    });
    await expect(startProxy({ port: 0, trustUserHeader: 'x-user', gatewaySecret: 'short' })).rejects.toMatchObject({
      option: 'gatewaySecret',
    });
    await expect(createVirtualKey(keys, { user: 'eve', budgets: ['user:5/day'] })).rejects.toMatchObject({
      code: 'INVALID_METER_OPTIONS',
    });
    await expect(createVirtualKey(keys, { user: 'two words' })).rejects.toMatchObject({ option: 'user' });
    expect(await keys.listKeys()).toEqual([]);
  });
});
