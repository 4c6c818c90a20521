import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidUsageError } from './invalid-usage-error';
import { detectUsageFormat, normalizeUsage, totalInputTokens, totalOutputTokens } from './usage-normalize';

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8'));
}

describe('normalizeUsage: whole responses (fixtures)', () => {
  it('OpenAI Chat Completions: cached tokens come out of prompt_tokens, reasoning out of completion_tokens', () => {
    const usage = normalizeUsage(fixture('openai-chat.json'));
    // prompt 2006 of which 1920 cached; completion 300 of which 192 reasoning.
    expect(usage).toEqual({
      format: 'openai-chat',
      model: 'o4-mini-2025-04-16',
      serviceTier: 'standard',
      estimated: false,
      inputTokens: 86,
      cachedInputTokens: 1920,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      outputTokens: 108,
      reasoningTokens: 192,
    });
    expect(totalInputTokens(usage)).toBe(2006);
    expect(totalOutputTokens(usage)).toBe(300);
  });

  it('OpenAI Responses: input_tokens includes cached, output_tokens includes reasoning', () => {
    const usage = normalizeUsage(fixture('openai-responses.json'));
    expect(usage).toMatchObject({
      format: 'openai-responses',
      model: 'o3-2025-04-16',
      serviceTier: 'flex',
      inputTokens: 1024,
      cachedInputTokens: 4096,
      outputTokens: 234,
      reasoningTokens: 1216,
    });
  });

  it('Anthropic: input_tokens excludes the cache; writes split into 5-minute and 1-hour buckets', () => {
    const usage = normalizeUsage(fixture('anthropic.json'));
    expect(usage).toEqual({
      format: 'anthropic',
      model: 'claude-sonnet-4-5-20250929',
      serviceTier: 'standard',
      estimated: false,
      inputTokens: 42,
      cachedInputTokens: 18000,
      cacheWrite5mTokens: 1000,
      cacheWrite1hTokens: 2000,
      outputTokens: 512,
      reasoningTokens: 0,
    });
    // Nothing dropped: 42 + 18000 + 3000 tokens of input in, the same out.
    expect(totalInputTokens(usage)).toBe(21042);
  });

  it('Gemini: promptTokenCount includes the cached content; thoughts are reasoning', () => {
    const usage = normalizeUsage(fixture('gemini.json'));
    expect(usage).toMatchObject({
      format: 'gemini',
      model: 'gemini-2.5-pro',
      inputTokens: 30000,
      cachedInputTokens: 180000,
      outputTokens: 850,
      reasoningTokens: 1200,
    });
    expect(totalInputTokens(usage)).toBe(210000);
  });

  it('accepts the bare usage object as well as the whole response', () => {
    const whole = fixture('openai-chat.json') as { usage: unknown };
    const bare = normalizeUsage(whole.usage);
    expect(bare.inputTokens).toBe(86);
    expect(bare.model).toBeUndefined();
    const gemini = fixture('gemini.json') as { usageMetadata: unknown };
    expect(normalizeUsage(gemini.usageMetadata).cachedInputTokens).toBe(180000);
  });

  it('Anthropic cache_creation_input_tokens without the split counts as 5-minute writes; nulls are absent', () => {
    const usage = normalizeUsage({
      input_tokens: 10,
      output_tokens: 20,
      cache_creation_input_tokens: 300,
      cache_read_input_tokens: null,
    });
    expect(usage).toMatchObject({
      format: 'anthropic',
      cacheWrite5mTokens: 300,
      cacheWrite1hTokens: 0,
      cachedInputTokens: 0,
    });
  });

  it('Gemini omits zero counters and adds tool-use prompt tokens to input', () => {
    const usage = normalizeUsage({ usageMetadata: { promptTokenCount: 100, toolUsePromptTokenCount: 40 } });
    expect(usage).toMatchObject({ inputTokens: 140, outputTokens: 0, reasoningTokens: 0 });
  });

  it('an explicit format overrides detection', () => {
    // The same numbers read as Responses (inclusive) vs Anthropic (exclusive) land in different buckets.
    const payload = { input_tokens: 100, output_tokens: 5, input_tokens_details: { cached_tokens: 60 } };
    expect(normalizeUsage(payload, 'openai-responses').inputTokens).toBe(40);
  });
});

