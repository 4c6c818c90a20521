import {
  type ChatMessage,
  type CostResult,
  computeCost,
  countChatTokens,
  countTokens,
  countTokensAsync,
  type NormalizedUsage,
  normalizeUsage,
  type PriceCatalog,
  type PromptBound,
  type PromptShape,
  promptTokenBound,
  promptTokenBoundAsync,
  type ResolvedModel,
  type ServiceTier,
  type ToolDefinition,
  type UsageFormat,
} from '@tokenmeter/core';
import type { BudgetAmounts } from './budget-enforcer';

/** The AI APIs tokenmeter meters, by the name events carry. */
export type Operation = 'chat' | 'responses' | 'embeddings' | 'completions' | 'messages' | 'generate_content';

type Json = Record<string, unknown>;

/**
 * One AI call as far as metering needs it: what was asked (operation, model, body), and lazily what the
 * prompt counts. The body is held only while the call runs and is never stored or logged.
 */
export class AiCall {
  readonly operation: Operation;
  readonly format: UsageFormat;
  /** The model as the request names it (`unknown` when it names none). */
  readonly model: string;
  /** The request asked for a stream. */
  readonly streamRequested: boolean;
  readonly body: Json;
  /** Size of the request body in bytes (large prompts are counted without blocking the event loop). */
  readonly bodyBytes: number;
  /**
   * The provider whose API answers, when known (from the upstream's host, else the catalog's provider of
   * the model): it picks the usage dialect, e.g. xAI reports reasoning tokens beside `completion_tokens`.
   */
  provider?: string;
  private promptCount: { tokens: number; estimated: boolean } | undefined;
  private bound: PromptBound | undefined;

  constructor(operation: Operation, body: Json, bodyBytes: number, model?: string) {
    this.operation = operation;
    this.body = body;
    this.bodyBytes = bodyBytes;
    this.format = FORMATS[operation];
    const named = model ?? (typeof body.model === 'string' && body.model !== '' ? body.model : 'unknown');
    // Model names come from callers: keep events and metrics bounded whatever they send.
    this.model = named.length > 200 ? named.slice(0, 200) : named;
    this.streamRequested = body.stream === true;
  }

  /**
   * Tokens of the prompt, counted once (tiktoken for OpenAI models, an estimate for the others). Call
   * `preparePromptCount()` first on paths that may meet large bodies.
   */
  promptTokens(): { tokens: number; estimated: boolean } {
    this.promptCount ??= countPrompt(this);
    return this.promptCount;
  }

  /**
   * Counts the prompt ahead of `promptTokens()`: small bodies at once, large ones (over 32 KB, where
   * tiktoken would hold the event loop for tens of milliseconds or more) in slices that yield to it.
   */
  async preparePromptCount(): Promise<void> {
    if (this.promptCount !== undefined || this.bodyBytes <= LARGE_BODY_BYTES) return;
    this.promptCount = await countLargePrompt(this);
  }

  /**
   * The most input the provider can bill for this request (for reservations; `promptTokens()` is the
   * estimate). Call `prepareReservation()` first on paths that may meet large bodies.
   */
  promptBound(): PromptBound {
    this.bound ??= promptTokenBound(this.body, SHAPES[this.operation], this.model);
    return this.bound;
  }

  /** Bounds the prompt ahead of `promptBound()`, counting large bodies in slices that yield to the event loop. */
  async prepareReservation(): Promise<void> {
    if (this.bound !== undefined || this.bodyBytes <= LARGE_BODY_BYTES) return;
    this.bound = await promptTokenBoundAsync(this.body, SHAPES[this.operation], this.model);
  }

  /** Completions generated (and billed) per request: `n` choices, or `best_of` candidates on Completions. */
  outputChoices(): number {
    const count = (value: unknown) =>
      typeof value === 'number' && Number.isSafeInteger(value) && value > 1 ? value : 1;
    return Math.max(count(this.body.n), this.operation === 'completions' ? count(this.body.best_of) : 1);
  }

