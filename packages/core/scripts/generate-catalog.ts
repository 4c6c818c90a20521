/**
 * Generates src/catalog.generated.json from the two public price feeds and scripts/curation.ts.
 *
 *   pnpm --filter @tokenmeter/core generate-catalog [feed-directory] [--checked-at YYYY-MM-DD]
 *
 * The feed directory (default: ../shared/data next to the repository) holds LiteLLM's
 * model_prices_and_context_window.json and genai-prices data.json. Merge rules: LiteLLM gives breadth,
 * platform ids, service-tier variants, context windows; genai-prices gives price history and tiers where it
 * has them (unless the curation prefers LiteLLM for a provider). Disagreements are printed for review.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importGenAiPrices, matchesGenAiRule } from '../src/import-genai-prices';
import { importLiteLLM, UNKNOWN_EFFECTIVE_FROM } from '../src/import-litellm';
import { formatScaled, PRICE_DECIMALS, parseDecimal } from '../src/money';
import { orderPriceFields } from '../src/price-values';
import type { Catalog, CatalogEntry, CatalogStats, PriceSet, TokenPrices } from '../src/types';
import { corePrices, refuseImplausible, STANDARD_FIELDS, VARIANT_NAMES } from './catalog-checks';
import {
  ACCEPTED,
  CORRECTIONS,
  CURATION,
  EXTRA_ALIASES,
  OPENAI_ENCODINGS,
  PRICE_RULES,
  type ProviderCuration,
  RELEASE_DATES,
} from './curation';

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = resolve(here, '..');
const repositoryRoot = resolve(packageRoot, '../..');

interface Arguments {
  feeds: string;
  checkedAt?: string;
  out: string;
}

function parseArguments(argv: string[]): Arguments {
  const result: Arguments = {
    feeds: resolve(repositoryRoot, '../shared/data'),
    out: join(packageRoot, 'src/catalog.generated.json'),
  };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index] ?? '';
    if (argument === '--checked-at') result.checkedAt = argv[++index];
    else if (argument === '--out') result.out = resolve(argv[++index] ?? result.out);
    else if (!argument.startsWith('--')) result.feeds = resolve(argument);
    else throw new Error(`unknown option ${argument}`);
  }
  return result;
}

function findFeed(directory: string, names: string[]): string {
  for (const name of names) {
    const path = join(directory, name);
    if (existsSync(path)) return path;
  }
  throw new Error(`none of ${names.join(', ')} in ${directory}`);
}

type GenAiModel = { id: string; match: unknown; entry: CatalogEntry };

/** genai-prices models of one provider, each with its imported entry, in feed order. */
function genaiModels(document: unknown[], providerId: string, checkedAt: string): GenAiModel[] {
  const provider = document.find((item) => (item as { id?: string }).id === providerId) as
    | { id: string; models: Array<{ id: string; match: unknown }> }
    | undefined;
  if (!provider) return [];
  const result: GenAiModel[] = [];
  for (const model of provider.models) {
    const [entry] = importGenAiPrices([{ ...provider, models: [model] }], { checkedAt });
    if (entry) result.push({ id: model.id, match: model.match, entry });
  }
  return result;
}

function fieldCount(entry: CatalogEntry): number {
  const latest = entry.prices[entry.prices.length - 1];
  if (!latest) return 0;
  return (
    Object.keys(latest.standard).length +
    (latest.tiers?.length ?? 0) * 4 +
    ['batch', 'flex', 'priority'].filter((variant) => variant in latest).length * 2
  );
}

function dateOf(name: string): string | undefined {
  const iso = /(\d{4})-(\d{2})-(\d{2})$/.exec(name);
  if (iso) return `${iso[1]}-${iso[2]}-${iso[3]}`;
  const compact = /[-@](20\d{2})(\d{2})(\d{2})(?:-v\d+(?::\d+)?)?$/.exec(name);
  if (compact) return `${compact[1]}-${compact[2]}-${compact[3]}`;
  return undefined;
}

const warnings: string[] = [];
const proposedAliases = new Map<string, string[]>();
/** Entries that are a priced variant of another (a regional profile, a data zone, a dated snapshot). */
const variantOf = new Map<string, string>();
const counts = { compared: 0, disagreements: 0, refused: 0, curated: 0, derived: 0 };
const refusals: string[] = [];

function addRule(set: PriceSet, rule: string): void {
  const source = set.source ?? { feed: 'curated' as const };
  source.rules = [...new Set([...(source.rules ?? []), rule])];
  set.source = source;
}

