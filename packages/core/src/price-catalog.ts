import generatedCatalog from './catalog.generated.json';
import { validateCatalogEntries } from './custom-prices';
import { closestIds } from './model-suggestions';
import { type MergeFeedOptions, mergeFeedEntries } from './price-feed-merge';
import { MODEL_NAME_PREFIXES } from './provider-names';
import type { Catalog, CatalogEntry, CatalogStats, MatchKind, PriceSet, ResolvedModel } from './types';
import { UnknownModelError } from './unknown-model-error';

export interface PriceCatalogOptions {
  /** ISO date the prices were taken from their sources. Default: today. */
  generatedAt?: string;
  /** Azure deployment name → catalog model id. */
  deployments?: Record<string, string>;
  /** Ids of entries the user added: their names win over the shipped catalog's. */
  customIds?: Iterable<string>;
  /** Coverage and check counts of a generated catalog. */
  stats?: CatalogStats;
}

interface Match {
  entry: CatalogEntry;
  matchedBy: MatchKind;
}

const PREFIXES = new Set(MODEL_NAME_PREFIXES);
// Cross-region inference profiles put a geography before the vendor: `us.anthropic.claude-…`.
const BEDROCK_ID =
  /^(?:(?:us|eu|apac|au|jp|ca|sa|global|us-gov)\.)?((?:anthropic|amazon|meta|mistral|deepseek|openai|cohere|ai21|qwen|writer|moonshot|moonshotai|google|minimax|nvidia)\.(.+))$/;
const BEDROCK_REGION = /^(?:us|eu|apac|au|jp|ca|sa|global|us-gov)\./;
// Snapshot and version suffixes, stripped one at a time: `-2024-08-06`, `-20241022`, `-latest`,
// `-preview-05-20`, `-09-2025`, `-0613`/`-2411`, `-001`, Bedrock `-v1:0`.
const SNAPSHOT_SUFFIX =
  /(?:-\d{4}-\d{2}-\d{2}|-\d{8}|-latest|-preview-\d{2}-\d{2}|-preview-\d{2}-\d{4}|-\d{2}-\d{4}|-\d{4}|-\d{3}|-v\d+(?::\d+)?|:\d+)$/;
// API resource names: Gemini's `models/gemini-2.5-flash`, Vertex's
// `projects/p/locations/l/publishers/google/models/gemini-2.5-flash` (the publisher names the platform's entry).
const RESOURCE_NAME = /^(?:projects\/[^/]+\/locations\/[^/]+\/)?(?:publishers\/([^/]+)\/)?models\/([^/]+)$/;
const CACHE_LIMIT = 10_000;
const MAX_DEPTH = 6;

let bundledCatalog: PriceCatalog | undefined;
let defaultCatalog: PriceCatalog | undefined;

/**
 * The price catalog: every model's prices, resolved from whatever name a caller or provider uses.
 * Resolution runs on every metered request, so exact names and aliases are one Map lookup and every other
 * resolved name is cached.
 */
export class PriceCatalog {
  readonly generatedAt: string;
  /**
   * What the generator produced and held back (models, providers, aliases, rows compared, refused, curated):
   * set on the shipped catalog; absent once other entries are layered over it, since they change the counts.
   */
  readonly stats?: CatalogStats;
  private readonly list: CatalogEntry[];
  private readonly names = new Map<string, Match>();
  private readonly deployments: Map<string, string>;
  private readonly customIds: Set<string>;
  private readonly cache = new Map<string, Match | null>();

  constructor(entries: CatalogEntry[], options: PriceCatalogOptions = {}) {
    this.generatedAt = options.generatedAt ?? new Date().toISOString().slice(0, 10);
    if (options.stats) this.stats = options.stats;
    this.customIds = new Set(options.customIds ?? []);
    this.deployments = new Map(
      Object.entries(options.deployments ?? {}).map(([name, id]) => [name.toLowerCase(), id] as const),
    );
    const byId = new Map<string, CatalogEntry>();
    for (const entry of entries) {
      byId.delete(entry.id);
      byId.set(entry.id, entry);
    }
    this.list = [...byId.values()];
    const shipped = this.list.filter((entry) => !this.customIds.has(entry.id));
    const custom = this.list.filter((entry) => this.customIds.has(entry.id));
    // Later layers win: the user's own names beat the shipped ones, and an id beats another entry's alias.
    for (const layer of [shipped, custom]) {
      const kind = layer === custom ? 'custom' : undefined;
      for (const entry of layer) {
        for (const alias of entry.aliases) this.names.set(alias.toLowerCase(), { entry, matchedBy: kind ?? 'alias' });
      }
      for (const entry of layer) this.names.set(entry.id.toLowerCase(), { entry, matchedBy: kind ?? 'exact' });
    }
  }

