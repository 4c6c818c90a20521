import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { validateCatalogEntries } from './custom-prices';
import { InvalidPriceFileError } from './invalid-price-file-error';
import { PriceCatalog } from './price-catalog';
import {
  DEFAULT_MAX_FEED_BYTES,
  displaySource,
  fetchPriceFeed,
  isUrl,
  loadPriceFeed,
  PRICE_FEED_URLS,
  type PriceFeedFormat,
  parsePriceFeed,
} from './price-feed';
import { PriceFeedUnavailableError } from './price-feed-unavailable-error';
import type { CatalogEntry } from './types';

/** A catalog older than this many days is reported as stale. */
export const STALE_CATALOG_DAYS = 60;

const CACHE_FILE = 'prices.json';
const CACHE_VERSION = 1;

/** What `tokenmeter prices update` stored: where the prices came from and when. */
export interface PriceCacheInfo {
  /** The URL or file the prices came from (a URL's user info and query values masked). */
  source: string;
  /** SHA-256 of the exact source, to revalidate only the same URL without storing its secrets. */
  sourceDigest: string;
  format: PriceFeedFormat;
  /** ISO date of the prices: the catalog's own `generatedAt`, else the day they were last fetched or confirmed. */
  generatedAt: string;
  /** ISO timestamp of the last successful fetch or 304 revalidation. */
  fetchedAt: string;
  etag?: string;
  models: number;
}

interface PriceCacheFile {
  version: number;
  info: PriceCacheInfo;
  entries: CatalogEntry[];
}

/**
 * The directory refreshed prices are cached in: `$TOKENMETER_CACHE_DIR`, else `$XDG_CACHE_HOME/tokenmeter`,
 * else `~/.cache/tokenmeter`.
 */
export function priceCacheDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TOKENMETER_CACHE_DIR) return resolve(env.TOKENMETER_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return join(resolve(env.XDG_CACHE_HOME), 'tokenmeter');
  return join(homedir(), '.cache', 'tokenmeter');
}

export interface UpdatePriceCacheOptions {
  /**
   * `litellm`, `genai-prices`, an http(s) URL or a file path. Default `litellm`: where the two feeds disagree,
   * the catalog generator's curation keeps LiteLLM's price unless it is one of genai-prices' older dated sets.
   */
  from?: string;
  /** Default `priceCacheDirectory()`. */
  cacheDir?: string;
  timeoutMs?: number;
  maxBytes?: number;
  /** The clock, for tests. */
  now?: Date;
}

/** A bundled model whose standard input or output price the refresh changes (USD per million tokens). */
export interface PriceChange {
  id: string;
  before: { input: string; output: string };
  after: { input: string; output: string };
}

export interface UpdatePriceCacheResult {
  /** `not-modified`: the server answered 304 to the held copy's ETag; its date moved to today. */
  status: 'updated' | 'not-modified';
  info: PriceCacheInfo;
  path: string;
  /** Bundled models priced differently from the new prices' date on, for a person to review. Empty on a 304. */
  changes: PriceChange[];
}

/**
 * Fetches a feed, checks every entry, and only then replaces the cached copy (written to a temporary file and
 * renamed, so a failed or interrupted update leaves the previous cache as it was). A URL is revalidated with
 * the held copy's ETag when the source is the same.
 */