describe('detectUsageFormat', () => {
  it.each([
    ['openai-chat.json', 'openai-chat'],
    ['openai-responses.json', 'openai-responses'],
    ['anthropic.json', 'anthropic'],
    ['gemini.json', 'gemini'],
  ])('%s → %s', (file, format) => {
    expect(detectUsageFormat(fixture(file))).toBe(format);
  });

  it('is undefined for things that are not usage', () => {
    expect(detectUsageFormat({ hello: 'world' })).toBeUndefined();
    expect(detectUsageFormat('prompt_tokens')).toBeUndefined();
    expect(detectUsageFormat(null)).toBeUndefined();
  });
});

describe('normalizeUsage: garbage is an error, never a silent zero', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['negative', { prompt_tokens: -1, completion_tokens: 0 }, /prompt_tokens must not be negative/],
    ['fractional', { prompt_tokens: 1.5, completion_tokens: 0 }, /whole number/],
    ['absurd', { prompt_tokens: 2e12, completion_tokens: 0 }, /implausibly large/],
    ['NaN', { prompt_tokens: Number.NaN, completion_tokens: 0 }, /finite/],
    ['string', { prompt_tokens: '100', completion_tokens: 0 }, /must be a number, got a string/],
    ['missing', { prompt_tokens: 100 }, /completion_tokens is missing/],
    [
      'cached > prompt',
      { prompt_tokens: 10, completion_tokens: 0, prompt_tokens_details: { cached_tokens: 11 } },
      /exceeds/,
    ],
    [
      'reasoning > output',
      { input_tokens: 1, output_tokens: 2, output_tokens_details: { reasoning_tokens: 3 } },
      /exceeds/,
    ],
    [
      'inconsistent Anthropic split',
      {
        input_tokens: 1,
        output_tokens: 1,
        cache_creation_input_tokens: 10,
        cache_creation: { ephemeral_5m_input_tokens: 4 },
      },
      /does not equal/,
    ],
    ['unknown shape', { tokens: 5 }, /cannot tell which API/],
    ['not an object', 42, /expected a usage object/],
    ['usage null', { object: 'chat.completion', usage: null }, /no usage was reported/],
    ['Gemini missing prompt', { usageMetadata: { candidatesTokenCount: 3 } }, /promptTokenCount is missing/],
  ];
  it.each(cases)('%s', (_name, payload, message) => {
    let caught: unknown;
    try {
      normalizeUsage(payload);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidUsageError);
    expect((caught as InvalidUsageError).code).toBe('INVALID_USAGE');
    expect((caught as Error).message).toMatch(message);
  });

  it('rejects an unknown explicit format', () => {
    expect(() => normalizeUsage({ prompt_tokens: 1, completion_tokens: 1 }, 'bogus' as never)).toThrow(
      /unknown format/,
    );
  });
});

describe('normalizeUsage on hostile input (property)', () => {
  const counter = fc.oneof(
    fc.integer({ min: -5, max: 2_000_000 }),
    fc.double(),
    fc.constantFrom(null, '12', true, 1e13, Number.POSITIVE_INFINITY, Number.NaN, -0),
  );
  const usageLike = fc.record(
    {
      prompt_tokens: counter,
      completion_tokens: counter,
      input_tokens: counter,
      output_tokens: counter,
      cache_read_input_tokens: counter,
      cache_creation_input_tokens: counter,
      promptTokenCount: counter,
      cachedContentTokenCount: counter,
      prompt_tokens_details: fc.oneof(fc.record({ cached_tokens: counter }), fc.constant('x')),
      input_tokens_details: fc.record({ cached_tokens: counter }),
      cache_creation: fc.record({ ephemeral_5m_input_tokens: counter, ephemeral_1h_input_tokens: counter }),
    },
    { requiredKeys: [] },
  );
  const payload = fc.oneof(
    usageLike,
    fc.record({ usage: usageLike }),
    fc.record({ usageMetadata: usageLike }),
    fc.jsonValue(),
  );

  it('either gives valid disjoint buckets or throws InvalidUsageError, nothing else', () => {
    fc.assert(
      fc.property(
        payload,
        fc.constantFrom(undefined, 'openai-chat', 'openai-responses', 'anthropic', 'gemini' as const),
        (input, format) => {
          try {
            const usage = normalizeUsage(input, format);
            for (const key of [
              'inputTokens',
              'cachedInputTokens',
              'cacheWrite5mTokens',
              'cacheWrite1hTokens',
              'outputTokens',
              'reasoningTokens',
            ] as const) {
              expect(Number.isSafeInteger(usage[key]) && usage[key] >= 0).toBe(true);
            }
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidUsageError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
