import { readFile } from 'node:fs/promises';
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
}

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
 * Combine the result with the shipped catalog: `PriceCatalog.default().withEntries(await loadPriceFeed(url))`.
 */
export async function loadPriceFeed(source: string, options: LoadPriceFeedOptions = {}): Promise<CatalogEntry[]> {
  const text = /^https?:\/\//i.test(source)
    ? await fetchText(source, options.timeoutMs ?? 30_000)
    : await readText(source);
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
  if (format === 'litellm') return importLiteLLM(document, options);
  if (format === 'genai-prices') return importGenAiPrices(document, options);
  if (format === 'tokenmeter') return validateCatalogEntries(document);
  throw new InvalidPriceFileError(
    `cannot tell the format of ${source}: pass { format: 'litellm' | 'genai-prices' | 'tokenmeter' }`,
  );
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw new PriceFeedUnavailableError(path, code, { cause: error });
  }
}

async function fetchText(url: string, timeoutMs: number): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  } catch (error) {
    throw new PriceFeedUnavailableError(url, (error as Error).message, { cause: error });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new PriceFeedUnavailableError(url, `HTTP ${response.status}`);
  }
  return response.text();
}
