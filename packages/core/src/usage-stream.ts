import { InvalidUsageError } from './invalid-usage-error';
import type { NormalizedUsage, NormalizeUsageOptions, UsageFormat } from './types';
import { normalizeUsage, USAGE_FORMATS } from './usage-normalize';

/** Collects the usage (and the text, for estimating when usage never comes) from a streamed response. */
export interface StreamUsageAccumulator {
  /** Feed one parsed SSE `data:` payload (Anthropic and Responses events with their `type`). */
  push(event: unknown): void;
  /** The model the provider says answered, once a chunk has named it. */
  readonly model?: string;
  /** Generated text seen so far (content, thinking, tool-call arguments): the input for an estimate. */
  readonly outputText: string;
  /** Characters of generated text seen, including any beyond `maxOutputText`. */
  readonly outputCharacters: number;
  /** True when text beyond `maxOutputText` was seen and not kept. */
  readonly outputTextTruncated: boolean;
  /**
   * The first invalid usage payload met, if any. `push` never throws for stream content: a bad usage report
   * leaves `result()` undefined (so the caller counts and marks the usage estimated) and is kept here.
   */
  readonly error?: InvalidUsageError;
  /** The final usage, or undefined when the stream never reported one (interrupted, or not requested). */
  result(): NormalizedUsage | undefined;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

export interface StreamUsageAccumulatorOptions {
  /**
   * Most characters of output text to keep (default: all). A proxy that only needs the text when usage is
   * missing can bound its memory per stream; `outputCharacters` still counts everything.
   */
  maxOutputText?: number;
  /** The provider that answers, when known: picks its usage dialect (xAI reports reasoning beside the output). */
  provider?: string;
}

abstract class BaseAccumulator implements StreamUsageAccumulator {
  model?: string;
  error?: InvalidUsageError;
  outputCharacters = 0;
  outputTextTruncated = false;
  protected parts: string[] = [];
  protected kept = 0;
  protected usage?: NormalizedUsage;

  constructor(
    private readonly maxOutputText = Number.POSITIVE_INFINITY,
    protected readonly provider?: string,
  ) {}

  /** The normaliser's options for this stream's format and provider. */
  protected dialect(format: UsageFormat): NormalizeUsageOptions {
    return this.provider === undefined ? { format } : { format, provider: this.provider };
  }

  get outputText(): string {
    if (this.parts.length > 1) this.parts = [this.parts.join('')];
    return this.parts[0] ?? '';
  }

  push(event: unknown): void {
    if (Array.isArray(event)) {
      for (const item of event) this.push(item);
      return;
    }
    if (!isObject(event)) return;
    try {
      this.accept(event);
    } catch (error) {
      if (!(error instanceof InvalidUsageError)) throw error;
      this.error ??= error;
      this.usage = undefined;
    }
  }

  protected abstract accept(event: Json): void;

  protected append(value: unknown): void {
    const piece = text(value);
    if (piece.length === 0) return;
    this.outputCharacters += piece.length;
    const room = this.maxOutputText - this.kept;
    if (room <= 0) {
      this.outputTextTruncated = true;
      return;
    }
    const kept = piece.length > room ? piece.slice(0, room) : piece;
    if (kept.length < piece.length) this.outputTextTruncated = true;
    this.parts.push(kept);
    this.kept += kept.length;
  }

  protected setModel(value: unknown): void {
    if (typeof value === 'string' && value.length > 0) this.model = value;
  }

