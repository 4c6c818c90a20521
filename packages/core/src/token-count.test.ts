import fc from 'fast-check';
import { get_encoding } from 'tiktoken';
import { afterAll, describe, expect, it } from 'vitest';
import { clearTokenCountMemo, countTokens, countTokensAsync, tokenCountMemoSize } from './token-count';
import { freeEncoders } from './token-encoding';

const raw = get_encoding('o200k_base');
afterAll(() => {
  raw.free();
  freeEncoders();
});

describe('countTokens', () => {
  it('"hello world" is 2 tokens in o200k_base and cl100k_base', () => {
    expect(countTokens('hello world', 'gpt-4o')).toEqual({ tokens: 2, encoding: 'o200k_base', estimated: false });
    expect(countTokens('hello world', 'gpt-4')).toEqual({ tokens: 2, encoding: 'cl100k_base', estimated: false });
  });

  it('empty text is 0 tokens', () => {
    expect(countTokens('', 'gpt-4o').tokens).toBe(0);
    expect(countTokens('', 'claude-sonnet-4-5').tokens).toBe(0);
  });

  it('counts text that looks like a special token as text instead of throwing', () => {
    // tiktoken's `encode` throws on a disallowed special token; `encode_ordinary` splits it into ordinary tokens.
    expect(() => raw.encode('<|endoftext|>')).toThrow();
    const count = countTokens('<|endoftext|>', 'gpt-5.1');
    expect(count.tokens).toBe(raw.encode_ordinary('<|endoftext|>').length);
    expect(count.tokens).toBeGreaterThan(1);
  });

  it('names the npm package does not know still get their encoding', () => {
    expect(countTokens('hello world', 'o3-pro')).toMatchObject({ tokens: 2, encoding: 'o200k_base', estimated: false });
    expect(countTokens('hello world', 'ft:gpt-4o-mini:acme::9abc123').encoding).toBe('o200k_base');
  });

  it('unknown model names fall back to o200k_base, flagged estimated', () => {
    expect(countTokens('hello world', 'my-own-model')).toEqual({ tokens: 2, encoding: 'o200k_base', estimated: true });
  });

  it('Claude and Gemini get a documented character estimate', () => {
    // 35 Latin characters / 3.5 per token = 10 tokens for Claude; / 4 = 8.75 → 9 for Gemini.
    const text = 'abcdefghij abcdefghij abcdefghij ab';
    expect(text.length).toBe(35);
    expect(countTokens(text, 'claude-sonnet-4-5')).toEqual({ tokens: 10, encoding: 'estimate', estimated: true });
    expect(countTokens(text, 'gemini-2.5-pro')).toEqual({ tokens: 9, encoding: 'estimate', estimated: true });
    // Han characters count one token each: 4 + ceil(1 / 3.5).
    expect(countTokens('東京タワ!', 'claude-opus-4-1').tokens).toBe(5);
    expect(countTokens('hello', 'mistral-large-latest').encoding).toBe('estimate');
  });

  it('long realistic text counts exactly the same as raw encode_ordinary (chunked internally)', () => {
    const sentence = fc.array(
      fc.constantFrom('The', 'meter', 'counts', 'tokens,', "don't", '東京', '🙂', '42', '\n', '  ', 'x=1;'),
      {
        minLength: 1,
        maxLength: 30,
      },
    );
    fc.assert(
      fc.property(fc.array(sentence, { minLength: 500, maxLength: 1500 }), (sentences) => {
        const text = sentences.map((words) => words.join(' ')).join('\n');
        const count = countTokens(text, 'gpt-4o');
        expect(count.estimated).toBe(false);
        expect(count.tokens).toBe(raw.encode_ordinary(text).length);
      }),
      { numRuns: 10 },
    );
  });

  it('a 20,000-letter run is bounded and flagged estimated, within a few tokens of the exact count', () => {
    const text = 'a'.repeat(20_000);
    const count = countTokens(text, 'gpt-4o');
    expect(count.estimated).toBe(true);
    // 20 pieces of 1,000 "a": each cut can shift a merge by at most one token either way.
    expect(Math.abs(count.tokens - 2500)).toBeLessThanOrEqual(20);
  });

  it('a long CJK run is bounded and flagged estimated', () => {
    const count = countTokens('中'.repeat(5000), 'gpt-4o');
    expect(count.estimated).toBe(true);
    expect(count.tokens).toBe(5000);
  });

  it('remembers counts of repeated text (same answer from the memo)', () => {
    clearTokenCountMemo();
    const system = 'You are a careful assistant. '.repeat(50);
    const first = countTokens(system, 'gpt-4o');
    expect(tokenCountMemoSize()).toBe(1);
    expect(countTokens(`${system}`, 'gpt-4o')).toEqual(first);
    expect(tokenCountMemoSize()).toBe(1);
    // Same text, other encoding: its own entry. Same length, other text: its own entry and count.
    expect(countTokens(system, 'gpt-4')).not.toEqual(first);
    expect(countTokens(system.replace('careful', 'cheerful').slice(0, system.length), 'gpt-4o').tokens).toBe(
      raw.encode_ordinary(system.replace('careful', 'cheerful').slice(0, system.length)).length,
    );
    expect(tokenCountMemoSize()).toBe(3);
  });

  it('rejects non-strings with a clear error', () => {
    expect(() => countTokens(42 as unknown as string, 'gpt-4o')).toThrow(/must be a string/);
  });
});

describe('countTokensAsync', () => {
  it('gives the same count as countTokens and lets other work run in between', async () => {
    clearTokenCountMemo();
    const text = 'Metering every request, streaming or not, without adding latency.\n'.repeat(12_000);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    const count = await countTokensAsync(text, 'gpt-4o');
    clearInterval(ticker);
    clearTokenCountMemo();
    expect(count).toEqual(countTokens(text, 'gpt-4o'));
    expect(count.tokens).toBe(raw.encode_ordinary(text).length);
    // ~800 KB takes several 10 ms slices: timers got to run between them.
    expect(ticks).toBeGreaterThan(0);
  });

  it('short text and estimate models resolve directly', async () => {
    expect(await countTokensAsync('hello world', 'gpt-4o')).toEqual({
      tokens: 2,
      encoding: 'o200k_base',
      estimated: false,
    });
    expect((await countTokensAsync('hello', 'claude-3-5-haiku')).encoding).toBe('estimate');
  });
});
