import { type ImportOptions, UNKNOWN_EFFECTIVE_FROM } from './import-litellm';
import { InvalidPriceFileError } from './invalid-price-file-error';
import { normalizePerMillion, orderPriceFields, priceProblem } from './price-values';
import { PROVIDER_PRICING_URLS, providerFromGenAiPrices } from './provider-names';
import type { CatalogEntry, LongContextTier, PriceSet, TokenPrices } from './types';

/** A genai-prices match rule: `equals`, `starts_with`, `ends_with`, `contains`, `regex`, or `or`/`and` of rules. */
export type GenAiMatchRule =
  | { equals: string }
  | { starts_with: string }
  | { ends_with: string }
  | { contains: string }
  | { regex: string }
  | { or: GenAiMatchRule[] }
  | { and: GenAiMatchRule[] };

const FIELDS: Array<[string, keyof TokenPrices]> = [
  ['input_mtok', 'input'],
  ['cache_read_mtok', 'cachedInput'],
  ['cache_write_mtok', 'cacheWrite5m'],
  ['cache_write_1h_mtok', 'cacheWrite1h'],
  ['output_mtok', 'output'],
  ['output_reasoning_mtok', 'reasoning'],
  ['input_audio_mtok', 'inputAudio'],
  ['cache_audio_read_mtok', 'cachedInputAudio'],
  ['output_audio_mtok', 'outputAudio'],
];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a genai-prices match rule accepts a model name (unknown rule shapes never match). */
export function matchesGenAiRule(rule: unknown, name: string): boolean {
  if (!isRecord(rule)) return false;
  if (Array.isArray(rule.or)) return rule.or.some((inner) => matchesGenAiRule(inner, name));
  if (Array.isArray(rule.and)) return rule.and.every((inner) => matchesGenAiRule(inner, name));
  if (typeof rule.equals === 'string') return name === rule.equals;
  if (typeof rule.starts_with === 'string') return name.startsWith(rule.starts_with);
  if (typeof rule.ends_with === 'string') return name.endsWith(rule.ends_with);
  if (typeof rule.contains === 'string') return name.includes(rule.contains);
  if (typeof rule.regex === 'string') {
    try {
      return new RegExp(rule.regex).test(name);
    } catch {
      return false;
    }
  }
  return false;
}

/** The exact names a rule lists (`equals`, through `or`): these become aliases. */
export function equalsNames(rule: unknown): string[] {
  if (!isRecord(rule)) return [];
  if (Array.isArray(rule.or)) return rule.or.flatMap(equalsNames);
  return typeof rule.equals === 'string' ? [rule.equals] : [];
}

/**
 * Imports pydantic genai-prices `data.json` (an array of providers, each with `models`). Prices are already
 * per million; a `{ base, tiers: [{ start, price }] }` price becomes a long-context tier (`>` start, all input
 * tokens counted, as the providers bill). Dated price sets (`constraint.start_date`) become history; sets
 * that depend on the time of day (`start_time`/`end_time`) cannot be expressed as a dated set and are skipped.
 * A model keeps its plain id when its provider is the one whose `model_match` claims it (OpenAI's `gpt-4o`);
 * resellers' copies are namespaced (`aws/claude-3-5-sonnet`, `openrouter/…`). `equals` rules become aliases.
 */
