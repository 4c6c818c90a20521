import { InvalidUsageError } from './invalid-usage-error';
import type { NormalizedUsage, NormalizeUsageOptions, UsageFormat } from './types';
import { usageDialect } from './usage-dialects';

/** Above this a counter is a bug or an attack, not usage: no single request bills a trillion tokens. */
export const MAX_TOKEN_COUNT = 1e12;

export const USAGE_FORMATS: readonly UsageFormat[] = [
  'openai-chat',
  'openai-responses',
  'openai-embeddings',
  'anthropic',
  'gemini',
  'bedrock-converse',
  'bedrock-invoke',
  'cohere',
];

type Json = Record<string, unknown>;

/** The metrics Bedrock adds to the last chunk of InvokeModelWithResponseStream, whatever the model. */
const INVOCATION_METRICS = 'amazon-bedrock-invocationMetrics';

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `a string (${JSON.stringify(value.slice(0, 32))})`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  return `a ${typeof value}`;
}

/** Reads a token counter; `required` counters must be present, optional ones may be absent or null. */
export function readCount(container: Json, key: string, path: string, required: true): number;
export function readCount(container: Json, key: string, path: string, required: false): number | undefined;
export function readCount(container: Json, key: string, path: string, required: boolean): number | undefined {
  const value = container[key];
  if (value === undefined || value === null) {
    if (required) throw new InvalidUsageError('is missing', `${path}.${key}`);
    return undefined;
  }
  // The common case passes one test; the field's name is only spelled out for an error (this runs per request).
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_TOKEN_COUNT) return value;
  throw new InvalidUsageError(countProblem(value), `${path}.${key}`);
}

function countProblem(value: unknown): string {
  if (typeof value !== 'number') return `must be a number, got ${describe(value)}`;
  if (!Number.isFinite(value)) return `must be finite, got ${value}`;
  if (!Number.isInteger(value)) return `must be a whole number, got ${value}`;
  if (value < 0) return `must not be negative, got ${value}`;
  return `is implausibly large (${value} > 1e12)`;
}

function readObject(container: Json, key: string, path: string): Json | undefined {
  const value = container[key];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new InvalidUsageError(`must be an object, got ${describe(value)}`, `${path}.${key}`);
  return value;
}

