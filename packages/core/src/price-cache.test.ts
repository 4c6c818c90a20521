import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidPriceFileError } from './invalid-price-file-error';
import {
  catalogAgeDays,
  loadActiveCatalog,
  priceCacheDirectory,
  readPriceCache,
  staleCatalogWarning,
  updatePriceCache,
  withPriceSources,
} from './price-cache';
import { PriceCatalog } from './price-catalog';
import { PriceFeedUnavailableError } from './price-feed-unavailable-error';

// The shape of LiteLLM's model_prices_and_context_window.json (per-token USD floats keyed by model name):
// https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json
// gpt-4o at a new (made-up) $2 / $8, and a model the bundled catalog does not know.
const feed = (gpt4oOutput: number) => ({
  'gpt-4o': {
    litellm_provider: 'openai',
    mode: 'chat',
    input_cost_per_token: 2e-6,
    cache_read_input_token_cost: 1e-6,
    output_cost_per_token: gpt4oOutput,
  },
  'acme-refresh-model': {
    litellm_provider: 'openai',
    mode: 'chat',
    input_cost_per_token: 1e-6,
    output_cost_per_token: 3e-6,
  },
});
const feedV1 = JSON.stringify(feed(8e-6));
const feedV2 = JSON.stringify(feed(7e-6));

let server: Server;
let base = '';
let served = feedV1;
let etag = '"v1"';
const requests: Array<{ url: string; headers: IncomingHttpHeaders }> = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    requests.push({ url: request.url ?? '', headers: request.headers });
    switch (new URL(request.url ?? '/', 'http://127.0.0.1').pathname) {
      case '/feed.json':
        if (request.headers['if-none-match'] === etag) {
          response.statusCode = 304;
          response.end();
          return;
        }
        response.setHeader('etag', etag);
        response.setHeader('content-type', 'application/json');
        response.end(served);
        return;
      case '/other.json':
        response.setHeader('etag', '"other"');
        response.end(served);
        return;
      case '/error.json':
        response.statusCode = 500;
        response.end('{"error":"upstream down"}');
        return;
      case '/garbage.json':
        response.setHeader('content-type', 'text/html');
        response.end('<html><body>Rate limited</body></html>');
        return;
      case '/empty.json':
        response.end('{}');
        return;
      case '/huge-declared.json':
        response.setHeader('content-length', String(10 * 1024 * 1024));
        response.end();
        return;
      case '/huge-streamed.json': {
        // No content-length: only counting the bytes as they arrive can stop it.
        const chunk = Buffer.alloc(16 * 1024, 0x20);
        let sent = 0;
        const push = () => {
          while (sent < 200) {
            sent += 1;
            if (!response.write(chunk)) {
              response.once('drain', push);
              return;
            }
          }
          response.end();
        };
        response.on('error', () => {});
        push();
        return;
      }
      default:
        response.statusCode = 404;
        response.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

let cacheDir = '';
beforeEach(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'tokenmeter-price-cache-'));
  requests.length = 0;
  served = feedV1;
  etag = '"v1"';
});
afterEach(() => rmSync(cacheDir, { recursive: true, force: true }));

const december = new Date('2026-12-01T10:00:00Z');