  /**
   * The service tier the request asks to be billed at (`service_tier`): `priority` and `flex` have their own
   * prices; `auto`, `default` and anything else are reserved at the standard prices.
   */
  requestedTier(): ServiceTier | undefined {
    const tier = this.body.service_tier;
    return tier === 'priority' || tier === 'flex' ? tier : undefined;
  }

  /** The output cap the request names (× `n` choices), if any. */
  requestedMaxOutput(): number | undefined {
    const body = this.body;
    const config = isObject(body.generationConfig) ? body.generationConfig : {};
    const value =
      this.operation === 'responses'
        ? body.max_output_tokens
        : this.operation === 'generate_content'
          ? config.maxOutputTokens
          : (body.max_completion_tokens ?? body.max_tokens);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return undefined;
    return Math.ceil(value) * this.outputChoices();
  }
}

const LARGE_BODY_BYTES = 32 * 1024;

const SHAPES: Record<Operation, PromptShape> = {
  chat: 'openai',
  completions: 'openai',
  embeddings: 'openai',
  responses: 'openai',
  messages: 'anthropic',
  generate_content: 'gemini',
};

const FORMATS: Record<Operation, UsageFormat> = {
  chat: 'openai-chat',
  completions: 'openai-chat',
  embeddings: 'openai-embeddings',
  responses: 'openai-responses',
  messages: 'anthropic',
  generate_content: 'gemini',
};

/** Hosts of the providers' public APIs, for the dialect of a call whose model the catalog does not place. */
const PROVIDER_HOSTS: Array<[RegExp, string]> = [
  [/(^|\.)api\.openai\.com$/, 'openai'],
  [/\.openai\.azure\.com$/, 'azure'],
  [/(^|\.)api\.anthropic\.com$/, 'anthropic'],
  [/(^|\.)api\.x\.ai$/, 'xai'],
  [/(^|\.)api\.deepseek\.com$/, 'deepseek'],
  [/(^|\.)api\.mistral\.ai$/, 'mistral'],
  [/(^|\.)api\.groq\.com$/, 'groq'],
  [/(^|\.)api\.together\.(xyz|ai)$/, 'together'],
  [/(^|\.)api\.fireworks\.ai$/, 'fireworks'],
  [/(^|\.)openrouter\.ai$/, 'openrouter'],
  [/(^|\.)generativelanguage\.googleapis\.com$/, 'google'],
  [/(^|\.)aiplatform\.googleapis\.com$/, 'vertex'],
  [/^bedrock-runtime\.[a-z0-9-]+\.amazonaws\.com$/, 'bedrock'],
];

/** The provider a public API host belongs to; undefined for any other host (a gateway, a test server). */
export function providerOfHost(hostname: string): string | undefined {
  const host = hostname.toLowerCase();
  return PROVIDER_HOSTS.find(([pattern]) => pattern.test(host))?.[1];
}

/**
 * Sets the provider whose usage dialect the call's answer speaks: the upstream's host says it best (an
 * OpenAI-compatible API keeps its own conventions whatever model it serves), else the model's catalog entry.
 */
export function identifyProvider(
  call: AiCall,
  hostname: string | undefined,
  resolveModel: (model: string) => ResolvedModel | undefined,
): void {
  call.provider =
    (hostname === undefined ? undefined : providerOfHost(hostname)) ?? resolveModel(call.model)?.entry.provider;
}

