import { countTokensAsync, countWithEncoding } from './token-count';
import { encodingForModel } from './token-encoding';
import type { TokenEncodingName } from './types';

/**
 * Upper bounds on what a provider can bill as input for a request, for budget reservations. A bound is not
 * an estimate: every part the provider bills is counted (all message and block content, tools of every
 * type, schemas, system prompts, images, documents), each with headroom, and a part that cannot be bounded
 * from the body (a conversation kept server-side, a file id, a URL document, retrieval or search tools) makes
 * the whole prompt unbounded, for the caller to replace by the model's context window.
 *
 * Text of models with a public tokenizer (OpenAI) is counted with tiktoken. For the others (Claude, Gemini,
 * …) offline counts are guesses (≈ 3.5 characters per token for Claude, ≈ 4 for Gemini, on English), and a
 * guess is not a bound: random printable ASCII runs at 1.2 characters per token in real BPE vocabularies,
 * control characters at 1. The bound is therefore one token per UTF-8 byte, which no byte-level BPE (nor a
 * SentencePiece vocabulary with byte fallback) can exceed: a margin of about 3.5× on English prose for
 * Claude and 4× for Gemini, paid only while the call is in flight (the reservation settles to the bill).
 */

/**
 * Anthropic images: tokens ≈ width × height / 750, and an image over ~1,600 tokens (or 1,568 px on its long
 * edge) is scaled down first (https://docs.anthropic.com/en/docs/build-with-claude/vision#evaluate-image-size).
 * The reservation does not read image sizes: every image is reserved at the cap plus 10 % for the "≈".
 */
export const ANTHROPIC_IMAGE_TOKEN_BOUND = 1_760;

/**
 * PDF pages: Anthropic bills each page's extracted text ("1,500–3,000 tokens per page depending on content
 * density") plus the page as an image (https://docs.anthropic.com/en/docs/build-with-claude/pdf-support#estimate-your-costs);
 * OpenAI likewise sends each page's text and image. Reserved per page: twice the top of that text range
 * plus the model's largest image.
 */
export const PDF_PAGE_TEXT_BOUND = 6_000;

/**
 * Fixed tokens around a request a provider adds and the body does not show: reply priming, the chat
 * template, the structured-output and tool-use system prompts. Anthropic documents its tool-use system
 * prompt at 264–530 tokens per model and each client tool type (bash 245, text editor 700, computer 735 +
 * 466–499 system prompt) separately (https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/overview#pricing).
 */
const REQUEST_FRAMING = 8;
const TEMPLATE_FRAMING = 64;
const TEMPLATED = new Set(['tools', 'functions', 'response_format', 'text', 'tool_config', 'toolConfig']);
const ANTHROPIC_TOOL_SYSTEM_PROMPT = 600;
const ANTHROPIC_TYPED_TOOL = 1_300;

/**
 * OpenAI image bounds per family: tile models cost `base + tile × tiles` and a high-detail image has at most
 * 8 tiles (2048 px fitted, shortest side 768 → 2 × 4); patch models cost 32-px patches, at most 1,536, times
 * a multiplier (https://platform.openai.com/docs/guides/images-vision#calculating-costs). Models not listed
 * are reserved at the largest documented image (gpt-4o-mini's), the "documented upper bound".
 */
