import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ANTHROPIC_IMAGE_TOKEN_BOUND,
  byteTokenBound,
  openaiImageTokenBound,
  PDF_PAGE_TEXT_BOUND,
  pdfPageCount,
  promptTokenBound,
} from './token-bound';
import { imageTokens } from './token-chat';
import { countWithEncoding } from './token-count';

const pdf = (pages: number) => {
  const kids = Array.from({ length: pages }, (_, index) => `${index + 3} 0 R`).join(' ');
  let text = `%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [${kids}] /Count ${pages} >> endobj\n`;
  for (let index = 0; index < pages; index++) text += `${index + 3} 0 obj << /Type /Page /Parent 2 0 R >> endobj\n`;
  return Buffer.from(text, 'latin1').toString('base64');
};

describe('image bounds', () => {
  it('are at least the tile rule for every size and detail (OpenAI tile families)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4-turbo', 'o1', 'o3', 'computer-use-preview'),
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer({ min: 1, max: 20_000 }),
        fc.constantFrom(undefined, 'low', 'high', 'auto'),
        (model, width, height, detail) => {
          const exact = imageTokens({ width, height, ...(detail === undefined ? {} : { detail }) }, model).tokens;
          expect(openaiImageTokenBound(model, detail)).toBeGreaterThanOrEqual(exact);
        },
      ),
    );
  });

  it('reserve the largest documented image for a model the table does not know', () => {
    expect(openaiImageTokenBound('some-new-model', 'low')).toBe(2_833 + 8 * 5_667);
    // Patch models: at most 1,536 patches times the model's multiplier, whatever the detail.
    expect(openaiImageTokenBound('gpt-4.1-mini', 'low')).toBe(Math.ceil(1_536 * 1.62));
    expect(openaiImageTokenBound('gpt-4.1-nano', 'high')).toBe(Math.ceil(1_536 * 2.46));
  });
});

describe('byteTokenBound (models without a public tokenizer)', () => {
  it('is never below a real byte-level BPE count (cl100k_base, o200k_base) of any text', () => {
    // Random printable ASCII and control characters are the densest text there is (1–1.2 characters per
    // token): a characters-per-token guess fails on them, one token per byte cannot.
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.string({ maxLength: 400 }),
          fc.string({
            unit: fc.integer({ min: 0, max: 0x7f }).map((code) => String.fromCharCode(code)),
            maxLength: 300,
          }),
          fc.lorem(),
        ),
        (text) => {
          const bound = byteTokenBound(text);
          expect(bound).toBeGreaterThanOrEqual(countWithEncoding(text, 'cl100k_base').tokens);
          expect(bound).toBeGreaterThanOrEqual(countWithEncoding(text, 'o200k_base').tokens);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is the UTF-8 byte length', () => {
    expect(byteTokenBound('a'.repeat(100))).toBe(100);
    expect(byteTokenBound('価格')).toBe(6);
    expect(byteTokenBound('é')).toBe(2);
    expect(byteTokenBound('🚀')).toBe(4);
  });
});