  result(): NormalizedUsage | undefined {
    if (this.usage === undefined) return undefined;
    const usage = { ...this.usage };
    if (usage.model === undefined && this.model !== undefined) usage.model = this.model;
    return usage;
  }
}

/** Chat Completions: usage arrives once, on a final chunk with `choices: []`; every other chunk has `usage: null`. */
class OpenAiChatAccumulator extends BaseAccumulator {
  protected accept(chunk: Json): void {
    this.setModel(chunk.model);
    if (Array.isArray(chunk.choices)) {
      for (const choice of chunk.choices) {
        if (!isObject(choice) || !isObject(choice.delta)) continue;
        const delta = choice.delta;
        this.append(delta.content);
        this.append(delta.refusal);
        if (Array.isArray(delta.tool_calls)) {
          for (const call of delta.tool_calls) {
            if (isObject(call) && isObject(call.function)) {
              this.append(call.function.name);
              this.append(call.function.arguments);
            }
          }
        }
      }
    }
    // Groq sends the stream's usage in `x_groq.usage` of the last chunk, not in `usage`.
    const usage = chunk.usage ?? (isObject(chunk.x_groq) ? chunk.x_groq.usage : undefined);
    if (usage !== undefined && usage !== null) {
      this.usage = normalizeUsage({ ...chunk, usage }, this.dialect('openai-chat'));
    }
  }
}

/** Responses: the usage is on the terminal event's `response` (completed, incomplete or failed). */
class OpenAiResponsesAccumulator extends BaseAccumulator {
  protected accept(event: Json): void {
    const type = event.type;
    if (isObject(event.response)) this.setModel(event.response.model);
    switch (type) {
      case 'response.output_text.delta':
      case 'response.refusal.delta':
      case 'response.function_call_arguments.delta':
      case 'response.reasoning_summary_text.delta':
        this.append(event.delta);
        return;
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed': {
        const response = event.response;
        if (isObject(response) && response.usage !== undefined && response.usage !== null) {
          this.usage = normalizeUsage(response, this.dialect('openai-responses'));
        }
        return;
      }
    }
  }
}

/**
 * Anthropic: `message_start` carries the input side (and the model); each `message_delta.usage` carries
 * CUMULATIVE counters, so a later value replaces an earlier one and nothing is added up.
 */
class AnthropicAccumulator extends BaseAccumulator {
  private counters: Json | undefined;
  private envelope: Json = {};
  private sawDelta = false;

  protected accept(event: Json): void {
    switch (event.type) {
      case 'message_start': {
        const message = event.message;
        if (!isObject(message)) return;
        this.setModel(message.model);
        this.envelope = { model: message.model };
        if (isObject(message.usage)) this.counters = { ...message.usage };
        break;
      }
      case 'message_delta': {
        if (!isObject(event.usage)) return;
        this.sawDelta = true;
        // Overwrite, never add: every counter present is the running total so far.
        this.counters = { ...(this.counters ?? {}) };
        for (const [key, value] of Object.entries(event.usage)) {
          if (value !== null && value !== undefined) this.counters[key] = value;
        }
        break;
      }
      case 'content_block_start': {
        const block = event.content_block;
        if (isObject(block)) this.append(block.text);
        return;
      }
      case 'content_block_delta': {
        const delta = event.delta;
        if (!isObject(delta)) return;
        if (delta.type === 'text_delta') this.append(delta.text);
        else if (delta.type === 'thinking_delta') this.append(delta.thinking);
        else if (delta.type === 'input_json_delta') this.append(delta.partial_json);
        return;
      }
      default:
        return;
    }
    if (this.counters === undefined || this.counters.input_tokens === undefined) return;
    this.usage = normalizeUsage({ ...this.envelope, type: 'message', usage: this.counters }, this.dialect('anthropic'));
    // Until a message_delta arrives, output_tokens is message_start's placeholder, not the real count.
    if (!this.sawDelta) this.usage.estimated = true;
  }
}

/**
 * Gemini: every streamed chunk carries `usageMetadata` with running totals; the last one wins. Without a
 * chunk that has a `finishReason` the stream was cut short and the output count is incomplete.
 */
class GeminiAccumulator extends BaseAccumulator {
  private finished = false;

  protected accept(chunk: Json): void {
    this.setModel(chunk.modelVersion);
    if (Array.isArray(chunk.candidates)) {
      for (const candidate of chunk.candidates) {
        if (!isObject(candidate)) continue;
        if (typeof candidate.finishReason === 'string') this.finished = true;
        const content = candidate.content;
        if (!isObject(content) || !Array.isArray(content.parts)) continue;
        for (const part of content.parts) {
          if (!isObject(part)) continue;
          this.append(part.text);
          if (isObject(part.functionCall)) this.append(JSON.stringify(part.functionCall.args ?? {}));
        }
      }
    }
    if (isObject(chunk.usageMetadata)) {
      this.usage = normalizeUsage(chunk, this.dialect('gemini'));
    }
  }

