import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeCost,
  createStreamUsageAccumulator,
  detectUsageFormat,
  MAX_TOKEN_COUNT,
  type NormalizedUsage,
  normalizeUsage,
  PriceCatalog,
  parseCustomPrices,
  TokenmeterError,
  USAGE_FORMATS,
} from '../../src/index';

/** A hostile token counter: everything a provider (or an attacker posing as one) might send. */
const count = fc.oneof(
  fc.nat({ max: 1_000_000 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    -1,
    0.5,
    1e12,
    1e12 + 1,
    Number.MAX_SAFE_INTEGER,
    2 ** 64,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '12',
    '',
    null,
    true,
    [],
    {},
  ),
);

const usageObject = fc.record(
  {
    prompt_tokens: count,
    completion_tokens: count,
    total_tokens: count,
    prompt_tokens_details: fc.oneof(fc.record({ cached_tokens: count }, { requiredKeys: [] }), count),
    completion_tokens_details: fc.record({ reasoning_tokens: count }, { requiredKeys: [] }),
    input_tokens: count,
    output_tokens: count,
    cache_read_input_tokens: count,
    cache_creation_input_tokens: count,
    input_tokens_details: fc.record({ cached_tokens: count }, { requiredKeys: [] }),
    output_tokens_details: fc.record({ reasoning_tokens: count }, { requiredKeys: [] }),
    cache_creation: fc.record(
      { ephemeral_5m_input_tokens: count, ephemeral_1h_input_tokens: count },
      { requiredKeys: [] },
    ),
    service_tier: fc.oneof(fc.string({ maxLength: 12 }), count),
  },
  { requiredKeys: [] },
);

const payload = fc.oneof(
  fc.anything({ maxDepth: 3 }),
  usageObject,
  usageObject.map((usage) => ({ usage, model: 'gpt-4o-mini' })),
  usageObject.map((usage) => ({ type: 'message', usage })),
  fc
    .record(
      {
        promptTokenCount: count,
        candidatesTokenCount: count,
        cachedContentTokenCount: count,
        thoughtsTokenCount: count,
      },
      { requiredKeys: [] },
    )
    .map((usageMetadata) => ({ usageMetadata })),
);

const BUCKETS = [
  'inputTokens',
  'cachedInputTokens',
  'cacheWrite5mTokens',
  'cacheWrite1hTokens',
  'outputTokens',
  'reasoningTokens',
] as const;

function expectWellFormed(usage: NormalizedUsage): void {
  for (const bucket of BUCKETS) {
    const value = usage[bucket];
    expect(Number.isSafeInteger(value) && value >= 0 && value <= MAX_TOKEN_COUNT * 4, `${bucket} = ${value}`).toBe(
      true,
    );
  }
}

/** Only tokenmeter's own errors (with a stable code) are acceptable answers to garbage. */
function expectClearError(error: unknown): void {
  expect(error).toBeInstanceOf(TokenmeterError);
  expect((error as TokenmeterError).code).toMatch(/^[A-Z_]+$/);
  expect((error as Error).message.length).toBeGreaterThan(0);
}

describe('usage normalizers on hostile payloads', () => {
  it('normalizeUsage returns well-formed disjoint buckets or throws INVALID_USAGE, nothing else', () => {
    fc.assert(
      fc.property(payload, fc.option(fc.constantFrom(...USAGE_FORMATS), { nil: undefined }), (input, format) => {
        expect(() => detectUsageFormat(input)).not.toThrow();
        try {
          expectWellFormed(normalizeUsage(input, format));
        } catch (error) {
          expectClearError(error);
          expect((error as TokenmeterError).code).toBe('INVALID_USAGE');
        }
      }),
      { numRuns: 200 },
    );
  });

  it('stream accumulators take any sequence of events without throwing a non-tokenmeter error', () => {
    const event = fc.oneof(
      fc.anything({ maxDepth: 3 }),
      usageObject.map((usage) => ({ choices: [], usage })),
      usageObject.map((usage) => ({ type: 'message_start', message: { model: 'claude-sonnet-4', usage } })),
      usageObject.map((usage) => ({ type: 'message_delta', usage })),
      usageObject.map((usage) => ({ type: 'response.completed', response: { usage } })),
      fc.record({
        type: fc.constantFrom('content_block_delta', 'message_stop', 'ping'),
        delta: fc.anything({ maxDepth: 1 }),
      }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...USAGE_FORMATS), fc.array(event, { maxLength: 8 }), (format, events) => {
        const accumulator = createStreamUsageAccumulator(format);
        for (const item of events) {
          try {
            accumulator.push(item);
          } catch (error) {
            expectClearError(error);
          }
        }
        expect(typeof accumulator.outputText).toBe('string');
        let result: NormalizedUsage | undefined;
        try {
          result = accumulator.result();
        } catch (error) {
          expectClearError(error);
        }
        if (result !== undefined) expectWellFormed(result);
      }),
      { numRuns: 200 },
    );
  });
});