function mergeGenAi(base: CatalogEntry, genai: CatalogEntry | undefined, curation: ProviderCuration): CatalogEntry {
  const litellmSet = base.prices[base.prices.length - 1] as PriceSet;
  if (!genai) return base;
  const sets = genai.prices.map((set) => structuredClone(set));
  const latest = sets[sets.length - 1] as PriceSet;
  const same = (set: PriceSet) =>
    set.standard.input === litellmSet.standard.input && set.standard.output === litellmSet.standard.output;
  const agrees = same(latest);
  counts.compared++;
  if (!agrees) counts.disagreements++;
  const conflict = `${base.id}: genai-prices ${latest.standard.input}/${latest.standard.output} vs LiteLLM ${litellmSet.standard.input}/${litellmSet.standard.output}`;
  // LiteLLM's price is one genai-prices has dated and superseded: LiteLLM is behind, whichever feed is preferred.
  const litellmIsStale = !agrees && sets.slice(0, -1).some(same);
  if (curation.prefer === 'litellm' && !litellmIsStale) {
    if (!agrees) warnings.push(`${conflict} (LiteLLM kept: preferred for ${curation.provider})`);
    return base;
  }
  if (!agrees && !litellmIsStale) {
    // No dated set explains the difference: trust the feed that lists this exact model id.
    warnings.push(`${conflict} (LiteLLM kept)`);
    return base;
  }
  if (!agrees) {
    warnings.push(`${conflict} (genai-prices history kept: LiteLLM has an earlier set)`);
    carryCacheRatios(sets, litellmSet);
  } else {
    // Fields genai-prices does not carry come from LiteLLM when both agree on the base prices.
    let filled = false;
    for (const field of STANDARD_FIELDS) {
      const value = litellmSet.standard[field];
      if (latest.standard[field] === undefined && value !== undefined) {
        latest.standard[field] = value;
        filled = true;
      }
    }
    for (const variant of VARIANT_NAMES) {
      const prices = litellmSet[variant];
      if (prices) {
        latest[variant] = prices;
        filled = true;
      }
    }
    if (!latest.tiers && litellmSet.tiers) {
      latest.tiers = litellmSet.tiers;
      filled = true;
    } else if (latest.tiers && litellmSet.tiers) {
      // Same threshold in both feeds: LiteLLM may price a bucket genai-prices leaves out (1-hour writes).
      for (const tier of latest.tiers) {
        const other = litellmSet.tiers.find((candidate) => candidate.threshold === tier.threshold);
        for (const field of STANDARD_FIELDS) {
          const value = other?.prices[field];
          if (tier.prices[field] === undefined && value !== undefined) {
            tier.prices[field] = value;
            filled = true;
          }
        }
      }
    }
    if (filled && litellmSet.source?.key) addRule(latest, `fill:litellm:${litellmSet.source.key}`);
  }
  latest.standard = Object.fromEntries(
    STANDARD_FIELDS.map((field) => [field, latest.standard[field]]).filter(([, value]) => value !== undefined),
  ) as unknown as TokenPrices;
  return {
    ...base,
    displayName: genai.displayName ?? base.displayName,
    prices: sets,
    contextWindow: base.contextWindow ?? genai.contextWindow,
  };
}

const CACHE_FIELDS = ['cachedInput', 'cacheWrite5m', 'cacheWrite1h'] as const;

/**
 * LiteLLM is behind genai-prices' history: its row fills the earlier set it matches, and a later set gets the
 * cache prices it lacks at the same multiple of input (providers price cache reads and writes as fixed
 * multiples of input: 0.1×, 1.25×, 2× for Claude), only where the multiple gives an exact 12-place price.
 */
function carryCacheRatios(sets: PriceSet[], litellmSet: PriceSet): void {
  const key = litellmSet.source?.key ?? 'litellm';
  sets.forEach((set, index) => {
    const previous = sets[index - 1];
    let filled = false;
    if (set.standard.input === litellmSet.standard.input && set.standard.output === litellmSet.standard.output) {
      for (const field of CACHE_FIELDS) {
        const value = litellmSet.standard[field];
        if (set.standard[field] === undefined && value !== undefined) {
          set.standard[field] = value;
          filled = true;
        }
      }
      if (filled) addRule(set, `fill:litellm:${key}`);
      return;
    }
    if (!previous) return;
    const input = parseDecimal(set.standard.input, PRICE_DECIMALS);
    const before = parseDecimal(previous.standard.input, PRICE_DECIMALS);
    if (before === 0n) return;
    for (const field of CACHE_FIELDS) {
      const earlier = previous.standard[field];
      if (set.standard[field] !== undefined || earlier === undefined) continue;
      const product = input * parseDecimal(earlier, PRICE_DECIMALS);
      if (product % before !== 0n) continue;
      set.standard[field] = formatScaled(product / before, PRICE_DECIMALS, true);
      filled = true;
    }
    if (filled) addRule(set, `fill:cache-multiple:${previous.effectiveFrom}`);
  });
}

