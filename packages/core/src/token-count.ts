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
// text once and looking it up afterwards is what makes counting cheap (a Map lookup hashes the string in
// native code; a tiktoken call costs ~50 µs of WASM overhead before any BPE work).

const MEMO_MAX_ENTRIES = 50_000;
const MEMO_MAX_CHARACTERS = 16_000_000;
const MEMO_MAX_TEXT = 200_000;

/** Value: tokens × 2 + (estimated ? 1 : 0), so an entry is one small integer. */
const memo = new Map<TokenEncodingName, Map<string, number>>();
let memoCharacters = 0;
let memoEntries = 0;

function memoGet(encoding: TokenEncodingName, text: string): number | undefined {
  const table = memo.get(encoding);
  if (table === undefined) return undefined;
  const value = table.get(text);
  if (value !== undefined && table.size > 64) {
    // Refresh recency (Map keeps insertion order): the oldest entries are evicted first.
    table.delete(text);
    table.set(text, value);
  }
  return value;
}

function memoSet(encoding: TokenEncodingName, text: string, value: number): void {
  if (text.length > MEMO_MAX_TEXT) return;
  let table = memo.get(encoding);
  if (table === undefined) {
    table = new Map();
    memo.set(encoding, table);
  }
  if (table.has(text)) return;
  table.set(text, value);
  memoEntries++;
  memoCharacters += text.length;
  while (memoEntries > MEMO_MAX_ENTRIES || memoCharacters > MEMO_MAX_CHARACTERS) {
    if (!evictOldest()) break;
  }
}

function evictOldest(): boolean {
  for (const table of memo.values()) {
    for (const key of table.keys()) {
      table.delete(key);
      memoEntries--;
      memoCharacters -= key.length;
      return true;
    }
  }
  return false;
}

/** Forgets every memoized count (tests, or to release memory). */
export function clearTokenCountMemo(): void {
  memo.clear();
  memoEntries = 0;
  memoCharacters = 0;
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
  let value = memoGet(encoding, text);
  if (value === undefined) {
    value = encodeText(encoding, text);
    memoSet(encoding, text, value);
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
  const cached = memoGet(plan.encoding, text);
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
  memoSet(plan.encoding, text, tokens * 2 + (forced ? 1 : 0));
  return { tokens, encoding: plan.encoding, estimated: plan.estimated || forced };
}