/** A counter that is part of another (cached of prompt, reasoning of completion) cannot exceed it. */
function partNotAbove(part: number, whole: number, path: string, partKey: string, wholeKey: string): void {
  if (part > whole) {
    throw new InvalidUsageError(
      `(${part}) exceeds ${path}.${wholeKey} (${whole}), which includes it`,
      `${path}.${partKey}`,
    );
  }
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Providers name the default tier differently (`default`, `standard`, `on_demand`); buckets use `standard`. */
function normalizeServiceTier(value: unknown): string | undefined {
  const tier = optionalString(value);
  if (tier === undefined) return undefined;
  const lower = tier.toLowerCase();
  return lower === 'default' || lower === 'on_demand' || lower === 'auto' ? 'standard' : lower;
}

/**
 * Which API shape a payload (usage object, whole response, or stream event that carries one) came from.
 * Undefined when nothing identifies it.
 */
export function detectUsageFormat(payload: unknown): UsageFormat | undefined {
  if (!isObject(payload)) return undefined;
  const object = payload.object;
  if (object === 'chat.completion' || object === 'chat.completion.chunk') return 'openai-chat';
  if (object === 'response') return 'openai-responses';
  if (object === 'list' && isObject(payload.usage)) return 'openai-embeddings';
  if (payload.type === 'message' && isObject(payload.usage)) return 'anthropic';
  if (payload.type === 'message_start' && isObject(payload.message)) return 'anthropic';
  if (typeof payload.type === 'string' && payload.type.startsWith('response.') && isObject(payload.response)) {
    return 'openai-responses';
  }
  if (payload.type === 'message-end' && isObject(payload.delta) && isObject(payload.delta.usage)) return 'cohere';
  if (isObject(payload.meta) && isObject(payload.meta.billed_units)) return 'cohere';
  if (isObject(payload.metadata) && isObject(payload.metadata.usage)) return 'bedrock-converse';
  if (
    isObject(payload[INVOCATION_METRICS]) ||
    'prompt_token_count' in payload ||
    'generation_token_count' in payload ||
    'inputTextTokenCount' in payload
  ) {
    return 'bedrock-invoke';
  }
  if (isObject(payload.usageMetadata)) return 'gemini';
  if (Array.isArray(payload.candidates) || typeof payload.modelVersion === 'string') return 'gemini';
  const usage = isObject(payload.usage) ? payload.usage : payload;
  if ('prompt_tokens' in usage || 'completion_tokens' in usage) return 'openai-chat';
  if ('promptTokenCount' in usage || 'candidatesTokenCount' in usage) return 'gemini';
  if ('inputTokens' in usage || 'outputTokens' in usage || 'cacheReadInputTokens' in usage) return 'bedrock-converse';
  if ('billed_units' in usage) return 'cohere';
  if (
    'input_tokens_details' in usage ||
    'output_tokens_details' in usage ||
    'input_token_details' in usage ||
    usage.type === 'tokens'
  ) {
    return 'openai-responses';
  }
  if (
    'cache_read_input_tokens' in usage ||
    'cache_creation_input_tokens' in usage ||
    'cache_creation' in usage ||
    'service_tier' in usage
  ) {
    return 'anthropic';
  }
  // A bare {input_tokens, output_tokens} with no cache or reasoning details gives the same buckets in both
  // shapes that use those names (nothing cached, nothing to subtract), so either answer bills identically.
  if ('input_tokens' in usage && 'output_tokens' in usage) return 'anthropic';
  return undefined;
}

/** Finds the usage object inside a whole response, a stream event, or returns the payload itself. */
function locateUsage(payload: Json, format: UsageFormat): { usage: Json; path: string; envelope: Json } {
  if (format === 'gemini') {
    if (isObject(payload.usageMetadata))
      return { usage: payload.usageMetadata, path: 'usageMetadata', envelope: payload };
    if ('usageMetadata' in payload) throw new InvalidUsageError('must be an object', 'usageMetadata');
    return { usage: payload, path: 'usageMetadata', envelope: {} };
  }
  if (format === 'bedrock-converse' && isObject(payload.metadata) && isObject(payload.metadata.usage)) {
    return { usage: payload.metadata.usage, path: 'metadata.usage', envelope: payload };
  }
  if (format === 'bedrock-invoke') {
    if (isObject(payload[INVOCATION_METRICS])) {
      return { usage: payload[INVOCATION_METRICS], path: INVOCATION_METRICS, envelope: payload };
    }
    return { usage: payload, path: 'body', envelope: payload };
  }
  if (format === 'cohere') {
    if (isObject(payload.meta) && isObject(payload.meta.billed_units)) {
      return { usage: payload.meta, path: 'meta', envelope: payload };
    }
    if (isObject(payload.delta) && isObject(payload.delta.usage)) {
      return { usage: payload.delta.usage, path: 'delta.usage', envelope: payload };
    }
  }
  let envelope = payload;
  if (format === 'openai-responses' && isObject(payload.response) && typeof payload.type === 'string') {
    envelope = payload.response;
  }
  if (format === 'anthropic' && payload.type === 'message_start' && isObject(payload.message)) {
    envelope = payload.message;
  }
  if (isObject(envelope.usage)) return { usage: envelope.usage, path: 'usage', envelope };
  if ('usage' in envelope) {
    throw new InvalidUsageError(`must be an object, got ${describe(envelope.usage)} (no usage was reported)`, 'usage');
  }
  return { usage: payload, path: 'usage', envelope: {} };
}

/**
 * Normalizes a provider's usage report into disjoint billing buckets.
 *
 * Accepts the bare usage object or the whole response (also a `message_start` or `response.completed`
 * stream event). The format is detected when not given; the provider, when given (from the resolved model
 * or the upstream), picks the dialect (see `USAGE_DIALECTS`). Throws `InvalidUsageError` on anything that
 * is not a plausible usage report, never returning zeros for it. A report whose parts do not add up to the
 * total it states comes back `estimated` with a note naming the gap.
 */
export function normalizeUsage(payload: unknown, options?: UsageFormat | NormalizeUsageOptions): NormalizedUsage {
  const format = typeof options === 'object' && options !== null ? options.format : options;
  const provider = typeof options === 'object' && options !== null ? optionalString(options.provider) : undefined;
  if (!isObject(payload)) {
    throw new InvalidUsageError(`expected a usage object or a provider response, got ${describe(payload)}`);
  }
  // One line of an Anthropic Message Batches results file: the message (with service_tier "batch") is inside.
  if (typeof payload.custom_id === 'string' && isObject(payload.result) && isObject(payload.result.message)) {
    return normalizeUsage(payload.result.message, options);
  }
  if (format !== undefined && !USAGE_FORMATS.includes(format)) {
    throw new InvalidUsageError(
      `unknown format ${JSON.stringify(format)}; expected one of ${USAGE_FORMATS.join(', ')}`,
    );
  }
  const shape = format ?? detectUsageFormat(payload);
  if (shape === undefined) {
    throw new InvalidUsageError(
      'cannot tell which API this came from (expected OpenAI Chat Completions, OpenAI Responses, Anthropic Messages, Gemini, Bedrock Converse or Cohere usage fields)',
    );
  }
  const { usage, path, envelope } = locateUsage(payload, shape);
  const notes: string[] = [];
  let result: NormalizedUsage;
  switch (shape) {
    case 'openai-chat':
      result = fromOpenAiChat(usage, path, envelope, provider, notes);
      break;
    case 'openai-responses':
      result = fromOpenAiResponses(usage, path, envelope, provider, notes);
      break;
    case 'openai-embeddings':
      result = fromOpenAiEmbeddings(usage, path, envelope, notes);
      break;
    case 'anthropic':
      result = fromAnthropic(usage, path, envelope, notes);
      break;
    case 'gemini':
      result = fromGemini(usage, path, envelope, notes);
      break;
    case 'bedrock-converse':
      result = fromBedrockConverse(usage, path, envelope, notes);
      break;
    case 'bedrock-invoke':
      result = fromBedrockInvoke(usage, path, envelope);
      break;
    case 'cohere':
      result = fromCohere(usage, path, envelope, notes);
      break;
  }
  if (provider !== undefined) result.provider = provider;
  if (notes.length > 0) {
    result.notes = notes;
    result.estimated = true;
  }
  return result;
}

/** Adds the model and service tier the response names to buckets built as one literal (no copy per request). */
function withMetadata(usage: NormalizedUsage, envelope: Json, tier: unknown): NormalizedUsage {
  const model = optionalString(envelope.model) ?? optionalString(envelope.modelVersion);
  if (model !== undefined) usage.model = model;
  const serviceTier = normalizeServiceTier(tier);
  if (serviceTier !== undefined) usage.serviceTier = serviceTier;
  return usage;
}

/** A reported total the buckets must add up to; a difference is named, never billed or dropped silently. */
function checkTotal(notes: string[], reported: number | undefined, counted: number, field: string): void {
  if (reported === undefined || reported === counted) return;
  const gap = reported - counted;
  notes.push(
    gap > 0
      ? `${field} is ${reported} but the reported parts add up to ${counted}: ${gap} token(s) are in no bucket and not priced.`
      : `${field} is ${reported} but the reported parts add up to ${counted} (${-gap} more than the total).`,
  );
}

/** Modality buckets are optional fields: set only when there are such tokens, so text-only usage is unchanged. */
function setModality(
  usage: NormalizedUsage,
  key: 'audioInputTokens' | 'cachedAudioInputTokens' | 'audioOutputTokens',
  value: number,
): void {
  if (value > 0) usage[key] = value;
}

/**
 * A part that must fit in what is left of its whole (audio in the uncached prompt): when it does not, the
 * excess stays in the text bucket and a note says so.
 */
function fitPart(notes: string[], part: number, room: number, field: string, whole: string): number {
  if (part <= room) return part;
  notes.push(`${field} (${part}) exceeds ${whole} (${room}): ${part - room} token(s) priced as text.`);
  return room;
}

/** Reasoning reported beside the output counter rather than inside it: the dialect says, or the total does. */
function reasoningIsAdditive(
  provider: string | undefined,
  format: UsageFormat,
  reasoning: number,
  input: number,
  output: number,
  total: number | undefined,
): boolean {
  if (usageDialect(format, provider).reasoning === 'beside-output') return true;
  // The provider is not known: the response's own total tells whether reasoning is inside or on top.
  return (
    provider === undefined &&
    reasoning > 0 &&
    total !== undefined &&
    total !== input + output &&
    total === input + output + reasoning
  );
}

/**
 * Chat Completions: `prompt_tokens` includes cached (and audio) tokens, `completion_tokens` includes
 * reasoning (and audio) tokens, except in xAI's dialect where reasoning is reported beside it and billed on
 * top. DeepSeek reports its cache hits as `prompt_cache_hit_tokens` / `prompt_cache_miss_tokens`.
 */
function fromOpenAiChat(
  usage: Json,
  path: string,
  envelope: Json,
  provider: string | undefined,
  notes: string[],
): NormalizedUsage {
  const prompt = readCount(usage, 'prompt_tokens', path, true);
  const completion = readCount(usage, 'completion_tokens', path, true);
  const total = readCount(usage, 'total_tokens', path, false);
  const promptDetails = readObject(usage, 'prompt_tokens_details', path);
  const completionDetails = readObject(usage, 'completion_tokens_details', path);
  const promptPath = `${path}.prompt_tokens_details`;
  const completionPath = `${path}.completion_tokens_details`;
  let cached = promptDetails ? (readCount(promptDetails, 'cached_tokens', promptPath, false) ?? 0) : 0;
  let cachedKey = 'prompt_tokens_details.cached_tokens';
  const hit = readCount(usage, 'prompt_cache_hit_tokens', path, false);
  const miss = readCount(usage, 'prompt_cache_miss_tokens', path, false);
  if (hit !== undefined) {
    cached = hit;
    cachedKey = 'prompt_cache_hit_tokens';
    if (miss !== undefined) {
      checkTotal(
        notes,
        prompt,
        hit + miss,
        `${path}.prompt_tokens (prompt_cache_hit_tokens + prompt_cache_miss_tokens)`,
      );
    }
  } else if (miss !== undefined) {
    partNotAbove(miss, prompt, path, 'prompt_cache_miss_tokens', 'prompt_tokens');
    cached = prompt - miss;
    cachedKey = 'prompt_cache_miss_tokens';
  }
  const reasoning = completionDetails
    ? (readCount(completionDetails, 'reasoning_tokens', completionPath, false) ?? 0)
    : 0;
  const audioIn = promptDetails ? (readCount(promptDetails, 'audio_tokens', promptPath, false) ?? 0) : 0;
  const audioOut = completionDetails ? (readCount(completionDetails, 'audio_tokens', completionPath, false) ?? 0) : 0;
  partNotAbove(cached, prompt, path, cachedKey, 'prompt_tokens');
  const additive = reasoningIsAdditive(provider, 'openai-chat', reasoning, prompt, completion, total);
  if (!additive) {
    partNotAbove(reasoning, completion, path, 'completion_tokens_details.reasoning_tokens', 'completion_tokens');
  }
  const audioInput = fitPart(
    notes,
    audioIn,
    prompt - cached,
    `${promptPath}.audio_tokens`,
    'the uncached prompt tokens',
  );
  const textOutput = additive ? completion : completion - reasoning;
  const audioOutput = fitPart(
    notes,
    audioOut,
    textOutput,
    `${completionPath}.audio_tokens`,
    'the non-reasoning completion tokens',
  );
  checkTotal(notes, total, prompt + completion + (additive ? reasoning : 0), `${path}.total_tokens`);
  const sources = readCount(usage, 'num_sources_used', path, false) ?? 0;
  if (sources > 0) {
    notes.push(
      `${path}.num_sources_used: ${sources} live-search source(s) are billed per source and are not in this cost.`,
    );
  }
  const result = withMetadata(
    {
      format: 'openai-chat',
      inputTokens: prompt - cached - audioInput,
      cachedInputTokens: cached,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      outputTokens: textOutput - audioOutput,
      reasoningTokens: reasoning,
      estimated: false,
    },
    envelope,
    envelope.service_tier,
  );
  setModality(result, 'audioInputTokens', audioInput);
  setModality(result, 'audioOutputTokens', audioOutput);
  return result;
}

/**
 * Responses: same inclusive conventions as Chat Completions under different names. The audio APIs
 * (transcriptions, Realtime) use the same counters with `input_token_details` / `output_token_details`
 * (singular) that split text and audio, and cached tokens by modality.
 */
function fromOpenAiResponses(
  usage: Json,
  path: string,
  envelope: Json,
  provider: string | undefined,
  notes: string[],
): NormalizedUsage {
  const input = readCount(usage, 'input_tokens', path, true);
  const output = readCount(usage, 'output_tokens', path, true);
  const total = readCount(usage, 'total_tokens', path, false);
  const inputKey = 'input_tokens_details' in usage ? 'input_tokens_details' : 'input_token_details';
  const outputKey = 'output_tokens_details' in usage ? 'output_tokens_details' : 'output_token_details';
  const inputDetails = readObject(usage, inputKey, path);
  const outputDetails = readObject(usage, outputKey, path);
  const inputPath = `${path}.${inputKey}`;
  const outputPath = `${path}.${outputKey}`;
  const cached = inputDetails ? (readCount(inputDetails, 'cached_tokens', inputPath, false) ?? 0) : 0;
  const reasoning = outputDetails ? (readCount(outputDetails, 'reasoning_tokens', outputPath, false) ?? 0) : 0;
  partNotAbove(cached, input, path, `${inputKey}.cached_tokens`, 'input_tokens');
  const additive = reasoningIsAdditive(provider, 'openai-responses', reasoning, input, output, total);
  if (!additive) partNotAbove(reasoning, output, path, `${outputKey}.reasoning_tokens`, 'output_tokens');
  checkTotal(notes, total, input + output + (additive ? reasoning : 0), `${path}.total_tokens`);
  const audioIn = inputDetails ? (readCount(inputDetails, 'audio_tokens', inputPath, false) ?? 0) : 0;
  const cachedDetails = inputDetails ? readObject(inputDetails, 'cached_tokens_details', inputPath) : undefined;
  const cachedAudio = fitPart(
    notes,
    cachedDetails ? (readCount(cachedDetails, 'audio_tokens', `${inputPath}.cached_tokens_details`, false) ?? 0) : 0,
    Math.min(cached, audioIn),
    `${inputPath}.cached_tokens_details.audio_tokens`,
    'the cached audio the input can hold',
  );
  const audioInput = fitPart(
    notes,
    audioIn - cachedAudio,
    input - cached,
    `${inputPath}.audio_tokens`,
    'the uncached input tokens',
  );
  const audioOut = outputDetails ? (readCount(outputDetails, 'audio_tokens', outputPath, false) ?? 0) : 0;
  const textOutput = additive ? output : output - reasoning;
  const audioOutput = fitPart(
    notes,
    audioOut,
    textOutput,
    `${outputPath}.audio_tokens`,
    'the non-reasoning output tokens',
  );
  const result = withMetadata(
    {
      format: 'openai-responses',
      inputTokens: input - cached - audioInput,
      cachedInputTokens: cached - cachedAudio,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      outputTokens: textOutput - audioOutput,
      reasoningTokens: reasoning,
      estimated: false,
    },
    envelope,
    envelope.service_tier,
  );
  setModality(result, 'audioInputTokens', audioInput);
  setModality(result, 'cachedAudioInputTokens', cachedAudio);
  setModality(result, 'audioOutputTokens', audioOutput);
  return result;
}

/** Embeddings: input only; `total_tokens` equals `prompt_tokens`. */
function fromOpenAiEmbeddings(usage: Json, path: string, envelope: Json, notes: string[]): NormalizedUsage {
  const prompt = readCount(usage, 'prompt_tokens', path, true);
  checkTotal(notes, readCount(usage, 'total_tokens', path, false), prompt, `${path}.total_tokens`);
  return withMetadata(
    {
      format: 'openai-embeddings',
      inputTokens: prompt,
      cachedInputTokens: 0,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
      estimated: false,
    },
    envelope,
    undefined,
  );
}

/**
 * Anthropic: `input_tokens` EXCLUDES cache reads and writes, which come in their own counters. Thinking
 * tokens are inside `output_tokens` and not reported apart, so they stay in the output bucket (same price).
 * Server tools (web search, web fetch) are billed per request, not per token: they are noted.
 */
function fromAnthropic(usage: Json, path: string, envelope: Json, notes: string[]): NormalizedUsage {
  const input = readCount(usage, 'input_tokens', path, true);
  const output = readCount(usage, 'output_tokens', path, true);
  const cacheRead = readCount(usage, 'cache_read_input_tokens', path, false) ?? 0;
  const cacheCreation = readCount(usage, 'cache_creation_input_tokens', path, false);
  const split = readObject(usage, 'cache_creation', path);
  let write5m = cacheCreation ?? 0;
  let write1h = 0;
  if (split !== undefined) {
    const splitPath = `${path}.cache_creation`;
    const fiveMinutes = readCount(split, 'ephemeral_5m_input_tokens', splitPath, false) ?? 0;
    const oneHour = readCount(split, 'ephemeral_1h_input_tokens', splitPath, false) ?? 0;
    if (cacheCreation !== undefined && fiveMinutes + oneHour !== cacheCreation) {
      throw new InvalidUsageError(
        `ephemeral_5m_input_tokens (${fiveMinutes}) + ephemeral_1h_input_tokens (${oneHour}) does not equal ${path}.cache_creation_input_tokens (${cacheCreation})`,
        splitPath,
      );
    }
    write5m = fiveMinutes;
    write1h = oneHour;
  }
  const serverTools = readObject(usage, 'server_tool_use', path);
  if (serverTools !== undefined) {
    for (const key of ['web_search_requests', 'web_fetch_requests']) {
      const requests = readCount(serverTools, key, `${path}.server_tool_use`, false) ?? 0;
      if (requests > 0) {
        notes.push(
          `${path}.server_tool_use.${key}: ${requests} request(s) are billed per request and are not in this cost.`,
        );
      }
    }
  }
  return withMetadata(
    {
      format: 'anthropic',
      inputTokens: input,
      cachedInputTokens: cacheRead,
      cacheWrite5mTokens: write5m,
      cacheWrite1hTokens: write1h,
      outputTokens: output,
      reasoningTokens: 0,
      estimated: false,
    },
    envelope,
    usage.service_tier ?? envelope.service_tier,
  );
}

/** Gemini's `[{modality, tokenCount}]` lists, summed per modality (upper-cased). */
function modalityCounts(usage: Json, key: string, path: string): Map<string, number> | undefined {
  const list = usage[key];
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) throw new InvalidUsageError(`must be an array, got ${describe(list)}`, `${path}.${key}`);
  const counts = new Map<string, number>();
  list.forEach((item, index) => {
    const itemPath = `${path}.${key}[${index}]`;
    if (!isObject(item)) throw new InvalidUsageError(`must be an object, got ${describe(item)}`, itemPath);
    const modality = typeof item.modality === 'string' ? item.modality.toUpperCase() : 'MODALITY_UNSPECIFIED';
    const count = readCount(item, 'tokenCount', itemPath, false) ?? 0;
    counts.set(modality, (counts.get(modality) ?? 0) + count);
  });
  return counts;
}

