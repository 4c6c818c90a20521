import { InvalidUsageError } from './invalid-usage-error';
import type { NormalizedUsage, UsageFormat } from './types';

/** Above this a counter is a bug or an attack, not usage: no single request bills a trillion tokens. */
export const MAX_TOKEN_COUNT = 1e12;

export const USAGE_FORMATS: readonly UsageFormat[] = ['openai-chat', 'openai-responses', 'anthropic', 'gemini'];

type Json = Record<string, unknown>;

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
  if (payload.type === 'message' && isObject(payload.usage)) return 'anthropic';
  if (payload.type === 'message_start' && isObject(payload.message)) return 'anthropic';
  if (typeof payload.type === 'string' && payload.type.startsWith('response.') && isObject(payload.response)) {
    return 'openai-responses';
  }
  if (isObject(payload.usageMetadata)) return 'gemini';
  if (Array.isArray(payload.candidates) || typeof payload.modelVersion === 'string') return 'gemini';
  const usage = isObject(payload.usage) ? payload.usage : payload;
  if ('prompt_tokens' in usage || 'completion_tokens' in usage) return 'openai-chat';
  if ('promptTokenCount' in usage || 'candidatesTokenCount' in usage) return 'gemini';
  if ('input_tokens_details' in usage || 'output_tokens_details' in usage) return 'openai-responses';
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
 * stream event). The format is detected when not given. Throws `InvalidUsageError` on anything that is not
 * a plausible usage report, never returning zeros for it.
 */
export function normalizeUsage(payload: unknown, format?: UsageFormat): NormalizedUsage {
  if (!isObject(payload)) {
    throw new InvalidUsageError(`expected a usage object or a provider response, got ${describe(payload)}`);
  }
  if (format !== undefined && !USAGE_FORMATS.includes(format)) {
    throw new InvalidUsageError(
      `unknown format ${JSON.stringify(format)}; expected one of ${USAGE_FORMATS.join(', ')}`,
    );
  }
  const shape = format ?? detectUsageFormat(payload);
  if (shape === undefined) {
    throw new InvalidUsageError(
      'cannot tell which API this came from (expected OpenAI Chat Completions, OpenAI Responses, Anthropic Messages or Gemini usage fields)',
    );
  }
  const { usage, path, envelope } = locateUsage(payload, shape);
  switch (shape) {
    case 'openai-chat':
      return fromOpenAiChat(usage, path, envelope);
    case 'openai-responses':
      return fromOpenAiResponses(usage, path, envelope);
    case 'anthropic':
      return fromAnthropic(usage, path, envelope);
    case 'gemini':
      return fromGemini(usage, path, envelope);
  }
}

/** Adds the model and service tier the response names to buckets built as one literal (no copy per request). */
function withMetadata(usage: NormalizedUsage, envelope: Json, tier: unknown): NormalizedUsage {
  const model = optionalString(envelope.model) ?? optionalString(envelope.modelVersion);
  if (model !== undefined) usage.model = model;
  const serviceTier = normalizeServiceTier(tier);
  if (serviceTier !== undefined) usage.serviceTier = serviceTier;
  return usage;
}

/** Chat Completions: `prompt_tokens` includes cached tokens, `completion_tokens` includes reasoning tokens. */
function fromOpenAiChat(usage: Json, path: string, envelope: Json): NormalizedUsage {
  const prompt = readCount(usage, 'prompt_tokens', path, true);
  const completion = readCount(usage, 'completion_tokens', path, true);
  const promptDetails = readObject(usage, 'prompt_tokens_details', path);
  const completionDetails = readObject(usage, 'completion_tokens_details', path);
  const cached = promptDetails
    ? (readCount(promptDetails, 'cached_tokens', `${path}.prompt_tokens_details`, false) ?? 0)
    : 0;
  const reasoning = completionDetails
    ? (readCount(completionDetails, 'reasoning_tokens', `${path}.completion_tokens_details`, false) ?? 0)
    : 0;
  partNotAbove(cached, prompt, path, 'prompt_tokens_details.cached_tokens', 'prompt_tokens');
  partNotAbove(reasoning, completion, path, 'completion_tokens_details.reasoning_tokens', 'completion_tokens');
  return withMetadata(
    {
      format: 'openai-chat',
      inputTokens: prompt - cached,
      cachedInputTokens: cached,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      outputTokens: completion - reasoning,
      reasoningTokens: reasoning,
      estimated: false,
    },
    envelope,
    envelope.service_tier,
  );
}