  override result(): NormalizedUsage | undefined {
    const usage = super.result();
    if (usage !== undefined && !this.finished) usage.estimated = true;
    return usage;
  }
}

/**
 * Bedrock ConverseStream, as JSON events once the AWS event-stream framing is decoded: text in
 * `contentBlockDelta.delta.text`, usage in the final `metadata` event. Without `messageStop` the stream was cut.
 */
class BedrockConverseAccumulator extends BaseAccumulator {
  private stopped = false;

  protected accept(event: Json): void {
    const delta = isObject(event.contentBlockDelta) ? event.contentBlockDelta.delta : undefined;
    if (isObject(delta)) {
      this.append(delta.text);
      if (isObject(delta.toolUse)) this.append(delta.toolUse.input);
      if (isObject(delta.reasoningContent)) this.append(delta.reasoningContent.text);
    }
    if (isObject(event.messageStop)) this.stopped = true;
    if (isObject(event.metadata) && isObject(event.metadata.usage)) {
      this.usage = normalizeUsage(event, this.dialect('bedrock-converse'));
    }
  }

  override result(): NormalizedUsage | undefined {
    const usage = super.result();
    if (usage !== undefined && !this.stopped) usage.estimated = true;
    return usage;
  }
}

/**
 * Bedrock InvokeModelWithResponseStream with a model's native chunks (Llama `generation`, Titan
 * `outputText`): the counts come in the last chunk's `amazon-bedrock-invocationMetrics`.
 */
class BedrockInvokeAccumulator extends BaseAccumulator {
  protected accept(chunk: Json): void {
    this.append(chunk.generation);
    this.append(chunk.outputText);
    if (isObject(chunk['amazon-bedrock-invocationMetrics'])) {
      this.usage = normalizeUsage(chunk, this.dialect('bedrock-invoke'));
    }
  }
}

/** Cohere v2 chat stream: text in `content-delta`, usage in `message-end`'s `delta.usage`. */
class CohereAccumulator extends BaseAccumulator {
  protected accept(event: Json): void {
    const delta = isObject(event.delta) ? event.delta : undefined;
    if (event.type === 'content-delta' && delta && isObject(delta.message) && isObject(delta.message.content)) {
      this.append(delta.message.content.text);
    }
    if (event.type === 'message-end' && delta && isObject(delta.usage)) {
      this.usage = normalizeUsage(event, this.dialect('cohere'));
    }
  }
}

/** Embeddings are not streamed; a usage-bearing payload is read whole. */
class EmbeddingsAccumulator extends BaseAccumulator {
  protected accept(event: Json): void {
    if (isObject(event.usage)) this.usage = normalizeUsage(event, this.dialect('openai-embeddings'));
  }
}

/** A collector of usage and output text for one streamed response of the given API shape. */
export function createStreamUsageAccumulator(
  format: UsageFormat,
  options: StreamUsageAccumulatorOptions = {},
): StreamUsageAccumulator {
  const limit = options.maxOutputText;
  const provider = options.provider;
  switch (format) {
    case 'openai-chat':
      return new OpenAiChatAccumulator(limit, provider);
    case 'openai-responses':
      return new OpenAiResponsesAccumulator(limit, provider);
    case 'openai-embeddings':
      return new EmbeddingsAccumulator(limit, provider);
    case 'anthropic':
      return new AnthropicAccumulator(limit, provider);
    case 'gemini':
      return new GeminiAccumulator(limit, provider);
    case 'bedrock-converse':
      return new BedrockConverseAccumulator(limit, provider);
    case 'bedrock-invoke':
      return new BedrockInvokeAccumulator(limit, provider);
    case 'cohere':
      return new CohereAccumulator(limit, provider);
    default:
      throw new InvalidUsageError(
        `unknown stream format ${JSON.stringify(format)}; expected one of ${USAGE_FORMATS.join(', ')}`,
      );
  }
}