function checkModalities(
  notes: string[],
  counts: Map<string, number> | undefined,
  whole: number,
  field: string,
  wholeField: string,
): void {
  if (counts === undefined) return;
  let sum = 0;
  for (const count of counts.values()) sum += count;
  if (sum !== whole) notes.push(`${field} adds up to ${sum}, not ${wholeField} (${whole}).`);
}

/**
 * Gemini: `promptTokenCount` includes `cachedContentTokenCount`; thinking tokens (`thoughtsTokenCount`) are
 * billed as output but reported apart from `candidatesTokenCount`; tool-use prompt tokens are billed as
 * input. Audio has its own price, so the AUDIO entries of the per-modality details get their own buckets.
 * The API omits zero-valued counters (proto3 JSON), so only `promptTokenCount` is required.
 */
function fromGemini(usage: Json, path: string, envelope: Json, notes: string[]): NormalizedUsage {
  const prompt = readCount(usage, 'promptTokenCount', path, true);
  const cached = readCount(usage, 'cachedContentTokenCount', path, false) ?? 0;
  const candidates = readCount(usage, 'candidatesTokenCount', path, false) ?? 0;
  const thoughts = readCount(usage, 'thoughtsTokenCount', path, false) ?? 0;
  const toolUse = readCount(usage, 'toolUsePromptTokenCount', path, false) ?? 0;
  const total = readCount(usage, 'totalTokenCount', path, false);
  partNotAbove(cached, prompt, path, 'cachedContentTokenCount', 'promptTokenCount');
  const promptModalities = modalityCounts(usage, 'promptTokensDetails', path);
  const cacheModalities = modalityCounts(usage, 'cacheTokensDetails', path);
  const candidateModalities = modalityCounts(usage, 'candidatesTokensDetails', path);
  checkModalities(notes, promptModalities, prompt, `${path}.promptTokensDetails`, 'promptTokenCount');
  checkModalities(notes, cacheModalities, cached, `${path}.cacheTokensDetails`, 'cachedContentTokenCount');
  checkModalities(notes, candidateModalities, candidates, `${path}.candidatesTokensDetails`, 'candidatesTokenCount');
  const audioCached = fitPart(
    notes,
    cacheModalities?.get('AUDIO') ?? 0,
    Math.min(cached, promptModalities?.get('AUDIO') ?? cached),
    `${path}.cacheTokensDetails[AUDIO]`,
    'the cached audio the prompt can hold',
  );
  const audioPrompt = Math.max(0, (promptModalities?.get('AUDIO') ?? 0) - audioCached);
  const audioInput = fitPart(
    notes,
    audioPrompt,
    prompt - cached,
    `${path}.promptTokensDetails[AUDIO]`,
    'the uncached prompt tokens',
  );
  const audioOutput = fitPart(
    notes,
    candidateModalities?.get('AUDIO') ?? 0,
    candidates,
    `${path}.candidatesTokensDetails[AUDIO]`,
    'candidatesTokenCount',
  );
  checkTotal(notes, total, prompt + toolUse + candidates + thoughts, `${path}.totalTokenCount`);
  const result = withMetadata(
    {
      format: 'gemini',
      inputTokens: prompt - cached - audioInput + toolUse,
      cachedInputTokens: cached - audioCached,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      outputTokens: candidates - audioOutput,
      reasoningTokens: thoughts,
      estimated: false,
    },
    envelope,
    envelope.serviceTier ?? envelope.trafficType,
  );
  setModality(result, 'audioInputTokens', audioInput);
  setModality(result, 'cachedAudioInputTokens', audioCached);
  setModality(result, 'audioOutputTokens', audioOutput);
  return result;
}