  /**
   * The catalog every function uses when it is given none: the bundled one, unless the program replaced it
   * with `PriceCatalog.setDefault` (the CLI does, with refreshed prices and `--prices` overrides).
   */
  static default(): PriceCatalog {
    return defaultCatalog ?? PriceCatalog.bundled();
  }

  /** The catalog shipped with this package (generated from the public feeds and curated), loaded once. */
  static bundled(): PriceCatalog {
    if (!bundledCatalog) {
      const data = generatedCatalog as unknown as Catalog;
      bundledCatalog = new PriceCatalog(data.entries, {
        generatedAt: data.generatedAt,
        ...(data.stats ? { stats: data.stats } : {}),
      });
    }
    return bundledCatalog;
  }

  /**
   * Makes `catalog` what `PriceCatalog.default()` returns for the rest of the process; `undefined` restores the
   * bundled one. Meant for a program's entry point: a library should take a `catalog` option instead.
   */
  static setDefault(catalog: PriceCatalog | undefined): void {
    defaultCatalog = catalog;
  }

  entries(): CatalogEntry[] {
    return [...this.list];
  }

  get size(): number {
    return this.list.length;
  }

  /** A new catalog with these entries added; an entry with an existing id replaces it (negotiated prices). */
  withEntries(entries: CatalogEntry[]): PriceCatalog {
    // Entries built in code get the same checks as a price file: a bad price fails here, not on a request.
    const checked = validateCatalogEntries(entries);
    return new PriceCatalog([...this.list, ...checked], {
      generatedAt: this.generatedAt,
      deployments: Object.fromEntries(this.deployments),
      customIds: [...this.customIds, ...checked.map((entry) => entry.id)],
    });
  }

  /**
   * A new catalog with a public feed (LiteLLM, genai-prices) layered under the catalog's own names: unlike
   * `withEntries`, feed entries never win a name a curated entry holds, and price history is kept (see
   * `mergeFeedEntries`). Entries added with `withEntries` are left untouched. `generatedAt` becomes the
   * feed's date when that is newer.
   */
  withFeed(entries: CatalogEntry[], options: { asOf?: string } = {}): PriceCatalog {
    const checked = validateCatalogEntries(entries);
    const asOf = options.asOf ?? today();
    const merge: MergeFeedOptions = { asOf, protectedIds: this.customIds };
    return new PriceCatalog(mergeFeedEntries(this.list, checked, merge), {
      generatedAt: [asOf, this.generatedAt].sort().at(-1) ?? asOf,
      deployments: Object.fromEntries(this.deployments),
      customIds: this.customIds,
    });
  }

  /** A new catalog that also resolves Azure deployment names (`{ "prod-chat": "azure/gpt-4o" }`). */
  withDeployments(map: Record<string, string>): PriceCatalog {
    return new PriceCatalog(this.list, {
      generatedAt: this.generatedAt,
      deployments: { ...Object.fromEntries(this.deployments), ...map },
      customIds: this.customIds,
    });
  }

  /** Resolves a model name, most specific match first; throws `UnknownModelError` with suggestions. */
  resolve(model: string): ResolvedModel {
    const resolved = this.tryResolve(model);
    if (resolved) return resolved;
    throw new UnknownModelError(String(model), this.suggest(String(model)));
  }

  tryResolve(model: string): ResolvedModel | undefined {
    if (typeof model !== 'string') return undefined;
    let match = this.cache.get(model);
    if (match === undefined) {
      match = this.lookup(model.trim().toLowerCase(), 0) ?? null;
      // Names can come from untrusted traffic: bound the cache instead of letting it grow forever.
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(model, match);
    }
    return match ? { entry: match.entry, requested: model, matchedBy: match.matchedBy } : undefined;
  }

  /** The price set in force on a date (default: now); dates before the first set get the first set. */
  priceSetAt(entry: CatalogEntry, at?: Date | string): PriceSet {
    const day = at === undefined ? today() : toDay(at);
    let chosen = entry.prices[0];
    if (!chosen) throw new RangeError(`Catalog entry "${entry.id}" has no prices`);
    for (const set of entry.prices) {
      if (set.effectiveFrom <= day && set.effectiveFrom >= chosen.effectiveFrom) chosen = set;
    }
    return chosen;
  }

  /** Up to five known ids closest to a name, for "did you mean" messages. */
  suggest(model: string): string[] {
    const name = stripPrefixes(String(model).trim().toLowerCase());
    return closestIds(
      name,
      this.list.map((entry) => entry.id),
    );
  }

  private direct(name: string): Match | undefined {
    return this.names.get(name);
  }

