import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import express from 'express';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { adminAuthorize } from '../src/admin-access';
import { dashboardRouter } from '../src/dashboard-router';
import type { KeyStore } from '../src/key-store';
import { createRedisKeyStore } from '../src/key-store-redis';
import { createSqliteKeyStore } from '../src/key-store-sqlite';
import { type RunningProxy, type StartProxyOptions, startProxy } from '../src/proxy-server';
import { createRedisStore } from '../src/store-redis';
import { createVirtualKey } from '../src/virtual-keys';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream';

// Distinctive fake secrets: any trace of them, anywhere, is a leak.
const OPENAI_KEY = `sk-proj-SECRETopenai${randomBytes(12).toString('hex')}`;
const ANTHROPIC_KEY = `sk-ant-api03-SECRETanthropic${randomBytes(12).toString('hex')}`;
const CLIENT_KEY = `sk-SECRETclient${randomBytes(12).toString('hex')}`;
const ADMIN = 'admin-0123456789abcdef';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `tokenmeter-test:${randomBytes(6).toString('hex')}:`;

let upstream: FakeUpstream;
let directory: string;
const logs: string[] = [];

beforeAll(async () => {
  upstream = await startFakeUpstream();
  directory = mkdtempSync(join(tmpdir(), 'tokenmeter-secrets-'));
});
afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(async () => {
  await upstream.close();
  rmSync(directory, { recursive: true, force: true });
  const admin = new Redis(redisUrl);
  const keys = await admin.keys(`${prefix}*`);
  if (keys.length > 0) await admin.del(...keys);
  await admin.quit();
});

/** Every console line and every tokenmeter warning, from now on. */
function captureLogs(): void {
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logs.push(args.map(String).join(' '));
    });
  }
}

/** Everything a client or an admin can see: status, every header, every body. */
async function seen(response: Response): Promise<string> {
  return `${response.status}\n${JSON.stringify([...response.headers])}\n${await response.text()}`;
}