const OPENAI_IMAGES: ReadonlyArray<{ pattern: RegExp; low: number; high: number }> = [
  { pattern: /(^|[/.])gpt-4o-mini/, low: 2_833, high: 2_833 + 8 * 5_667 },
  { pattern: /(^|[/.])(gpt-4\.1-mini|gpt-5-mini)/, low: Math.ceil(1_536 * 1.62), high: Math.ceil(1_536 * 1.62) },
  { pattern: /(^|[/.])(gpt-4\.1-nano|gpt-5-nano)/, low: Math.ceil(1_536 * 2.46), high: Math.ceil(1_536 * 2.46) },
  { pattern: /(^|[/.])o4-mini/, low: Math.ceil(1_536 * 1.72), high: Math.ceil(1_536 * 1.72) },
  {
    pattern: /(^|[/.])(gpt-4o|chatgpt-4o|gpt-4\.5|gpt-4-turbo|gpt-4-vision|gpt-4\.1)/,
    low: 85,
    high: 85 + 8 * 170,
  },
  { pattern: /(^|[/.])gpt-5/, low: 70, high: 70 + 8 * 140 },
  { pattern: /(^|[/.])(o1|o3)(?!-mini)([-.@:]|$)/, low: 75, high: 75 + 8 * 150 },
  { pattern: /(^|[/.])computer-use-preview/, low: 65, high: 65 + 8 * 129 },
];
const LARGEST_OPENAI_IMAGE = 2_833 + 8 * 5_667;

/** The most one OpenAI image part can cost: `low` detail is the base, anything else is reserved at high. */
export function openaiImageTokenBound(model: string, detail: unknown): number {
  const name = model.toLowerCase();
  const family = OPENAI_IMAGES.find((entry) => entry.pattern.test(name));
  if (family === undefined) return LARGEST_OPENAI_IMAGE;
  return detail === 'low' ? family.low : family.high;
}