export function importGenAiPrices(json: unknown, options: ImportOptions = {}): CatalogEntry[] {
  const providers = Array.isArray(json)
    ? json
    : isRecord(json) && Array.isArray(json.providers)
      ? json.providers
      : undefined;
  if (!providers) throw new InvalidPriceFileError('a genai-prices file is a JSON array of providers');
  const checkedAt = options.checkedAt ?? new Date().toISOString().slice(0, 10);
  const effectiveFrom = options.effectiveFrom ?? UNKNOWN_EFFECTIVE_FROM;
  const owners = providers.filter(
    (provider): provider is Record<string, unknown> => isRecord(provider) && provider.model_match !== undefined,
  );
  const entries: CatalogEntry[] = [];
  const taken = new Set<string>();
  providers.forEach((provider, providerIndex) => {
    if (!isRecord(provider) || typeof provider.id !== 'string' || !Array.isArray(provider.models)) {
      throw new InvalidPriceFileError('each provider needs a string "id" and a "models" array', {
        path: `[${providerIndex}]`,
      });
    }
    const providerId = provider.id;
    const providerName = providerFromGenAiPrices(providerId);
    const urls = Array.isArray(provider.pricing_urls) ? provider.pricing_urls : [];
    const sourceUrl =
      typeof urls[0] === 'string'
        ? urls[0]
        : (PROVIDER_PRICING_URLS[providerName] ?? 'https://github.com/pydantic/genai-prices');
    provider.models.forEach((model: unknown, modelIndex: number) => {
      const path = `${providerId}.models[${modelIndex}]`;
      if (!isRecord(model) || typeof model.id !== 'string') {
        throw new InvalidPriceFileError('each model needs a string "id"', { path });
      }
      const sets = priceSets(model.prices, `${path}(${model.id}).prices`, effectiveFrom);
      if (sets.length === 0) return;
      for (const set of sets) set.source = { feed: 'genai-prices', key: `${providerId}/${model.id}` };
      const owner = owners.find((candidate) => matchesGenAiRule(candidate.model_match, model.id as string));
      const ownsIt = owner === provider || (owner === undefined && provider.model_match !== undefined);
      let id = ownsIt ? model.id : `${providerId}/${model.id}`;
      if (taken.has(id)) id = `${providerId}/${model.id}`;
      if (taken.has(id)) return;
      taken.add(id);
      const aliases = [...new Set(equalsNames(model.match))].filter((name) => name !== id && name !== model.id);
      if (id !== model.id && !ownsIt) aliases.length = 0;
      const isClaudeOnGoogle = providerName === 'google' && model.id.startsWith('claude');
      const entry: CatalogEntry = {
        id,
        provider: isClaudeOnGoogle ? 'vertex' : providerName,
        aliases,
        mode: /embed/.test(model.id)
          ? 'embedding'
          : /realtime/.test(model.id)
            ? 'realtime'
            : /transcribe|tts/.test(model.id)
              ? 'audio'
              : 'chat',
        prices: sets,
        sourceUrl,
        checkedAt,
      };
      if (typeof model.name === 'string') entry.displayName = model.name;
      if (typeof model.context_window === 'number' && Number.isSafeInteger(model.context_window)) {
        entry.contextWindow = model.context_window;
      }
      if (model.deprecated === true) entry.deprecated = true;
      entries.push(entry);
    });
  });
  return entries;
}

function priceSets(raw: unknown, path: string, effectiveFrom: string): PriceSet[] {
  const list = Array.isArray(raw) ? raw : [{ prices: raw }];
  const sets: PriceSet[] = [];
  list.forEach((item: unknown, index) => {
    const where = Array.isArray(raw) ? `${path}[${index}]` : path;
    if (!isRecord(item) || !isRecord(item.prices)) {
      throw new InvalidPriceFileError('expected a prices object', { path: where });
    }
    const constraint = isRecord(item.constraint) ? item.constraint : undefined;
    if (constraint && (constraint.start_time !== undefined || constraint.end_time !== undefined)) return;
    let from = effectiveFrom;
    if (constraint && typeof constraint.start_date === 'string') {
      if (!/^\d{4}-\d{2}-\d{2}/.test(constraint.start_date)) {
        throw new InvalidPriceFileError('start_date must be YYYY-MM-DD', { path: `${where}.constraint.start_date` });
      }
      from = constraint.start_date.slice(0, 10);
    }
    const set = priceSet(item.prices, Array.isArray(raw) ? `${where}.prices` : where, from);
    if (set) sets.push(set);
  });
  return sets.sort((a, b) => (a.effectiveFrom < b.effectiveFrom ? -1 : a.effectiveFrom > b.effectiveFrom ? 1 : 0));
}

function priceSet(prices: Record<string, unknown>, path: string, effectiveFrom: string): PriceSet | undefined {
  const standard: Partial<TokenPrices> = {};
  const tiers = new Map<number, Partial<TokenPrices>>();
  for (const [key, field] of FIELDS) {
    const value = prices[key];
    if (value === undefined) continue;
    if (isRecord(value)) {
      standard[field] = readPrice(value.base, `${path}.${key}.base`);
      const list = Array.isArray(value.tiers) ? value.tiers : [];
      list.forEach((tier: unknown, index) => {
        const where = `${path}.${key}.tiers[${index}]`;
        if (!isRecord(tier) || typeof tier.start !== 'number' || !Number.isSafeInteger(tier.start) || tier.start <= 0) {
          throw new InvalidPriceFileError('a tier needs a whole-number "start" and a "price"', { path: where });
        }
        const tierPrices = tiers.get(tier.start) ?? {};
        tierPrices[field] = readPrice(tier.price, `${where}.price`);
        tiers.set(tier.start, tierPrices);
      });
    } else {
      standard[field] = readPrice(value, `${path}.${key}`);
    }
  }
  if (standard.input === undefined) return undefined;
  const set: PriceSet = {
    effectiveFrom,
    standard: orderPriceFields({ ...standard, input: standard.input, output: standard.output ?? '0' }),
  };
  if (tiers.size > 0) {
    set.tiers = [...tiers.entries()]
      .sort(([a], [b]) => a - b)
      .map(
        ([threshold, tierPrices]): LongContextTier => ({
          threshold,
          comparison: '>',
          counts: 'all-input',
          prices: orderPriceFields(tierPrices),
        }),
      );
  }
  return set;
}

function readPrice(value: unknown, path: string): string {
  const problem = priceProblem(value);
  if (problem) throw new InvalidPriceFileError(problem, { path });
  return normalizePerMillion(value as number | string);
}
