import { encoding_for_model } from 'tiktoken';
import { describe, expect, it } from 'vitest';
import { encodingForModel, freeEncoders, getEncoder, loadedEncodings } from './token-encoding';

describe('encodingForModel (prefix table like Python tiktoken)', () => {
  it.each([
    ['gpt-4o', 'o200k_base'],
    ['gpt-4o-2024-08-06', 'o200k_base'],
    ['gpt-4o-mini', 'o200k_base'],
    ['gpt-4.1-nano', 'o200k_base'],
    ['gpt-4.5-preview', 'o200k_base'],
    ['gpt-5', 'o200k_base'],
    ['gpt-5.1', 'o200k_base'],
    ['gpt-5-mini-2025-08-07', 'o200k_base'],
    ['o1', 'o200k_base'],
    ['o3-pro', 'o200k_base'],
    ['o4-mini', 'o200k_base'],
    ['chatgpt-4o-latest', 'o200k_base'],
    ['ft:gpt-4o-mini:acme::9abc123', 'o200k_base'],
    ['openai/gpt-4o', 'o200k_base'],
    ['azure/gpt-4.1', 'o200k_base'],
    ['gpt-oss-120b', 'o200k_harmony'],
    ['gpt-4', 'cl100k_base'],
    ['gpt-4-turbo-2024-04-09', 'cl100k_base'],
    ['gpt-4-0613', 'cl100k_base'],
    ['gpt-3.5-turbo', 'cl100k_base'],
    ['gpt-35-turbo', 'cl100k_base'],
    ['ft:gpt-3.5-turbo-0125:acme::abc', 'cl100k_base'],
    ['text-embedding-3-small', 'cl100k_base'],
    ['text-davinci-003', 'p50k_base'],
  ])('%s → %s', (model, encoding) => {
    expect(encodingForModel(model)).toBe(encoding);
  });

  it('the npm package alone throws for names the prefix table handles', () => {
    expect(() => encoding_for_model('gpt-5.1' as never)).toThrow();
    expect(() => encoding_for_model('o3-pro' as never)).toThrow();
    expect(() => encoding_for_model('ft:gpt-4o-mini:acme::9abc123' as never)).toThrow();
  });

  it('has no encoding for models without a public tokenizer or for nonsense', () => {
    expect(encodingForModel('claude-sonnet-4-5')).toBeUndefined();
    expect(encodingForModel('gemini-2.5-pro')).toBeUndefined();
    expect(encodingForModel('gpt-4x')).toBeUndefined();
    expect(encodingForModel('o10')).toBeUndefined();
  });
});

describe('encoders', () => {
  it('are created once, reused, and freed', () => {
    const first = getEncoder('cl100k_base');
    expect(getEncoder('cl100k_base')).toBe(first);
    // o200k_harmony encodes ordinary text like o200k_base, so it shares that encoder.
    expect(getEncoder('o200k_harmony')).toBe(getEncoder('o200k_base'));
    freeEncoders();
    expect(loadedEncodings()).toEqual([]);
    const second = getEncoder('cl100k_base');
    expect(second).not.toBe(first);
    expect(second.encode_ordinary('hello world').length).toBe(2);
  });
});
