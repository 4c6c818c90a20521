import fc from 'fast-check';
import { get_encoding } from 'tiktoken';
import { afterAll, describe, expect, it } from 'vitest';
import { countChatTokens, countTokens, countTokensAsync } from '../../src/index';

const raw = get_encoding('o200k_base');
afterAll(() => raw.free());

/** Text as it arrives from the wild: any UTF-16, lone surrogates (invalid UTF-8 once encoded) included. */
const wildText = fc.oneof(
  fc.string({ maxLength: 300, unit: 'binary' }),
  fc.string({ maxLength: 300, unit: 'grapheme' }),
  fc
    .array(fc.constantFrom('\ud800', '\udfff', '\u0000', '<|endoftext|>', '\r\n', ' ', 'a', '東', '🙂', '\u200b'), {
      maxLength: 200,
    })
    .map((parts) => parts.join('')),
);

describe('token counting on wild text', () => {
  it('counts any string exactly as tiktoken encode_ordinary does (short runs), sync and async alike', async () => {
    await fc.assert(
      fc.asyncProperty(wildText, async (text) => {
        const counted = countTokens(text, 'gpt-4o');
        expect(Number.isSafeInteger(counted.tokens) && counted.tokens >= 0).toBe(true);
        if (!counted.estimated) expect(counted.tokens).toBe(raw.encode_ordinary(text).length);
        expect((await countTokensAsync(text, 'gpt-4o')).tokens).toBe(counted.tokens);
      }),
      { numRuns: 200 },
    );
  });

  it('long runs without a token boundary are bounded pieces, flagged estimated, never a hang', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('a', '0', '東', '🙂', 'é'),
        fc.integer({ min: 1_001, max: 30_000 }),
        (unit, repeat) => {
          const counted = countTokens(unit.repeat(repeat), 'gpt-4o');
          expect(counted.tokens).toBeGreaterThan(0);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('chat messages of any shape are counted or refused with a TypeError naming the problem', () => {
    fc.assert(
      fc.property(
        fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 5 }),
        fc.constantFrom('gpt-4o', 'claude-sonnet-4', 'x'),
        (messages, model) => {
          try {
            const counted = countChatTokens(messages as never, model);
            expect(Number.isSafeInteger(counted.tokens) && counted.tokens >= 0).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(TypeError);
            expect((error as Error).message).toMatch(/^countChatTokens: /);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