/** Bound on the tokens of a text for a model without a public tokenizer: its UTF-8 bytes (see above). */
export function byteTokenBound(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** What a request's prompt can cost at most. */
export interface PromptBound {
  /** Input tokens the provider can bill at most for the parts in the body. */
  tokens: number;
  /** A part cannot be bounded from the body: reserve the model's context window instead. */
  unbounded: boolean;
  /** The body asks for prompt caching: input may be billed at the cache-write price (`1h` is the dearer). */
  cacheWrite: 'none' | '5m' | '1h';
}

/** The request shapes whose prompt can be bounded. */
export type PromptShape = 'openai' | 'anthropic' | 'gemini';

// Request members that are settings, not billed content.
const NOT_PROMPT = new Set([
  'model',
  'stream',
  'stream_options',
  'n',
  'best_of',
  'max_tokens',
  'max_completion_tokens',
  'max_output_tokens',
  'temperature',
  'top_p',
  'top_k',
  'service_tier',
  'user',
  'store',
  'metadata',
  'seed',
  'logprobs',
  'top_logprobs',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'parallel_tool_calls',
  'safety_identifier',
  'prompt_cache_key',
  'prompt_cache_retention',
  'reasoning_effort',
  'reasoning',
  'truncation',
  'include',
  'background',
  'verbosity',
  'modalities',
  'thinking',
  'generationConfig',
  'safetySettings',
]);

// Members whose content lives on the provider's side and is billed as input.
const SERVER_SIDE_PROMPT = new Set(['previous_response_id', 'conversation', 'prompt', 'mcp_servers', 'cachedContent']);

// Tools whose results (retrieved files, search pages, remote tool lists) the provider adds to the input.
const UNBOUNDED_TOOL = /^(file_search|web_search|web_fetch|mcp|image_generation|code_interpreter|code_execution)/;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A member name costs nothing in a chat message's framing (that is the 3 per object) but is text where a
 * schema is serialized as JSON: counted as text, plus quotes and colon.
 */
function memberName(state: Walk, name: string): void {
  state.texts.push(name);
  state.fixed += 2;
}

interface Walk {
  texts: string[];
  fixed: number;
  unbounded: boolean;
  cacheWrite: 'none' | '5m' | '1h';
}

/** Collects the texts to count and the fixed tokens of everything else; one pass over the body. */
function walkBody(body: Json, shape: PromptShape, model: string): Walk {
  const state: Walk = { texts: [], fixed: REQUEST_FRAMING, unbounded: false, cacheWrite: 'none' };
  for (const [name, value] of Object.entries(body)) {
    if (value === undefined || value === null || NOT_PROMPT.has(name)) continue;
    if (SERVER_SIDE_PROMPT.has(name)) {
      state.unbounded = true;
      continue;
    }
    if (TEMPLATED.has(name)) state.fixed += TEMPLATE_FRAMING;
    if (shape === 'anthropic' && name === 'tools' && Array.isArray(value) && value.length > 0) {
      state.fixed += ANTHROPIC_TOOL_SYSTEM_PROMPT;
    }
    memberName(state, name);
    walkValue(state, value, shape, model, 0);
  }
  return state;
}

function walkValue(state: Walk, value: unknown, shape: PromptShape, model: string, depth: number): void {
  if (typeof value === 'string') {
    // One token of headroom per text: its quotes where a schema is serialized as JSON.
    state.texts.push(value);
    state.fixed += 1;
    return;
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    state.fixed += String(value).length + 1;
    return;
  }
  if (depth > 200) {
    // Deeper than any real request: do not recurse without end on a hostile body.
    state.unbounded = true;
    return;
  }
  if (Array.isArray(value)) {
    state.fixed += 1;
    for (const item of value) walkValue(state, item, shape, model, depth + 1);
    return;
  }
  if (!isObject(value)) return;
  state.fixed += 3;
  const cache = value.cache_control;
  if (isObject(cache)) state.cacheWrite = cache.ttl === '1h' || state.cacheWrite === '1h' ? '1h' : '5m';
  if (part(state, value, shape, model)) return;
  for (const [key, inner] of Object.entries(value)) {
    if (inner === undefined || inner === null || key === 'cache_control') continue;
    if (key === 'file_id' || key === 'fileData' || key === 'file_url') state.unbounded = true;
    memberName(state, key);
    walkValue(state, inner, shape, model, depth + 1);
  }
}

/** Images, documents, files and typed tools, which are billed by their own rules. True when handled. */
function part(state: Walk, value: Json, shape: PromptShape, model: string): boolean {
  const type = value.type;
  if (typeof type !== 'string') return false;
  switch (type) {
    case 'image_url': {
      const image = value.image_url;
      state.fixed += openaiImageTokenBound(model, isObject(image) ? image.detail : undefined);
      return true;
    }
    case 'input_image':
      state.fixed += openaiImageTokenBound(model, value.detail);
      return true;
    case 'image':
      state.fixed += shape === 'anthropic' ? ANTHROPIC_IMAGE_TOKEN_BOUND : openaiImageTokenBound(model, undefined);
      return true;
    case 'document':
      document(state, value, shape, model);
      return true;
    case 'input_file':
      file(state, value, shape, model);
      return true;
    case 'file':
      file(state, isObject(value.file) ? value.file : value, shape, model);
      return true;
    case 'item_reference':
    case 'input_audio':
      // Audio is billed in audio tokens the body does not reveal (and its base64 is not text to count).
      state.unbounded = true;
      return true;
    default:
      if (UNBOUNDED_TOOL.test(type)) {
        state.unbounded = true;
        return true;
      }
      if (shape === 'anthropic' && /_\d{8}$/.test(type)) {
        // A versioned Anthropic tool (bash_20250124, text_editor_…, computer_…): its own system prompt.
        state.fixed += ANTHROPIC_TYPED_TOOL;
      }
      return false;
  }
}

/** Anthropic `document` blocks: PDFs per page, plain text and content blocks as text, the rest unbounded. */
function document(state: Walk, value: Json, shape: PromptShape, model: string): void {
  for (const key of ['title', 'context']) {
    if (typeof value[key] === 'string') walkValue(state, value[key], shape, model, 1);
  }
  const source = isObject(value.source) ? value.source : undefined;
  if (source?.type === 'text' && typeof source.data === 'string') walkValue(state, source.data, shape, model, 1);
  else if (source?.type === 'content') walkValue(state, source.content, shape, model, 1);
  else if (source?.type === 'base64' && typeof source.data === 'string') pdf(state, source.data, shape, model);
  else state.unbounded = true;
}

/** OpenAI file parts: inline PDFs per page, anything referenced by id or URL is unbounded. */
function file(state: Walk, value: Json, shape: PromptShape, model: string): void {
  const data = value.file_data;
  if (typeof data === 'string' && value.file_id === undefined && value.file_url === undefined) {
    pdf(state, data.slice(data.indexOf(',') + 1), shape, model);
  } else state.unbounded = true;
}

function pdf(state: Walk, base64: string, shape: PromptShape, model: string): void {
  const pages = pdfPageCount(base64);
  if (pages === undefined) {
    state.unbounded = true;
    return;
  }
  const image = shape === 'anthropic' ? ANTHROPIC_IMAGE_TOKEN_BOUND : openaiImageTokenBound(model, 'high');
  state.fixed += pages * (PDF_PAGE_TEXT_BOUND + image);
}

/**
 * Pages of a base64 PDF: the larger of its page objects and its page-tree counts. Undefined when neither is
 * visible (pages inside compressed object streams), so the caller reserves the context window instead.
 */
export function pdfPageCount(base64: string): number | undefined {
  const text = Buffer.from(base64, 'base64').toString('latin1');
  let pages = 0;
  for (const _ of text.matchAll(/\/Type\s*\/Page(?![a-zA-Z])/g)) pages++;
  for (const match of text.matchAll(/\/Type\s*\/Pages\b[^>]*?\/Count\s+(\d+)/g)) {
    pages = Math.max(pages, Number(match[1]));
  }
  for (const match of text.matchAll(/\/Count\s+(\d+)[^>]*?\/Type\s*\/Pages\b/g)) {
    pages = Math.max(pages, Number(match[1]));
  }
  return pages > 0 ? pages : undefined;
}

function encodingOf(model: string): TokenEncodingName | undefined {
  return encodingForModel(model);
}

function byteBound(texts: string[]): number {
  let total = 0;
  for (const text of texts) total += byteTokenBound(text);
  return total;
}

/** Tokens of one text, plus one per thousand characters when a run without token boundaries was cut. */
function encoded(text: string, encoding: TokenEncodingName): number {
  const counted = countWithEncoding(text, encoding);
  return counted.tokens + (counted.approximate ? Math.ceil(text.length / 1_000) : 0);
}

// Texts are counted one by one, not joined: the count memo then answers for the system prompt, the tool
// definitions and the conversation history a chat resends every turn, and only new text is encoded.
const LARGE_TEXT = 16_384;

/**
 * The most input a provider can bill for a request body in its API's shape (`openai` for Chat Completions,
 * Responses and Completions; `anthropic` for Messages; `gemini` for generateContent). Never throws.
 */
export function promptTokenBound(body: Record<string, unknown>, shape: PromptShape, model: string): PromptBound {
  const state = walkBody(body, shape, model);
  const encoding = encodingOf(model);
  let tokens = state.fixed;
  if (encoding === undefined) tokens += byteBound(state.texts);
  else for (const text of state.texts) tokens += encoded(text, encoding);
  return { tokens, unbounded: state.unbounded, cacheWrite: state.cacheWrite };
}

/** `promptTokenBound` for large bodies: long texts are counted in slices that let the event loop run. */
export async function promptTokenBoundAsync(
  body: Record<string, unknown>,
  shape: PromptShape,
  model: string,
): Promise<PromptBound> {
  const state = walkBody(body, shape, model);
  const encoding = encodingOf(model);
  let tokens = state.fixed;
  if (encoding === undefined) tokens += byteBound(state.texts);
  else {
    let sliceStart = performance.now();
    for (const text of state.texts) {
      if (text.length > LARGE_TEXT) {
        const counted = await countTokensAsync(text, model);
        tokens += counted.tokens + (counted.estimated ? Math.ceil(text.length / 1_000) : 0);
        sliceStart = performance.now();
      } else {
        tokens += encoded(text, encoding);
        if (performance.now() - sliceStart >= 10) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          sliceStart = performance.now();
        }
      }
    }
  }
  return { tokens, unbounded: state.unbounded, cacheWrite: state.cacheWrite };
}
