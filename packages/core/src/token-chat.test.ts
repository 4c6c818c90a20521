import { describe, expect, it } from 'vitest';
import { countChatTokens, imageTokens, tileCount } from './token-chat';
import type { ChatMessage, ToolDefinition } from './types';

// The example conversation from OpenAI's cookbook "How to count tokens with tiktoken"; the cookbook prints
// 129 prompt tokens for gpt-3.5-turbo and gpt-4 and 124 for gpt-4o and gpt-4o-mini, matching the API.
const cookbookMessages: ChatMessage[] = [
  {
    role: 'system',
    content: 'You are a helpful, pattern-following assistant that translates corporate jargon into plain English.',
  },
  { role: 'system', name: 'example_user', content: 'New synergies will help drive top-line growth.' },
  { role: 'system', name: 'example_assistant', content: 'Things working well together will increase revenue.' },
  {
    role: 'system',
    name: 'example_user',
    content: "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.",
  },
  {
    role: 'system',
    name: 'example_assistant',
    content: "Let's talk later when we're less busy about how to do better.",
  },
  { role: 'user', content: "This late pivot means we don't have time to boil the ocean for the client deliverable." },
];

// The cookbook's function-calling example: 105 prompt tokens on gpt-3.5-turbo / gpt-4, 101 on gpt-4o(-mini).
const weatherTools: ToolDefinition[] = [
  {
    type: 'function',
    function: {
      name: 'get_current_weather',
      description: 'Get the current weather in a given location',
      parameters: {
        type: 'object',
        properties: {
          location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' },
          unit: { type: 'string', description: 'The unit of temperature to return', enum: ['celsius', 'fahrenheit'] },
        },
        required: ['location'],
      },
    },
  },
];
const weatherMessages: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful assistant that can answer to questions about the weather.' },
  { role: 'user', content: "What's the weather like in San Francisco?" },
];

describe('countChatTokens (OpenAI cookbook rules)', () => {
  it.each([
    ['gpt-3.5-turbo', 129, 'cl100k_base'],
    ['gpt-4-0613', 129, 'cl100k_base'],
    ['gpt-4o', 124, 'o200k_base'],
    ['gpt-4o-mini', 124, 'o200k_base'],
  ])('cookbook messages on %s = %i', (model, tokens, encoding) => {
    expect(countChatTokens(cookbookMessages, model)).toEqual({ tokens, encoding, estimated: false });
  });

  it.each([
    ['gpt-3.5-turbo', 105],
    ['gpt-4', 105],
    ['gpt-4o', 101],
    ['gpt-4o-mini', 101],
  ])('cookbook tools example on %s = %i', (model, tokens) => {
    expect(countChatTokens(weatherMessages, model, { tools: weatherTools }).tokens).toBe(tokens);
  });

  it('an empty conversation is the 3 reply-priming tokens', () => {
    expect(countChatTokens([], 'gpt-4o').tokens).toBe(3);
  });

  it('gpt-3.5-turbo-0301 uses 4 per message and −1 per name', () => {
    const withName = countChatTokens([{ role: 'user', name: 'bob', content: 'hi' }], 'gpt-3.5-turbo-0301');
    const withoutName = countChatTokens([{ role: 'user', content: 'hi' }], 'gpt-3.5-turbo-0301');
    // "bob" is 1 token in cl100k_base, and the name costs −1: the two differ by 0.
    expect(withName.tokens - withoutName.tokens).toBe(0);
    expect(withoutName.tokens).toBe(4 + 1 + 1 + 3);
  });

  it('image parts: low detail 85, high detail by tiles', () => {
    const base = countChatTokens(
      [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }] }],
      'gpt-4o',
    ).tokens;
    const low = countChatTokens(
      [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'https://example.test/a.png', detail: 'low' } },
          ],
        },
      ],
      'gpt-4o',
    );
    expect(low).toMatchObject({ tokens: base + 85, estimated: false });
    const high = countChatTokens(
      [
        {
          role: 'user',
          content: [{ type: 'image_url', image_url: { url: 'x', detail: 'high', width: 2048, height: 4096 } }],
        },
      ],
      'gpt-4o',
    );
    // 2048×4096 → fit 1024×2048 → shortest side 768: 768×1536 → 2×3 tiles → 6×170 + 85 = 1105 (OpenAI's example).
    // 3 per message + "user" (1 token) + 1105 + 3 reply priming.
    expect(high.tokens).toBe(3 + 1 + 1105 + 3);
  });

  it('tool calls in history count their name and arguments and flag the result estimated', () => {
    const count = countChatTokens(
      [
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: { name: 'get_current_weather', arguments: '{"location":"Paris"}' },
            },
          ],
        },
      ],
      'gpt-4o',
    );
    expect(count.estimated).toBe(true);
    expect(count.tokens).toBeGreaterThan(6);
  });

  it('Claude conversations are estimated', () => {
    expect(countChatTokens(cookbookMessages, 'claude-sonnet-4-5')).toMatchObject({
      encoding: 'estimate',
      estimated: true,
    });
  });

  it('rejects a non-array', () => {
    expect(() => countChatTokens('hi' as never, 'gpt-4o')).toThrow(/must be an array/);
  });
});

describe('imageTokens', () => {
  it('follows the published examples', () => {
    // OpenAI vision guide: 1024×1024 high = 765; 2048×4096 high = 1105; any low = 85 (gpt-4o).
    expect(imageTokens({ detail: 'high', width: 1024, height: 1024 }, 'gpt-4o')).toEqual({
      tokens: 765,
      estimated: false,
    });
    expect(imageTokens({ detail: 'high', width: 2048, height: 4096 }, 'gpt-4o')).toEqual({
      tokens: 1105,
      estimated: false,
    });
    expect(imageTokens({ detail: 'low', width: 4096, height: 4096 }, 'gpt-4o')).toEqual({
      tokens: 85,
      estimated: false,
    });
    // gpt-4o-mini bills images at 2833 base + 5667 per tile.
    expect(imageTokens({ detail: 'low' }, 'gpt-4o-mini').tokens).toBe(2833);
  });

  it('auto with a size counts as high; without one it assumes 1024×1024 and says so', () => {
    expect(imageTokens({ detail: 'auto', width: 512, height: 512 }, 'gpt-4o')).toEqual({
      tokens: 255,
      estimated: false,
    });
    expect(imageTokens({ detail: 'auto' }, 'gpt-4o')).toEqual({ tokens: 765, estimated: true });
  });

  it('tileCount', () => {
    expect(tileCount(512, 512)).toBe(1);
    expect(tileCount(768, 768)).toBe(4);
    // 100×5000 fits as 40.96×2048; the short side is under 768 already: 1 × 4 tiles.
    expect(tileCount(100, 5000)).toBe(4);
  });
});
