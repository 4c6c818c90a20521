import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, storeFromSpec } from '../src/proxy-server';
import type { UsageReport } from '../src/types';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream';

const ADMIN = 'admin-0123456789abcdef';
const admin = { headers: { authorization: `Bearer ${ADMIN}` } };
let upstream: FakeUpstream;
let directory: string;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  directory = mkdtempSync(join(tmpdir(), 'tokenmeter-proxy-'));
});
afterAll(async () => {
  await upstream.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('startProxy(): the standalone gateway', () => {
  it('meters both SDKs, serves usage JSON, and flushes every event to SQLite on close', async () => {
    const path = join(directory, 'usage.db');
    const running = await startProxy({
      port: 0,
      upstream: `${upstream.url}/v1`,
      anthropicUpstream: upstream.url,
      store: `sqlite:${path}`,
      userHeader: 'X-User',
      budgets: ['5/day'],
      adminToken: ADMIN,
    });
    const openai = new OpenAI({
      apiKey: 'sk-gateway',
      baseURL: `${running.url}/v1`,
      maxRetries: 0,
      defaultHeaders: { 'x-user': 'gina' },
    });
    const anthropic = new Anthropic({
      apiKey: 'sk-ant-gateway',
      baseURL: running.url,
      maxRetries: 0,
      defaultHeaders: { 'x-user': 'hal' },
    });
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
    await anthropic.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Hi' }],
    });

    const byUser = (await (await fetch(`${running.url}/tokenmeter/usage?groupBy=user`, admin)).json()) as UsageReport;
    // 5.4 µ$ + 997.5 µ$ (see the proxy tests); input is uncached only: 12 + 100.
    expect(byUser.totals).toMatchObject({
      requests: 2,
      inputTokens: 112,
      cachedInputTokens: 208,
      cacheWriteTokens: 50,
      outputTokens: 35,
      reasoningTokens: 0,
      cost: '0.0010029',
    });
    expect(byUser.groups.map((group) => group.key).sort()).toEqual(['gina', 'hal']);
    const bad = await fetch(`${running.url}/tokenmeter/usage?groupBy=planet`, admin);
    expect(bad.status).toBe(400);
    const metrics = await (await fetch(`${running.url}/metrics`, admin)).text();
    expect(metrics).toMatch(/tokenmeter_\w+_total\{[^}]*model="gpt-4o-mini"/);
    await running.close();

    const reopened = storeFromSpec(`sqlite:${path}`);
    try {
      const report = await reopened.query({ groupBy: 'model' });
      expect(report.totals.requests).toBe(2);
      expect(report.groups.map((group) => group.key).sort()).toEqual(['claude-sonnet-4-5', 'gpt-4o-mini']);
    } finally {
      await reopened.close();
    }
  });

  it('counts every spelling of a route toward the same route budget, and forwards only the canonical path', async () => {
    const running = await startProxy({ port: 0, upstream: `${upstream.url}/v1`, budgets: ['route:80tokens/day'] });
    const { port } = running;
    // Sent byte for byte (fetch would tidy the path first, as a front end might not).
    const post = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const request = http.request(
          { hostname: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json' } },
          (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode ?? 0));
          },
        );
        request.on('error', reject);
        request.end(
          JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 20 }),
        );
      });
    try {
      // Each call reserves its bound (25 prompt + 20 output) and settles at the reported 25: two fit in 80, a third does not.
      expect(await post('/v1/chat/completions')).toBe(200);
      expect(await post('/V1/Chat/Completions')).toBe(200);
      expect(upstream.requests.at(-1)).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
      expect(await post('/v1//chat/./completions/')).toBe(429);
      // Nothing outside /v1 is reachable through the proxy by climbing out of it.
      expect(await post('/v1/../tokenmeter/usage')).toBe(400);
    } finally {
      await running.close();
    }
  });

  it('serves usage and metrics only to the admin token, and to nobody without one, loopback included', async () => {
    const openai = (url: string) => new OpenAI({ apiKey: 'sk-x', baseURL: `${url}/v1`, maxRetries: 0 });
    const guarded = await startProxy({ port: 0, upstream: `${upstream.url}/v1`, adminToken: ADMIN });
    const closed = await startProxy({ port: 0, upstream: `${upstream.url}/v1` });
    const open = await startProxy({ port: 0, upstream: `${upstream.url}/v1`, adminOpen: true });
    try {
      for (const running of [guarded, closed, open]) {
        await openai(running.url).chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'Hi' }],
        });
      }
      for (const path of ['/tokenmeter/usage', '/tokenmeter/usage/daily', '/metrics']) {
        const anonymous = await fetch(`${guarded.url}${path}`);
        expect(anonymous.status).toBe(401);
        expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(await anonymous.text()).not.toMatch(/gpt-4o-mini/);
        // Behind nginx on the same host: forwarded, loopback socket; still needs the token.
        const forwarded = await fetch(`${guarded.url}${path}`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
        expect(forwarded.status).toBe(401);
        const wrong = await fetch(`${guarded.url}${path}`, {
          headers: { authorization: 'Bearer not-the-admin-token' },
        });
        expect(wrong.status).toBe(403);
        const allowed = await fetch(`${guarded.url}${path}`, admin);
        expect(allowed.status).toBe(200);
        expect((await fetch(`${closed.url}${path}`)).status).toBe(401);
        expect((await fetch(`${closed.url}${path}`, admin)).status).toBe(403);
        expect((await fetch(`${open.url}${path}`)).status).toBe(200);
      }
      // The guard protects the admin surfaces only: model calls still pass without it.
      expect(upstream.requests.at(-1)?.path).toBe('/v1/chat/completions');
    } finally {
      await Promise.all([guarded.close(), closed.close(), open.close()]);
    }
    await expect(startProxy({ port: 0, adminToken: 'short' })).rejects.toMatchObject({ option: 'adminToken' });
  });

  it('refuses unknown store specs and bad ports clearly', async () => {
    expect(() => storeFromSpec('mongo://x')).toThrow(/expected memory, sqlite:FILE, redis:\/\/… .* or postgres:\/\/…/);
    await expect(startProxy({ port: 70_000 })).rejects.toMatchObject({ code: 'INVALID_METER_OPTIONS' });
  });
});