describe('updatePriceCache', () => {
  it('fetches, caches with the ETag, and the active catalog then prices with it (history kept)', async () => {
    const result = await updatePriceCache({ from: `${base}/feed.json`, cacheDir, now: december });
    expect(result.status).toBe('updated');
    expect(result.info).toMatchObject({
      source: `${base}/feed.json`,
      format: 'litellm',
      generatedAt: '2026-12-01',
      etag: '"v1"',
      models: 2,
    });
    expect(requests[0]?.headers['if-none-match']).toBeUndefined();
    // The one bundled model the feed reprices, for review (the new model is not a change).
    expect(result.changes).toEqual([
      { id: 'gpt-4o', before: { input: '2.5', output: '10' }, after: { input: '2', output: '8' } },
    ]);

    const active = await loadActiveCatalog({ cacheDir });
    expect(active.origin).toBe('cache');
    expect(active.generatedAt).toBe('2026-12-01');
    expect(active.cache?.source).toBe(`${base}/feed.json`);
    const { catalog } = active;
    const gpt4o = catalog.resolve('gpt-4o').entry;
    expect(catalog.priceSetAt(gpt4o, '2026-12-02').standard).toMatchObject({ input: '2', output: '8' });
    // The bundled price still applies to usage before the refresh.
    expect(catalog.priceSetAt(gpt4o, '2026-06-01').standard).toMatchObject({ input: '2.5', output: '10' });
    expect(catalog.resolve('acme-refresh-model').entry.prices[0]?.standard.input).toBe('1');
  });

  it('revalidates with If-None-Match: a 304 keeps the prices and moves the date; a new ETag replaces them', async () => {
    await updatePriceCache({ from: `${base}/feed.json`, cacheDir, now: december });
    const later = new Date('2026-12-05T08:00:00Z');
    const revalidated = await updatePriceCache({ from: `${base}/feed.json`, cacheDir, now: later });
    expect(requests[1]?.headers['if-none-match']).toBe('"v1"');
    expect(revalidated.status).toBe('not-modified');
    expect(revalidated.changes).toEqual([]);
    expect(revalidated.info).toMatchObject({ generatedAt: '2026-12-05', fetchedAt: later.toISOString(), models: 2 });
    expect((await readPriceCache(cacheDir))?.entries).toHaveLength(2);

    served = feedV2;
    etag = '"v2"';
    const changed = await updatePriceCache({ from: `${base}/feed.json`, cacheDir, now: later });
    expect(changed.status).toBe('updated');
    expect(changed.info.etag).toBe('"v2"');
    const { catalog } = await loadActiveCatalog({ cacheDir });
    expect(catalog.priceSetAt(catalog.resolve('gpt-4o').entry, '2026-12-06').standard.output).toBe('7');
  });

  it('does not send the ETag of another source', async () => {
    await updatePriceCache({ from: `${base}/feed.json`, cacheDir, now: december });
    await updatePriceCache({ from: `${base}/other.json`, cacheDir, now: december });
    expect(requests[1]?.headers['if-none-match']).toBeUndefined();
    expect((await readPriceCache(cacheDir))?.info.etag).toBe('"other"');
  });

  it('never stores or prints a URL’s token, and still revalidates the same URL', async () => {
    const secret = `${base}/feed.json?token=s3cret&v=1`;
    const result = await updatePriceCache({ from: secret, cacheDir, now: december });
    expect(result.info.source).toBe(`${base}/feed.json?token=***&v=***`);
    expect(readFileSync(join(cacheDir, 'prices.json'), 'utf8')).not.toContain('s3cret');
    expect(requests[0]?.url).toBe('/feed.json?token=s3cret&v=1');
    await updatePriceCache({ from: secret, cacheDir, now: december });
    expect(requests[1]?.headers['if-none-match']).toBe('"v1"');
    const missing = updatePriceCache({ from: `${base}/missing.json?key=s3cret`, cacheDir });
    await expect(missing).rejects.toThrow(
      `Cannot load price feed ${base}/missing.json?key=*** : HTTP 404`.replace(' :', ':'),
    );
    const withUser = base.replace('http://', 'http://me:s3cret@');
    await expect(updatePriceCache({ from: `${withUser}/feed.json`, cacheDir })).rejects.not.toThrow(/s3cret/);
    const active = await loadActiveCatalog({ cacheDir, prices: [secret] });
    expect(active.overrides).toEqual([`${base}/feed.json?token=***&v=***`]);
  });

  it('leaves the cache untouched on 404, 500, garbage, an empty feed and an oversized body', async () => {
    await updatePriceCache({ from: `${base}/feed.json`, cacheDir, now: december });
    const cacheFile = join(cacheDir, 'prices.json');
    const before = readFileSync(cacheFile, 'utf8');
    const attempt = (path: string) =>
      updatePriceCache({ from: `${base}${path}`, cacheDir, now: december, maxBytes: 1024 * 1024 });
    await expect(attempt('/missing.json')).rejects.toThrow(PriceFeedUnavailableError);
    await expect(attempt('/missing.json')).rejects.toThrow(/HTTP 404/);
    await expect(attempt('/error.json')).rejects.toThrow(/HTTP 500/);
    await expect(attempt('/garbage.json')).rejects.toThrow(InvalidPriceFileError);
    await expect(attempt('/empty.json')).rejects.toThrow(InvalidPriceFileError);
    await expect(attempt('/huge-declared.json')).rejects.toThrow(/larger than 1048576 bytes/);
    await expect(attempt('/huge-streamed.json')).rejects.toThrow(/larger than 1048576 bytes/);
    expect(readFileSync(cacheFile, 'utf8')).toBe(before);
  });

  it('reads a file; a tokenmeter catalog keeps its own date; an oversized file is refused', async () => {
    const file = join(cacheDir, 'negotiated-catalog.json');
    writeFileSync(
      file,
      JSON.stringify({
        generatedAt: '2026-11-15',
        entries: [{ id: 'gpt-4o', provider: 'openai', input: '2.25', output: '9', effectiveFrom: '2026-11-15' }],
      }),
    );
    const result = await updatePriceCache({ from: file, cacheDir: join(cacheDir, 'cache'), now: december });
    expect(result.info).toMatchObject({ source: file, format: 'tokenmeter', generatedAt: '2026-11-15', models: 1 });
    expect(result.info.etag).toBeUndefined();
    await expect(updatePriceCache({ from: file, cacheDir, maxBytes: 10 })).rejects.toThrow(/larger than 10 bytes/);
    await expect(updatePriceCache({ from: join(cacheDir, 'nope.json'), cacheDir })).rejects.toThrow(/ENOENT/);
  });
});