/**
 * Bedrock Converse: `inputTokens` EXCLUDES cache reads and writes (reported beside it); `cacheDetails`
 * splits the writes by TTL. The response names no model (it is in the request path).
 */
function fromBedrockConverse(usage: Json, path: string, envelope: Json, notes: string[]): NormalizedUsage {
  const input = readCount(usage, 'inputTokens', path, true);
  const output = readCount(usage, 'outputTokens', path, true);
  const total = readCount(usage, 'totalTokens', path, false);
  const read = readCount(usage, 'cacheReadInputTokens', path, false) ?? 0;
  const write = readCount(usage, 'cacheWriteInputTokens', path, false) ?? 0;
  let write1h = 0;
  const details = usage.cacheDetails;
  if (Array.isArray(details) && details.length > 0) {
    let sum = 0;
    details.forEach((detail, index) => {
      const detailPath = `${path}.cacheDetails[${index}]`;
      if (!isObject(detail)) throw new InvalidUsageError(`must be an object, got ${describe(detail)}`, detailPath);
      const tokens = readCount(detail, 'inputTokens', detailPath, false) ?? 0;
      sum += tokens;
      if (detail.ttl === '1h') write1h += tokens;
    });
    if (sum !== write) notes.push(`${path}.cacheDetails adds up to ${sum}, not cacheWriteInputTokens (${write}).`);
    write1h = Math.min(write1h, write);
  }
  // AWS documents totalTokens as input + output; with caching it also counts the cache tokens. Either is whole.
  if (total !== input + output) checkTotal(notes, total, input + output + read + write, `${path}.totalTokens`);
  return withMetadata(
    {
      format: 'bedrock-converse',
      inputTokens: input,
      cachedInputTokens: read,
      cacheWrite5mTokens: write - write1h,
      cacheWrite1hTokens: write1h,
      outputTokens: output,
      reasoningTokens: 0,
      estimated: false,
    },
    envelope,
    undefined,
  );
}

