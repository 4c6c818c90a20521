import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const ADMIN = 'cli-admin-token-0123456789';

// A fake OpenAI upstream on 127.0.0.1: one Chat Completion with fixed usage.
let upstream: http.Server;
let upstreamUrl: string;
beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model: 'gpt-4o-mini-2024-07-18',
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

// The built bin is what users run; `turbo test` builds it first (skipped only when run before any build).
describe.skipIf(!existsSync(BIN))('tokenmeter proxy (built CLI)', () => {
  it('prints where it listens, meters a call, serves usage, and stops cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'proxy', '--port', '0', '--upstream', upstreamUrl, '--user-header', 'x-user', '--budget', '5/day'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TOKENMETER_ADMIN_TOKEN: ADMIN } },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    for (let attempt = 0; attempt < 200 && !/listening on (http:\S+)/.test(stdout); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const base = /listening on (http:\S+)/.exec(stdout)?.[1];
    expect(base).toBeDefined();
    const response = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-cli', 'x-user': 'ivy' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 10 }),
    });
    expect(response.status).toBe(200);
    // gpt-4o-mini at $0.15 / $0.60 per million: 1000 × 0.15 + 500 × 0.60 = 450 µ$.
    expect(response.headers.get('x-tokenmeter-cost')).toBe('0.00045');
    expect((await fetch(`${base}/tokenmeter/usage`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const admin = { headers: { authorization: `Bearer ${ADMIN}` } };
    expect((await fetch(`${base}/metrics`, admin)).status).toBe(200);
    const usage = (await (await fetch(`${base}/tokenmeter/usage?groupBy=user`, admin)).json()) as {
      totals: Record<string, unknown>;
      groups: unknown[];
    };
    expect(usage.totals).toMatchObject({ requests: 1, inputTokens: 1000, outputTokens: 500, cost: '0.00045' });
    expect(usage.groups).toEqual([expect.objectContaining({ key: 'ivy', requests: 1 })]);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toContain('every recorded event was flushed');
  });
});
