import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importGenAiPrices, matchesGenAiRule } from './import-genai-prices';
import { InvalidPriceFileError } from './invalid-price-file-error';

const fixture = JSON.parse(readFileSync(new URL('../test/fixtures/genai-prices-small.json', import.meta.url), 'utf8'));
const entries = importGenAiPrices(fixture, { checkedAt: '2026-08-21' });
const byId = new Map(entries.map((entry) => [entry.id, entry]));

describe('importGenAiPrices (hand-written fixture)', () => {
  it('keeps plain ids for the owning provider and namespaces a reseller’s copies', () => {
    expect(entries.map((entry) => entry.id)).toEqual([
      'acme-pro',
      'acme-mini',
      'acme-night',
      'acme-cache',
      'acme-voice-realtime',
      'acme-mini-tts',
      'reseller/acme-pro',
      'reseller/house-model',
    ]);
    expect(byId.get('reseller/acme-pro')?.prices[0]?.standard).toEqual({ input: '1.5', output: '12' });
  });

  it('turns { base, tiers } into a long-context tier and equals rules into aliases', () => {
    const pro = byId.get('acme-pro');
    expect(pro).toMatchObject({
      provider: 'acme',
      displayName: 'Acme Pro',
      aliases: ['acme-pro-2025-01-01'],
      contextWindow: 1000000,
      sourceUrl: 'https://example.com/acme/pricing',
    });
    expect(pro?.prices).toEqual([
      {
        effectiveFrom: '1970-01-01',
        standard: { input: '1.25', cachedInput: '0.125', output: '10' },
        tiers: [
          {
            threshold: 200000,
            comparison: '>',
            counts: 'all-input',
            prices: { input: '2.5', cachedInput: '0.25', output: '15' },
          },
        ],
        source: { feed: 'genai-prices', key: 'acme/acme-pro' },
      },
    ]);
  });

  it('keeps dated price sets as history, oldest first', () => {
    expect(byId.get('acme-mini')?.prices).toEqual([
      {
        effectiveFrom: '1970-01-01',
        standard: { input: '10', cachedInput: '0.5', output: '40' },
        source: { feed: 'genai-prices', key: 'acme/acme-mini' },
      },
      {
        effectiveFrom: '2025-06-10',
        standard: { input: '2', cachedInput: '0.5', output: '8' },
        source: { feed: 'genai-prices', key: 'acme/acme-mini' },
      },
    ]);
  });

  it('marks speech models as audio, with their audio output price and no text output price', () => {
    expect(byId.get('acme-mini-tts')).toMatchObject({
      mode: 'audio',
      prices: [{ standard: { input: '0.6', output: '0', outputAudio: '12' } }],
    });
  });

  it('reads audio prices (input, cached input, output) and marks realtime models', () => {
    expect(byId.get('acme-voice-realtime')).toMatchObject({
      mode: 'realtime',
      prices: [
        {
          standard: {
            input: '4',
            cachedInput: '0.4',
            output: '16',
            inputAudio: '32',
            cachedInputAudio: '0.4',
            outputAudio: '64',
          },
        },
      ],
    });
  });

  it('skips time-of-day price sets and models without token prices; reads both cache-write lifetimes', () => {
    expect(byId.get('acme-night')?.prices).toHaveLength(1);
    expect(byId.has('acme-free-text')).toBe(false);
    expect(byId.get('acme-cache')?.prices[0]?.standard).toEqual({
      input: '3',
      cachedInput: '0.3',
      cacheWrite5m: '3.75',
      cacheWrite1h: '6',
      output: '15',
    });
  });

  it('says where a bad price is', () => {
    const bad = [{ id: 'p', models: [{ id: 'm', match: { equals: 'm' }, prices: { input_mtok: 'x' } }] }];
    expect(() => importGenAiPrices(bad)).toThrow(InvalidPriceFileError);
    expect(() => importGenAiPrices(bad)).toThrow(/p\.models\[0\]\(m\)\.prices\.input_mtok/);
    expect(() => importGenAiPrices({})).toThrow(/array of providers/);
  });
});

describe('matchesGenAiRule', () => {
  it('evaluates every rule shape', () => {
    const rule = {
      or: [{ starts_with: 'a-' }, { and: [{ contains: 'x' }, { ends_with: '-z' }] }, { regex: '^r\\d$' }],
    };
    expect(matchesGenAiRule(rule, 'a-1')).toBe(true);
    expect(matchesGenAiRule(rule, 'bx-z')).toBe(true);
    expect(matchesGenAiRule(rule, 'bx-y')).toBe(false);
    expect(matchesGenAiRule(rule, 'r7')).toBe(true);
    expect(matchesGenAiRule({ regex: '(' }, '(')).toBe(false);
  });
});
