import { nextChunkEnd, RUN_LIMIT } from './token-chunks';
import { encodingForModel, getEncoder, onFreeEncoders } from './token-encoding';
import { type EstimateRule, estimateRuleFor, estimateTokens } from './token-estimate';
import type { TokenCount, TokenEncodingName } from './types';

/** Chunk size for encoding long text: about 10 ms of BPE each, far above the WASM per-call overhead. */
const CHUNK_SIZE = 16_384;
/** The async path yields to the event loop after this much encoding time. */
const SLICE_MS = 10;

// ── Memo ──────────────────────────────────────────────────────────────────────────────────────────────
// A metered chat workload resends the same system prompt and history on every turn. Counting each distinct
// text once and looking it up afterwards is what makes counting cheap: a tiktoken call costs ~50 µs of WASM
// overhead before any BPE work, a lookup well under a microsecond for a chat message.
//
// The memo is keyed by a 64-bit hash of the text and its length, never by the text itself: prompts and
// completions must not outlive the request in memory (a heap dump would show them). Two different texts
// of the same length colliding on 64 bits is far less likely than a cosmic-ray bit flip at this size.

const MEMO_MAX_ENTRIES = 100_000;

/** Key → tokens × 2 + (estimated ? 1 : 0), so an entry is one small integer. */
const memo = new Map<string, number>();

/** Two independent 32-bit multiplicative hashes mixed at the end (the cyrb53 construction), plus the length. */
function textKey(encoding: TokenEncodingName, text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return `${encoding}:${text.length}:${h1 >>> 0}:${h2 >>> 0}`;
}

function memoGet(key: string): number | undefined {
  const value = memo.get(key);
  if (value !== undefined && memo.size > 256) {
    // Refresh recency (a Map iterates in insertion order): the least recently used entries go first.
    memo.delete(key);
    memo.set(key, value);
  }
  return value;
}

function memoSet(key: string, value: number): void {
  memo.set(key, value);
  if (memo.size > MEMO_MAX_ENTRIES) {
    for (const oldest of memo.keys()) {
      memo.delete(oldest);
      if (memo.size <= MEMO_MAX_ENTRIES) break;
    }
  }
}

/** Forgets every memoized count (tests, or to release memory). */
export function clearTokenCountMemo(): void {
  memo.clear();
}

/** Entries in the count memo (diagnostics and tests). */
export function tokenCountMemoSize(): number {
  return memo.size;
}

onFreeEncoders(clearTokenCountMemo);

// ── Counting ──────────────────────────────────────────────────────────────────────────────────────────

type Plan =
  | { kind: 'tiktoken'; encoding: TokenEncodingName; estimated: boolean }
  | { kind: 'estimate'; rule: EstimateRule };

const plans = new Map<string, Plan>();

/** How a model's text is counted: its tiktoken encoding, or a character estimate. Cached per model name. */
function planFor(model: string): Plan {
  let plan = plans.get(model);
  if (plan !== undefined) return plan;
  const encoding = encodingForModel(model);
  if (encoding !== undefined) {
    plan = { kind: 'tiktoken', encoding, estimated: false };
  } else {
    const rule = estimateRuleFor(model);
    // An unknown name is most likely a new or renamed OpenAI model: o200k_base is today's encoding.
    plan =
      rule === undefined ? { kind: 'tiktoken', encoding: 'o200k_base', estimated: true } : { kind: 'estimate', rule };
  }
  if (plans.size >= 5_000) plans.clear();
  plans.set(model, plan);
  return plan;
}

function requireText(text: unknown): asserts text is string {
  if (typeof text !== 'string') throw new TypeError(`countTokens: text must be a string, got ${typeof text}`);
}

/** Encodes text chunk by chunk; returns tokens × 2 + (forced cut ? 1 : 0). */
function encodeText(encoding: TokenEncodingName, text: string): number {
  const encoder = getEncoder(encoding);
  if (text.length <= RUN_LIMIT) return encoder.encode_ordinary(text).length * 2;
  let tokens = 0;
  let forced = false;
  let start = 0;
  while (start < text.length) {
    const next = nextChunkEnd(text, start, CHUNK_SIZE);
    tokens += encoder.encode_ordinary(text.slice(start, next.end)).length;
    forced ||= next.forced;
    start = next.end;
  }
  return tokens * 2 + (forced ? 1 : 0);
}

/** Tokens of a text with an encoding, memoized; `encode_ordinary`, so `<|endoftext|>` counts as text. */
export function countWithEncoding(text: string, encoding: TokenEncodingName): { tokens: number; approximate: boolean } {
  requireText(text);
  const key = textKey(encoding, text);
  let value = memoGet(key);
  if (value === undefined) {
    value = encodeText(encoding, text);
    memoSet(key, value);
  }
  return { tokens: Math.floor(value / 2), approximate: value % 2 === 1 };
}

/**
 * Counts the tokens of a text for a model.
 *
 * OpenAI models: exact tiktoken counts with the model's encoding (unknown names: o200k_base, flagged
 * estimated). Models without a public tokenizer: a character estimate (`encoding: "estimate"`). Text with
 * a run of more than 1,000 characters that has no token boundary (20,000 × "a") is counted in bounded
 * pieces and flagged estimated instead of taking seconds.
 */
export function countTokens(text: string, model: string): TokenCount {
  requireText(text);
  const plan = planFor(model);
  if (plan.kind === 'estimate')
    return { tokens: estimateTokens(text, plan.rule), encoding: 'estimate', estimated: true };
  const counted = countWithEncoding(text, plan.encoding);
  return { tokens: counted.tokens, encoding: plan.encoding, estimated: plan.estimated || counted.approximate };
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * `countTokens` for large text without blocking the event loop: encodes in chunks and yields between
 * slices of about 10 ms. Same result as `countTokens`. (The first use of an encoding still loads it
 * synchronously: call `warmUpEncoders()` at startup.)
 */
export async function countTokensAsync(text: string, model: string): Promise<TokenCount> {
  requireText(text);
  const plan = planFor(model);
  if (plan.kind === 'estimate' || text.length <= CHUNK_SIZE) return countTokens(text, model);
  const key = textKey(plan.encoding, text);
  const cached = memoGet(key);
  if (cached !== undefined) {
    return { tokens: Math.floor(cached / 2), encoding: plan.encoding, estimated: plan.estimated || cached % 2 === 1 };
  }
  let tokens = 0;
  let forced = false;
  let start = 0;
  let sliceStart = performance.now();
  while (start < text.length) {
    const next = nextChunkEnd(text, start, CHUNK_SIZE);
    // Fetched per chunk: `freeEncoders()` may run while we wait, and the lookup is one Map get.
    tokens += getEncoder(plan.encoding).encode_ordinary(text.slice(start, next.end)).length;
    forced ||= next.forced;
    start = next.end;
    if (start < text.length && performance.now() - sliceStart >= SLICE_MS) {
      await yieldToEventLoop();
      sliceStart = performance.now();
    }
  }
  memoSet(key, tokens * 2 + (forced ? 1 : 0));
  return { tokens, encoding: plan.encoding, estimated: plan.estimated || forced };
}