/** A varied day of traffic through the proxy: good keys, bad keys, streams, refusals, upstream errors. */
async function traffic(running: RunningProxy, keys: { alice: string; limited: string; revoked: string }) {
  const out: string[] = [];
  const call = async (path: string, key: string | undefined, body: unknown, extra: Record<string, string> = {}) => {
    const anthropic = path === '/v1/messages';
    const headers: Record<string, string> = { 'content-type': 'application/json', ...extra };
    if (key !== undefined) {
      if (anthropic) headers['x-api-key'] = key;
      else headers.authorization = `Bearer ${key}`;
    }
    if (anthropic) headers['anthropic-version'] = '2023-06-01';
    out.push(await seen(await fetch(`${running.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })));
  };
  const chat = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Hi' }], max_tokens: 5 };
  const message = { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user' as const, content: 'Hi' }] };
  await call('/v1/chat/completions', keys.alice, chat);
  await call('/v1/chat/completions', keys.alice, { ...chat, stream: true });
  await call('/v1/messages', keys.alice, message);
  await call('/v1/messages', keys.alice, { ...message, stream: true });
  await call('/v1/chat/completions', keys.alice, chat, { 'x-fake': 'status-400' });
  await call('/v1/chat/completions', keys.alice, chat, { 'x-fake': 'cut' });
  await call('/v1/chat/completions', keys.limited, { ...chat, model: 'gpt-4o' });
  await call('/v1/chat/completions', keys.limited, chat);
  // The limited key's budget is spent: a 429 with budget headers.
  await call('/v1/chat/completions', keys.limited, chat);
  await call('/v1/chat/completions', keys.revoked, chat);
  await call('/v1/chat/completions', CLIENT_KEY, chat);
  await call('/v1/messages', OPENAI_KEY, message);
  await call('/v1/chat/completions', undefined, chat);
  out.push(await seen(await fetch(`${running.url}/v1/models`, { headers: { authorization: `Bearer ${keys.alice}` } })));
  // The SDKs too, errors included.
  const openai = new OpenAI({ apiKey: keys.alice, baseURL: `${running.url}/v1`, maxRetries: 0 });
  const answer = await openai.chat.completions.create(chat).withResponse();
  out.push(JSON.stringify([...answer.response.headers]), JSON.stringify(answer.data));
  const anthropic = new Anthropic({ apiKey: keys.revoked, baseURL: running.url, maxRetries: 0 });
  out.push(String(await anthropic.messages.create(message).catch((error: unknown) => JSON.stringify(error))));

  const admin = { headers: { authorization: `Bearer ${ADMIN}` } };
  for (const query of ['', '?groupBy=user', '?groupBy=tenant', '?groupBy=model', '?groupBy=route']) {
    out.push(await seen(await fetch(`${running.url}/tokenmeter/usage${query}`, admin)));
  }
  out.push(await seen(await fetch(`${running.url}/tokenmeter/usage/daily?format=csv`, admin)));
  out.push(await seen(await fetch(`${running.url}/metrics`, admin)));
  // The dashboard over the same store.
  const app = express();
  app.use('/dashboard', dashboardRouter({ store: running.store, authorize: adminAuthorize({ token: ADMIN }) }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  out.push(await seen(await fetch(`http://127.0.0.1:${port}/dashboard/api/summary`, admin)));
  out.push(await seen(await fetch(`http://127.0.0.1:${port}/dashboard/`, admin)));
  await new Promise((resolve) => server.close(resolve));
  return out.join('\n');
}

async function makeKeys(store: KeyStore) {
  const alice = await createVirtualKey(store, { user: 'alice', tenant: 'acme' });
  const limited = await createVirtualKey(store, { user: 'bob', models: ['gpt-4o-mini'], budgets: ['30tokens/day'] });
  const revoked = await createVirtualKey(store, { user: 'carol' });
  await store.revokeKey(revoked.record.id, Date.now());
  return { alice: alice.key, limited: limited.key, revoked: revoked.key };
}

function expectNoSecret(where: string, text: string, secrets: string[]): void {
  for (const secret of secrets) {
    // Whole, and the distinctive middle alone (a truncated or re-encoded copy is a leak too).
    for (const needle of [secret, secret.slice(4, -4)]) {
      if (text.includes(needle)) throw new Error(`${where} contains a secret (${secret.slice(0, 6)}…)`);
    }
  }
}

const options = (extra: Partial<StartProxyOptions>): StartProxyOptions => ({
  port: 0,
  upstream: `${upstream.url}/v1`,
  anthropicUpstream: upstream.url,
  providerKeys: { openai: OPENAI_KEY, anthropic: ANTHROPIC_KEY },
  adminToken: ADMIN,
  logger: { warn: (message: string) => logs.push(message) },
  ...extra,
});

describe('secret scanning: no provider key or virtual key is stored, logged, echoed or shown', () => {
  it('SQLite: the database file, logs, every response header and body, usage API, metrics and dashboard', async () => {
    captureLogs();
    const path = join(directory, 'usage.db');
    const keyStore = createSqliteKeyStore({ path });
    const keys = await makeKeys(keyStore);
    await keyStore.close();
    const running = await startProxy(options({ store: `sqlite:${path}`, virtualKeys: true }));
    const shown = await traffic(running, keys);
    await running.close();
    // The scan is only worth something if the traffic happened and was recorded.
    expect(shown).toContain('"requests":');
    expect(upstream.requests.some((request) => request.headers.authorization === `Bearer ${OPENAI_KEY}`)).toBe(true);
    const secrets = [OPENAI_KEY, ANTHROPIC_KEY, CLIENT_KEY, ...Object.values(keys)];
    expectNoSecret('responses', shown, secrets);
    expectNoSecret('logs', logs.join('\n'), secrets);
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      if (!existsSync(file)) continue;
      const bytes = readFileSync(file);
      expectNoSecret(file, bytes.toString('latin1'), secrets);
      expectNoSecret(file, bytes.toString('utf16le'), secrets);
    }
    expect(readFileSync(path).toString('latin1')).toContain('tokenmeter_keys');
  });

  it('Redis: every key and value under the prefix, logs, responses, usage API, metrics and dashboard', async () => {
    captureLogs();
    const keyStore = createRedisKeyStore({ url: redisUrl, prefix });
    const keys = await makeKeys(keyStore);
    const running = await startProxy(
      options({ store: createRedisStore({ url: redisUrl, prefix }), virtualKeys: keyStore }),
    );
    const shown = await traffic(running, keys);
    await running.close();
    await keyStore.close();
    const admin = new Redis(redisUrl);
    const dump: string[] = [];
    try {
      const names = await admin.keys(`${prefix}*`);
      expect(names.length).toBeGreaterThan(3);
      for (const name of names) {
        dump.push(name);
        const type = await admin.type(name);
        if (type === 'string') dump.push(String(await admin.get(name)));
        else if (type === 'hash') dump.push(JSON.stringify(await admin.hgetall(name)));
        else if (type === 'set') dump.push(JSON.stringify(await admin.smembers(name)));
        else if (type === 'zset') dump.push(JSON.stringify(await admin.zrange(name, 0, -1, 'WITHSCORES')));
        else if (type === 'list') dump.push(JSON.stringify(await admin.lrange(name, 0, -1)));
        else throw new Error(`unexpected Redis type ${type} at ${name}`);
      }
    } finally {
      await admin.quit();
    }
    expect(dump.join('\n')).toContain('vkeys');
    const secrets = [OPENAI_KEY, ANTHROPIC_KEY, CLIENT_KEY, ...Object.values(keys)];
    expectNoSecret('Redis', dump.join('\n'), secrets);
    expectNoSecret('responses', shown, secrets);
    expectNoSecret('logs', logs.join('\n'), secrets);
  });

  it('userFromKey: usage is told apart per key by fingerprint, and the key is nowhere', async () => {
    captureLogs();
    const path = join(directory, 'fingerprint.db');
    const running = await startProxy({
      port: 0,
      upstream: `${upstream.url}/v1`,
      store: `sqlite:${path}`,
      userFromKey: true,
      adminToken: ADMIN,
    });
    const openai = new OpenAI({ apiKey: CLIENT_KEY, baseURL: `${running.url}/v1`, maxRetries: 0 });
    const answer = await openai.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse();
    const usage = await seen(
      await fetch(`${running.url}/tokenmeter/usage?groupBy=user`, { headers: { authorization: `Bearer ${ADMIN}` } }),
    );
    await running.close();
    expect(usage).toMatch(/key:sha256:[0-9a-f]{12}/);
    expectNoSecret('usage', usage, [CLIENT_KEY]);
    expectNoSecret('headers', JSON.stringify([...answer.response.headers]), [CLIENT_KEY]);
    expectNoSecret('SQLite', readFileSync(path).toString('latin1'), [CLIENT_KEY]);
    expectNoSecret('logs', logs.join('\n'), [CLIENT_KEY]);
  });
});