  private lookup(name: string, depth: number): Match | undefined {
    if (name === '' || depth > MAX_DEPTH) return undefined;
    // A configured deployment is the user's own statement of what a name means, so it comes first: an Azure
    // deployment called "gpt-4o" in the EU data zone must price as `azure/eu/gpt-4o`, not as OpenAI's gpt-4o.
    const deployment = this.deployments.get(name);
    if (deployment !== undefined) {
      const target = this.lookup(deployment.toLowerCase(), depth + 1);
      return target && { entry: target.entry, matchedBy: 'deployment' };
    }

    const direct = this.direct(name);
    if (direct) return direct;

    const resource = RESOURCE_NAME.exec(name);
    if (resource) {
      const [, publisher, model = ''] = resource;
      const inner =
        (publisher ? this.lookup(`vertex_ai/${model}`, depth + 1) : undefined) ?? this.lookup(model, depth + 1);
      return inner && { entry: inner.entry, matchedBy: this.keptKind(inner.matchedBy) };
    }

    const slash = name.indexOf('/');
    if (slash > 0 && PREFIXES.has(name.slice(0, slash))) {
      // A platform's own entries carry its prefix (`azure/gpt-4o`): try its snapshots before leaving it.
      const platformSnapshot = this.snapshot(name);
      if (platformSnapshot) return platformSnapshot;
      let rest = name.slice(slash + 1);
      let inner = this.lookup(rest, depth + 1);
      // Region and commitment path segments: `bedrock/us-east-1/…`, `azure/eu/gpt-4o`.
      while (!inner && rest.includes('/')) {
        rest = rest.slice(rest.indexOf('/') + 1);
        inner = this.lookup(rest, depth + 1);
      }
      if (!inner) return undefined;
      return { entry: inner.entry, matchedBy: this.keptKind(inner.matchedBy) };
    }

    const bedrock = BEDROCK_ID.exec(name);
    if (bedrock) {
      const [, withoutRegion = '', vendorModel = ''] = bedrock;
      const platform = (BEDROCK_REGION.test(name) && this.direct(withoutRegion)) || this.snapshot(withoutRegion);
      if (platform) return { entry: platform.entry, matchedBy: 'platform' };
      const native = this.lookup(vendorModel.replace(/-v\d+(?::\d+)?$/, '').replace(/:\d+$/, ''), depth + 1);
      if (native) return { entry: native.entry, matchedBy: 'platform' };
    }

    const at = name.indexOf('@');
    if (at > 0) {
      const base = name.slice(0, at);
      const version = name.slice(at + 1);
      const dated = /^\d{8}$/.test(version) ? this.direct(`${base}-${version}`) : undefined;
      const vertex = dated ?? this.lookup(base, depth + 1);
      if (vertex) return { entry: vertex.entry, matchedBy: 'platform' };
    }

    const snapshot = this.snapshot(name);
    if (snapshot) return snapshot;

    const fineTune = /^ft:([^:]+)(?::|$)/.exec(name);
    if (fineTune?.[1]) {
      // A fine-tune is billed at its base model's fine-tuned inference price when the catalog has one.
      const base = fineTune[1];
      const tuned = this.direct(`ft:${base}`) ?? this.snapshot(`ft:${base}`) ?? this.lookup(base, depth + 1);
      if (tuned) return { entry: tuned.entry, matchedBy: 'fine-tune' };
    }
    return undefined;
  }

  /** How a name found after stripping a prefix matched: the inner rule when it says more than the stripping. */
  private keptKind(inner: MatchKind): MatchKind {
    const kept: MatchKind[] = ['snapshot', 'platform', 'deployment', 'fine-tune'];
    return kept.includes(inner) ? inner : 'prefix-stripped';
  }

  /** Strips snapshot suffixes one at a time, looking each shorter name up directly. */
  private snapshot(name: string): Match | undefined {
    let current = name;
    for (let step = 0; step < 3; step++) {
      const next = current.replace(SNAPSHOT_SUFFIX, '');
      if (next === current || next === '') return undefined;
      const match = this.direct(next);
      if (match) return { entry: match.entry, matchedBy: 'snapshot' };
      current = next;
    }
    return undefined;
  }
}

function stripPrefixes(name: string): string {
  let current = name;
  for (;;) {
    const slash = current.indexOf('/');
    if (slash <= 0 || !PREFIXES.has(current.slice(0, slash))) return current;
    current = current.slice(slash + 1);
  }
}

// "Today" is asked on every metered request; the UTC date only changes once a day.
let todayCache = { day: '', until: 0 };

function today(): string {
  const now = Date.now();
  if (now >= todayCache.until || now < todayCache.until - 86_400_000) {
    const day = new Date(now).toISOString().slice(0, 10);
    todayCache = { day, until: Date.parse(`${day}T00:00:00Z`) + 86_400_000 };
  }
  return todayCache.day;
}

function toDay(at: Date | string): string {
  if (at instanceof Date) {
    if (Number.isNaN(at.getTime())) throw new RangeError('priceSetAt: invalid date');
    return at.toISOString().slice(0, 10);
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(at)) return at;
  const parsed = new Date(at);
  if (Number.isNaN(parsed.getTime())) throw new RangeError(`priceSetAt: invalid date ${JSON.stringify(at)}`);
  return parsed.toISOString().slice(0, 10);
}
