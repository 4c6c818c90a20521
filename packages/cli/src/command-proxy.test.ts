import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PriceCatalog, staleCatalogWarning } from '@tokenmeter/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test/run-cli';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const ADMIN = 'cli-admin-token-0123456789';

// A fake OpenAI upstream on 127.0.0.1, routing method + exact path as OpenAI does: one Chat Completion with fixed
// usage, one created Batch (https://platform.openai.com/docs/api-reference/batch/object), and OpenAI's 404 shape
// (https://platform.openai.com/docs/guides/error-codes) for anything else.
let upstream: http.Server;
let upstreamUrl: string;
const upstreamAuthorizations: Array<string | undefined> = [];
beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    upstreamAuthorizations.push(req.headers.authorization);
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/batches') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'batch_abc123', object: 'batch', status: 'validating' }));
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: {
              message: `Invalid URL (${req.method} ${req.url})`,
              type: 'invalid_request_error',
              param: null,
              code: null,
            },
          }),
        );
        return;
      }
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

/** Starts the built CLI's proxy and waits for its base URL. */
async function startCli(args: string[]) {
  const child = spawn(process.execPath, [BIN, 'proxy', '--port', '0', '--upstream', upstreamUrl, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let attempt = 0; attempt < 200 && !/listening on (http:\S+)/.test(stdout); attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const base = /listening on (http:\S+)/.exec(stdout)?.[1];
  return {
    base,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

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

  it('refuses a batch under a budget, and forwards it with --forward-unmetered', async () => {
    const batch = JSON.stringify({
      input_file_id: 'file-1',
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const post = (base: string | undefined) =>
      fetch(`${base}/v1/batches`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: batch });
    const strict = await startCli(['--budget', '5/day']);
    const refused = await post(strict.base);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'unmetered_endpoint' } });
    expect(await strict.stop()).toBe(0);
    const open = await startCli(['--budget', '5/day', '--forward-unmetered']);
    const forwarded = await post(open.base);
    expect(forwarded.status).toBe(200);
    expect(await forwarded.json()).toMatchObject({ id: 'batch_abc123' });
    expect(await open.stop()).toBe(0);
  });
});