/** Responses: same inclusive conventions as Chat Completions under different names. */
function fromOpenAiResponses(usage: Json, path: string, envelope: Json): NormalizedUsage {
  const input = readCount(usage, 'input_tokens', path, true);
  const output = readCount(usage, 'output_tokens', path, true);
  const inputDetails = readObject(usage, 'input_tokens_details', path);
  const outputDetails = readObject(usage, 'output_tokens_details', path);
  const cached = inputDetails
    ? (readCount(inputDetails, 'cached_tokens', `${path}.input_tokens_details`, false) ?? 0)
    : 0;
  const reasoning = outputDetails
    ? (readCount(outputDetails, 'reasoning_tokens', `${path}.output_tokens_details`, false) ?? 0)
    : 0;
  partNotAbove(cached, input, path, 'input_tokens_details.cached_tokens', 'input_tokens');
  partNotAbove(reasoning, output, path, 'output_tokens_details.reasoning_tokens', 'output_tokens');
  return withMetadata(
    {
      format: 'openai-responses',
      inputTokens: input - cached,
      cachedInputTokens: cached,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      outputTokens: output - reasoning,
      reasoningTokens: reasoning,
      estimated: false,
    },
    envelope,
    envelope.service_tier,
  );
}

/**
 * Anthropic: `input_tokens` EXCLUDES cache reads and writes, which come in their own counters. Thinking
 * tokens are inside `output_tokens` and not reported apart, so they stay in the output bucket (same price).
 */
function fromAnthropic(usage: Json, path: string, envelope: Json): NormalizedUsage {
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

/**
 * Gemini: `promptTokenCount` includes `cachedContentTokenCount`; thinking tokens (`thoughtsTokenCount`) are
 * billed as output but reported apart from `candidatesTokenCount`; tool-use prompt tokens are billed as
 * input. The API omits zero-valued counters (proto3 JSON), so only `promptTokenCount` is required.
 */
function fromGemini(usage: Json, path: string, envelope: Json): NormalizedUsage {
  const prompt = readCount(usage, 'promptTokenCount', path, true);
  const cached = readCount(usage, 'cachedContentTokenCount', path, false) ?? 0;
  const candidates = readCount(usage, 'candidatesTokenCount', path, false) ?? 0;
  const thoughts = readCount(usage, 'thoughtsTokenCount', path, false) ?? 0;
  const toolUse = readCount(usage, 'toolUsePromptTokenCount', path, false) ?? 0;
  readCount(usage, 'totalTokenCount', path, false);
  partNotAbove(cached, prompt, path, 'cachedContentTokenCount', 'promptTokenCount');
  return withMetadata(
    {
      format: 'gemini',
      inputTokens: prompt - cached + toolUse,
      cachedInputTokens: cached,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
      outputTokens: candidates,
      reasoningTokens: thoughts,
      estimated: false,
    },
    envelope,
    envelope.serviceTier ?? envelope.trafficType,
  );
}

/** All input tokens, cached and cache-written included: the number OpenAI and OpenTelemetry call input. */
export function totalInputTokens(usage: {
  inputTokens: number;
  cachedInputTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
}): number {
  return usage.inputTokens + usage.cachedInputTokens + usage.cacheWrite5mTokens + usage.cacheWrite1hTokens;
}

/** All output tokens, reasoning included. */
export function totalOutputTokens(usage: { outputTokens: number; reasoningTokens: number }): number {
  return usage.outputTokens + usage.reasoningTokens;
}
