import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCustomPrices } from './custom-prices';
import { InvalidPriceFileError } from './invalid-price-file-error';
import { PriceCatalog } from './price-catalog';

const yamlText = readFileSync(new URL('../test/fixtures/custom-prices.yaml', import.meta.url), 'utf8');

function errorOf(action: () => unknown): InvalidPriceFileError {
  try {
    action();
  } catch (error) {
    if (error instanceof InvalidPriceFileError) return error;
    throw error;
  }
  throw new Error('expected InvalidPriceFileError');
}

describe('parseCustomPrices', () => {
  it('reads flat YAML prices (numbers or strings) into catalog entries', () => {
    const [finetune, gpt4o] = parseCustomPrices(yamlText);
    expect(finetune).toMatchObject({
      id: 'acme-finetune',
      provider: 'openai',
      aliases: ['ft:gpt-4o-mini-2024-07-18:acme::abc123'],
      mode: 'chat',
      contextWindow: 128000,
      sourceUrl: 'custom',
      prices: [{ effectiveFrom: '1970-01-01', standard: { input: '0.3', cachedInput: '0.15', output: '1.2' } }],
    });
    expect(gpt4o?.prices[0]).toEqual({
      effectiveFrom: '1970-01-01',
      standard: { input: '2', output: '8' },
      batch: { input: '1', output: '4' },
      tiers: [{ threshold: 128000, comparison: '>=', counts: 'all-input', prices: { input: '4', output: '16' } }],
    });
  });

  it('reads JSON with dated price sets, sorted oldest first', () => {
    const entries = parseCustomPrices(
      JSON.stringify([
        {
          id: 'house',
          prices: [
            { effectiveFrom: '2026-06-01', standard: { input: '1', output: '2' } },
            { effectiveFrom: '2026-01-01', standard: { input: '2', output: '4' } },
          ],
        },
      ]),
      'json',
    );
    expect(entries[0]?.prices.map((set) => set.effectiveFrom)).toEqual(['2026-01-01', '2026-06-01']);
    expect(entries[0]?.provider).toBe('custom');
  });

  it('overrides the shipped price when added to the catalog', () => {
    const catalog = PriceCatalog.default().withEntries(parseCustomPrices(yamlText));
    expect(catalog.priceSetAt(catalog.resolve('gpt-4o').entry).standard.input).toBe('2');
    expect(catalog.resolve('ft:gpt-4o-mini-2024-07-18:acme::abc123').entry.id).toBe('acme-finetune');
  });

  it('names the entry and field of every problem', () => {
    expect(errorOf(() => parseCustomPrices('- id: a\n  input: cheap\n  output: 1\n')).message).toBe(
      'Invalid price file at [0] ("a").input: expected a decimal price such as "2.50", got "cheap" (USD per million tokens)',
    );
    expect(errorOf(() => parseCustomPrices('models:\n  - id: a\n    input: 1\n')).path).toBe('models[0] ("a").output');
    expect(errorOf(() => parseCustomPrices('- id: a\n  input: 1\n  ouput: 2\n')).message).toMatch(
      /unknown field "ouput"/,
    );
    expect(errorOf(() => parseCustomPrices('- input: 1\n  output: 2\n')).path).toBe('[0].id');
    expect(errorOf(() => parseCustomPrices('- id: a\n  input: -1\n  output: 2\n')).message).toMatch(/≥ 0/);
    expect(
      errorOf(() => parseCustomPrices('[{"id":"a","input":1,"output":1},{"id":"a","input":1,"output":1}]')).message,
    ).toMatch(/duplicate id "a"/);
    const tier = '- id: a\n  input: 1\n  output: 2\n  tiers: [{ threshold: 1000, comparison: "=>", prices: {} }]\n';
    expect(errorOf(() => parseCustomPrices(tier)).path).toBe('[0] ("a").tiers[0].comparison');
    expect(errorOf(() => parseCustomPrices('{"id": ', 'json')).message).toMatch(/not valid JSON/);
    expect(errorOf(() => parseCustomPrices('just text')).message).toMatch(/expected a list of models/);
    expect(errorOf(() => parseCustomPrices('x')).code).toBe('INVALID_PRICE_FILE');
  });

  it("reads audio prices and a price set's provenance, and names a bad one", () => {
    const [entry] = parseCustomPrices(
      JSON.stringify([
        {
          id: 'acme-voice',
          mode: 'realtime',
          prices: [
            {
              effectiveFrom: '2026-01-01',
              standard: { input: 4, output: 16, inputAudio: 32, cachedInputAudio: '0.4', outputAudio: 64 },
              source: { feed: 'curated', url: 'https://example.com/pricing', checkedAt: '2026-08-21' },
            },
          ],
        },
      ]),
    );
    expect(entry?.mode).toBe('realtime');
    expect(entry?.prices[0]?.standard).toEqual({
      input: '4',
      output: '16',
      inputAudio: '32',
      cachedInputAudio: '0.4',
      outputAudio: '64',
    });
    expect(entry?.prices[0]?.source).toEqual({
      feed: 'curated',
      url: 'https://example.com/pricing',
      checkedAt: '2026-08-21',
    });
    const bad = (source: unknown) =>
      errorOf(() =>
        parseCustomPrices(JSON.stringify([{ id: 'x', prices: [{ standard: { input: 1, output: 1 }, source }] }])),
      ).message;
    expect(bad({ feed: 'rumour' })).toMatch(/prices\[0\]\.source\.feed/);
    expect(bad({ feed: 'litellm', key: 7 })).toMatch(/source\.key/);
    expect(bad({ feed: 'curated', checkedAt: 'yesterday' })).toMatch(/source\.checkedAt/);
    expect(bad({ feed: 'curated', note: 'x' })).toMatch(/unknown field "note"/);
  });
});