export async function updatePriceCache(options: UpdatePriceCacheOptions = {}): Promise<UpdatePriceCacheResult> {
  const from = options.from ?? 'litellm';
  const source = Object.hasOwn(PRICE_FEED_URLS, from) ? PRICE_FEED_URLS[from as keyof typeof PRICE_FEED_URLS] : from;
  const sourceDigest = createHash('sha256').update(source).digest('hex');
  const shown = displaySource(source);
  const directory = options.cacheDir ?? priceCacheDirectory();
  const now = options.now ?? new Date();
  const today = now.toISOString().slice(0, 10);
  const held = await readPriceCache(directory).catch(() => undefined);
  const feedFormat: { format?: PriceFeedFormat } =
    from === 'litellm' || from === 'genai-prices' ? { format: from } : {};
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FEED_BYTES;

  let text: string;
  let etag: string | undefined;
  if (isUrl(source)) {
    const sameSource = held?.info.sourceDigest === sourceDigest;
    const fetched = await fetchPriceFeed(source, {
      timeoutMs: options.timeoutMs ?? 30_000,
      maxBytes,
      ...(sameSource && held?.info.etag ? { etag: held.info.etag } : {}),
    });
    if (fetched.notModified && held) {
      const info: PriceCacheInfo = {
        ...held.info,
        fetchedAt: now.toISOString(),
        generatedAt: laterDate(held.info.generatedAt, today),
      };
      const path = await writeCache(directory, { version: CACHE_VERSION, info, entries: held.entries });
      return { status: 'not-modified', info, path, changes: [] };
    }
    text = fetched.text ?? '';
    etag = fetched.etag;
  } else {
    text = await readFileLimited(source, maxBytes);
  }
  const parsed = parsePriceFeed(text, shown, { ...feedFormat, checkedAt: today });
  if (parsed.entries.length === 0) throw new InvalidPriceFileError(`${shown} lists no priced models`);
  // Layering over the bundled catalog is what every command will do with it: fail now, not on first use.
  const asOf = parsed.generatedAt ?? today;
  const bundled = PriceCatalog.bundled();
  const merged = bundled.withFeed(parsed.entries, { asOf });
  const changes: PriceChange[] = [];
  for (const entry of bundled.entries()) {
    const before = bundled.priceSetAt(entry, asOf).standard;
    const after = merged.priceSetAt(merged.resolve(entry.id).entry, asOf).standard;
    if (before.input !== after.input || before.output !== after.output) {
      changes.push({
        id: entry.id,
        before: { input: before.input, output: before.output },
        after: { input: after.input, output: after.output },
      });
    }
  }
  const info: PriceCacheInfo = {
    source: shown,
    sourceDigest,
    format: parsed.format,
    generatedAt: parsed.generatedAt ?? today,
    fetchedAt: now.toISOString(),
    ...(etag ? { etag } : {}),
    models: parsed.entries.length,
  };
  const path = await writeCache(directory, { version: CACHE_VERSION, info, entries: parsed.entries });
  return { status: 'updated', info, path, changes };
}

async function readFileLimited(path: string, maxBytes: number): Promise<string> {
  const text = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new PriceFeedUnavailableError(path, error.code ?? 'read error', { cause: error });
  });
  if (text.byteLength > maxBytes) throw new PriceFeedUnavailableError(path, `file larger than ${maxBytes} bytes`);
  return text.toString('utf8');
}

async function writeCache(directory: string, content: PriceCacheFile): Promise<string> {
  await mkdir(directory, { recursive: true });
  const path = join(directory, CACHE_FILE);
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(temporary, JSON.stringify(content));
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return path;
}

/** The cached catalog, or undefined when there is none; a damaged cache throws `InvalidPriceFileError`. */
export async function readPriceCache(
  directory: string = priceCacheDirectory(),
): Promise<{ info: PriceCacheInfo; entries: CatalogEntry[]; path: string } | undefined> {
  const path = join(directory, CACHE_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PriceFeedUnavailableError(path, (error as NodeJS.ErrnoException).code ?? 'read error', { cause: error });
  }
  let document: PriceCacheFile;
  try {
    document = JSON.parse(text) as PriceCacheFile;
  } catch (error) {
    throw new InvalidPriceFileError(
      `${path} is damaged (${(error as Error).message}): run \`tokenmeter prices update\``,
    );
  }
  const info = document?.info;
  if (
    document?.version !== CACHE_VERSION ||
    typeof info?.source !== 'string' ||
    typeof info.generatedAt !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}$/.test(info.generatedAt)
  ) {
    throw new InvalidPriceFileError(`${path} is not a tokenmeter price cache: run \`tokenmeter prices update\``);
  }
  return { info, entries: validateCatalogEntries({ entries: document.entries }), path };
}

export interface LoadActiveCatalogOptions {
  /** Price files or URLs layered on top, in order (later wins): negotiated prices, private models. */
  prices?: readonly string[];
  /** Default `priceCacheDirectory()`. */
  cacheDir?: string;
  /** False: ignore the cache (the Action, which runs on a fresh machine). Default true. */
  useCache?: boolean;
  timeoutMs?: number;
  maxBytes?: number;
}