function finalize(entry: CatalogEntry, curation: ProviderCuration, checkedAt: string): CatalogEntry {
  const prices = entry.prices.map((set) => ({
    ...set,
    tiers: set.tiers?.map((tier) => ({ ...tier, ...curation.tierRule })),
  }));
  for (const set of prices) if (!set.tiers) delete set.tiers;
  const first = prices[0] as PriceSet;
  const next = prices[1]?.effectiveFrom;
  const dated = [entry.id, ...entry.aliases]
    .map(dateOf)
    .filter((day): day is string => day !== undefined)
    .sort()[0];
  const release = RELEASE_DATES[entry.id] ?? dated;
  if (first.effectiveFrom === UNKNOWN_EFFECTIVE_FROM) {
    if (release && (!next || release < next)) first.effectiveFrom = release;
    else if (!next) first.effectiveFrom = checkedAt;
  }
  const result: CatalogEntry = {
    id: entry.id,
    provider: curation.provider,
    ...(entry.displayName ? { displayName: entry.displayName } : {}),
    aliases: entry.aliases,
    mode: entry.mode,
    prices,
    ...(entry.contextWindow ? { contextWindow: entry.contextWindow } : {}),
    ...(entry.maxOutputTokens ? { maxOutputTokens: entry.maxOutputTokens } : {}),
    sourceUrl: curation.sourceUrl,
    checkedAt,
  };
  const encoding = OPENAI_ENCODINGS.find(([pattern]) => pattern.test(entry.id))?.[1];
  if (encoding && ['openai', 'azure', 'bedrock'].includes(curation.provider)) result.encoding = encoding;
  if (entry.deprecated) result.deprecated = true;
  return result;
}

