/**
 * The generator's plausibility checks, kept apart from the feeds so tests can drive them with any rows.
 * Prices are compared as exact decimals (never floats): a batch price of exactly half passes, one
 * 10^-12 USD/M below half does not.
 */
import { PRICE_DECIMALS, parseDecimal } from '../src/money';
import type { CatalogEntry, PriceSet, TokenPrices } from '../src/types';

export interface CheckResult {
  /** The entries that ship (refused variants and aliases removed from them). */
  kept: CatalogEntry[];
  /** `row: reason` of each refused row. */
  refused: string[];
  /** `row: reason (accepted: why)` of each row that failed a check but is curated as right. */
  accepted: string[];
}

export const CORE_FIELDS: Array<keyof TokenPrices> = ['input', 'cachedInput', 'output'];

export function corePrices(entry: CatalogEntry): string {
  const latest = entry.prices[entry.prices.length - 1];
  return CORE_FIELDS.map((field) => latest?.standard[field] ?? '-').join('/');
}

export const STANDARD_FIELDS = [
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
export const VARIANT_NAMES = ['batch', 'flex', 'priority'] as const;

/** A price as an exact integer (12 decimal places), for comparisons that must not round. */
function exact(price: string): bigint {
  return parseDecimal(price, PRICE_DECIMALS);
}

type Problem = { row: string; reason: string };

/** Modes whose models write output tokens: a $0 output price there is a missing price, not a free one. */
const GENERATES = new Set(['chat', 'responses', 'completion', 'realtime']);

function ratioProblem(variant: string, base: string): string | undefined {
  const value = exact(variant);
  const reference = exact(base);
  if (reference === 0n) return undefined;
  if (value * 2n < reference) return `${variant} is below half of ${base}`;
  if (value > reference * 10n) return `${variant} is above 10× ${base}`;
  return undefined;
}

/** Batch and flex are discounts and priority a premium: a variant on the wrong side of standard is a typo. */
function directionProblem(variant: (typeof VARIANT_NAMES)[number], value: string, base: string): string | undefined {
  if (variant === 'priority') return exact(value) < exact(base) ? `${value} is below standard ${base}` : undefined;
  return exact(value) > exact(base) ? `${value} is above standard ${base}` : undefined;
}

function cacheProblems(prices: Partial<TokenPrices>, where: string): Problem[] {
  const problems: Problem[] = [];
  for (const [cached, input] of [
    ['cachedInput', 'input'],
    ['cachedInputAudio', 'inputAudio'],
  ] as const) {
    const read = prices[cached];
    const plain = prices[input];
    if (read !== undefined && plain !== undefined && exact(read) > exact(plain)) {
      problems.push({ row: where, reason: `cache read ${read} > ${input} ${plain}` });
    }
  }
  return problems;
}

/**
 * The plausibility checks. A row that fails one is left out (unknown is better than wrong) unless
 * `ACCEPTED` in curation.ts says why it is right; each refusal is printed for review.
 */
export function refuseImplausible(
  entries: CatalogEntry[],
  variantOf: ReadonlyMap<string, string>,
  accepted: Readonly<Record<string, string>>,
): CheckResult {
  const byId = new Map(entries.map((entry) => [entry.id, entry]));
  const refused: string[] = [];
  const kept: string[] = [];
  const refuse = (problem: Problem): boolean => {
    const reason = accepted[problem.row];
    if (reason) {
      kept.push(`${problem.row}: ${problem.reason} (accepted: ${reason})`);
      return false;
    }
    refused.push(`${problem.row}: ${problem.reason}`);
    return true;
  };
  const dropped = new Set<string>();
  for (const entry of entries) {
    for (const set of entry.prices) {
      const problems = [
        ...cacheProblems(set.standard, entry.id),
        ...(set.tiers ?? []).flatMap((tier) => cacheProblems(tier.prices, entry.id)),
      ];
      if (problems.some(refuse)) dropped.add(entry.id);
      for (const variant of VARIANT_NAMES) {
        const prices = set[variant];
        if (!prices) continue;
        const reasons = STANDARD_FIELDS.flatMap((field) => {
          const value = prices[field];
          const base = set.standard[field];
          const problem =
            value !== undefined && base !== undefined
              ? (ratioProblem(value, base) ?? directionProblem(variant, value, base))
              : undefined;
          return problem ? [`${variant} ${field} ${problem}`] : [];
        });
        if (reasons.length > 0 && refuse({ row: `${entry.id}#${variant}`, reason: reasons.join('; ') })) {
          delete set[variant];
        }
      }
    }
    const standard = latestSet(entry).standard;
    // Unknown is never zero: a row with no price at all (a router, a per-second model) would bill nothing.
    const nothing = standard.input === '0' && standard.output === '0' && !standard.inputAudio && !standard.outputAudio;
    const silent =
      GENERATES.has(entry.mode) && standard.output === '0' && standard.input !== '0' && !standard.outputAudio;
    if (nothing && refuse({ row: entry.id, reason: 'priced $0 for input and output' })) dropped.add(entry.id);
    if (silent && refuse({ row: entry.id, reason: `a ${entry.mode} model priced $0 for output` }))
      dropped.add(entry.id);
    const parentId = variantOf.get(entry.id);
    const parent = parentId ? byId.get(parentId) : undefined;
    if (parent) {
      const own = latestSet(entry).standard;
      const reference = latestSet(parent).standard;
      const problem = ratioProblem(own.input, reference.input) ?? ratioProblem(own.output, reference.output);
      if (problem && refuse({ row: entry.id, reason: `priced unlike ${parent.id}: ${problem}` })) {
        dropped.add(entry.id);
      }
    }
  }
  refuseStaleLatest(entries, dropped, refuse);
  return { kept: entries.filter((entry) => !dropped.has(entry.id)), refused, accepted: kept };
}

function latestSet(entry: CatalogEntry): PriceSet {
  return entry.prices[entry.prices.length - 1] as PriceSet;
}

/** Snapshot date of a name, as a sortable string: `-2024-08-06`, `-20240806`, Mistral's `-2512` (YYMM). */
export function snapshotDate(name: string, stem: string): string | undefined {
  if (!name.startsWith(`${stem}-`)) return undefined;
  const suffix = name.slice(stem.length + 1);
  if (/^\d{4}-\d{2}-\d{2}$/.test(suffix)) return suffix;
  if (/^\d{8}$/.test(suffix)) return `${suffix.slice(0, 4)}-${suffix.slice(4, 6)}-${suffix.slice(6)}`;
  if (/^\d{4}$/.test(suffix) && Number(suffix.slice(2)) <= 12) return `20${suffix.slice(0, 2)}-${suffix.slice(2)}`;
  return undefined;
}

/**
 * A `-latest` name must cost what its newest dated member costs; otherwise the `-latest` row is stale (the
 * feeds update dated rows first) and is refused, and the name becomes an alias of the newest member.
 */
function refuseStaleLatest(entries: CatalogEntry[], dropped: Set<string>, refuse: (problem: Problem) => boolean) {
  const named: Array<{ name: string; entry: CatalogEntry }> = entries.flatMap((entry) =>
    [entry.id, ...entry.aliases].map((name) => ({ name, entry })),
  );
  for (const entry of entries) {
    for (const name of [entry.id, ...entry.aliases]) {
      if (!name.endsWith('-latest')) continue;
      const stem = name.slice(0, -'-latest'.length);
      const newest = named
        .filter((candidate) => candidate.entry.provider === entry.provider)
        .map((candidate) => ({ ...candidate, date: snapshotDate(candidate.name, stem) }))
        .filter((candidate) => candidate.date !== undefined)
        .sort((a, b) => ((a.date ?? '') < (b.date ?? '') ? 1 : -1))[0];
      if (!newest || corePrices(newest.entry) === corePrices(entry)) continue;
      const problem = {
        row: name,
        reason: `${corePrices(entry)} differs from its newest dated member ${newest.name} (${corePrices(newest.entry)})`,
      };
      if (!refuse(problem)) continue;
      if (name === entry.id) dropped.add(entry.id);
      else entry.aliases = entry.aliases.filter((alias) => alias !== name);
      // The provider defines `-latest` as its newest snapshot: the name keeps resolving, at that snapshot's price.
      newest.entry.aliases = [...new Set([...newest.entry.aliases, name])].sort();
    }
  }
}