/** Which catalog is in use and why. */
export interface ActiveCatalog {
  catalog: PriceCatalog;
  /** `cache`: refreshed prices from `tokenmeter prices update` layered over the bundled catalog. */
  origin: 'bundled' | 'cache';
  /** ISO date of the base prices in use (overrides excluded): what the staleness warning measures. */
  generatedAt: string;
  bundledGeneratedAt: string;
  cache?: PriceCacheInfo & { path: string };
  overrides: string[];
  /** Sentences for a person: a cache that was ignored and why. */
  notes: string[];
}

/**
 * The catalog a program should price with: the cached refresh when there is one newer than the bundled
 * catalog (layered with `withFeed`), else the bundled catalog; then each `prices` file or URL on top with
 * `withEntries` (the user's own prices win by id). A damaged cache is skipped with a note, never fatal.
 */
export async function loadActiveCatalog(options: LoadActiveCatalogOptions = {}): Promise<ActiveCatalog> {
  const bundled = PriceCatalog.bundled();
  let catalog = bundled;
  let origin: ActiveCatalog['origin'] = 'bundled';
  let cache: ActiveCatalog['cache'];
  const notes: string[] = [];
  if (options.useCache !== false) {
    try {
      const held = await readPriceCache(options.cacheDir ?? priceCacheDirectory());
      if (held && held.info.generatedAt > bundled.generatedAt) {
        catalog = bundled.withFeed(held.entries, { asOf: held.info.generatedAt });
        origin = 'cache';
        cache = { ...held.info, path: held.path };
      } else if (held) {
        notes.push(
          `The cached prices (${held.info.generatedAt}) are not newer than the bundled catalog (${bundled.generatedAt}): using the bundled one.`,
        );
      }
    } catch (error) {
      notes.push(`Ignoring the price cache: ${(error as Error).message}`);
    }
  }
  const generatedAt = catalog.generatedAt;
  for (const source of options.prices ?? []) {
    const entries = await loadPriceFeed(source, {
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    });
    catalog = catalog.withEntries(entries);
  }
  return {
    catalog,
    origin,
    generatedAt,
    bundledGeneratedAt: bundled.generatedAt,
    ...(cache ? { cache } : {}),
    overrides: (options.prices ?? []).map(displaySource),
    notes,
  };
}

/** Whole days from an ISO date to `now`. */
export function catalogAgeDays(generatedAt: string, now: Date = new Date()): number {
  return Math.floor((now.getTime() - Date.parse(`${generatedAt}T00:00:00Z`)) / 86_400_000);
}

/** A warning sentence when prices dated `generatedAt` are older than `maxAgeDays` (default 60), else undefined. */
export function staleCatalogWarning(
  generatedAt: string,
  now: Date = new Date(),
  maxAgeDays: number = STALE_CATALOG_DAYS,
  advice = 'Refresh with `tokenmeter prices update` or give your own with `--prices FILE|URL`.',
): string | undefined {
  const age = catalogAgeDays(generatedAt, now);
  if (!(age > maxAgeDays)) return undefined;
  return `The price catalog is from ${generatedAt} (${age} days old): prices may have changed since. ${advice}`;
}

function laterDate(a: string, b: string): string {
  return a > b ? a : b;
}

/**
 * Layers price sources over a catalog with `withEntries`, in order: URLs are fetched, anything else is a path
 * given to `read` (the Action and `tokenmeter diff` read `.tokenmeter.yml`'s `prices:` from the repository at a
 * commit). `read` resolving to undefined means the file does not exist.
 */
export async function withPriceSources(
  catalog: PriceCatalog,
  sources: readonly string[],
  read: (path: string) => Promise<string | undefined>,
  options: { timeoutMs?: number; maxBytes?: number } = {},
): Promise<PriceCatalog> {
  let result = catalog;
  for (const source of sources) {
    let entries: CatalogEntry[];
    if (isUrl(source)) {
      entries = await loadPriceFeed(source, options);
    } else {
      const text = await read(source);
      if (text === undefined) throw new PriceFeedUnavailableError(source, 'not found');
      if (Buffer.byteLength(text) > (options.maxBytes ?? DEFAULT_MAX_FEED_BYTES)) {
        throw new PriceFeedUnavailableError(
          source,
          `file larger than ${options.maxBytes ?? DEFAULT_MAX_FEED_BYTES} bytes`,
        );
      }
      entries = parsePriceFeed(text, source).entries;
    }
    result = result.withEntries(entries);
  }
  return result;
}