function generate(args: Arguments): Catalog {
  const litellmPath = findFeed(args.feeds, ['litellm_model_prices.json', 'model_prices_and_context_window.json']);
  const genaiPath = findFeed(args.feeds, ['genai_prices.json', 'data.json']);
  const checkedAt = args.checkedAt ?? statSync(genaiPath).mtime.toISOString().slice(0, 10);
  const litellm = importLiteLLM(JSON.parse(readFileSync(litellmPath, 'utf8')), { checkedAt });
  const genaiDocument = JSON.parse(readFileSync(genaiPath, 'utf8')) as unknown[];
  const entries: CatalogEntry[] = [];
  const emitted = new Set<string>();

  for (const curation of CURATION) {
    const genai = curation.genaiProvider ? genaiModels(genaiDocument, curation.genaiProvider, checkedAt) : [];
    const groups = new Map<string, CatalogEntry[]>();
    for (const entry of litellm) {
      if (!curation.litellmProviders.includes(entry.provider)) continue;
      const name = curation.name(entry.id);
      if (!name) continue;
      const key = curation.group(name);
      if (!curation.include.test(key) || curation.exclude?.test(name)) continue;
      const members = groups.get(key) ?? [];
      if (!members.some((member) => member.id === name)) members.push({ ...entry, id: name });
      groups.set(key, members);
    }
    // Members priced like the group's representative become its aliases; the others form subgroups by their
    // undated name (`azure/eu/gpt-4o-2024-08-06` → `azure/eu/gpt-4o`), and so on down to single names.
    const emit = (key: string, members: CatalogEntry[], level: number, parent?: string): void => {
      const chosen =
        members.find((member) => member.id === key) ??
        [...members].sort((a, b) => fieldCount(b) - fieldCount(a) || (a.id < b.id ? 1 : -1))[0];
      if (!chosen) return;
      const representative = structuredClone(chosen);
      const core = corePrices(representative);
      const aliases = new Set<string>(EXTRA_ALIASES[key] ?? []);
      const rest = new Map<string, CatalogEntry[]>();
      for (const member of members) {
        if (member === chosen) continue;
        if (corePrices(member) === core) {
          aliases.add(member.id);
          fillFromSnapshot(representative, member);
          continue;
        }
        const subkey = level === 0 && curation.subgroup ? curation.subgroup(member.id) : member.id;
        rest.set(subkey, [...(rest.get(subkey) ?? []), member]);
      }
      if (representative.id !== key) aliases.add(representative.id);
      if (emitted.has(key)) {
        warnings.push(`${key}: already listed by an earlier provider; the ${curation.provider} row is skipped`);
      } else {
        emitted.add(key);
        if (parent) variantOf.set(key, parent);
        entries.push(buildEntry(representative, key, [...aliases], genai, curation, checkedAt));
      }
      for (const [subkey, subgroup] of rest) {
        if (level >= 1 || subkey === key) for (const member of subgroup) emit(member.id, [member], 2, key);
        else emit(subkey, subgroup, level + 1, key);
      }
    };
    for (const [key, members] of groups) emit(key, members, 0);
    for (const [genaiId, id] of Object.entries(curation.genaiOnly ?? {})) {
      const model = genai.find((candidate) => candidate.id === genaiId);
      if (!model) throw new Error(`curation: genai-prices has no ${genaiId} for ${curation.provider}`);
      if (emitted.has(id)) continue;
      emitted.add(id);
      proposedAliases.set(id, [genaiId, ...model.entry.aliases.filter((alias) => !alias.includes('/'))]);
      entries.push(finalize({ ...model.entry, id, aliases: [...(EXTRA_ALIASES[id] ?? [])] }, curation, checkedAt));
    }
  }

  // Names resolve without regard to case: of two entries whose ids differ only in case (a feed listing
  // `together_ai/BAAI/…` and `together_ai/baai/…`), only the first could ever be reached.
  const firstOfName = new Map<string, string>();
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index] as CatalogEntry;
    const first = firstOfName.get(entry.id.toLowerCase());
    if (first === undefined) {
      firstOfName.set(entry.id.toLowerCase(), entry.id);
      continue;
    }
    refusals.push(`${entry.id}: the same name as ${first} but for its case`);
    counts.refused += 1;
    entries.splice(index--, 1);
  }
  // An alias that is another entry's id (in any case) would never be reached; drop it so the file says what resolves.
  const ids = new Set(entries.map((entry) => entry.id.toLowerCase()));
  const claimed = new Set(entries.flatMap((entry) => entry.aliases.map((alias) => alias.toLowerCase())));
  for (const entry of entries) {
    const proposed = (proposedAliases.get(entry.id) ?? []).filter((alias) => !claimed.has(alias.toLowerCase()));
    for (const alias of proposed) claimed.add(alias.toLowerCase());
    entry.aliases = [...new Set([...entry.aliases, ...proposed])]
      .filter((alias) => !ids.has(alias.toLowerCase()))
      .sort();
  }
  applyCorrections(entries);
  applyPriceRules(entries);
  const checked = refuseImplausible(entries, variantOf, ACCEPTED);
  counts.refused += checked.refused.length;
  counts.curated += checked.accepted.length;
  refusals.push(...checked.refused);
  warnings.push(...checked.accepted);
  const kept = checked.kept.map(tidy);
  kept.sort((a, b) => (a.provider === b.provider ? (a.id < b.id ? -1 : 1) : a.provider < b.provider ? -1 : 1));
  return { generatedAt: checkedAt, stats: statsOf(kept), entries: kept };
}

/** One field order for every set, whichever step added a field, so regenerated diffs stay readable. */
function tidy(entry: CatalogEntry): CatalogEntry {
  entry.prices = entry.prices.map((set) => {
    const { effectiveFrom, standard, batch, flex, priority, tiers, source } = set;
    const result: PriceSet = { effectiveFrom, standard: orderPriceFields(standard) };
    if (batch) result.batch = orderPriceFields(batch);
    if (flex) result.flex = orderPriceFields(flex);
    if (priority) result.priority = orderPriceFields(priority);
    if (tiers) result.tiers = tiers.map((tier) => ({ ...tier, prices: orderPriceFields(tier.prices) }));
    if (source) result.source = source;
    return result;
  });
  return entry;
}

/** A same-priced snapshot may carry what the family's row lacks (grok-4-0709's >128k tier): take it over. */
function fillFromSnapshot(target: CatalogEntry, member: CatalogEntry): void {
  const set = target.prices[target.prices.length - 1] as PriceSet;
  const other = member.prices[member.prices.length - 1] as PriceSet;
  let filled = false;
  for (const variant of VARIANT_NAMES) {
    if (!set[variant] && other[variant]) {
      set[variant] = structuredClone(other[variant]);
      filled = true;
    }
  }
  if (!set.tiers && other.tiers) {
    set.tiers = structuredClone(other.tiers);
    filled = true;
  }
  for (const field of STANDARD_FIELDS) {
    const value = other.standard[field];
    if (set.standard[field] === undefined && value !== undefined) {
      set.standard[field] = value;
      filled = true;
    }
  }
  if (filled) addRule(set, `fill:snapshot:${other.source?.key ?? member.id}`);
}

