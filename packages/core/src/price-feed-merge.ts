import { UNKNOWN_EFFECTIVE_FROM } from './import-litellm';
import type { CatalogEntry, PriceSet } from './types';

export interface MergeFeedOptions {
  /**
   * ISO date the feed was taken. A feed price without a date of its own that differs from the current
   * curated price starts on this date, so earlier usage keeps the price it was billed at. Default: today (UTC).
   */
  asOf?: string;
  /** Ids the feed must not touch at all (the user's own entries). */
  protectedIds?: Iterable<string>;
}

/**
 * Layers a public feed (LiteLLM, genai-prices) under the rules a refresh must keep:
 * - a curated name wins: a feed entry whose id is a curated id or alias is merged into that entry, and feed
 *   aliases that name another curated entry are dropped, so a feed cannot re-route a curated name;
 * - history is kept: every curated price set stays; the feed adds the dated sets the entry lacks, and an
 *   undated feed price whose input or output differs from the current one becomes a new set from `asOf`;
 * - curated metadata (provider, display name, encoding, context window) stays; the feed fills what is missing.
 * Entries the base does not know are added with the aliases no curated entry claims.
 */
export function mergeFeedEntries(
  base: CatalogEntry[],
  feed: CatalogEntry[],
  options: MergeFeedOptions = {},
): CatalogEntry[] {
  const asOf = options.asOf ?? new Date().toISOString().slice(0, 10);
  const protectedIds = new Set([...(options.protectedIds ?? [])].map((id) => id.toLowerCase()));
  const merged = new Map<string, CatalogEntry>();
  // Every name the base already gives meaning to, and the id of the entry it means.
  const owner = new Map<string, string>();
  for (const entry of base) {
    merged.set(entry.id, entry);
    for (const alias of entry.aliases) {
      if (!owner.has(alias.toLowerCase())) owner.set(alias.toLowerCase(), entry.id);
    }
  }
  // Ids last: an id beats another entry's alias, as in `PriceCatalog`.
  for (const entry of base) owner.set(entry.id.toLowerCase(), entry.id);

  const added: CatalogEntry[] = [];
  for (const incoming of feed) {
    const targetId = owner.get(incoming.id.toLowerCase());
    if (targetId !== undefined) {
      if (protectedIds.has(targetId.toLowerCase())) continue;
      const current = merged.get(targetId) as CatalogEntry;
      merged.set(targetId, mergeEntry(current, incoming, owner, asOf));
      continue;
    }
    const aliases = incoming.aliases.filter((alias) => !owner.has(alias.toLowerCase()));
    added.push({ ...incoming, aliases });
  }
  return [...merged.values(), ...added];
}

function mergeEntry(
  current: CatalogEntry,
  incoming: CatalogEntry,
  owner: Map<string, string>,
  asOf: string,
): CatalogEntry {
  const known = new Set(current.aliases.map((alias) => alias.toLowerCase()));
  known.add(current.id.toLowerCase());
  const extraAliases: string[] = [];
  for (const name of [incoming.id, ...incoming.aliases]) {
    const key = name.toLowerCase();
    const claimedBy = owner.get(key);
    if (known.has(key) || (claimedBy !== undefined && claimedBy !== current.id)) continue;
    known.add(key);
    extraAliases.push(name);
  }
  const prices = mergePriceSets(current.prices, incoming.prices, asOf);
  const result: CatalogEntry = {
    ...incoming,
    ...current,
    aliases: [...current.aliases, ...extraAliases],
    prices,
  };
  // The feed's check date only means something when it brought prices in.
  if (prices !== current.prices && incoming.checkedAt > current.checkedAt) {
    result.checkedAt = incoming.checkedAt;
    result.sourceUrl = incoming.sourceUrl;
  }
  return result;
}

function mergePriceSets(current: PriceSet[], incoming: PriceSet[], asOf: string): PriceSet[] {
  const byDate = new Map(current.map((set) => [set.effectiveFrom, set] as const));
  let changed = false;
  for (const set of incoming) {
    if (set.effectiveFrom === UNKNOWN_EFFECTIVE_FROM) continue;
    // A date the curated entry already has keeps its curated prices.
    if (byDate.has(set.effectiveFrom)) continue;
    byDate.set(set.effectiveFrom, set);
    changed = true;
  }
  const sorted = () => [...byDate.values()].sort((a, b) => compare(a.effectiveFrom, b.effectiveFrom));
  // A feed entry with one undated set states its present price (LiteLLM); next to dated sets (genai-prices)
  // the undated one is the price before the first date, i.e. history the curated entry already covers.
  const only = incoming.length === 1 ? incoming[0] : undefined;
  const undated = only?.effectiveFrom === UNKNOWN_EFFECTIVE_FROM ? only : undefined;
  if (undated) {
    const inForce = sorted()
      .filter((set) => set.effectiveFrom <= asOf)
      .at(-1);
    const next = inForce === undefined ? { ...undated, effectiveFrom: asOf } : overlay(inForce, undated, asOf);
    if (next && !byDate.has(asOf)) {
      byDate.set(asOf, next);
      changed = true;
    }
  }
  return changed ? sorted() : current;
}

/**
 * The in-force set with what the feed states laid over it, or undefined when the feed states no new price.
 * Only a change of the standard input or output price counts as one: feeds disagree with the curated catalog
 * on secondary fields the curation settled on purpose (LiteLLM's 1-hour cache write for claude-3-haiku is
 * 12× Anthropic's), so those alone never override it. A feed that lacks a curated field (a 1-hour cache write,
 * a batch price) says nothing about it, so it stays.
 */
function overlay(inForce: PriceSet, feed: PriceSet, asOf: string): PriceSet | undefined {
  if (feed.standard.input === inForce.standard.input && feed.standard.output === inForce.standard.output) {
    return undefined;
  }
  let differs = false;
  const merge = <T extends object>(curated: T | undefined, stated: T | undefined): T | undefined => {
    if (stated === undefined) return curated;
    const result = { ...(curated ?? {}), ...stated } as T;
    if (canonical(result) !== canonical(curated)) differs = true;
    return result;
  };
  const next: PriceSet = {
    ...inForce,
    effectiveFrom: asOf,
    standard: merge(inForce.standard, feed.standard) ?? inForce.standard,
  };
  for (const variant of ['batch', 'flex', 'priority'] as const) {
    const prices = merge(inForce[variant], feed[variant]);
    if (prices) next[variant] = prices;
  }
  if (feed.tiers !== undefined && canonical(feed.tiers) !== canonical(inForce.tiers)) {
    next.tiers = feed.tiers;
    differs = true;
  }
  return differs ? next : undefined;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${key}:${canonical(record[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
