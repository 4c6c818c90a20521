import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { UsageFormat } from './types';
import { createStreamUsageAccumulator } from './usage-stream';

/** Parses an SSE transcript into its `data:` payloads, as a client would (`[DONE]` is not JSON). */
function sseEvents(name: string): unknown[] {
  const text = readFileSync(new URL(`../test/fixtures/${name}`, import.meta.url), 'utf8');
  const events: unknown[] = [];
  for (const block of text.split(/\n\n+/)) {
    const data = block
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trimStart())
      .join('\n');
    if (data === '' || data === '[DONE]') continue;
    events.push(JSON.parse(data));
  }
  return events;
}

function run(format: UsageFormat, events: unknown[]) {
  const accumulator = createStreamUsageAccumulator(format);
  for (const event of events) accumulator.push(event);
  return accumulator;
}

describe('createStreamUsageAccumulator', () => {
  it('OpenAI Chat: usage from the final choices-less chunk, text and model from the deltas', () => {
    const accumulator = run('openai-chat', sseEvents('openai-chat-stream.sse'));
    expect(accumulator.model).toBe('gpt-4o-2024-08-06');
    expect(accumulator.outputText).toBe('Paris is the capital of France.');
    expect(accumulator.result()).toMatchObject({
      model: 'gpt-4o-2024-08-06',
      inputTokens: 256,
      cachedInputTokens: 1280,
      outputTokens: 8,
      reasoningTokens: 0,
      estimated: false,
    });
  });

  it('OpenAI Chat: an interrupted stream (no usage chunk) gives undefined, not zeros', () => {
    const events = sseEvents('openai-chat-stream.sse').slice(0, 3);
    const accumulator = run('openai-chat', events);
    expect(accumulator.result()).toBeUndefined();
    expect(accumulator.outputText).toBe('Paris is the capital');
  });

  it('OpenAI Responses: usage from response.completed', () => {
    const accumulator = run('openai-responses', sseEvents('openai-responses-stream.sse'));
    expect(accumulator.model).toBe('gpt-4.1-2025-04-14');
    expect(accumulator.outputText).toBe('Three tests fail on Node 20.');
    expect(accumulator.result()).toMatchObject({ inputTokens: 1216, cachedInputTokens: 11264, outputTokens: 9 });
  });

  it('OpenAI Responses: response.incomplete also carries usage', () => {
    const accumulator = run('openai-responses', [
      {
        type: 'response.incomplete',
        response: {
          model: 'gpt-5',
          usage: { input_tokens: 50, output_tokens: 4000, output_tokens_details: { reasoning_tokens: 3900 } },
        },
      },
    ]);
    expect(accumulator.result()).toMatchObject({
      model: 'gpt-5',
      inputTokens: 50,
      outputTokens: 100,
      reasoningTokens: 3900,
    });
  });

  it('Anthropic: message_delta counters are cumulative and overwrite, never add', () => {
    const accumulator = run('anthropic', sseEvents('anthropic-stream.sse'));
    expect(accumulator.model).toBe('claude-opus-4-1-20250805');
    expect(accumulator.outputText).toBe(
      'The user wants the shortest route; A→C→D is 14 km.Take A → C → D: 14 km in total.',
    );
    // Two message_delta events said 187 then 203: the answer is 203, not 390.
    expect(accumulator.result()).toEqual({
      format: 'anthropic',
      model: 'claude-opus-4-1-20250805',
      serviceTier: 'standard',
      estimated: false,
      inputTokens: 25,
      cachedInputTokens: 24000,
      cacheWrite5mTokens: 1500,
      cacheWrite1hTokens: 0,
      outputTokens: 203,
      reasoningTokens: 0,
    });
  });

  it('Anthropic: cut off before any message_delta → the input side, marked estimated', () => {
    const accumulator = run('anthropic', sseEvents('anthropic-stream.sse').slice(0, 4));
    expect(accumulator.result()).toMatchObject({ inputTokens: 25, outputTokens: 1, estimated: true });
  });

  it('Gemini: the last chunk wins', () => {
    const accumulator = run('gemini', sseEvents('gemini-stream.sse'));
    expect(accumulator.model).toBe('gemini-2.5-flash');
    expect(accumulator.outputText).toBe("Bonjour ! Comment puis-je vous aider aujourd'hui ?");
    expect(accumulator.result()).toMatchObject({
      inputTokens: 256,
      cachedInputTokens: 768,
      outputTokens: 12,
      reasoningTokens: 320,
      estimated: false,
    });
  });

  it('Gemini: no finishReason means the stream was cut short → estimated', () => {
    const accumulator = run('gemini', sseEvents('gemini-stream.sse').slice(0, 2));
    expect(accumulator.result()).toMatchObject({ outputTokens: 8, estimated: true });
  });

  it('ignores non-object events and keeps a bad usage report as an error instead of throwing', () => {
    const accumulator = createStreamUsageAccumulator('openai-chat');
    accumulator.push('[DONE]');
    accumulator.push(null);
    accumulator.push({ choices: [], usage: { prompt_tokens: -5, completion_tokens: 1 } });
    expect(accumulator.result()).toBeUndefined();
    expect(accumulator.error?.code).toBe('INVALID_USAGE');
  });

  it('maxOutputText bounds the kept text but still counts every character', () => {
    const accumulator = createStreamUsageAccumulator('openai-chat', { maxOutputText: 12 });
    for (const event of sseEvents('openai-chat-stream.sse')) accumulator.push(event);
    expect(accumulator.outputText).toBe('Paris is the');
    expect(accumulator.outputCharacters).toBe('Paris is the capital of France.'.length);
    expect(accumulator.outputTextTruncated).toBe(true);
    expect(accumulator.result()?.outputTokens).toBe(8);
  });

  it('returns undefined when nothing arrived', () => {
    for (const format of ['openai-chat', 'openai-responses', 'anthropic', 'gemini'] as const) {
      expect(createStreamUsageAccumulator(format).result()).toBeUndefined();
    }
  });
});

describe('stream accumulators on hostile events (property)', () => {
  it('push never throws and result() is undefined or valid', () => {
    const event = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          type: fc.constantFrom('message_start', 'message_delta', 'response.completed', 'content_block_delta'),
          usage: fc.jsonValue(),
          message: fc.jsonValue(),
          response: fc.jsonValue(),
          delta: fc.jsonValue(),
        },
        { requiredKeys: ['type'] },
      ),
      fc.record(
        { choices: fc.jsonValue(), usage: fc.jsonValue(), usageMetadata: fc.jsonValue(), candidates: fc.jsonValue() },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('openai-chat', 'openai-responses', 'anthropic', 'gemini' as const),
        fc.array(event, { maxLength: 8 }),
        (format, events) => {
          const accumulator = createStreamUsageAccumulator(format);
          for (const item of events) accumulator.push(item);
          const usage = accumulator.result();
          if (usage !== undefined) expect(usage.inputTokens).toBeGreaterThanOrEqual(0);
          expect(typeof accumulator.outputText).toBe('string');
        },
      ),
      { numRuns: 1000 },
    );
  });
});
