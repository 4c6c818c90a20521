import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseTap } from './sse-tap';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const chunk = (content: string, withUsage: boolean) =>
  `data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}]${withUsage ? ',"usage":null' : ''}}\n\n`;
const usageChunk =
  'data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":5,"total_tokens":25,"prompt_tokens_details":{"cached_tokens":8}}}\n\n';

function stream(withUsage: boolean): string {
  const pieces = ['Hé', 'llo ', '🌍', '!'].map((piece) => chunk(piece, withUsage));
  return `${pieces.join('')}${withUsage ? usageChunk : ''}data: [DONE]\n\n`;
}

/** Feeds bytes cut at the given offsets and returns what the client would receive. */
function run(tap: SseTap, bytes: Uint8Array, cuts: number[]): Uint8Array {
  const out: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts.filter((value) => value > 0 && value < bytes.length)]
    .sort((a, b) => a - b)
    .concat(bytes.length)) {
    const piece = tap.transform(bytes.subarray(start, cut));
    if (piece) out.push(piece);
    start = cut;
  }
  const rest = tap.finish();
  if (rest) out.push(rest);
  return Buffer.concat(out);
}

describe('SseTap', () => {
  it('passes chunks through untouched and finds the usage however the bytes are split', () => {
    const bytes = encoder.encode(stream(true));
    fc.assert(
      fc.property(fc.array(fc.nat({ max: bytes.length }), { maxLength: 40 }), (cuts) => {
        const tap = new SseTap('openai-chat');
        const first = bytes.subarray(0, 3);
        expect(tap.transform(first)).toBe(first);
        const out = run(tap, bytes.subarray(3), cuts);
        expect(Buffer.concat([first, out]).equals(Buffer.from(bytes))).toBe(true);
        expect(tap.usage).toMatchObject({ inputTokens: 12, cachedInputTokens: 8, outputTokens: 5, estimated: false });
        expect(tap.outputText).toBe('Héllo 🌍!');
      }),
    );
  });

  it('in strip mode gives exactly the stream without include_usage, for any split (multi-byte characters too)', () => {
    const bytes = encoder.encode(stream(true));
    const expected = stream(false);
    fc.assert(
      fc.property(fc.array(fc.nat({ max: bytes.length }), { maxLength: 40 }), (cuts) => {
        const tap = new SseTap('openai-chat', { stripUsageChunk: true });
        expect(decoder.decode(run(tap, bytes, cuts))).toBe(expected);
        expect(tap.usage?.outputTokens).toBe(5);
      }),
    );
  });

  it('reads CRLF framing, named events and Anthropic cumulative counters', () => {
    const events = [
      'event: message_start\r\ndata: {"type":"message_start","message":{"model":"claude-haiku-4-5","usage":{"input_tokens":10,"output_tokens":1}}}\r\n\r\n',
      'event: content_block_delta\r\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\r\n\r\n',
      'event: message_delta\r\ndata: {"type":"message_delta","usage":{"output_tokens":7}}\r\n\r\n',
      'event: message_delta\r\ndata: {"type":"message_delta","usage":{"output_tokens":9}}\r\n\r\n',
    ];
    const tap = new SseTap('anthropic');
    for (const event of events) tap.transform(encoder.encode(event));
    tap.finish();
    expect(tap.usage).toMatchObject({ inputTokens: 10, outputTokens: 9, model: 'claude-haiku-4-5' });
  });

  it('survives broken framing, invalid JSON and invalid UTF-8 without throwing or inventing usage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, strip) => {
        const tap = new SseTap('openai-chat', { stripUsageChunk: strip });
        tap.transform(bytes);
        tap.transform(encoder.encode('data: {"choices":[],"usage":{"prompt_tokens":"many"}}\n\ndata: {oops\n\n'));
        tap.finish();
        expect(tap.usage).toBeUndefined();
      }),
    );
  });

  it('notices an error the upstream sends inside the stream', () => {
    const tap = new SseTap('openai-chat');
    tap.transform(encoder.encode('data: {"error":{"message":"overloaded","type":"server_error"}}\n\n'));
    expect(tap.upstreamError).toBe(true);
  });

  it('keeps memory flat on a very long stream and still finds the final usage', () => {
    const tap = new SseTap('openai-chat');
    const piece = encoder.encode(chunk('x'.repeat(1000), true));
    for (let index = 0; index < 5000; index += 1) tap.transform(piece);
    tap.transform(encoder.encode(usageChunk));
    tap.finish();
    // About 5 MB of events went by; the text kept for estimates stopped near 256 KB of event data.
    expect(tap.outputText.length).toBeLessThan(256 * 1024);
    expect(tap.usage).toMatchObject({ inputTokens: 12, outputTokens: 5 });
    // Had the usage never come, the skipped text would still be estimated, not dropped: ~4 chars a token.
    expect(tap.skippedOutputTokens).toBeGreaterThan(1_000_000);
    expect(tap.skippedOutputTokens).toBeLessThan(1_300_000);
  });
});