/** The provider an API shape implies when the catalog does not know the model. */
export function providerHint(operation: Operation): string {
  return operation === 'messages' ? 'anthropic' : operation === 'generate_content' ? 'google' : 'unknown';
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The usage a whole (non-streamed) response reports, read in the dialect of the call's provider; undefined
 * when it reports none or garbage (the caller then counts, and marks the usage estimated).
 */
export function usageFromResponse(call: AiCall, body: unknown): NormalizedUsage | undefined {
  if (!isObject(body)) return undefined;
  if (call.format === 'gemini' ? !isObject(body.usageMetadata) : !isObject(body.usage)) return undefined;
  try {
    return normalizeUsage(
      body,
      call.provider === undefined ? call.format : { format: call.format, provider: call.provider },
    );
  } catch {
    // Never a partial read passed off as exact (input only, output dropped): unreadable usage is missing usage.
    return undefined;
  }
}

/** The generated text of a whole response, for estimating output tokens when usage is missing. */
export function outputTextOf(call: AiCall, body: unknown): string {
  if (!isObject(body)) return '';
  const parts: string[] = [];
  const push = (value: unknown) => {
    if (typeof value === 'string') parts.push(value);
  };
  const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
  switch (call.operation) {
    case 'chat':
      for (const choice of list(body.choices)) {
        if (!isObject(choice) || !isObject(choice.message)) continue;
        push(choice.message.content);
        for (const toolCall of list(choice.message.tool_calls)) {
          if (isObject(toolCall) && isObject(toolCall.function)) push(toolCall.function.arguments);
        }
      }
      break;
    case 'completions':
      for (const choice of list(body.choices)) if (isObject(choice)) push(choice.text);
      break;
    case 'responses':
      for (const item of list(body.output)) {
        if (!isObject(item)) continue;
        push(item.arguments);
        for (const content of list(item.content)) if (isObject(content)) push(content.text);
      }
      break;
    case 'messages':
      for (const block of list(body.content)) {
        if (!isObject(block)) continue;
        push(block.text);
        push(block.thinking);
        if (block.input !== undefined) push(JSON.stringify(block.input));
      }
      break;
    case 'generate_content':
      for (const candidate of list(body.candidates)) {
        if (!isObject(candidate) || !isObject(candidate.content)) continue;
        for (const part of list(candidate.content.parts)) if (isObject(part)) push(part.text);
      }
      break;
    case 'embeddings':
      break;
  }
  return parts.join('');
}

const STREAM_USAGE_MEMBER = '"stream_options":{"include_usage":true}';
const STREAM_USAGE_BYTES = Buffer.from(STREAM_USAGE_MEMBER);

function isJsonSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

/**
 * A Chat Completions request body that asks for the stream's usage: the client's own bytes with one member
 * added before the closing brace when it names no `stream_options` (no re-serialization of a large prompt),
 * else re-serialized with its `stream_options` extended. `body` must be the JSON text `parsed` came from.
 */
export function withStreamUsage(body: Buffer, parsed: Json): Buffer;
export function withStreamUsage(body: string, parsed: Json): string;
export function withStreamUsage(body: Buffer | string, parsed: Json): Buffer | string {
  if (parsed.stream_options === undefined) {
    const text = typeof body === 'string';
    const at = (index: number) => (text ? body.charCodeAt(index) : (body[index] as number));
    let close = body.length - 1;
    while (close >= 0 && isJsonSpace(at(close))) close -= 1;
    let open = 0;
    while (open < close && isJsonSpace(at(open))) open += 1;
    let first = open + 1;
    while (first < close && isJsonSpace(at(first))) first += 1;
    if (at(open) === 0x7b && at(close) === 0x7d) {
      const separator = first === close ? '' : ',';
      if (typeof body === 'string')
        return `${body.slice(0, close)}${separator}${STREAM_USAGE_MEMBER}${body.slice(close)}`;
      const parts = [body.subarray(0, close), STREAM_USAGE_BYTES, body.subarray(close)];
      if (separator !== '') parts.splice(1, 0, COMMA);
      return Buffer.concat(parts);
    }
  }
  const streamOptions = isObject(parsed.stream_options) ? parsed.stream_options : undefined;
  const rewritten = JSON.stringify({ ...parsed, stream_options: { ...streamOptions, include_usage: true } });
  return typeof body === 'string' ? rewritten : Buffer.from(rewritten);
}

const COMMA = Buffer.from(',');

export function emptyBuckets() {
  return {
    inputTokens: 0,
    cachedInputTokens: 0,
    cacheWrite5mTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
  };
}

/**
 * Usage counted by tokenmeter when the provider reported none: the prompt plus whatever output was seen.
 * Asynchronous so that long texts are counted in slices that let the event loop run.
 */
export async function estimateUsage(
  call: AiCall,
  outputText: string,
  model?: string,
  extraOutputTokens = 0,
): Promise<NormalizedUsage> {
  await call.preparePromptCount();
  const prompt = call.promptTokens();
  const output = (await countOutput(outputText, call.model)) + extraOutputTokens;
  return {
    ...emptyBuckets(),
    inputTokens: prompt.tokens,
    outputTokens: output,
    estimated: true,
    format: call.format,
    ...(model === undefined ? {} : { model }),
  };
}

/**
 * Completes a reported usage with what was seen when the stream was cut after the provider's counters
 * arrived (Anthropic's `message_start` already carries the input side): output never below the text seen.
 */
export async function mergeCutUsage(
  call: AiCall,
  usage: NormalizedUsage,
  outputText: string,
  extraOutputTokens = 0,
): Promise<NormalizedUsage> {
  const counted = (await countOutput(outputText, usage.model ?? call.model)) + extraOutputTokens;
  return { ...usage, outputTokens: Math.max(usage.outputTokens, counted - usage.reasoningTokens), estimated: true };
}

async function countOutput(text: string, model: string): Promise<number> {
  if (text === '') return 0;
  if (text.length <= LARGE_BODY_BYTES) return safeCount(text, model);
  try {
    return (await countTokensAsync(text, model)).tokens;
  } catch {
    return Math.ceil(text.length / 4);
  }
}

/**
 * Context window assumed for a model the catalog does not describe when a part of its prompt cannot be
 * bounded or it names no output cap: 2,097,152 tokens, the largest context any catalogued model offers.
 */
export const UNKNOWN_CONTEXT_WINDOW = 2_097_152;

/**
 * The most a call can cost, for budget reservations: the bounded prompt (the model's context window when a
 * part cannot be bounded) plus the output cap (the request's, else `maxOutputTokens`, else the model's
 * maximum output, else its context window) times the choices it asks for, priced at the service tier it
 * asks for, with the prompt at the cache-write price when it asks for caching.
 */
export function maximumAmounts(
  call: AiCall,
  catalog: PriceCatalog,
  resolved: ResolvedModel | undefined,
  defaultMaxOutput: number | undefined,
): BudgetAmounts {
  const bound = call.promptBound();
  const window = resolved?.entry.contextWindow ?? UNKNOWN_CONTEXT_WINDOW;
  // A hostile max_tokens or a huge body cannot overflow the arithmetic: a billion tokens is over every budget.
  const prompt = Math.min(bound.unbounded ? Math.max(bound.tokens, window) : bound.tokens, 1e9);
  const output =
    call.operation === 'embeddings'
      ? 0
      : (call.requestedMaxOutput() ??
        (defaultMaxOutput ?? resolved?.entry.maxOutputTokens ?? window) * call.outputChoices());
  const capped = Math.min(output, 1e9);
  const usage = {
    ...emptyBuckets(),
    inputTokens: bound.cacheWrite === 'none' ? prompt : 0,
    cacheWrite5mTokens: bound.cacheWrite === '5m' ? prompt : 0,
    cacheWrite1hTokens: bound.cacheWrite === '1h' ? prompt : 0,
    outputTokens: capped,
    estimated: true,
  };
  const tier = call.requestedTier();
  const cost =
    resolved === undefined
      ? undefined
      : computeCost(usage, resolved, { catalog, ...(tier === undefined ? {} : { tier }) }).total;
  return { tokens: prompt + capped, cost, inputTokens: prompt };
}

/** Cost of a usage; `priced: false` for models the catalog does not know (never a silent zero). */
export function costOf(
  usage: NormalizedUsage,
  model: string,
  resolved: ResolvedModel | undefined,
  catalog: PriceCatalog,
): CostResult {
  // computeCost bills the service tier the usage reports (batch, flex, priority) and standard for any other.
  return computeCost(usage, resolved ?? model, { catalog });
}

export function totalTokens(usage: NormalizedUsage): number {
  return (
    usage.inputTokens +
    usage.cachedInputTokens +
    usage.cacheWrite5mTokens +
    usage.cacheWrite1hTokens +
    usage.outputTokens +
    usage.reasoningTokens +
    (usage.audioInputTokens ?? 0) +
    (usage.cachedAudioInputTokens ?? 0) +
    (usage.audioOutputTokens ?? 0)
  );
}

function safeCount(text: string, model: string): number {
  try {
    return countTokens(text, model).tokens;
  } catch {
    // A model the tokenizer cannot place is still counted: about four characters a token in English.
    return Math.ceil(text.length / 4);
  }
}

/** Counts the prompt of a request body in its API's shape; never throws (falls back to the raw JSON). */
function countPrompt(call: AiCall): { tokens: number; estimated: boolean } {
  const body = call.body;
  const model = call.model;
  try {
    switch (call.operation) {
      case 'chat': {
        const messages = Array.isArray(body.messages) ? (body.messages as ChatMessage[]) : [];
        const tools = Array.isArray(body.tools) ? (body.tools as ToolDefinition[]).filter(isFunctionTool) : [];
        const count = countChatTokens(messages, model, tools.length > 0 ? { tools } : undefined);
        const extra = schemaAndOtherTools(body, body.response_format, isFunctionTool, model);
        return { tokens: count.tokens + extra, estimated: count.estimated || extra > 0 };
      }
      case 'responses': {
        const messages: ChatMessage[] = [];
        if (typeof body.instructions === 'string') messages.push({ role: 'system', content: body.instructions });
        if (typeof body.input === 'string') messages.push({ role: 'user', content: body.input });
        else if (Array.isArray(body.input)) for (const item of body.input) messages.push(responsesItem(item));
        const tools = Array.isArray(body.tools)
          ? body.tools.filter(isObject).flatMap((tool): ToolDefinition[] =>
              typeof tool.name === 'string'
                ? [
                    {
                      type: 'function',
                      function: { name: tool.name, ...descriptionAndParameters(tool, 'parameters') },
                    },
                  ]
                : [],
            )
          : [];
        const count = countChatTokens(messages, model, tools.length > 0 ? { tools } : undefined);
        const format = isObject(body.text) ? body.text.format : undefined;
        const extra = schemaAndOtherTools(
          body,
          format,
          (tool) => isObject(tool) && typeof tool.name === 'string',
          model,
        );
        return { tokens: count.tokens + extra, estimated: count.estimated || extra > 0 };
      }
      case 'messages': {
        const messages: ChatMessage[] = [];
        const system = textOfBlocks(body.system);
        if (system !== '') messages.push({ role: 'system', content: system });
        for (const message of Array.isArray(body.messages) ? body.messages : []) {
          if (!isObject(message)) continue;
          messages.push({ role: String(message.role ?? 'user'), content: textOfBlocks(message.content) });
        }
        const tools = Array.isArray(body.tools)
          ? body.tools.filter(isObject).flatMap((tool): ToolDefinition[] =>
              typeof tool.name === 'string'
                ? [
                    {
                      type: 'function',
                      function: { name: tool.name, ...descriptionAndParameters(tool, 'input_schema') },
                    },
                  ]
                : [],
            )
          : [];
        const count = countChatTokens(messages, model, tools.length > 0 ? { tools } : undefined);
        return { tokens: count.tokens, estimated: true };
      }
      case 'completions':
      case 'embeddings': {
        const input = call.operation === 'completions' ? body.prompt : body.input;
        return countInputs(input, model);
      }
      case 'generate_content': {
        let text = textOfGeminiContent(body.systemInstruction);
        for (const content of Array.isArray(body.contents) ? body.contents : []) text += textOfGeminiContent(content);
        return { tokens: safeCount(text, model), estimated: true };
      }
    }
  } catch {
    // An odd body shape still gets a count: the JSON itself overestimates, which is the safe side for budgets.
  }
  return { tokens: safeCount(JSON.stringify(body), model), estimated: true };
}

/**
 * A large prompt: every text in the body counted in one asynchronous pass, plus four tokens per message for
 * the framing. Marked estimated (the framing is approximate); images given as data URLs are skipped.
 */
async function countLargePrompt(call: AiCall): Promise<{ tokens: number; estimated: boolean }> {
  const texts: string[] = [];
  let items = 0;
  const walk = (value: unknown, key: string | undefined) => {
    if (typeof value === 'string') {
      if (key !== 'model' && key !== 'role' && key !== 'type' && !value.startsWith('data:')) texts.push(value);
    } else if (Array.isArray(value)) {
      for (const item of value) walk(item, key);
    } else if (isObject(value)) {
      if ('role' in value) items += 1;
      for (const [name, inner] of Object.entries(value)) walk(inner, name);
    }
  };
  for (const [name, value] of Object.entries(call.body)) {
    if (name !== 'model' && name !== 'stream_options' && name !== 'metadata') walk(value, name);
  }
  try {
    const count = await countTokensAsync(texts.join('\n'), call.model);
    return { tokens: count.tokens + items * 4, estimated: true };
  } catch {
    return { tokens: Math.ceil(texts.reduce((sum, text) => sum + text.length, 0) / 4) + items * 4, estimated: true };
  }
}

function countInputs(input: unknown, model: string): { tokens: number; estimated: boolean } {
  if (typeof input === 'string') return { tokens: safeCount(input, model), estimated: false };
  if (!Array.isArray(input)) return { tokens: 0, estimated: true };
  // Token-id arrays (number[] or number[][]) are already tokens.
  if (input.every((item) => typeof item === 'number')) return { tokens: input.length, estimated: false };
  let tokens = 0;
  for (const item of input) {
    if (typeof item === 'string') tokens += safeCount(item, model);
    else if (Array.isArray(item)) tokens += item.length;
  }
  return { tokens, estimated: false };
}

function isFunctionTool(tool: unknown): tool is ToolDefinition {
  return isObject(tool) && isObject(tool.function) && typeof tool.function.name === 'string';
}

function descriptionAndParameters(tool: Json, schemaKey: string): Omit<ToolDefinition['function'], 'name'> {
  const result: Omit<ToolDefinition['function'], 'name'> = {};
  if (typeof tool.description === 'string') result.description = tool.description;
  if (isObject(tool[schemaKey])) result.parameters = tool[schemaKey] as Json;
  return result;
}

function responsesItem(item: unknown): ChatMessage {
  if (typeof item === 'string') return { role: 'user', content: item };
  if (!isObject(item)) return { role: 'user', content: '' };
  const role = typeof item.role === 'string' ? item.role : 'user';
  if (typeof item.content === 'string') return { role, content: item.content };
  if (Array.isArray(item.content)) return { role, content: textOfBlocks(item.content) };
  // Tool calls and their outputs: count their text fields.
  const text = [item.arguments, item.output, item.name].filter((value) => typeof value === 'string').join(' ');
  return { role, content: text };
}

/**
 * Text of Anthropic/Responses content: a string or blocks with `text`, tool inputs, and tool results whose
 * content is itself blocks (the agent-loop shape). Images and files are not text: the estimate leaves them
 * out (the reservation bounds them, see `promptTokenBound`).
 */
function textOfBlocks(content: unknown, depth = 0): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content) || depth > 8) return '';
  const parts: string[] = [];
  for (const block of content) {
    if (!isObject(block)) continue;
    if (typeof block.text === 'string') parts.push(block.text);
    else if (typeof block.content === 'string') parts.push(block.content);
    else if (Array.isArray(block.content)) parts.push(textOfBlocks(block.content, depth + 1));
    else if (block.input !== undefined) parts.push(JSON.stringify(block.input));
  }
  return parts.join('\n');
}

/**
 * Structured-output schemas and tools outside the cookbook's function rule (custom, built-in), which are
 * billed as input too: counted from their JSON text.
 */
function schemaAndOtherTools(body: Json, format: unknown, counted: (tool: unknown) => boolean, model: string): number {
  let text = isObject(format) && format.type === 'json_schema' ? JSON.stringify(format) : '';
  if (Array.isArray(body.tools)) for (const tool of body.tools) if (!counted(tool)) text += JSON.stringify(tool);
  return text === '' ? 0 : safeCount(text, model);
}

function textOfGeminiContent(content: unknown): string {
  if (!isObject(content) || !Array.isArray(content.parts)) return '';
  let text = '';
  for (const part of content.parts) if (isObject(part) && typeof part.text === 'string') text += part.text;
  return text;
}
