import { type CatalogEntry, PriceCatalog } from '@tokenmeter/core';
import type { Command } from 'commander';
import { CliInputError, printJson, printLine, renderTable } from './output';

/** A price per million tokens for a table cell: at least two decimals, `—` when the model has none. */
export function formatPrice(value: string | undefined): string {
  if (value === undefined) return '—';
  const [whole = '0', fraction = ''] = value.split('.');
  return `$${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${fraction.padEnd(2, '0')}`;
}

export function formatTokens(value: number | undefined): string {
  return value === undefined ? '—' : value.toLocaleString('en-US');
}

function summary(catalog: PriceCatalog, entry: CatalogEntry) {
  const { standard } = catalog.priceSetAt(entry);
  return {
    id: entry.id,
    provider: entry.provider,
    mode: entry.mode,
    input: standard.input,
    cachedInput: standard.cachedInput ?? null,
    cacheWrite5m: standard.cacheWrite5m ?? null,
    cacheWrite1h: standard.cacheWrite1h ?? null,
    output: standard.output,
    contextWindow: entry.contextWindow ?? null,
    maxOutputTokens: entry.maxOutputTokens ?? null,
    aliases: entry.aliases,
  };
}

export function register(program: Command): void {
  program
    .command('models')
    .description('List the models in the price catalog with their current prices (USD per million tokens).')
    .option('--provider <provider>', 'only this provider (openai, anthropic, google, vertex, bedrock, azure, …)')
    .option('--json', 'print JSON instead of a table')
    .action((options: { provider?: string; json?: boolean }) => {
      const catalog = PriceCatalog.default();
      let entries = catalog.entries();
      if (options.provider !== undefined) {
        const wanted = options.provider.toLowerCase();
        entries = entries.filter((entry) => entry.provider === wanted);
        if (entries.length === 0) {
          const providers = [...new Set(catalog.entries().map((entry) => entry.provider))].sort();
          throw new CliInputError(`No models for provider "${options.provider}". Providers: ${providers.join(', ')}`);
        }
      }
      if (options.json) {
        printJson({ generatedAt: catalog.generatedAt, models: entries.map((entry) => summary(catalog, entry)) });
        return;
      }
      const rows = entries.map((entry) => {
        const { standard } = catalog.priceSetAt(entry);
        return [
          entry.id,
          entry.provider,
          formatPrice(standard.input),
          formatPrice(standard.output),
          formatPrice(standard.cachedInput),
          formatTokens(entry.contextWindow),
        ];
      });
      printLine(renderTable(['Model', 'Provider', 'Input', 'Output', 'Cache read', 'Context'], rows));
      printLine();
      printLine(`${entries.length} models · USD per million tokens · prices checked ${catalog.generatedAt}`);
    });
}
