import {
  createStreamUsageAccumulator,
  type NormalizedUsage,
  type StreamUsageAccumulator,
  type UsageFormat,
} from '@tokenmeter/core';
import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser';

const EVENT_BOUNDARY = /\r\n\r\n|\n\n|\r\r/g;

/**
 * Event data fed in full to the usage accumulator (which keeps the output text for estimates). Past it only
 * the usage-bearing part of events is fed, so memory stays flat however long the stream runs; the output of
 * the skipped part is extrapolated if an estimate is ever needed.
 */
const FULL_DATA_BYTES = 256 * 1024;

/**
 * Watches a server-sent-event stream on its way to the client and collects the usage it reports.
 *
 * Pass-through mode returns every chunk unchanged, as it arrived (nothing is held back, so the time to
 * first byte and memory are the upstream's). Strip mode exists for one case: tokenmeter asked a Chat
 * Completions upstream for `stream_options.include_usage` that the client did not ask for, so the final
 * usage-only chunk and the `"usage":null` fields it causes are removed; there chunks are released at SSE
 * event boundaries, at most one event is held.
 */
export class SseTap {
  readonly accumulator: StreamUsageAccumulator;
  /** The upstream reported an error inside the stream (an `error` event or an `{"error":…}` chunk). */
  upstreamError = false;
  /** The Responses API response id, from the first event that carries it (a background call is found by it). */
  responseId: string | undefined;
  /** Bytes (or text, in strip mode) delivered so far end exactly at an event boundary. */
  private tail = '\n\n';
  private readonly decoder = new TextDecoder();
  private readonly parser: EventSourceParser;
  private readonly strip: boolean;
  private pending = '';
  private readonly encoder = new TextEncoder();
  private readonly format: UsageFormat;
  private fullDataBytes = 0;
  private skippedDataBytes = 0;

  /** `provider` picks the usage dialect (xAI reports reasoning beside the output); see `AiCall.provider`. */
  constructor(format: UsageFormat, options: { stripUsageChunk?: boolean; provider?: string } = {}) {
    this.format = format;
    this.accumulator = createStreamUsageAccumulator(
      format,
      options.provider === undefined ? {} : { provider: options.provider },
    );
    this.strip = options.stripUsageChunk === true;
    this.parser = createParser({ onEvent: (event) => this.onEvent(event) });
  }

  /** Feeds one chunk; returns what to send the client now (the same chunk in pass-through mode). */
  transform(chunk: Uint8Array): Uint8Array | undefined {
    const text = this.decoder.decode(chunk, { stream: true });
    this.parser.feed(text);
    if (!this.strip) {
      if (text.length > 0) this.tail = text.length >= 4 ? text.slice(-4) : (this.tail + text).slice(-4);
      return chunk;
    }
    // Only the new text (and the 3 characters before it, where a boundary may have started) can hold a
    // boundary not seen yet: a long event arriving in many chunks is not rescanned from its start each time.
    const scanFrom = Math.max(0, this.pending.length - 3);
    this.pending += text;
    let end = 0;
    EVENT_BOUNDARY.lastIndex = scanFrom;
    let output = '';
    for (let match = EVENT_BOUNDARY.exec(this.pending); match; match = EVENT_BOUNDARY.exec(this.pending)) {
      const eventEnd = match.index + match[0].length;
      output += this.filterEvent(this.pending.slice(end, eventEnd));
      end = eventEnd;
    }
    if (end === 0) return undefined;
    this.pending = end === this.pending.length ? '' : this.pending.slice(end);
    return output === '' ? undefined : this.encoder.encode(output);
  }

  /** The stream ended: what is still held (strip mode), flushed as it is. */
  finish(): Uint8Array | undefined {
    const rest = this.decoder.decode();
    if (rest !== '') this.parser.feed(rest);
    if (!this.strip) return undefined;
    const held = this.pending + rest;
    this.pending = '';
    return held === '' ? undefined : this.encoder.encode(this.filterEvent(held));
  }

