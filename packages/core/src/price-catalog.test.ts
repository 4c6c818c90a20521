import { describe, expect, it } from 'vitest';
import { parsePricePerMillion } from './money';
import { PriceCatalog } from './price-catalog';
import type { CatalogEntry } from './types';
import { UnknownModelError } from './unknown-model-error';

const catalog = PriceCatalog.default();

function latest(model: string) {
  const { entry } = catalog.resolve(model);
  return catalog.priceSetAt(entry);
}

// Expected numbers below are the providers' published prices (USD per million tokens), checked against the
// LiteLLM and genai-prices snapshots in ../shared/data (2026-08); none is computed by the code under test.
describe('PriceCatalog.default(): published prices', () => {
  it('gpt-4o: $2.50 input, $1.25 cached, $10 output; batch half price', () => {
    const set = latest('gpt-4o');
    expect(set.standard).toEqual({ input: '2.5', cachedInput: '1.25', output: '10' });
    expect(set.batch).toEqual({ input: '1.25', output: '5' });
    expect(catalog.resolve('gpt-4o').entry.encoding).toBe('o200k_base');
  });

  it('claude-sonnet-4-5: $3 / $0.30 read / $3.75 write 5m / $6 write 1h / $15; above 200k $6 / $22.50', () => {
    const set = latest('claude-sonnet-4-5');
    expect(set.standard).toEqual({
      input: '3',
      cachedInput: '0.3',
      cacheWrite5m: '3.75',
      cacheWrite1h: '6',
      output: '15',
    });
    expect(set.tiers).toEqual([
      {
        threshold: 200000,
        comparison: '>',
        counts: 'all-input',
        prices: { input: '6', cachedInput: '0.6', cacheWrite5m: '7.5', cacheWrite1h: '12', output: '22.5' },
      },
    ]);
  });

  it('gemini-2.5-pro: $1.25 / $0.125 cached / $10; above 200k $2.50 / $0.25 / $15', () => {
    const set = latest('gemini-2.5-pro');
    expect(set.standard).toEqual({ input: '1.25', cachedInput: '0.125', output: '10' });
    expect(set.tiers?.[0]).toEqual({
      threshold: 200000,
      comparison: '>',
      counts: 'all-input',
      prices: { input: '2.5', cachedInput: '0.25', output: '15' },
    });
  });

  it('gpt-5.4: long-context tier above 272k, flex and priority variants', () => {
    const set = latest('gpt-5.4');
    expect(set.standard).toEqual({ input: '2.5', cachedInput: '0.25', output: '15' });
    expect(set.tiers?.[0]?.threshold).toBe(272000);
    expect(set.tiers?.[0]?.prices).toEqual({ input: '5', cachedInput: '0.5', output: '22.5' });
    expect(set.priority).toEqual({ input: '5', cachedInput: '0.5', output: '30' });
  });

  it('keeps price history: o3 cost $10/$40 until 2025-06-10, then $2/$8', () => {
    const { entry } = catalog.resolve('o3');
    expect(catalog.priceSetAt(entry, '2025-05-01').standard).toMatchObject({ input: '10', output: '40' });
    expect(catalog.priceSetAt(entry, '2025-06-10').standard).toMatchObject({ input: '2', output: '8' });
    expect(catalog.priceSetAt(entry, new Date('2026-01-01T12:00:00Z')).standard).toMatchObject({ input: '2' });
    // Dates before the first known set are priced with the first set.
    expect(catalog.priceSetAt(entry, '2000-01-01').effectiveFrom).toBe(entry.prices[0]?.effectiveFrom);
    expect(() => catalog.priceSetAt(entry, 'not a date')).toThrow(RangeError);
  });

  it('prices a Bedrock regional profile with its 10% uplift ($3.30 / $16.50) and the global one at list price', () => {
    expect(latest('us.anthropic.claude-sonnet-4-5-20250929-v1:0').standard).toMatchObject({
      input: '3.3',
      output: '16.5',
    });
    expect(latest('global.anthropic.claude-sonnet-4-5-20250929-v1:0').standard).toMatchObject({
      input: '3',
      output: '15',
    });
  });

  it('meets the coverage bar: ≥1,000 models from ≥25 providers, each with source, dates and prices', () => {
    const entries = catalog.entries();
    expect(entries.length).toBeGreaterThanOrEqual(1000);
    expect(new Set(entries.map((entry) => entry.provider)).size).toBeGreaterThanOrEqual(25);
    const modes = new Set(entries.map((entry) => entry.mode));
    for (const mode of ['chat', 'embedding', 'audio', 'realtime']) expect(modes).toContain(mode);
    const providers = new Set(entries.map((entry) => entry.provider));
    for (const provider of [
      'openai',
      'anthropic',
      'google',
      'vertex',
      'mistral',
      'deepseek',
      'xai',
      'bedrock',
      'azure',
    ]) {
      expect(providers).toContain(provider);
    }
    for (const entry of entries) {
      // The provider's own pricing page, never the feed's repository, even when a feed gave the number.
      expect(entry.sourceUrl).toMatch(/^https:\/\//);
      expect(entry.sourceUrl).not.toMatch(/github\.com|githubusercontent/);
      expect(entry.checkedAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(entry.prices.length).toBeGreaterThan(0);
      for (const set of entry.prices) {
        expect(set.effectiveFrom).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        // Provenance: the feed and its key, or the page a person checked and when.
        const source = set.source;
        expect(source, entry.id).toBeDefined();
        if (source?.feed === 'curated')
          expect(source).toMatchObject({ url: expect.any(String), checkedAt: expect.any(String) });
        else expect(source?.key, entry.id).toEqual(expect.any(String));
      }
    }
    expect(catalog.generatedAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('holds every price as a decimal string that Money parses exactly (at most 12 places)', () => {
    const prices = catalog
      .entries()
      .flatMap((entry) =>
        entry.prices.flatMap((set) => [
          set.standard,
          set.batch ?? {},
          set.flex ?? {},
          set.priority ?? {},
          ...(set.tiers ?? []).map((tier) => tier.prices),
        ]),
      );
    const values = prices.flatMap((bucket) => Object.values(bucket));
    expect(values.length).toBeGreaterThan(1000);
    for (const value of values) {
      expect(typeof value).toBe('string');
      expect(parsePricePerMillion(value as string).toString()).toBe(value);
    }
  });

  it('sets the tiktoken encoding of OpenAI models by family', () => {
    const encoding = (model: string) => catalog.resolve(model).entry.encoding;
    expect(encoding('gpt-4.1')).toBe('o200k_base');
    expect(encoding('gpt-5')).toBe('o200k_base');
    expect(encoding('o4-mini')).toBe('o200k_base');
    expect(encoding('gpt-4')).toBe('cl100k_base');
    expect(encoding('gpt-3.5-turbo')).toBe('cl100k_base');
    expect(encoding('gpt-4-turbo')).toBe('cl100k_base');
    expect(encoding('claude-sonnet-4-5')).toBeUndefined();
  });
});

// Issue #12: rows the feeds got wrong or left out. Sources: Anthropic batch processing and prompt caching
// pages (batch = 50 % of every price, 1-hour writes = 2 × input), OpenAI Batch API guide, Gemini batch mode,
// Azure OpenAI pricing (data-zone gpt-4o cached input $1.375), xAI models page (grok-4 above 128k: $6 / $30).
describe('PriceCatalog.default(): checked and curated prices', () => {
  it('prices Anthropic batch at half of every standard price', () => {
    expect(latest('claude-sonnet-4-5').batch).toEqual({
      input: '1.5',
      cachedInput: '0.15',
      cacheWrite5m: '1.875',
      cacheWrite1h: '3',
      output: '7.5',
    });
    expect(latest('claude-haiku-4-5').batch).toMatchObject({ input: '0.5', output: '2.5' });
  });

  it('keeps the 1-hour cache write above 200k for Sonnet 4 ($12 = 2 × the $6 tier input)', () => {
    const set = latest('claude-sonnet-4-0');
    expect(set.tiers?.[0]).toMatchObject({
      threshold: 200000,
      prices: { input: '6', cachedInput: '0.6', cacheWrite5m: '7.5', cacheWrite1h: '12', output: '22.5' },
    });
  });

  it('prices gpt-5, o3 and Gemini 2.5 batch at half, keeping published batch prices where the feeds have them', () => {
    expect(latest('gpt-5').batch).toEqual({ input: '0.625', cachedInput: '0.0625', output: '5' });
    expect(latest('o3').batch).toEqual({ input: '1', cachedInput: '0.25', output: '4' });
    expect(latest('models/gemini-2.5-flash').batch).toMatchObject({ input: '0.15', output: '1.25' });
    // Google: batch and cache discounts do not stack, so a cache hit in a batch keeps the cache price.
    expect(latest('gemini-2.5-pro').batch).toEqual({ input: '0.625', cachedInput: '0.125', output: '5' });
    expect(latest('vertex_ai/gemini-2.5-pro').batch).toMatchObject({ input: '0.625', cachedInput: '0.125' });
    expect(latest('gpt-4o').batch).toEqual({ input: '1.25', output: '5' });
    expect(latest('o3').source?.rules).toContain('batch=50%:openai');
  });

  it('corrects Azure data-zone gpt-4o: $1.375 cached input, no cache-write price', () => {
    for (const id of ['azure/eu/gpt-4o', 'azure/us/gpt-4o']) {
      const set = latest(id);
      expect(set.standard).toEqual({ input: '2.75', cachedInput: '1.375', output: '11' });
      expect(set.source).toMatchObject({ feed: 'litellm', url: expect.stringContaining('azure.microsoft.com') });
    }
  });

  it('refuses implausible rows: EU Claude 3.5 Haiku at Claude 3 Haiku prices, gpt-5-nano priority at 50×', () => {
    const haiku = catalog.resolve('eu.anthropic.claude-3-5-haiku-20241022-v1:0');
    expect(haiku.entry.id).toBe('anthropic.claude-3-5-haiku-20241022-v1:0');
    expect(catalog.priceSetAt(haiku.entry).standard.input).toBe('0.8');
    expect(latest('gpt-5-nano').priority).toBeUndefined();
    expect(latest('gpt-5-nano').flex).toMatchObject({ input: '0.025' });
    // Rows priced $0 that are not free: a router and per-second speech models are unknown, not free.
    expect(catalog.tryResolve('openrouter/openrouter/auto')).toBeUndefined();
    expect(catalog.tryResolve('openrouter/openrouter/free')).toBeUndefined();
    // An image model LiteLLM files as chat (its per-step price in the token field) is not a chat model.
    expect(catalog.tryResolve('fireworks_ai/accounts/fireworks/models/flux-1-dev')).toBeUndefined();
    expect(catalog.tryResolve('fireworks_ai/accounts/fireworks/models/fireworks-asr-v2')).toBeUndefined();
    expect(latest('glm-4.5-flash').standard).toMatchObject({ input: '0', output: '0' });
  });

  it('keeps genai-prices history where LiteLLM is behind it, with the cache prices at the same multiples', () => {
    // Bedrock Claude Sonnet 5: LiteLLM lists the $2 / $10 launch price, genai-prices also the $3 / $15 from
    // 2026-09-01; LiteLLM's row fills the launch set and the later set keeps Claude's 0.1× / 1.25× / 2× cache multiples.
    const { entry } = catalog.resolve('us.anthropic.claude-sonnet-5');
    expect(catalog.priceSetAt(entry, '2026-08-01').standard).toEqual({
      input: '2.2',
      cachedInput: '0.22',
      cacheWrite5m: '2.75',
      cacheWrite1h: '4.4',
      output: '11',
    });
    expect(catalog.priceSetAt(entry, '2026-10-01').standard).toEqual({
      input: '3.3',
      cachedInput: '0.33',
      cacheWrite5m: '4.125',
      cacheWrite1h: '6.6',
      output: '16.5',
    });
  });

  it('gives grok-4 the >128k tier of the snapshot that serves it', () => {
    expect(latest('grok-4').tiers?.[0]).toMatchObject({ threshold: 128000, prices: { input: '6', output: '30' } });
  });

  it('imports audio token prices for audio and realtime models', () => {
    expect(latest('gpt-4o-audio-preview').standard).toMatchObject({
      input: '2.5',
      output: '10',
      inputAudio: '40',
      outputAudio: '80',
    });
    expect(catalog.resolve('gpt-realtime').entry.mode).toBe('realtime');
    expect(latest('gpt-realtime-mini').standard).toMatchObject({
      inputAudio: '10',
      cachedInputAudio: '0.3',
      outputAudio: '20',
    });
  });

  it('states its coverage and checks in stats, and the numbers match the entries', () => {
    const stats = catalog.stats;
    const entries = catalog.entries();
    expect(stats).toBeDefined();
    expect(stats?.models).toBe(entries.length);
    expect(stats?.providers).toBe(new Set(entries.map((entry) => entry.provider)).size);
    expect(stats?.aliases).toBe(entries.reduce((sum, entry) => sum + entry.aliases.length, 0));
    expect(stats?.modes.embedding).toBe(entries.filter((entry) => entry.mode === 'embedding').length);
    expect(stats?.refused).toBeGreaterThanOrEqual(3);
    expect(stats?.compared).toBeGreaterThan(stats?.disagreements ?? Number.POSITIVE_INFINITY);
    expect(catalog.withEntries([]).stats).toBeUndefined();
  });
});

describe('PriceCatalog.resolve', () => {
  const cases: Array<[string, string, string]> = [
    ['gpt-4o', 'gpt-4o', 'exact'],
    ['claude-sonnet-4-5-20250929', 'claude-sonnet-4-5', 'alias'],
    ['openai/gpt-4o', 'gpt-4o', 'prefix-stripped'],
    ['anthropic/claude-sonnet-4-5', 'claude-sonnet-4-5', 'prefix-stripped'],
    ['gemini/gemini-2.5-pro', 'gemini-2.5-pro', 'prefix-stripped'],
    ['google/gemini-2.5-pro', 'gemini-2.5-pro', 'prefix-stripped'],
    ['deepseek/deepseek-chat', 'deepseek-chat', 'prefix-stripped'],
    ['xai/grok-4', 'grok-4', 'prefix-stripped'],
    ['mistral/mistral-large-latest', 'mistral-large-latest', 'prefix-stripped'],
    ['anthropic.claude-3-5-sonnet-20240620-v1:0', 'anthropic.claude-3-5-sonnet-20240620-v1:0', 'exact'],
    ['us.anthropic.claude-3-5-sonnet-20240620-v1:0', 'anthropic.claude-3-5-sonnet-20240620-v1:0', 'alias'],
    [
      'bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
      'prefix-stripped',
    ],
    ['claude-3-5-sonnet@20240620', 'vertex_ai/claude-3-5-sonnet', 'alias'],
    ['claude-opus-4-6@default', 'vertex_ai/claude-opus-4-6', 'alias'],
    // A cross-region profile the catalog does not list prices as its Bedrock model…
    ['apac.anthropic.claude-opus-4-1-20250805-v1:0', 'anthropic.claude-opus-4-1-20250805-v1:0', 'platform'],
    // …and a Bedrock id without a Bedrock entry as the provider's own model.
    ['anthropic.claude-3-opus-20240229-v1:0', 'claude-3-opus', 'platform'],
    [
      'bedrock/us-east-1/anthropic.claude-3-haiku-20240307-v1:0',
      'anthropic.claude-3-haiku-20240307-v1:0',
      'prefix-stripped',
    ],
    ['gpt-4o-2024-08-06', 'gpt-4o', 'alias'],
    // An older snapshot with its own (higher) price is its own entry.
    ['gpt-4o-2024-05-13', 'gpt-4o-2024-05-13', 'exact'],
    ['gpt-4o-2031-01-01', 'gpt-4o', 'snapshot'],
    ['claude-3-5-sonnet-latest', 'claude-3-5-sonnet', 'alias'],
    ['claude-3-5-sonnet-20991231-latest', 'claude-3-5-sonnet', 'snapshot'],
    // Anthropic's own aliases, Gemini and Vertex resource names, models the feeds dropped or never grouped.
    ['claude-sonnet-4-0', 'claude-sonnet-4', 'alias'],
    ['claude-opus-4-0', 'claude-opus-4', 'alias'],
    ['models/gemini-2.5-flash', 'gemini-2.5-flash', 'prefix-stripped'],
    [
      'projects/acme/locations/us-central1/publishers/google/models/gemini-2.5-flash',
      'vertex_ai/gemini-2.5-flash',
      'prefix-stripped',
    ],
    ['publishers/anthropic/models/claude-sonnet-4-5@20250929', 'vertex_ai/claude-sonnet-4-5', 'prefix-stripped'],
    ['models/gemini-2.5-pro-preview-05-06', 'gemini-2.5-pro', 'snapshot'],
    ['o1-mini', 'o1-mini', 'exact'],
    ['o1-mini-2024-09-12', 'o1-mini', 'alias'],
    ['text-embedding-3-small', 'text-embedding-3-small', 'exact'],
    ['gpt-4o-transcribe', 'gpt-4o-transcribe', 'exact'],
    ['meta.llama3-1-70b-instruct-v1:0', 'meta.llama3-1-70b-instruct-v1:0', 'exact'],
    ['us.meta.llama3-1-70b-instruct-v1:0', 'meta.llama3-1-70b-instruct-v1:0', 'alias'],
    // A stale `-latest` row was refused: the name resolves to the newest dated snapshot.
    ['codestral-latest', 'codestral-2508', 'alias'],
    ['gemini-embedding-001', 'gemini-embedding-001', 'exact'],
    ['moonshot/kimi-k2-0905-preview', 'kimi-k2-0905-preview', 'prefix-stripped'],
    ['groq/llama-3.3-70b-versatile', 'groq/llama-3.3-70b-versatile', 'exact'],
    ['gemini-2.5-pro-preview-05-06', 'gemini-2.5-pro', 'snapshot'],
    ['ft:gpt-4o-mini:acme::abc123', 'ft:gpt-4o-mini', 'fine-tune'],
    ['ft:gpt-5:acme::abc123', 'gpt-5', 'fine-tune'],
    ['azure/gpt-4o', 'azure/gpt-4o', 'exact'],
    ['azure/gpt-4o-2031-01-01', 'azure/gpt-4o', 'snapshot'],
  ];
  it.each(cases)('%s → %s (%s)', (name, id, kind) => {
    const resolved = catalog.resolve(name);
    expect(resolved.entry.id).toBe(id);
    expect(resolved.matchedBy).toBe(kind);
    expect(resolved.requested).toBe(name);
  });

  it('resolves names case-insensitively and caches results', () => {
    expect(catalog.resolve('GPT-4o').entry.id).toBe('gpt-4o');
    expect(catalog.resolve('openai/gpt-4o')).toEqual(catalog.resolve('openai/gpt-4o'));
  });

  it('throws UnknownModelError with the closest ids, and tryResolve returns undefined', () => {
    expect(catalog.tryResolve('gpt-4o-minni')).toBeUndefined();
    let error: unknown;
    try {
      catalog.resolve('claude-sonet-4-5');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UnknownModelError);
    const unknown = error as UnknownModelError;
    expect(unknown.code).toBe('UNKNOWN_MODEL');
    expect(unknown.suggestions[0]).toBe('claude-sonnet-4-5');
    expect(unknown.suggestions.length).toBeLessThanOrEqual(5);
    expect(unknown.message).toMatch(/^Unknown model "claude-sonet-4-5"\. Did you mean "claude-sonnet-4-5"/);
    expect(() => catalog.resolve('qqqqqqqqqqqqqqqqqqqqqqqqqqqq')).toThrow(/^Unknown model "q+"\.$/);
  });
});

const negotiated: CatalogEntry = {
  id: 'gpt-4o',
  provider: 'openai',
  aliases: [],
  mode: 'chat',
  prices: [{ effectiveFrom: '2026-01-01', standard: { input: '2', output: '8' } }],
  sourceUrl: 'custom',
  checkedAt: '2026-08-21',
};
const selfHosted: CatalogEntry = {
  id: 'acme-llama',
  provider: 'self-hosted',
  aliases: ['ft:gpt-4o-mini:acme::abc123'],
  mode: 'chat',
  prices: [{ effectiveFrom: '2026-01-01', standard: { input: '0.1', output: '0.1' } }],
  sourceUrl: 'custom',
  checkedAt: '2026-08-21',
};

describe('PriceCatalog.withEntries / withDeployments', () => {
  const custom = catalog.withEntries([negotiated, selfHosted]);

  it('overrides an entry by id and adds new ones, leaving the original catalog untouched', () => {
    expect(custom.priceSetAt(custom.resolve('gpt-4o').entry).standard).toEqual({ input: '2', output: '8' });
    expect(custom.resolve('gpt-4o').matchedBy).toBe('custom');
    expect(custom.resolve('openai/gpt-4o').entry).toEqual(negotiated);
    expect(catalog.priceSetAt(catalog.resolve('gpt-4o').entry).standard.input).toBe('2.5');
    expect(custom.entries().length).toBe(catalog.entries().length + 1);
  });

  it('lets a custom alias claim a fine-tune name before the base-model fallback', () => {
    expect(custom.resolve('ft:gpt-4o-mini:acme::abc123').entry.id).toBe('acme-llama');
    expect(custom.resolve('ft:gpt-4o-mini:acme::other').entry.id).toBe('ft:gpt-4o-mini');
  });

  it('maps Azure deployment names to models, with or without the azure/ prefix', () => {
    const azure = custom.withDeployments({ 'prod-chat': 'azure/gpt-4o', cheap: 'gpt-4o-mini' });
    expect(azure.resolve('prod-chat')).toMatchObject({ matchedBy: 'deployment' });
    expect(azure.resolve('prod-chat').entry.id).toBe('azure/gpt-4o');
    expect(azure.resolve('azure/cheap').entry.id).toBe('gpt-4o-mini');
    // Deployments survive withEntries, and custom entries survive withDeployments.
    expect(azure.withEntries([]).resolve('prod-chat').entry.id).toBe('azure/gpt-4o');
    expect(azure.resolve('gpt-4o').entry).toEqual(negotiated);
    expect(catalog.tryResolve('prod-chat')).toBeUndefined();
  });

  it('lets a configured deployment named like a model win over the model id', () => {
    const azure = catalog.withDeployments({ 'gpt-4o': 'azure/eu/gpt-4o' });
    expect(azure.resolve('gpt-4o')).toMatchObject({ matchedBy: 'deployment', entry: { id: 'azure/eu/gpt-4o' } });
    // The EU data zone's published uplift: $2.75 / $11 instead of $2.50 / $10.
    expect(azure.priceSetAt(azure.resolve('azure/gpt-4o').entry).standard.input).toBe('2.5');
    expect(azure.priceSetAt(azure.resolve('gpt-4o').entry).standard).toMatchObject({ input: '2.75', output: '11' });
  });

  it('rejects a custom entry with a bad price, naming it', () => {
    const broken = {
      ...selfHosted,
      prices: [{ effectiveFrom: '2026-01-01', standard: { input: 'free', output: '0' } }],
    };
    expect(() => catalog.withEntries([broken])).toThrow(/\("acme-llama"\)\.prices\[0\]\.standard\.input/);
  });
});

describe('PriceCatalog.setDefault', () => {
  it('replaces what default() returns until reset; bundled() stays the shipped catalog', () => {
    const bundled = PriceCatalog.bundled();
    expect(PriceCatalog.default()).toBe(bundled);
    const mine = bundled.withEntries([
      {
        id: 'acme-default',
        provider: 'acme',
        aliases: [],
        mode: 'chat',
        prices: [{ effectiveFrom: '2026-01-01', standard: { input: '1', output: '2' } }],
        sourceUrl: 'custom',
        checkedAt: '2026-01-01',
      },
    ]);
    try {
      PriceCatalog.setDefault(mine);
      expect(PriceCatalog.default()).toBe(mine);
      expect(PriceCatalog.default().tryResolve('acme-default')).toBeDefined();
      expect(PriceCatalog.bundled().tryResolve('acme-default')).toBeUndefined();
    } finally {
      PriceCatalog.setDefault(undefined);
    }
    expect(PriceCatalog.default()).toBe(bundled);
  });
});

describe('the shipped catalog', () => {
  // Names resolve without regard to case: a second entry or alias that differs only in case is unreachable
  // (the feed listed together_ai/BAAI/… and together_ai/baai/…; MiniMax-M2 claimed minimax-m2.1 as an alias).
  it('gives every name, in any case, to exactly one entry', () => {
    const owners = new Map<string, string>();
    for (const entry of PriceCatalog.default().entries()) {
      for (const name of [entry.id, ...entry.aliases]) {
        const key = name.toLowerCase();
        const owner = owners.get(key);
        expect(owner === undefined || owner === entry.id, `${name}: ${owner} and ${entry.id}`).toBe(true);
        owners.set(key, entry.id);
      }
    }
  });
});