describe('loadActiveCatalog', () => {
  it('uses the bundled catalog without a cache, and ignores a cache that is not newer', async () => {
    const none = await loadActiveCatalog({ cacheDir });
    expect(none).toMatchObject({ origin: 'bundled', generatedAt: PriceCatalog.bundled().generatedAt, notes: [] });
    expect(none.catalog).toBe(PriceCatalog.bundled());

    await updatePriceCache({ from: `${base}/feed.json`, cacheDir, now: new Date('2026-01-01T00:00:00Z') });
    const older = await loadActiveCatalog({ cacheDir });
    expect(older.origin).toBe('bundled');
    expect(older.notes[0]).toMatch(/not newer than the bundled catalog/);
  });

  it('skips a damaged cache with a note instead of failing', async () => {
    writeFileSync(join(cacheDir, 'prices.json'), '{"version":1,"info":');
    const active = await loadActiveCatalog({ cacheDir });
    expect(active.origin).toBe('bundled');
    expect(active.notes[0]).toMatch(/Ignoring the price cache: .*damaged/);
    writeFileSync(join(cacheDir, 'prices.json'), JSON.stringify({ version: 1, info: { source: 'x' }, entries: [] }));
    expect((await loadActiveCatalog({ cacheDir })).notes[0]).toMatch(/not a tokenmeter price cache/);
  });

  it('layers override files and URLs on top, in order; the user’s price wins over the refreshed one', async () => {
    await updatePriceCache({ from: `${base}/feed.json`, cacheDir, now: december });
    const overrides = join(cacheDir, 'negotiated.yaml');
    writeFileSync(overrides, 'models:\n  - id: gpt-4o\n    provider: openai\n    input: "1.75"\n    output: "7"\n');
    const active = await loadActiveCatalog({ cacheDir, prices: [`${base}/other.json`, overrides] });
    expect(active.overrides).toEqual([`${base}/other.json`, overrides]);
    expect(active.origin).toBe('cache');
    const resolved = active.catalog.resolve('gpt-4o');
    expect(resolved.matchedBy).toBe('custom');
    expect(active.catalog.priceSetAt(resolved.entry).standard).toEqual({ input: '1.75', output: '7' });
    await expect(loadActiveCatalog({ cacheDir, prices: [`${base}/missing.json`] })).rejects.toThrow(/HTTP 404/);
    await expect(loadActiveCatalog({ useCache: false, prices: [`${base}/garbage.json`] })).rejects.toThrow(
      InvalidPriceFileError,
    );
  });
});

describe('priceCacheDirectory', () => {
  it('prefers TOKENMETER_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(priceCacheDirectory({ TOKENMETER_CACHE_DIR: '/tmp/tm', XDG_CACHE_HOME: '/tmp/xdg' })).toBe('/tmp/tm');
    expect(priceCacheDirectory({ XDG_CACHE_HOME: '/tmp/xdg' })).toBe('/tmp/xdg/tokenmeter');
    expect(priceCacheDirectory({})).toBe(join(homedir(), '.cache', 'tokenmeter'));
  });
});

describe('staleCatalogWarning', () => {
  it('warns only past 60 whole days', () => {
    expect(catalogAgeDays('2026-08-21', new Date('2026-10-20T23:59:00Z'))).toBe(60);
    expect(staleCatalogWarning('2026-08-21', new Date('2026-10-20T23:59:00Z'))).toBeUndefined();
    expect(staleCatalogWarning('2026-08-21', new Date('2026-10-21T00:00:00Z'))).toMatch(
      /^The price catalog is from 2026-08-21 \(61 days old\).*tokenmeter prices update/,
    );
    expect(staleCatalogWarning('2026-08-21', new Date('2026-08-01T00:00:00Z'))).toBeUndefined();
  });
});

describe('withPriceSources', () => {
  it('reads paths through the reader and fetches URLs, later sources winning; a missing path is an error', async () => {
    const files: Record<string, string> = {
      'prices/negotiated.yaml': 'models:\n  - id: gpt-4o\n    input: "2"\n    output: "9"\n',
    };
    const read = async (path: string) => files[path];
    const catalog = await withPriceSources(
      PriceCatalog.bundled(),
      [`${base}/feed.json`, 'prices/negotiated.yaml'],
      read,
    );
    expect(catalog.priceSetAt(catalog.resolve('gpt-4o').entry).standard).toEqual({ input: '2', output: '9' });
    expect(catalog.resolve('acme-refresh-model').matchedBy).toBe('custom');
    await expect(withPriceSources(PriceCatalog.bundled(), ['prices/missing.yaml'], read)).rejects.toThrow(
      'Cannot load price feed prices/missing.yaml: not found',
    );
    await expect(
      withPriceSources(PriceCatalog.bundled(), ['prices/negotiated.yaml'], read, { maxBytes: 10 }),
    ).rejects.toThrow(/larger than 10 bytes/);
  });
});