describe('promptTokenBound', () => {
  const chat = (extra: Record<string, unknown> = {}) => ({
    model: 'gpt-4o',
    messages: [{ role: 'user', content: 'Describe the schema.' }],
    ...extra,
  });

  it('counts a response_format schema, which is billed as input', () => {
    const schema = {
      type: 'object',
      properties: Object.fromEntries(
        Array.from({ length: 30 }, (_, index) => [`field_${index}`, { type: 'string', description: 'A long field.' }]),
      ),
    };
    const plain = promptTokenBound(chat(), 'openai', 'gpt-4o').tokens;
    const withSchema = promptTokenBound(
      chat({ response_format: { type: 'json_schema', json_schema: { name: 'answer', schema } } }),
      'openai',
      'gpt-4o',
    ).tokens;
    expect(withSchema - plain).toBeGreaterThanOrEqual(countWithEncoding(JSON.stringify(schema), 'o200k_base').tokens);
  });

  it('counts Anthropic tool results whose content is an array, and their images', () => {
    const long = 'The build failed in step 4 because the cache key changed. '.repeat(20);
    const body = {
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      messages: [
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'toolu_1',
              content: [
                { type: 'text', text: long },
                { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
              ],
            },
          ],
        },
      ],
    };
    const bound = promptTokenBound(body, 'anthropic', 'claude-sonnet-4-5');
    expect(bound.tokens).toBeGreaterThanOrEqual(byteTokenBound(long) + ANTHROPIC_IMAGE_TOKEN_BOUND);
    expect(bound.unbounded).toBe(false);
  });

  it('reserves PDFs per page', () => {
    expect(pdfPageCount(pdf(3))).toBe(3);
    const body = (pages: number) => ({
      messages: [
        {
          role: 'user',
          content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf(pages) } }],
        },
      ],
    });
    const one = promptTokenBound(body(1), 'anthropic', 'claude-haiku-4-5').tokens;
    const four = promptTokenBound(body(4), 'anthropic', 'claude-haiku-4-5').tokens;
    expect(four - one).toBeGreaterThanOrEqual(3 * (PDF_PAGE_TEXT_BOUND + ANTHROPIC_IMAGE_TOKEN_BOUND));
    // A PDF whose pages are hidden in compressed streams cannot be bounded from the body.
    const hidden = {
      messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', data: 'JVBERi0=' } }] }],
    };
    expect(promptTokenBound(hidden, 'anthropic', 'claude-haiku-4-5').unbounded).toBe(true);
  });

  it('says unbounded when the provider adds input the body does not hold', () => {
    const cases: Array<[Record<string, unknown>, 'openai' | 'anthropic']> = [
      [{ input: 'Continue.', previous_response_id: 'resp_1' }, 'openai'],
      [
        {
          messages: [
            { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'UklGR', format: 'wav' } }] },
          ],
        },
        'openai',
      ],
      [{ input: 'Hi', tools: [{ type: 'web_search' }] }, 'openai'],
      [{ input: 'Hi', tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }] }, 'openai'],
      [{ input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] }] }, 'openai'],
      [
        {
          messages: [
            { role: 'user', content: [{ type: 'document', source: { type: 'url', url: 'https://x/y.pdf' } }] },
          ],
        },
        'anthropic',
      ],
      [
        { messages: [{ role: 'user', content: 'Hi' }], tools: [{ type: 'web_search_20250305', name: 'web_search' }] },
        'anthropic',
      ],
      [
        { messages: [{ role: 'user', content: 'Hi' }], mcp_servers: [{ type: 'url', url: 'https://mcp' }] },
        'anthropic',
      ],
    ];
    for (const [body, shape] of cases)
      expect(promptTokenBound(body, shape, 'gpt-4o').unbounded, JSON.stringify(body)).toBe(true);
    expect(promptTokenBound(chat(), 'openai', 'gpt-4o').unbounded).toBe(false);
  });

  it('notices prompt caching, the one-hour write being the dearer', () => {
    const block = (cache?: Record<string, unknown>) => ({
      type: 'text',
      text: 'Rules.',
      ...(cache ? { cache_control: cache } : {}),
    });
    const body = (...blocks: unknown[]) => ({ system: blocks, messages: [{ role: 'user', content: 'Hi' }] });
    expect(promptTokenBound(body(block()), 'anthropic', 'claude-haiku-4-5').cacheWrite).toBe('none');
    expect(promptTokenBound(body(block({ type: 'ephemeral' })), 'anthropic', 'claude-haiku-4-5').cacheWrite).toBe('5m');
    expect(
      promptTokenBound(
        body(block({ type: 'ephemeral', ttl: '1h' }), block({ type: 'ephemeral' })),
        'anthropic',
        'claude-haiku-4-5',
      ).cacheWrite,
    ).toBe('1h');
  });

  it('never throws, whatever JSON the body holds, and never bounds below zero', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.constantFrom('openai', 'anthropic', 'gemini'),
        (body, shape) => {
          const bound = promptTokenBound(body, shape as 'openai', shape === 'openai' ? 'gpt-4o' : 'claude-haiku-4-5');
          expect(bound.tokens).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 300 },
    );
    let deep: unknown = 'x';
    for (let index = 0; index < 5_000; index++) deep = [deep];
    expect(promptTokenBound({ messages: deep as unknown[] }, 'openai', 'gpt-4o').unbounded).toBe(true);
  });
});