/** Starts the built CLI's proxy and resolves to its base URL and a stop function that returns the output. */
async function spawnProxy(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [BIN, 'proxy', '--port', '0', '--upstream', upstreamUrl, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let attempt = 0; attempt < 200 && !/listening on (http:\S+)/.test(output); attempt += 1) {
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const base = /listening on (http:\S+)/.exec(output)?.[1];
  return {
    base,
    exited,
    stop: async () => {
      child.kill('SIGTERM');
      const code = await exited;
      return { code, output };
    },
  };
}

describe.skipIf(!existsSync(BIN))('tokenmeter proxy --virtual-keys (built CLI)', () => {
  it('accepts keys made by `tokenmeter keys create`, calls upstream with the real key, and never prints either', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'tokenmeter-cli-vk-'));
    const real = 'sk-real-upstream-key-0123456789';
    try {
      const store = `sqlite:${join(directory, 'usage.db')}`;
      const created = await runCli('keys', 'create', '--store', store, '--user', 'ivy', '--json');
      const { key, id } = JSON.parse(created.stdout) as { key: string; id: string };
      const proxy = await spawnProxy(['--store', store, '--virtual-keys'], { OPENAI_API_KEY: real });
      expect(proxy.base).toBeDefined();
      const call = (apiKey: string) =>
        fetch(`${proxy.base}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] }),
        });
      const answered = await call(key);
      expect(answered.status).toBe(200);
      expect(upstreamAuthorizations.at(-1)).toBe(`Bearer ${real}`);
      const forged = await call(`tm_${'x'.repeat(43)}`);
      expect(forged.status).toBe(401);
      expect((await runCli('keys', 'revoke', id, '--store', store)).code).toBe(0);
      expect((await call(key)).status).toBe(401);
      const { code, output } = await proxy.stop();
      expect(code).toBe(0);
      expect(output).not.toContain(key);
      expect(output).not.toContain(real);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('refuses to start with a credential header as the user, or virtual keys without real keys', async () => {
    const byHeader = await spawnProxy(['--user-header', 'authorization'], {});
    expect(await byHeader.exited).toBe(2);
    const { output } = await byHeader.stop();
    expect(output).toMatch(/credentials/);
    const noKeys = await spawnProxy(['--virtual-keys'], { OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '' });
    expect(await noKeys.exited).toBe(2);
    expect((await noKeys.stop()).output).toMatch(/OPENAI_API_KEY/);
  });
});

/** A redis-server of this test's own on a free loopback port, with a password; killed by the test. */
async function ownRedis(password: string): Promise<{ port: number; kill: () => Promise<void> }> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', password],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let output = '';
  server.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  for (let attempt = 0; attempt < 200 && !output.includes('Ready to accept connections'); attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return {
    port,
    kill: async () => {
      if (server.exitCode !== null || server.signalCode !== null) return;
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGKILL');
      await exited;
    },
  };
}

function runBin(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, exited };
}

describe.skipIf(!existsSync(BIN))('tokenmeter proxy with a Redis store (built CLI)', { timeout: 60_000 }, () => {
  it('exits 2 naming the cause when Redis refuses the password, instead of serving without budgets', async () => {
    const redis = await ownRedis('cli-test-secret');
    try {
      for (const [url, cause] of [
        [`redis://127.0.0.1:${redis.port}`, 'NOAUTH'],
        [`redis://:wrong@127.0.0.1:${redis.port}`, 'WRONGPASS'],
      ] as const) {
        const run = runBin(['proxy', '--port', '0', '--upstream', upstreamUrl, '--store', url, '--budget', '5/day']);
        expect(await run.exited).toBe(2);
        expect(run.output.stderr).toContain(cause);
        expect(run.output.stdout).not.toContain('listening');
      }
    } finally {
      await redis.kill();
    }
  });

  it('says how many events were lost when Redis is down at shutdown, never that every event was flushed', async () => {
    const redis = await ownRedis('cli-test-secret');
    const run = runBin([
      'proxy',
      '--port',
      '0',
      '--upstream',
      upstreamUrl,
      '--store',
      `redis://:cli-test-secret@127.0.0.1:${redis.port}`,
    ]);
    try {
      for (let attempt = 0; attempt < 200 && !/listening on (http:\S+)/.test(run.output.stdout); attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const base = /listening on (http:\S+)/.exec(run.output.stdout)?.[1];
      expect(base, run.output.stderr).toBeDefined();
      await redis.kill();
      for (let index = 0; index < 3; index += 1) {
        const response = await fetch(`${base}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer sk-cli' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 10 }),
        });
        expect(response.status).toBe(200);
      }
      run.child.kill('SIGTERM');
      expect(await run.exited, JSON.stringify(run.output)).toBe(1);
      expect(run.output.stderr).toContain('3 usage events were lost');
      expect(run.output.stdout).not.toContain('flushed');
    } finally {
      run.child.kill('SIGKILL');
      await redis.kill();
    }
  });

  it('--prices: prices with the negotiated file, says which prices at startup, warns when the catalog is stale', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'tokenmeter-proxy-prices-'));
    const negotiated = join(directory, 'negotiated.yaml');
    writeFileSync(negotiated, 'models:\n  - id: gpt-4o-mini\n    input: "0.10"\n    output: "0.40"\n');
    const child = spawn(
      process.execPath,
      [BIN, 'proxy', '--port', '0', '--upstream', upstreamUrl, '--prices', negotiated],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TOKENMETER_CACHE_DIR: join(directory, 'cache') } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    for (let attempt = 0; attempt < 200 && !/prices: .*\n/.test(stdout); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const bundled = PriceCatalog.bundled().generatedAt;
    expect(stdout).toMatch(
      new RegExp(`prices: the bundled catalog \\(${bundled}, \\d+ days old\\), overridden by ${negotiated}`),
    );
    // The bundled catalog's age depends on the day the suite runs: expect the warning exactly when it is due.
    const due = staleCatalogWarning(bundled);
    if (due) expect(stderr).toContain(`tokenmeter: warning: ${due}`);
    else expect(stderr).not.toContain('warning');
    const base = /listening on (http:\S+)/.exec(stdout)?.[1];
    const response = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-cli' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 10 }),
    });
    // Negotiated $0.10 / $0.40 per million: 1000 × 0.10 + 500 × 0.40 = 300 µ$.
    expect(response.headers.get('x-tokenmeter-cost')).toBe('0.0003');
    await response.arrayBuffer();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