/**
 * Bedrock InvokeModel with a model's native body (Claude's is Anthropic's shape, Nova's is Converse's):
 * Meta Llama reports `prompt_token_count` / `generation_token_count`, Amazon Titan `inputTextTokenCount` and
 * `results[].tokenCount`; a streamed answer's last chunk carries `amazon-bedrock-invocationMetrics` for any model.
 */
function fromBedrockInvoke(usage: Json, path: string, envelope: Json): NormalizedUsage {
  let input: number;
  let output: number;
  let cacheRead = 0;
  let cacheWrite = 0;
  if (path === INVOCATION_METRICS) {
    input = readCount(usage, 'inputTokenCount', path, true);
    output = readCount(usage, 'outputTokenCount', path, true);
    cacheRead = readCount(usage, 'cacheReadInputTokenCount', path, false) ?? 0;
    cacheWrite = readCount(usage, 'cacheWriteInputTokenCount', path, false) ?? 0;
  } else if ('inputTextTokenCount' in usage) {
    input = readCount(usage, 'inputTextTokenCount', path, true);
    output = 0;
    const results = Array.isArray(usage.results) ? usage.results : [];
    results.forEach((item, index) => {
      const itemPath = `${path}.results[${index}]`;
      if (!isObject(item)) throw new InvalidUsageError(`must be an object, got ${describe(item)}`, itemPath);
      output += readCount(item, 'tokenCount', itemPath, true);
    });
  } else {
    input = readCount(usage, 'prompt_token_count', path, true);
    output = readCount(usage, 'generation_token_count', path, true);
  }
  return withMetadata(
    {
      format: 'bedrock-invoke',
      inputTokens: input,
      cachedInputTokens: cacheRead,
      cacheWrite5mTokens: cacheWrite,
      cacheWrite1hTokens: 0,
      outputTokens: output,
      reasoningTokens: 0,
      estimated: false,
    },
    envelope,
    undefined,
  );
}

