import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../test/run-cli';
import { parseUnpricedPolicy } from './command-proxy';
import { main } from './program';

// A fake OpenAI upstream on 127.0.0.1 answering Chat Completions in the shape of OpenAI's chat completion object
// (https://platform.openai.com/docs/api-reference/chat/object), echoing the model it was asked for.
let upstream: http.Server;
let upstreamUrl: string;
const received: string[] = [];
beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const model = String(JSON.parse(Buffer.concat(chunks).toString('utf8')).model);
      received.push(model);
      if (req.url !== '/v1/chat/completions') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model,
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

/** Runs `tokenmeter proxy …` in-process until `use` is done, then stops it the way a user does (SIGTERM). */
async function withProxy(args: string[], use: (base: string) => Promise<void>): Promise<number> {
  let stdout = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  try {
    const exit = main(['node', 'tokenmeter', 'proxy', '--port', '0', '--upstream', upstreamUrl, ...args]);
    for (let attempt = 0; attempt < 400 && !/listening on (http:\S+)/.test(stdout); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const base = /listening on (http:\S+)/.exec(stdout)?.[1];
    expect(base).toBeDefined();
    try {
      await use(base as string);
    } finally {
      process.emit('SIGTERM', 'SIGTERM');
    }
    return await exit;
  } finally {
    write.mockRestore();
    process.exitCode = undefined;
  }
}

function chat(base: string, model: string) {
  return fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-cli' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 10 }),
  });
}

describe('tokenmeter proxy --unpriced-policy', () => {
  it('reads refuse, allow and price-as:MODEL, and refuses anything else as bad input (exit 2)', async () => {
    expect(parseUnpricedPolicy('refuse')).toBe('refuse');
    expect(parseUnpricedPolicy('allow')).toBe('allow');
    expect(parseUnpricedPolicy('price-as:gpt-4o')).toEqual({ priceAs: 'gpt-4o' });
    const bad = await runCli('proxy', '--port', '0', '--unpriced-policy', 'ignore');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--unpriced-policy must be refuse, allow or price-as:MODEL');
    const unknown = await runCli('proxy', '--port', '0', '--budget', '5/day', '--unpriced-policy', 'price-as:gpt-4oo');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unpricedPolicy\.priceAs.*"gpt-4oo" is not in the catalog.*did you mean "gpt-4o"/);
  });

  it('refuses an unknown model under a USD budget by default, before the upstream', async () => {
    const code = await withProxy(['--budget', '5/day'], async (base) => {
      const response = await chat(base, 'acme-cli-refused');
      expect(response.status).toBe(403);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unpriced_model');
    });
    expect(code).toBe(0);
    expect(received).not.toContain('acme-cli-refused');
  });

  it('prices an unknown model as the named one with price-as:MODEL', async () => {
    const code = await withProxy(['--budget', '5/day', '--unpriced-policy', 'price-as:gpt-4o-mini'], async (base) => {
      const response = await chat(base, 'acme-cli-priced');
      expect(response.status).toBe(200);
      // At gpt-4o-mini's $0.15 / $0.60 per million: 1000 × 0.15 + 500 × 0.60 = 450 µ$.
      expect(response.headers.get('x-tokenmeter-priced-as')).toBe('gpt-4o-mini');
      expect(response.headers.get('x-tokenmeter-cost')).toBe('0.00045');
    });
    expect(code).toBe(0);
    expect(received).toContain('acme-cli-priced');
  });
});
