import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, scratchFiles } from '../test/run-cli';

const file = scratchFiles('count');

// OpenAI cookbook function-calling example: 101 prompt tokens on gpt-4o (published).
const messages = [
  { role: 'system', content: 'You are a helpful assistant that can answer to questions about the weather.' },
  { role: 'user', content: "What's the weather like in San Francisco?" },
];
const tools = [
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

describe('tokenmeter count', () => {
  it('counts a text file', async () => {
    const result = await runCli('count', '--model', 'gpt-4o', file('hello.txt', 'hello world'), '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ model: 'gpt-4o', tokens: 2, encoding: 'o200k_base', estimated: false });
  });

  it('says when a count is an estimate', async () => {
    const result = await runCli(
      'count',
      '--model',
      'claude-sonnet-4-5',
      file('claude.txt', 'abcdefghij abcdefghij abcdefghij ab'),
    );
    // 35 characters / 3.5 per token.
    expect(result.stdout).toBe('10 tokens (character estimate: no public tokenizer, estimated)\n');
  });

  it('counts chat messages with tools', async () => {
    const result = await runCli(
      'count',
      '--model',
      'gpt-4o',
      '--messages',
      file('messages.json', JSON.stringify(messages)),
      '--tools',
      file('tools.json', JSON.stringify(tools)),
      '--json',
    );
    expect(JSON.parse(result.stdout)).toMatchObject({ tokens: 101, encoding: 'o200k_base' });
  });

  it('accepts a whole request body with messages and tools', async () => {
    const result = await runCli(
      'count',
      '--model',
      'gpt-4',
      '--messages',
      file('body.json', JSON.stringify({ model: 'gpt-4', messages, tools })),
      '--json',
    );
    // Same example on gpt-4: 105 (published).
    expect(JSON.parse(result.stdout).tokens).toBe(105);
  });

  it('malformed JSON in --messages: exit 2 with a clear message', async () => {
    const result = await runCli('count', '--model', 'gpt-4o', '--messages', file('broken.json', '[{"role": "user",'));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/broken\.json is not valid JSON/);
  });

  it('messages that are not messages: exit 2', async () => {
    const result = await runCli(
      'count',
      '--model',
      'gpt-4o',
      '--messages',
      file('wrong.json', '[{"content": "no role"}]'),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/message 0 must be an object with a string "role"/);
  });

  it('no input at all: exit 2', async () => {
    const result = await runCli('count', '--model', 'gpt-4o');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Give a text FILE/);
  });

  it('a missing file: exit 2', async () => {
    const result = await runCli('count', '--model', 'gpt-4o', join(tmpdir(), 'tokenmeter-no-such-dir', 'nope.txt'));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Cannot read .*nope\.txt: ENOENT/);
  });
});
