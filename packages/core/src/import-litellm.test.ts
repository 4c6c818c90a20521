import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importLiteLLM } from './import-litellm';
import { InvalidPriceFileError } from './invalid-price-file-error';

const fixture = JSON.parse(readFileSync(new URL('../test/fixtures/litellm-small.json', import.meta.url), 'utf8'));
const entries = importLiteLLM(fixture, { checkedAt: '2026-08-21' });
const byId = new Map(entries.map((entry) => [entry.id, entry]));

describe('importLiteLLM (hand-written fixture)', () => {
  it('keeps token-priced chat, embedding, realtime and audio models, skips the spec, per-second and unpriced keys', () => {
    expect(entries.map((entry) => entry.id).sort()).toEqual([
      'acme-chat',
      'acme-embed',
      'acme-long',
      'acme-transcribe',
      'acme-voice',
      'deepseek/acme-hit',
      'gemini/acme-flash',
    ]);
  });

  it('converts per-token floats to per-million decimals with variants and reasoning', () => {
    const chat = byId.get('acme-chat');
    expect(chat?.prices).toEqual([
      {
        effectiveFrom: '1970-01-01',
        standard: { input: '2.5', cachedInput: '1.25', output: '10', reasoning: '12' },
        batch: { input: '1.25', output: '5' },
        flex: { input: '1.25', output: '5' },
        priority: { input: '4.25', cachedInput: '2.125', output: '17' },
        source: { feed: 'litellm', key: 'acme-chat' },
      },
    ]);
    expect(chat).toMatchObject({ provider: 'openai', mode: 'chat', contextWindow: 128000, maxOutputTokens: 16384 });
    expect(chat?.checkedAt).toBe('2026-08-21');
  });

  it('reads cache writes (5m and 1h) and the 200k tier, including the 1-hour write above it', () => {
    const long = byId.get('acme-long');
    const set = long?.prices[0];
    expect(set?.standard).toEqual({
      input: '3',
      cachedInput: '0.3',
      cacheWrite5m: '3.75',
      cacheWrite1h: '6',
      output: '15',
    });
    expect(set?.tiers).toEqual([
      {
        threshold: 200000,
        comparison: '>',
        counts: 'all-input',
        prices: { input: '6', cachedInput: '0.6', cacheWrite5m: '7.5', cacheWrite1h: '12', output: '22.5' },
      },
    ]);
    expect(long?.sourceUrl).toBe('https://example.com/acme-long-pricing');
    expect(long?.provider).toBe('anthropic');
  });

  it('maps providers, drops float noise and a zero cache-write price, reads DeepSeek cache hits', () => {
    const flash = byId.get('gemini/acme-flash');
    expect(flash?.provider).toBe('google');
    expect(flash?.prices[0]?.standard).toEqual({ input: '0.075', output: '0.3' });
    expect(byId.get('deepseek/acme-hit')?.prices[0]?.standard).toEqual({
      input: '0.28',
      cachedInput: '0.028',
      output: '0.42',
    });
    expect(byId.get('acme-embed')?.mode).toBe('embedding');
  });

  it('reads audio token prices (input, cached input, output) into their own fields', () => {
    const voice = byId.get('acme-voice');
    expect(voice?.mode).toBe('realtime');
    expect(voice?.prices[0]?.standard).toEqual({
      input: '4',
      cachedInput: '0.4',
      output: '16',
      inputAudio: '32',
      cachedInputAudio: '0.4',
      outputAudio: '64',
    });
    expect(byId.get('acme-transcribe')).toMatchObject({
      mode: 'audio',
      prices: [{ standard: { input: '2.5', output: '10', inputAudio: '2.5' } }],
    });
  });

  it('rejects a document that is not an object and a price that is not a number', () => {
    expect(() => importLiteLLM([])).toThrow(InvalidPriceFileError);
    expect(() => importLiteLLM({ bad: { mode: 'chat', input_cost_per_token: 'cheap' } })).toThrow(
      /"bad"\.input_cost_per_token/,
    );
  });
});
