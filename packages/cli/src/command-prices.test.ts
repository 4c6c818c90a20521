import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PriceCatalog } from '@tokenmeter/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCli, scratchFiles } from '../test/run-cli';

// LiteLLM's feed shape (per-token USD floats keyed by model name):
// https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json
// gpt-4o at a made-up $2 / $8 so a refreshed price is visible.
const feed = JSON.stringify({
  'gpt-4o': { litellm_provider: 'openai', mode: 'chat', input_cost_per_token: 2e-6, output_cost_per_token: 8e-6 },
});

let server: Server;
let base = '';
const ifNoneMatch: Array<string | undefined> = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url === '/prices.json') {
      const tag = request.headers['if-none-match'];
      ifNoneMatch.push(tag);
      if (tag === '"p1"') {
        response.statusCode = 304;
        response.end();
        return;
      }
      response.setHeader('etag', '"p1"');
      response.end(feed);
    } else if (request.url === '/down.json') {
      response.statusCode = 500;
      response.end('oops');
    } else {
      response.statusCode = 404;
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const file = scratchFiles('prices');
const bundledDate = PriceCatalog.bundled().generatedAt;
const daysAfterBundled = (days: number) => new Date(Date.parse(`${bundledDate}T12:00:00Z`) + days * 86_400_000);
let cacheDir = '';

beforeEach(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'tokenmeter-cli-prices-'));
  vi.stubEnv('TOKENMETER_CACHE_DIR', cacheDir);
  // Only Date is faked: the age of the bundled catalog is then the same whenever the suite runs.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(daysAfterBundled(100));
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe('tokenmeter prices and the catalog every command uses', () => {
  it('warns on stderr when the catalog is over 60 days old, not at 60 days, and never under --json', async () => {
    const old = await runCli('models', '--provider', 'openai');
    expect(old.code).toBe(0);
    expect(old.stderr).toContain(`tokenmeter: warning: The price catalog is from ${bundledDate} (100 days old)`);
    expect((await runCli('models', '--json')).stderr).toBe('');
    vi.setSystemTime(daysAfterBundled(60));
    expect((await runCli('models')).stderr).toBe('');
  });

  it('update caches the feed; status, price and cost then use it; a second update revalidates (304)', async () => {
    const update = await runCli('prices', 'update', '--from', `${base}/prices.json`);
    expect(update.code).toBe(0);
    expect(update.stdout).toContain(`Cached 1 models from ${base}/prices.json`);
    expect(update.stdout).toContain('1 bundled models are priced differently from');
    expect(update.stdout).toContain('  gpt-4o: input $2.50 → $2.00, output $10.00 → $8.00 per million');
    expect(existsSync(join(cacheDir, 'prices.json'))).toBe(true);
    const today = daysAfterBundled(100).toISOString().slice(0, 10);

    const status = await runCli('prices', 'status');
    expect(status.stdout).toContain(
      `Prices in use: refreshed prices from ${base}/prices.json (${today}, 0 days old) over the bundled catalog (${bundledDate}).`,
    );
    expect(status.stdout).toContain('ETag "p1"');
    expect(status.stderr).toBe('');

    const price = await runCli('price', 'gpt-4o', '--json');
    const current = (JSON.parse(price.stdout) as { current: { effectiveFrom: string; standard: unknown } }).current;
    expect(current).toMatchObject({ effectiveFrom: today, standard: { input: '2', output: '8' } });
    // 1M input tokens at the refreshed $2, with no staleness warning now.
    const cost = await runCli('cost', '--model', 'gpt-4o', '--input', '1000000', '--output', '0', '--json');
    expect(JSON.parse(cost.stdout)).toMatchObject({ total: '2' });
    expect((await runCli('models')).stderr).toBe('');

    const again = await runCli('prices', 'update', '--from', `${base}/prices.json`);
    expect(again.stdout).toContain('is unchanged (HTTP 304)');
    expect(ifNoneMatch.slice(-2)).toEqual([undefined, '"p1"']);
  });

  it('a failed update exits 2 with the reason and keeps the cache', async () => {
    await runCli('prices', 'update', '--from', `${base}/prices.json`);
    const before = readFileSync(join(cacheDir, 'prices.json'), 'utf8');
    const failed = await runCli('prices', 'update', '--from', `${base}/down.json`);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain(`Cannot load price feed ${base}/down.json: HTTP 500`);
    const garbage = await runCli('prices', 'update', '--from', file('garbage.json', '{"not": "prices"'));
    expect(garbage.code).toBe(2);
    expect(readFileSync(join(cacheDir, 'prices.json'), 'utf8')).toBe(before);
  });

  it('--prices layers negotiated prices over any command; status lists them; a bad file is a clear error', async () => {
    const negotiated = file('negotiated.yaml', 'models:\n  - id: gpt-4o\n    input: "1.5"\n    output: "6"\n');
    const cost = await runCli(
      'cost',
      '--model',
      'gpt-4o',
      '--input',
      '1000000',
      '--output',
      '0',
      '--prices',
      negotiated,
    );
    expect(cost.code).toBe(0);
    expect(cost.stdout).toContain('$1.50');
    const status = await runCli('prices', 'status', '--json', '--prices', negotiated);
    expect(JSON.parse(status.stdout)).toMatchObject({
      origin: 'bundled',
      generatedAt: bundledDate,
      ageDays: 100,
      stale: true,
      overrides: [negotiated],
      cache: null,
    });
    // Without --prices the next command is back on the catalog alone.
    const plain = await runCli('cost', '--model', 'gpt-4o', '--input', '1000000', '--output', '0', '--json');
    expect(JSON.parse(plain.stdout)).toMatchObject({ total: '2.5' });
    const bad = await runCli('models', '--prices', file('bad.yaml', 'models:\n  - id: x\n    input: cheap\n'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/tokenmeter: Invalid price file at models\[0\] \("x"\)\.input/);
    // A broken override does not stop a refresh.
    const update = await runCli('prices', 'update', '--from', `${base}/prices.json`, '--prices', '/nonexistent.yaml');
    expect(update.code).toBe(0);
  });
});
