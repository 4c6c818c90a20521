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

    const byUser = (await (await fetch(`${running.url}/tokenmeter/usage?groupBy=user`)).json()) as UsageReport;
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
    const bad = await fetch(`${running.url}/tokenmeter/usage?groupBy=planet`);
    expect(bad.status).toBe(400);
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
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
    const running = await startProxy({ port: 0, upstream: `${upstream.url}/v1`, budgets: ['route:60tokens/day'] });
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
      // Each call reserves 8 prompt + 20 output tokens and settles at the reported 25: two fit in 60, a third does not.
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

  it('refuses unknown store specs and bad ports clearly', async () => {
    expect(() => storeFromSpec('mongo://x')).toThrow(/expected memory, sqlite:FILE or redis/);
    await expect(startProxy({ port: 70_000 })).rejects.toMatchObject({ code: 'INVALID_METER_OPTIONS' });
  });
});
