import { get_encoding, type Tiktoken, type TiktokenEncoding } from 'tiktoken';
import { PriceCatalog } from './price-catalog';
import type { TokenEncodingName } from './types';

/**
 * Model name prefixes → tiktoken encoding, most specific (longest) prefix wins, as in Python tiktoken's
 * `MODEL_PREFIX_TO_ENCODING`. The npm package matches exact names only and throws for `gpt-5.1`, `o3-pro`
 * or `ft:gpt-4o-mini:org::id`, so we keep our own table. A prefix matches when the name equals it or
 * continues with a separator (`-`, `.`, `:`, `@`, `_`), so `gpt-4` does not claim `gpt-4o`.
 */
const PREFIX_TO_ENCODING: ReadonlyArray<readonly [string, TokenEncodingName]> = [
  ['gpt-5', 'o200k_base'],
  ['gpt-4.5', 'o200k_base'],
  ['gpt-4.1', 'o200k_base'],
  ['gpt-4o', 'o200k_base'],
  ['chatgpt-4o', 'o200k_base'],
  ['gpt-realtime', 'o200k_base'],
  ['gpt-audio', 'o200k_base'],
  ['o1', 'o200k_base'],
  ['o3', 'o200k_base'],
  ['o4', 'o200k_base'],
  ['codex-mini', 'o200k_base'],
  ['computer-use-preview', 'o200k_base'],
  ['gpt-oss', 'o200k_harmony'],
  ['ft:gpt-4o', 'o200k_base'],
  ['ft:gpt-4.1', 'o200k_base'],
  ['gpt-4', 'cl100k_base'],
  ['gpt-3.5', 'cl100k_base'],
  ['gpt-35', 'cl100k_base'],
  ['ft:gpt-4', 'cl100k_base'],
  ['ft:gpt-3.5', 'cl100k_base'],
  ['ft:davinci-002', 'cl100k_base'],
  ['ft:babbage-002', 'cl100k_base'],
  ['davinci-002', 'cl100k_base'],
  ['babbage-002', 'cl100k_base'],
  ['text-embedding-3', 'cl100k_base'],
  ['text-embedding-ada-002', 'cl100k_base'],
  ['text-davinci-003', 'p50k_base'],
  ['text-davinci-002', 'p50k_base'],
  ['code-davinci', 'p50k_base'],
  ['code-cushman', 'p50k_base'],
  ['davinci', 'r50k_base'],
  ['curie', 'r50k_base'],
  ['babbage', 'r50k_base'],
  ['ada', 'r50k_base'],
];

const SORTED_PREFIXES = [...PREFIX_TO_ENCODING].sort((a, b) => b[0].length - a[0].length);
// Routing prefixes in front of an OpenAI model name (`openai/gpt-4o`, `azure/gpt-4o`, Bedrock `openai.gpt-oss…`).
const ROUTE_PREFIX = /^(?:(?:openai|azure|azure_ai|openrouter|litellm|bedrock)\/|(?:[a-z]{2,6}\.)?openai\.)/;

const resolved = new Map<string, TokenEncodingName | null>();
const RESOLVED_LIMIT = 5_000;

function fromPrefixTable(model: string): TokenEncodingName | undefined {
  let name = model.trim().toLowerCase();
  for (let step = 0; step < 3; step++) {
    const stripped = name.replace(ROUTE_PREFIX, '');
    if (stripped === name) break;
    name = stripped;
  }
  for (const [prefix, encoding] of SORTED_PREFIXES) {
    if (!name.startsWith(prefix)) continue;
    const next = name.charAt(prefix.length);
    if (next === '' || '-.:@_/'.includes(next)) return encoding;
  }
  return undefined;
}

/**
 * The tiktoken encoding of a model: the prefix table first, then the catalog entry's `encoding` (which
 * knows platform ids such as Bedrock's `openai.gpt-oss-120b-1:0`). Undefined when the model has no public
 * tokenizer or is unknown.
 */
export function encodingForModel(model: string, catalog?: PriceCatalog): TokenEncodingName | undefined {
  if (typeof model !== 'string') return undefined;
  if (catalog === undefined) {
    const cached = resolved.get(model);
    if (cached !== undefined) return cached ?? undefined;
  }
  let encoding = fromPrefixTable(model);
  if (encoding === undefined) {
    try {
      encoding = (catalog ?? PriceCatalog.default()).tryResolve(model)?.entry.encoding;
    } catch {
      encoding = undefined;
    }
  }
  if (catalog === undefined) {
    if (resolved.size >= RESOLVED_LIMIT) resolved.clear();
    resolved.set(model, encoding ?? null);
  }
  return encoding;
}

const encoders = new Map<TiktokenEncoding, Tiktoken>();

function tiktokenName(encoding: TokenEncodingName): TiktokenEncoding {
  // o200k_harmony is o200k_base plus special tokens; ordinary text encodes identically, and the npm
  // package does not ship it.
  return encoding === 'o200k_harmony' ? 'o200k_base' : encoding;
}

/**
 * The encoder for an encoding, created on first use and reused: creating one parses the whole rank table
 * (0.3–0.5 s) and allocates WASM memory that only `freeEncoders()` releases.
 */
export function getEncoder(encoding: TokenEncodingName): Tiktoken {
  const name = tiktokenName(encoding);
  let encoder = encoders.get(name);
  if (encoder === undefined) {
    encoder = get_encoding(name);
    encoders.set(name, encoder);
  }
  return encoder;
}

/** Loads encoders ahead of the first request, so no request pays the cold start. */
export function warmUpEncoders(encodings: TokenEncodingName[] = ['o200k_base', 'cl100k_base']): void {
  for (const encoding of encodings) getEncoder(encoding);
}

const freeHooks = new Set<() => void>();

/** Lets the counting layer drop its memo when the encoders go. */
export function onFreeEncoders(hook: () => void): void {
  freeHooks.add(hook);
}

/** Frees every encoder's WASM memory (call on shutdown); the next count creates them again. */
export function freeEncoders(): void {
  for (const encoder of encoders.values()) encoder.free();
  encoders.clear();
  for (const hook of freeHooks) hook();
}

/** Encodings currently loaded (for diagnostics and tests). */
export function loadedEncodings(): TiktokenEncoding[] {
  return [...encoders.keys()];
}
