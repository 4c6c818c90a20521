import { UNKNOWN_EFFECTIVE_FROM } from './import-litellm';
import { InvalidPriceFileError } from './invalid-price-file-error';
import { normalizePerMillion, orderPriceFields, priceProblem } from './price-values';
import { safeYaml } from './safe-yaml';
import type {
  CatalogEntry,
  LongContextTier,
  ModelMode,
  PriceSet,
  PriceSource,
  TokenEncodingName,
  TokenPrices,
} from './types';

const PRICE_FIELDS = [
  'input',
  'cachedInput',
  'cacheWrite5m',
  'cacheWrite1h',
  'output',
  'reasoning',
  'inputAudio',
  'cachedInputAudio',
  'outputAudio',
] as const;
const VARIANTS = ['batch', 'flex', 'priority'] as const;
const MODES: ModelMode[] = ['chat', 'responses', 'completion', 'embedding', 'realtime', 'audio'];
const SOURCE_FEEDS: Array<PriceSource['feed']> = ['litellm', 'genai-prices', 'curated'];
const ENCODINGS: TokenEncodingName[] = ['o200k_base', 'cl100k_base', 'p50k_base', 'r50k_base', 'o200k_harmony'];
const ENTRY_FIELDS = new Set([
  'id',
  'provider',
  'displayName',
  'aliases',
  'mode',
  'prices',
  'contextWindow',
  'maxOutputTokens',
  'encoding',
  'sourceUrl',
  'checkedAt',
  'deprecated',
  'effectiveFrom',
  'tiers',
  ...PRICE_FIELDS,
  ...VARIANTS,
]);
const SET_FIELDS = new Set(['effectiveFrom', 'standard', 'tiers', 'source', ...VARIANTS]);
const TIER_FIELDS = new Set(['threshold', 'comparison', 'counts', 'prices']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(path: string, message: string): never {
  throw new InvalidPriceFileError(message, { path });
}

/**
 * Parses a file of the user's own prices: fine-tunes, self-hosted models, negotiated discounts. JSON or YAML
 * (`format` absent: JSON when the text starts with `{` or `[`, YAML otherwise). The document is a list of
 * models, `{ models: [...] }`, or a whole catalog `{ generatedAt, entries: [...] }`. A model gives its prices
 * per million tokens either flat (`input`, `output`, `cachedInput`, `cacheWrite5m`, `cacheWrite1h`,
 * `reasoning`, `batch`/`flex`/`priority`, `tiers`, `effectiveFrom`) or as dated `prices` sets. Every problem
 * is an `InvalidPriceFileError` naming the entry and the field.
 */
export function parseCustomPrices(text: string, format?: 'json' | 'yaml'): CatalogEntry[] {
  const kind = format ?? (/^\s*[[{]/.test(text) ? 'json' : 'yaml');
  let document: unknown;
  try {
    document = kind === 'json' ? JSON.parse(text) : safeYaml(text);
  } catch (error) {
    throw new InvalidPriceFileError(`not valid ${kind.toUpperCase()}: ${(error as Error).message}`, { cause: error });
  }
  return validateCatalogEntries(document);
}

/** Validates a parsed price document (see `parseCustomPrices`) into catalog entries. */
export function validateCatalogEntries(document: unknown): CatalogEntry[] {
  let list: unknown;
  let root = '';
  if (Array.isArray(document)) list = document;
  else if (isRecord(document) && Array.isArray(document.models)) {
    list = document.models;
    root = 'models';
  } else if (isRecord(document) && Array.isArray(document.entries)) {
    list = document.entries;
    root = 'entries';
  } else {
    throw new InvalidPriceFileError('expected a list of models, { models: [...] } or { entries: [...] }');
  }
  const today = new Date().toISOString().slice(0, 10);
  const seen = new Set<string>();
  return (list as unknown[]).map((item, index) => {
    const entry = validateEntry(item, `${root}[${index}]`, today);
    if (seen.has(entry.id)) fail(`${root}[${index}].id`, `duplicate id "${entry.id}"`);
    seen.add(entry.id);
    return entry;
  });
}

function validateEntry(item: unknown, at: string, today: string): CatalogEntry {
  if (!isRecord(item)) fail(at, 'expected an object with at least "id", "input" and "output"');
  if (typeof item.id !== 'string' || item.id.trim() === '') fail(`${at}.id`, 'expected a non-empty model id');
  const path = `${at} (${JSON.stringify(item.id)})`;
  for (const key of Object.keys(item)) {
    if (!ENTRY_FIELDS.has(key)) fail(`${path}.${key}`, `unknown field "${key}"`);
  }
  const text = (field: string, fallback: string): string => {
    const value = item[field];
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || value === '') fail(`${path}.${field}`, 'expected a non-empty string');
    return value;
  };
  const count = (field: string): number | undefined => {
    const value = item[field];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
      fail(`${path}.${field}`, `expected a whole number of tokens > 0, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const mode = text('mode', 'chat') as ModelMode;
  if (!MODES.includes(mode)) fail(`${path}.mode`, `expected one of ${MODES.join(', ')}`);
  const aliases = item.aliases ?? [];
  if (!Array.isArray(aliases) || aliases.some((alias) => typeof alias !== 'string' || alias === '')) {
    fail(`${path}.aliases`, 'expected a list of model names');
  }
  let prices: PriceSet[];
  if (item.prices !== undefined) {
    const flat = [...PRICE_FIELDS, ...VARIANTS, 'tiers', 'effectiveFrom'].find((field) => item[field] !== undefined);
    if (flat) fail(`${path}.${flat}`, 'give prices either flat or as "prices" sets, not both');
    if (!Array.isArray(item.prices) || item.prices.length === 0) {
      fail(`${path}.prices`, 'expected a non-empty list of price sets');
    }
    prices = item.prices.map((set, index) => validateSet(set, `${path}.prices[${index}]`));
    prices.sort((a, b) => (a.effectiveFrom < b.effectiveFrom ? -1 : a.effectiveFrom > b.effectiveFrom ? 1 : 0));
  } else {
    prices = [validateSet({ ...item, standard: item }, path, true)];
  }
  const entry: CatalogEntry = {
    id: item.id,
    provider: text('provider', 'custom'),
    aliases: aliases as string[],
    mode,
    prices,
    sourceUrl: text('sourceUrl', 'custom'),
    checkedAt: date(item.checkedAt, `${path}.checkedAt`) ?? today,
  };
  if (item.displayName !== undefined) entry.displayName = text('displayName', '');
  const contextWindow = count('contextWindow');
  const maxOutput = count('maxOutputTokens');
  if (contextWindow) entry.contextWindow = contextWindow;
  if (maxOutput) entry.maxOutputTokens = maxOutput;
  if (item.encoding !== undefined) {
    if (!ENCODINGS.includes(item.encoding as TokenEncodingName)) {
      fail(`${path}.encoding`, `expected one of ${ENCODINGS.join(', ')}`);
    }
    entry.encoding = item.encoding as TokenEncodingName;
  }
  if (item.deprecated !== undefined) {
    if (typeof item.deprecated !== 'boolean') fail(`${path}.deprecated`, 'expected true or false');
    entry.deprecated = item.deprecated;
  }
  return entry;
}

function date(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString().slice(0, 10);
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value))) {
    fail(path, `expected a date YYYY-MM-DD, got ${JSON.stringify(value)}`);
  }
  return value;
}

function validateSet(raw: unknown, path: string, flat = false): PriceSet {
  if (!isRecord(raw)) fail(path, 'expected a price set { effectiveFrom, standard: { input, output } }');
  if (!flat) {
    for (const key of Object.keys(raw)) if (!SET_FIELDS.has(key)) fail(`${path}.${key}`, `unknown field "${key}"`);
  }
  const standardPath = flat ? path : `${path}.standard`;
  const standard = validatePrices(raw.standard, standardPath, true) as TokenPrices;
  const set: PriceSet = {
    effectiveFrom: date(raw.effectiveFrom, `${path}.effectiveFrom`) ?? UNKNOWN_EFFECTIVE_FROM,
    standard,
  };
  for (const variant of VARIANTS) {
    if (raw[variant] !== undefined) set[variant] = validatePrices(raw[variant], `${path}.${variant}`, false);
  }
  if (raw.tiers !== undefined) {
    if (!Array.isArray(raw.tiers)) fail(`${path}.tiers`, 'expected a list of tiers');
    set.tiers = raw.tiers.map((tier, index) => validateTier(tier, `${path}.tiers[${index}]`));
  }
  if (!flat && raw.source !== undefined) set.source = validateSource(raw.source, `${path}.source`);
  return set;
}

function validateSource(raw: unknown, path: string): PriceSource {
  if (!isRecord(raw) || !SOURCE_FEEDS.includes(raw.feed as PriceSource['feed'])) {
    fail(`${path}.feed`, `expected one of ${SOURCE_FEEDS.join(', ')}`);
  }
  const source: PriceSource = { feed: raw.feed as PriceSource['feed'] };
  for (const field of ['key', 'url'] as const) {
    const value = raw[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '') fail(`${path}.${field}`, 'expected a non-empty string');
    source[field] = value;
  }
  const checkedAt = date(raw.checkedAt, `${path}.checkedAt`);
  if (checkedAt) source.checkedAt = checkedAt;
  if (raw.rules !== undefined) {
    if (!Array.isArray(raw.rules) || raw.rules.some((rule) => typeof rule !== 'string')) {
      fail(`${path}.rules`, 'expected a list of rule names');
    }
    source.rules = raw.rules as string[];
  }
  for (const key of Object.keys(raw)) {
    if (!['feed', 'key', 'url', 'checkedAt', 'rules'].includes(key)) fail(`${path}.${key}`, `unknown field "${key}"`);
  }
  return source;
}

function validatePrices(raw: unknown, path: string, complete: boolean): Partial<TokenPrices> {
  if (!isRecord(raw)) fail(path, 'expected an object of prices per million tokens');
  const prices: Partial<TokenPrices> = {};
  for (const field of PRICE_FIELDS) {
    const value = raw[field];
    if (value === undefined) continue;
    const problem = priceProblem(value);
    if (problem) fail(`${path}.${field}`, `${problem} (USD per million tokens)`);
    prices[field] = normalizePerMillion(value as number | string);
  }
  if (complete) {
    for (const field of ['input', 'output'] as const) {
      if (prices[field] === undefined) fail(`${path}.${field}`, 'missing: input and output prices are required');
    }
  } else {
    for (const key of Object.keys(raw)) {
      if (!(PRICE_FIELDS as readonly string[]).includes(key)) fail(`${path}.${key}`, `unknown field "${key}"`);
    }
  }
  return orderPriceFields(prices);
}

function validateTier(raw: unknown, path: string): LongContextTier {
  if (!isRecord(raw)) fail(path, 'expected { threshold, comparison, counts, prices }');
  for (const key of Object.keys(raw)) if (!TIER_FIELDS.has(key)) fail(`${path}.${key}`, `unknown field "${key}"`);
  if (typeof raw.threshold !== 'number' || !Number.isSafeInteger(raw.threshold) || raw.threshold <= 0) {
    fail(`${path}.threshold`, 'expected a whole number of tokens > 0');
  }
  const comparison = raw.comparison ?? '>';
  if (comparison !== '>' && comparison !== '>=') fail(`${path}.comparison`, 'expected ">" or ">="');
  const counts = raw.counts ?? 'all-input';
  if (counts !== 'all-input' && counts !== 'uncached-input') {
    fail(`${path}.counts`, 'expected "all-input" or "uncached-input"');
  }
  return { threshold: raw.threshold, comparison, counts, prices: validatePrices(raw.prices, `${path}.prices`, false) };
}
