import {
  type ActiveCatalog,
  catalogAgeDays,
  loadActiveCatalog,
  PRICE_FEED_URLS,
  PriceCatalog,
  priceCacheDirectory,
  staleCatalogWarning,
  updatePriceCache,
} from '@tokenmeter/core';
import type { Command } from 'commander';
import { formatPrice } from './command-models';
import { printJson, printLine } from './output';

const CHANGES_SHOWN = 20;

let active: ActiveCatalog | undefined;
let overrideSources: string[] = [];

/** The catalog this run prices with (see `useActiveCatalog`); the bundled one before the hook ran. */
export function activeCatalog(): ActiveCatalog | undefined {
  return active;
}

/** The `--prices` sources of this run as given (`ActiveCatalog.overrides` masks URL tokens for display). */
export function activeOverrides(): string[] {
  return overrideSources;
}

/**
 * Loads the catalog every command prices with — refreshed cache or bundled, `--prices` on top — and makes it
 * `PriceCatalog.default()` for this run, so commands and core functions that take no catalog use it too.
 * Warns on stderr when its prices are older than 60 days.
 */
export async function useActiveCatalog(prices: string[], options: { warn: boolean }): Promise<ActiveCatalog> {
  overrideSources = [...prices];
  active = await loadActiveCatalog({ prices });
  PriceCatalog.setDefault(active.catalog);
  if (options.warn) {
    for (const note of active.notes) process.stderr.write(`tokenmeter: note: ${note}\n`);
    const warning = staleCatalogWarning(active.generatedAt);
    if (warning) process.stderr.write(`tokenmeter: warning: ${warning}\n`);
  }
  return active;
}

/** Back to the bundled catalog: the CLI runs in-process in tests, one command after another. */
export function resetActiveCatalog(): void {
  active = undefined;
  overrideSources = [];
  PriceCatalog.setDefault(undefined);
}

/** One line that says which prices are in use, for `prices status` and the proxy's banner. */
export function describeCatalog(catalog: ActiveCatalog, now: Date = new Date()): string {
  const age = `${catalog.generatedAt}, ${catalogAgeDays(catalog.generatedAt, now)} days old`;
  const base =
    catalog.origin === 'cache'
      ? `refreshed prices from ${catalog.cache?.source} (${age}) over the bundled catalog (${catalog.bundledGeneratedAt})`
      : `the bundled catalog (${age})`;
  return catalog.overrides.length > 0 ? `${base}, overridden by ${catalog.overrides.join(', ')}` : base;
}

export function register(program: Command): void {
  const prices = program
    .command('prices')
    .description('Refresh the price catalog without a release, and say which prices are in use.');

  prices
    .command('update')
    .description(`Fetch, check and cache a newer catalog (in ${priceCacheDirectory()}; TOKENMETER_CACHE_DIR moves it)`)
    .option(
      '--from <source>',
      `litellm (${PRICE_FEED_URLS.litellm}), genai-prices, an http(s) URL or a file`,
      'litellm',
    )
    .option('--json', 'print JSON instead of text')
    .action(async (options: { from: string; json?: boolean }) => {
      const result = await updatePriceCache({ from: options.from });
      if (options.json) {
        printJson(result);
        return;
      }
      const { info } = result;
      printLine(
        result.status === 'updated'
          ? `Cached ${info.models.toLocaleString('en-US')} models from ${info.source} (prices of ${info.generatedAt}).`
          : `${info.source} is unchanged (HTTP 304): the cached prices are confirmed as of ${info.generatedAt}.`,
      );
      printLine(`Cache: ${result.path}`);
      if (result.changes.length > 0) {
        // Feeds are not curated: list what changes so a person can check it against the providers' pages.
        printLine(`${result.changes.length} bundled models are priced differently from ${info.generatedAt}:`);
        for (const change of result.changes.slice(0, CHANGES_SHOWN)) {
          printLine(
            `  ${change.id}: input ${formatPrice(change.before.input)} → ${formatPrice(change.after.input)}, output ${formatPrice(change.before.output)} → ${formatPrice(change.after.output)} per million`,
          );
        }
        if (result.changes.length > CHANGES_SHOWN) {
          printLine(`  … and ${result.changes.length - CHANGES_SHOWN} more (--json lists them all)`);
        }
      }
      const now = await loadActiveCatalog({});
      printLine(`Every command now prices with ${describeCatalog(now)}.`);
    });

  prices
    .command('status')
    .description('Which catalog is in use: its date, its source, the cache and the --prices overrides')
    .option('--json', 'print JSON instead of text')
    .action((options: { json?: boolean }) => {
      const catalog = active as ActiveCatalog;
      const warning = staleCatalogWarning(catalog.generatedAt);
      if (options.json) {
        printJson({
          origin: catalog.origin,
          generatedAt: catalog.generatedAt,
          ageDays: catalogAgeDays(catalog.generatedAt),
          stale: warning !== undefined,
          bundledGeneratedAt: catalog.bundledGeneratedAt,
          cacheDirectory: priceCacheDirectory(),
          cache: catalog.cache ?? null,
          overrides: catalog.overrides,
          models: catalog.catalog.size,
          notes: catalog.notes,
        });
        return;
      }
      printLine(`Prices in use: ${describeCatalog(catalog)}.`);
      printLine(`Models: ${catalog.catalog.size.toLocaleString('en-US')}`);
      if (catalog.cache) {
        const etag = catalog.cache.etag ? `, ETag ${catalog.cache.etag}` : '';
        printLine(`Cache: ${catalog.cache.path} (fetched ${catalog.cache.fetchedAt}${etag})`);
      } else {
        printLine(`Cache: none in use (${priceCacheDirectory()})`);
      }
      for (const note of catalog.notes) printLine(`Note: ${note}`);
      if (warning) printLine(`Warning: ${warning}`);
    });
}