/**
 * Cohere: `billed_units` is what is billed; `tokens` also counts the prompt template Cohere adds (not
 * billed). Without `billed_units` the raw counts are used and marked estimated.
 */
function fromCohere(usage: Json, path: string, envelope: Json, notes: string[]): NormalizedUsage {
  let counts = readObject(usage, 'billed_units', path);
  let countsPath = `${path}.billed_units`;
  if (counts === undefined) {
    counts = readObject(usage, 'tokens', path);
    countsPath = `${path}.tokens`;
    if (counts === undefined) throw new InvalidUsageError('is missing', `${path}.billed_units`);
    notes.push(`${path}.billed_units is missing: priced from ${countsPath}, which includes unbilled template tokens.`);
  }
  const input = readCount(counts, 'input_tokens', countsPath, true);
  const output = readCount(counts, 'output_tokens', countsPath, false) ?? 0;
  for (const key of ['search_units', 'classifications', 'images']) {
    const units = readCount(counts, key, countsPath, false) ?? 0;
    if (units > 0) notes.push(`${countsPath}.${key}: ${units} unit(s) are billed per unit and are not in this cost.`);
  }
  return withMetadata(
    {
      format: 'cohere',
      inputTokens: input,
      cachedInputTokens: 0,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      outputTokens: output,
      reasoningTokens: 0,
      estimated: false,
    },
    envelope,
    undefined,
  );
}

/** All input tokens, cached, cache-written and audio included: the number OpenAI and OpenTelemetry call input. */
export function totalInputTokens(usage: {
  inputTokens: number;
  cachedInputTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  audioInputTokens?: number;
  cachedAudioInputTokens?: number;
}): number {
  return (
    usage.inputTokens +
    usage.cachedInputTokens +
    usage.cacheWrite5mTokens +
    usage.cacheWrite1hTokens +
    (usage.audioInputTokens ?? 0) +
    (usage.cachedAudioInputTokens ?? 0)
  );
}

/** All output tokens, reasoning and audio included. */
export function totalOutputTokens(usage: {
  outputTokens: number;
  reasoningTokens: number;
  audioOutputTokens?: number;
}): number {
  return usage.outputTokens + usage.reasoningTokens + (usage.audioOutputTokens ?? 0);
}
