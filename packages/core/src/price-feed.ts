import { readFile, stat } from 'node:fs/promises';
import { validateCatalogEntries } from './custom-prices';
import { importGenAiPrices } from './import-genai-prices';
import { type ImportOptions, importLiteLLM } from './import-litellm';
import { InvalidPriceFileError } from './invalid-price-file-error';
import { PriceFeedUnavailableError } from './price-feed-unavailable-error';
import { safeYaml } from './safe-yaml';
import type { CatalogEntry } from './types';

export type PriceFeedFormat = 'litellm' | 'genai-prices' | 'tokenmeter';

export interface LoadPriceFeedOptions extends ImportOptions {
  /** Absent: detected from the content. */
  format?: PriceFeedFormat;
  /** Give up on a URL after this many milliseconds. Default 30 000. */
  timeoutMs?: number;
  /** Refuse a file or response larger than this many bytes. Default 64 MiB (LiteLLM's feed is about 1.7 MB). */
  maxBytes?: number;
}

/** The public feeds `tokenmeter prices update --from` knows by name. */
export const PRICE_FEED_URLS = {
  litellm: 'https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json',
  'genai-prices': 'https://raw.githubusercontent.com/pydantic/genai-prices/main/prices/data.json',
} as const;

export const DEFAULT_MAX_FEED_BYTES = 64 * 1024 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Which feed a parsed document is: genai-prices (array of providers), LiteLLM (keyed by model), or ours. */
export function detectPriceFeedFormat(document: unknown): PriceFeedFormat | undefined {
  if (Array.isArray(document)) {
    const first = document[0];
    if (isRecord(first) && Array.isArray(first.models)) return 'genai-prices';
    return 'tokenmeter';
  }
  if (!isRecord(document)) return undefined;
  if (Array.isArray(document.entries) || Array.isArray(document.models)) return 'tokenmeter';
  if (Array.isArray(document.providers)) return 'genai-prices';
  const looksLikeLiteLLM = Object.values(document).some(
    (value) => isRecord(value) && ('litellm_provider' in value || 'input_cost_per_token' in value),
  );
  return looksLikeLiteLLM ? 'litellm' : undefined;
}

/**
 * Loads prices at run time from a file path or an http(s) URL: LiteLLM's
 * `model_prices_and_context_window.json`, genai-prices `data.json`, or a tokenmeter price file (JSON or YAML).
 * Layer a public feed under the shipped catalog with `PriceCatalog.default().withFeed(await loadPriceFeed(url))`
 * (curated names and price history kept); your own prices over it with `withEntries` (they win by id).
 */
export async function loadPriceFeed(source: string, options: LoadPriceFeedOptions = {}): Promise<CatalogEntry[]> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FEED_BYTES;
  if (isUrl(source)) {
    const fetched = await fetchPriceFeed(source, { timeoutMs: options.timeoutMs ?? 30_000, maxBytes });
    return parsePriceFeed(fetched.text ?? '', displaySource(source), options).entries;
  }
  return parsePriceFeed(await readText(source, maxBytes), source, options).entries;
}

export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/**
 * A source as it may be shown or stored: a private price server's URL can carry a token in its user info or
 * query, and secrets are never logged, so those are masked (`https://***@host/p.json?key=***`).
 */
export function displaySource(source: string): string {
  if (!isUrl(source)) return source;
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    return source;
  }
  if (url.username || url.password) {
    url.username = '***';
    url.password = '';
  }
  for (const key of new Set(url.searchParams.keys())) url.searchParams.set(key, '***');
  return url.toString();
}

/** A parsed feed: its entries, the format it was in, and its own date when it states one (tokenmeter catalogs). */
export interface ParsedPriceFeed {
  entries: CatalogEntry[];
  format: PriceFeedFormat;
  generatedAt?: string;
}

/** Parses feed text (JSON, or YAML for tokenmeter price files) into validated catalog entries. */
export function parsePriceFeed(text: string, source: string, options: LoadPriceFeedOptions = {}): ParsedPriceFeed {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (jsonError) {
    if (options.format === 'litellm' || options.format === 'genai-prices') {
      throw new InvalidPriceFileError(`${source} is not valid JSON: ${(jsonError as Error).message}`);
    }
    try {
      document = safeYaml(text);
    } catch (yamlError) {
      throw new InvalidPriceFileError(`${source} is neither JSON nor YAML: ${(yamlError as Error).message}`);
    }
  }
  const format = options.format ?? detectPriceFeedFormat(document);
  if (format === 'litellm') return { entries: importLiteLLM(document, options), format };
  if (format === 'genai-prices') return { entries: importGenAiPrices(document, options), format };
  if (format === 'tokenmeter') {
    const generatedAt = isRecord(document) ? document.generatedAt : undefined;
    return {
      entries: validateCatalogEntries(document),
      format,
      ...(typeof generatedAt === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(generatedAt) ? { generatedAt } : {}),
    };
  }
  throw new InvalidPriceFileError(
    `cannot tell the format of ${source}: pass { format: 'litellm' | 'genai-prices' | 'tokenmeter' }`,
  );
}

async function readText(path: string, maxBytes: number): Promise<string> {
  try {
    const size = (await stat(path)).size;
    if (size > maxBytes) throw new PriceFeedUnavailableError(path, `file larger than ${maxBytes} bytes`);
    return await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof PriceFeedUnavailableError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw new PriceFeedUnavailableError(path, code, { cause: error });
  }
}

export interface FetchPriceFeedOptions {
  timeoutMs?: number;
  maxBytes?: number;
  /** The ETag of the copy already held: the server may answer 304 Not Modified. */
  etag?: string;
}

/** A fetched feed: `notModified` with no text when the server confirmed the held copy (304). */
export interface FetchedPriceFeed {
  notModified: boolean;
  text?: string;
  etag?: string;
}

/**
 * GETs a feed with a time limit and a size limit (a feed is data from elsewhere: a wrong URL or a broken
 * mirror must not fill memory), revalidating with `If-None-Match` when an ETag is given.
 */
export async function fetchPriceFeed(url: string, options: FetchPriceFeedOptions = {}): Promise<FetchedPriceFeed> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FEED_BYTES;
  const shown = displaySource(url);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.etag) headers['if-none-match'] = options.etag;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 30_000), headers });
  } catch (error) {
    // fetch's own messages (and so the cause) quote the URL, token and all.
    const reason = (error as Error).message.split(url).join(shown);
    throw new PriceFeedUnavailableError(shown, reason, shown === url ? { cause: error } : {});
  }
  const etag = response.headers.get('etag') ?? undefined;
  if (response.status === 304 && options.etag) {
    await response.body?.cancel();
    return { notModified: true, ...(etag ? { etag } : { etag: options.etag }) };
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new PriceFeedUnavailableError(shown, `HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw new PriceFeedUnavailableError(shown, `response larger than ${maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const reader = response.body?.getReader();
    for (;;) {
      const chunk = reader ? await reader.read() : { done: true as const, value: undefined };
      if (chunk.done) break;
      total += chunk.value.byteLength;
      if (total > maxBytes) {
        await reader?.cancel();
        throw new PriceFeedUnavailableError(shown, `response larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk.value);
    }
  } catch (error) {
    if (error instanceof PriceFeedUnavailableError) throw error;
    // fetch's own messages (and so the cause) quote the URL, token and all.
    const reason = (error as Error).message.split(url).join(shown);
    throw new PriceFeedUnavailableError(shown, reason, shown === url ? { cause: error } : {});
  }
  return { notModified: false, text: Buffer.concat(chunks).toString('utf8'), ...(etag ? { etag } : {}) };
}
