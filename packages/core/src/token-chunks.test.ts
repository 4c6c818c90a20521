import fc from 'fast-check';
import { get_encoding } from 'tiktoken';
import { afterAll, describe, expect, it } from 'vitest';
import { RUN_LIMIT, splitForEncoding } from './token-chunks';

// Raw tiktoken, used only as the reference the split must agree with.
const reference = { o200k_base: get_encoding('o200k_base'), cl100k_base: get_encoding('cl100k_base') };
afterAll(() => {
  reference.o200k_base.free();
  reference.cl100k_base.free();
});

function rawCount(encoding: keyof typeof reference, text: string): number {
  return reference[encoding].encode_ordinary(text).length;
}

function chunkedCount(
  encoding: keyof typeof reference,
  text: string,
  size: number,
): { tokens: number; forced: boolean } {
  const { chunks, forced } = splitForEncoding(text, size);
  expect(chunks.join('')).toBe(text);
  return { tokens: chunks.reduce((sum, chunk) => sum + rawCount(encoding, chunk), 0), forced };
}

const words = [
  'the',
  'The',
  'tokenmeter',
  'costs',
  "don't",
  "it's",
  "WE'LL",
  'naïve',
  'café',
  'Ünïcödé',
  'straße',
  'GPT-4o',
  'hello',
  'world',
  '2025',
  '3.14159',
  '1,000,000',
  '$2.50',
  'e.g.',
  '(see',
  'below)',
  '—',
  '…',
  '“quoted”',
  '東京',
  '日本語のテキスト',
  '한국어',
  'Привет',
  'мир',
  'مرحبا',
  'नमस्ते',
  'สวัสดี',
  '👋',
  '🇫🇷',
  '👩‍💻',
  'const',
  'x',
  '=',
  '{',
  '}',
  '=>',
  '"key":',
  '[1,2,3]',
  '//',
  '/*',
  '*/',
  'https://example.com/a/b?c=d',
  '<|endoftext|>',
  'snake_case',
  'camelCase',
  'ALLCAPS',
  '\u0301',
  'a\u0301',
  '\ufeff',
  '\u0085',
  '\u00a0',
];
const separators = [' ', ' ', ' ', '  ', '\n', '\n\n', '\t', '\r\n', '. ', ', ', '', '\n    ', ' \n', '/', "'", '\n/'];

const realisticText = fc
  .array(fc.tuple(fc.constantFrom(...words), fc.constantFrom(...separators)), { minLength: 1, maxLength: 1200 })
  .map((parts) => parts.map(([word, separator]) => word + separator).join(''));

describe('splitForEncoding keeps counts exact', () => {
  it('realistic text, both encodings, small chunks (many cuts)', () => {
    fc.assert(
      fc.property(
        realisticText,
        fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 200, max: 3000 })),
        (text, size) => {
          for (const encoding of ['o200k_base', 'cl100k_base'] as const) {
            const chunked = chunkedCount(encoding, text, size);
            expect(chunked.forced).toBe(false);
            expect(chunked.tokens).toBe(rawCount(encoding, text));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('arbitrary Unicode strings: whenever no cut was forced, the count is exact', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.integer({ min: 1, max: 16 }), (text, size) => {
        for (const encoding of ['o200k_base', 'cl100k_base'] as const) {
          const chunked = chunkedCount(encoding, text, size);
          if (!chunked.forced) expect(chunked.tokens).toBe(rawCount(encoding, text));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a long ordinary document splits into chunks near the requested size', () => {
    const text = 'The quick brown fox jumps over the lazy dog.\n'.repeat(2000);
    const { chunks, forced } = splitForEncoding(text, 4096);
    expect(forced).toBe(false);
    expect(chunks.length).toBeGreaterThan(20);
    for (const chunk of chunks.slice(0, -1)) expect(chunk.length).toBeLessThanOrEqual(4096);
  });

  it('cuts a run with no token boundary at RUN_LIMIT and says so', () => {
    const { chunks, forced } = splitForEncoding('a'.repeat(20_000), 16_384);
    expect(forced).toBe(true);
    expect(Math.max(...chunks.map((chunk) => chunk.length))).toBe(RUN_LIMIT);
  });

  it('never cuts inside a surrogate pair', () => {
    const { chunks } = splitForEncoding('😀'.repeat(3000), 100);
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    for (const chunk of chunks) expect(loneSurrogate.test(chunk)).toBe(false);
  });
});
