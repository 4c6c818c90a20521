import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidPriceFileError } from './invalid-price-file-error';
import { detectPriceFeedFormat, loadPriceFeed } from './price-feed';
import { PriceFeedUnavailableError } from './price-feed-unavailable-error';

const fixtures = new URL('../test/fixtures/', import.meta.url);
const litellmPath = new URL('litellm-small.json', fixtures).pathname;
const genaiPath = new URL('genai-prices-small.json', fixtures).pathname;
const yamlPath = new URL('custom-prices.yaml', fixtures).pathname;

let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url === '/litellm.json') {
      response.setHeader('content-type', 'application/json');
      response.end(readFileSync(litellmPath));
    } else if (request.url === '/genai.json') {
      response.end(readFileSync(genaiPath));
    } else {
      response.statusCode = 404;
      response.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('loadPriceFeed', () => {
  it('detects and imports each format from a file', async () => {
    expect((await loadPriceFeed(litellmPath)).map((entry) => entry.id)).toContain('acme-chat');
    expect((await loadPriceFeed(genaiPath)).map((entry) => entry.id)).toContain('acme-mini');
    expect((await loadPriceFeed(yamlPath)).map((entry) => entry.id)).toEqual(['acme-finetune', 'gpt-4o']);
  });

  it('fetches a feed over http from a local server', async () => {
    const entries = await loadPriceFeed(`${base}/litellm.json`, { checkedAt: '2026-08-21' });
    expect(entries.find((entry) => entry.id === 'acme-chat')?.prices[0]?.standard.input).toBe('2.5');
    const genai = await loadPriceFeed(`${base}/genai.json`, { format: 'genai-prices' });
    expect(genai[0]?.id).toBe('acme-pro');
  });

  it('reports an HTTP error, a missing file and an unknown format as typed errors', async () => {
    await expect(loadPriceFeed(`${base}/missing.json`)).rejects.toThrow(PriceFeedUnavailableError);
    await expect(loadPriceFeed(`${base}/missing.json`)).rejects.toThrow(/HTTP 404/);
    await expect(loadPriceFeed('/nonexistent/prices.json')).rejects.toThrow(/ENOENT/);
    await expect(loadPriceFeed(yamlPath, { format: 'litellm' })).rejects.toThrow(InvalidPriceFileError);
  });
});

describe('loadPriceFeed size limit', () => {
  it('refuses a file or a response larger than maxBytes', async () => {
    await expect(loadPriceFeed(litellmPath, { maxBytes: 100 })).rejects.toThrow(/larger than 100 bytes/);
    await expect(loadPriceFeed(`${base}/litellm.json`, { maxBytes: 100 })).rejects.toThrow(PriceFeedUnavailableError);
    expect((await loadPriceFeed(litellmPath, { maxBytes: 1_000_000 })).length).toBeGreaterThan(0);
  });
});

describe('detectPriceFeedFormat', () => {
  it('tells the three formats apart', () => {
    expect(detectPriceFeedFormat({ m: { litellm_provider: 'openai', input_cost_per_token: 1e-6 } })).toBe('litellm');
    expect(detectPriceFeedFormat([{ id: 'p', models: [] }])).toBe('genai-prices');
    expect(detectPriceFeedFormat({ models: [] })).toBe('tokenmeter');
    expect(detectPriceFeedFormat({ generatedAt: '2026-01-01', entries: [] })).toBe('tokenmeter');
    expect(detectPriceFeedFormat({ something: 1 })).toBeUndefined();
  });
});