  /** True when the client has received whole events only, so an error event can be appended cleanly. */
  get atEventBoundary(): boolean {
    if (this.strip) return true;
    return this.tail.endsWith('\n\n') || this.tail.endsWith('\r\r') || this.tail.endsWith('\r\n\r\n');
  }

  get usage(): NormalizedUsage | undefined {
    return this.accumulator.result();
  }

  get outputText(): string {
    return this.accumulator.outputText;
  }

  /** Output tokens extrapolated for the events whose text was not kept (very long streams only). */
  get skippedOutputTokens(): number {
    if (this.skippedDataBytes === 0 || this.fullDataBytes === 0) return 0;
    const textShare = this.accumulator.outputText.length / this.fullDataBytes;
    // About four characters a token: only an estimate, and only for streams past FULL_DATA_BYTES.
    return Math.ceil((this.skippedDataBytes * textShare) / 4);
  }

  private onEvent(event: EventSourceMessage): void {
    if (event.event === 'error') this.upstreamError = true;
    const data = event.data;
    if (data === '' || data === '[DONE]') return;
    let payload: unknown;
    try {
      payload = JSON.parse(data);
    } catch {
      return;
    }
    if (
      typeof payload === 'object' &&
      payload !== null &&
      'error' in payload &&
      (payload as { error: unknown }).error
    ) {
      this.upstreamError = true;
    }
    if (this.responseId === undefined && this.format === 'openai-responses' && typeof payload === 'object') {
      const response = (payload as { response?: { id?: unknown } } | null)?.response;
      if (typeof response?.id === 'string' && response.id !== '') this.responseId = response.id;
    }
    if (this.fullDataBytes < FULL_DATA_BYTES) {
      this.fullDataBytes += data.length;
      this.accumulator.push(payload);
      return;
    }
    this.skippedDataBytes += data.length;
    const usageOnly = usagePart(this.format, payload);
    if (usageOnly !== undefined) this.accumulator.push(usageOnly);
  }

  /** Drops the usage-only chunk and the `"usage":null` member the client did not ask for; keeps all else byte-exact. */
  private filterEvent(event: string): string {
    if (event.includes('"choices":[]') && isUsageOnlyChunk(event)) return '';
    if (!event.includes('"usage":null')) return event;
    return event.replace(/,"usage":null(?=[,}])|"usage":null,/, '');
  }
}

function isUsageOnlyChunk(event: string): boolean {
  const data = event
    .split(/\r\n|\n|\r/)
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
    .join('\n');
  try {
    const chunk = JSON.parse(data) as { choices?: unknown; usage?: unknown };
    return (
      Array.isArray(chunk.choices) &&
      chunk.choices.length === 0 &&
      typeof chunk.usage === 'object' &&
      chunk.usage !== null
    );
  } catch {
    return false;
  }
}

/** The part of a stream event that carries usage (and stream-end markers), without its text; undefined if none. */
function usagePart(format: UsageFormat, payload: unknown): unknown {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const event = payload as Record<string, unknown>;
  switch (format) {
    case 'openai-chat': {
      // Groq puts the stream's usage in x_groq.usage.
      const groq = event.x_groq as { usage?: unknown } | undefined;
      const usage = event.usage ?? (typeof groq === 'object' && groq !== null ? groq.usage : undefined);
      return usage === undefined || usage === null ? undefined : { ...event, choices: [] };
    }
    case 'openai-responses': {
      const response = event.response;
      if (typeof response !== 'object' || response === null) return undefined;
      return { ...event, response: { ...response, output: [] } };
    }
    case 'anthropic':
      return event.type === 'message_start' || event.type === 'message_delta' ? event : undefined;
    case 'gemini': {
      const candidates = Array.isArray(event.candidates)
        ? event.candidates.map((candidate: unknown) =>
            typeof candidate === 'object' && candidate !== null && 'finishReason' in candidate
              ? { finishReason: (candidate as { finishReason: unknown }).finishReason }
              : {},
          )
        : [];
      return { ...event, candidates };
    }
    default:
      return undefined;
  }
}