function applyCorrections(entries: CatalogEntry[]): void {
  for (const correction of CORRECTIONS) {
    const targets = entries.filter((entry) => correction.ids.includes(entry.id));
    if (targets.length !== correction.ids.length) {
      throw new Error(`curation: correction "${correction.name}" names ids the catalog does not have`);
    }
    for (const entry of targets) {
      const set = entry.prices[entry.prices.length - 1] as PriceSet;
      if (!correction.apply(set)) {
        // The feed was fixed upstream: the correction is stale and must be removed, not silently kept.
        throw new Error(`curation: correction "${correction.name}" no longer changes ${entry.id}; remove it`);
      }
      set.source = { ...(set.source ?? { feed: 'curated' }), url: correction.url, checkedAt: correction.checkedAt };
      addRule(set, correction.name);
      counts.curated++;
    }
  }
}

function applyPriceRules(entries: CatalogEntry[]): void {
  for (const rule of PRICE_RULES) {
    for (const entry of entries) {
      if (!rule.appliesTo(entry)) continue;
      for (const set of entry.prices) {
        if (!rule.apply(set)) continue;
        addRule(set, rule.name);
        counts.derived++;
      }
    }
  }
}

function statsOf(entries: CatalogEntry[]): CatalogStats {
  const modes: Record<string, number> = {};
  for (const entry of entries) modes[entry.mode] = (modes[entry.mode] ?? 0) + 1;
  return {
    models: entries.length,
    providers: new Set(entries.map((entry) => entry.provider)).size,
    aliases: entries.reduce((sum, entry) => sum + entry.aliases.length, 0),
    modes: Object.fromEntries(Object.entries(modes).sort(([a], [b]) => (a < b ? -1 : 1))),
    compared: counts.compared,
    disagreements: counts.disagreements,
    refused: counts.refused,
    curated: counts.curated,
    derived: counts.derived,
  };
}

function buildEntry(
  source: CatalogEntry,
  id: string,
  aliases: string[],
  genai: GenAiModel[],
  curation: ProviderCuration,
  checkedAt: string,
): CatalogEntry {
  const names = [id, ...aliases].map((name) =>
    curation.genaiName ? curation.genaiName(name) : name.replace(/^(?:vertex_ai|azure)\/(?:[a-z-]+\/)?/, ''),
  );
  const match = genai.find((model) => names.some((name) => matchesGenAiRule(model.match, name)));
  // genai-prices' exact names become aliases only for its own canonical model, and only where no entry claims them.
  if (match && match.id === id && !['azure', 'vertex', 'bedrock'].includes(curation.provider)) {
    proposedAliases.set(
      id,
      match.entry.aliases.filter((alias) => !alias.includes('/')),
    );
  }
  // Vertex model ids are also used without the `vertex_ai/` prefix: `claude-sonnet-4-5@20250929`.
  const platformAliases =
    curation.provider === 'vertex'
      ? aliases.filter((alias) => alias.includes('@')).map((alias) => alias.replace(/^vertex_ai\//, ''))
      : [];
  const merged = mergeGenAi(
    { ...source, id, aliases: [...new Set([...aliases, ...platformAliases])] },
    match?.entry,
    curation,
  );
  return finalize(merged, curation, checkedAt);
}

function writeCompact(catalog: Catalog, path: string): void {
  const lines = catalog.entries.map((entry) => `    ${JSON.stringify(entry)}`);
  const text = `{\n  "generatedAt": ${JSON.stringify(catalog.generatedAt)},\n  "stats": ${JSON.stringify(catalog.stats)},\n  "entries": [\n${lines.join(',\n')}\n  ]\n}\n`;
  writeFileSync(path, text);
}

const args = parseArguments(process.argv.slice(2));
const catalog = generate(args);
writeCompact(catalog, args.out);
const providers = new Map<string, number>();
for (const entry of catalog.entries) providers.set(entry.provider, (providers.get(entry.provider) ?? 0) + 1);
for (const warning of warnings) process.stderr.write(`note: ${warning}\n`);
for (const refusal of refusals) process.stderr.write(`refused: ${refusal}\n`);
process.stdout.write(`stats: ${JSON.stringify(catalog.stats)}\n`);
process.stdout.write(
  `wrote ${catalog.entries.length} models (${[...providers].map(([name, count]) => `${name} ${count}`).join(', ')}) to ${args.out}, ${statSync(args.out).size} bytes\n`,
);