describe('cost on absurd token counts and prices', () => {
  const catalog = PriceCatalog.default();

  it('computeCost prices plausible counts exactly and refuses implausible ones with INVALID_USAGE', () => {
    const buckets = fc.record({
      inputTokens: count,
      cachedInputTokens: count,
      cacheWrite5mTokens: count,
      cacheWrite1hTokens: count,
      outputTokens: count,
      reasoningTokens: count,
    });
    fc.assert(
      fc.property(buckets, fc.constantFrom('gpt-4o-mini', 'claude-sonnet-4', 'no-such-model', ''), (usage, model) => {
        try {
          const result = computeCost(usage as never, model, { catalog });
          if (result.priced) expect(result.total?.toString()).toMatch(/^-?\d+(\.\d+)?$/);
          else expect(model === 'no-such-model' || model === '').toBe(true);
        } catch (error) {
          if (error instanceof TypeError) throw error;
          expectClearError(error);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('custom price files with absurd prices are refused with a clear error or priced exactly', () => {
    const price = fc.oneof(
      fc.constantFrom(
        '0',
        '0.000001',
        '1e3',
        '-1',
        'NaN',
        'Infinity',
        '1e999',
        '',
        'abc',
        '0x10',
        '1,5',
        '99999999999999999999.123456789',
      ),
      fc.double().map(String),
      fc.double(),
      fc.integer(),
      fc.constant(null),
    );
    let priced = 0;
    fc.assert(
      fc.property(price, price, (input, output) => {
        const document = JSON.stringify({ models: [{ id: 'acme-model', provider: 'acme', input, output }] });
        let entries: ReturnType<typeof parseCustomPrices> | undefined;
        try {
          entries = parseCustomPrices(document, 'json');
        } catch (error) {
          expectClearError(error);
          return;
        }
        const custom = catalog.withEntries(entries);
        const result = computeCost(
          {
            inputTokens: 1_000_000,
            cachedInputTokens: 0,
            cacheWrite5mTokens: 0,
            cacheWrite1hTokens: 0,
            outputTokens: 1_000_000,
            reasoningTokens: 0,
          },
          'acme-model',
          { catalog: custom },
        );
        expect(result.priced).toBe(true);
        expect(result.total?.toString()).toMatch(/^\d+(\.\d+)?$/);
        priced++;
      }),
      { numRuns: 150, examples: [['0.3', '1.2']] },
    );
    expect(priced).toBeGreaterThan(0);
    // A million tokens each at $0.30 and $1.20 per million cost exactly $1.50 (by hand): no float artefact.
    const exact = catalog.withEntries(
      parseCustomPrices('[{"id":"acme-exact","provider":"acme","input":"0.3","output":"1.2"}]'),
    );
    const cost = computeCost(
      {
        inputTokens: 1_000_000,
        cachedInputTokens: 0,
        cacheWrite5mTokens: 0,
        cacheWrite1hTokens: 0,
        outputTokens: 1_000_000,
        reasoningTokens: 0,
      },
      'acme-exact',
      { catalog: exact },
    );
    expect(cost.total?.toString()).toBe('1.5');
  });
});
