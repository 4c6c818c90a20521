import { PriceCatalog, type PriceSet, type TokenPrices } from '@tokenmeter/core';
import type { Command } from 'commander';
import { formatPrice, formatTokens } from './command-models';
import { printJson, printLine, renderTable } from './output';

const BUCKETS: Array<[keyof TokenPrices, string]> = [
  ['input', 'Input'],
  ['cachedInput', 'Cache read'],
  ['cacheWrite5m', 'Cache write 5m'],
  ['cacheWrite1h', 'Cache write 1h'],
  ['output', 'Output'],
  ['reasoning', 'Reasoning'],
  ['inputAudio', 'Audio input'],
  ['cachedInputAudio', 'Audio cache read'],
  ['outputAudio', 'Audio output'],
];

function priceTable(set: PriceSet): string {
  const columns: Array<[string, Partial<TokenPrices>]> = [['Standard', set.standard]];
  for (const variant of ['batch', 'flex', 'priority'] as const) {
    const prices = set[variant];
    if (prices) columns.push([variant[0]?.toUpperCase() + variant.slice(1), prices]);
  }
  for (const tier of set.tiers ?? []) {
    columns.push([`${tier.comparison} ${formatTokens(tier.threshold)} tokens`, tier.prices]);
  }
  const rows = BUCKETS.filter(([bucket]) => columns.some(([, prices]) => prices[bucket] !== undefined)).map(
    ([bucket, label]) => [label, ...columns.map(([, prices]) => formatPrice(prices[bucket]))],
  );
  return renderTable(['Per million tokens', ...columns.map(([name]) => name)], rows);
}

export function register(program: Command): void {
  program
    .command('price')
    .description('Show a model’s full catalog entry: prices, cache, service tiers, long-context tiers, history.')
    .argument('<model>', 'model name as any provider or SDK spells it (gpt-4o, anthropic/claude-…, us.anthropic.…)')
    .option('--json', 'print JSON instead of text')
    .action((model: string, options: { json?: boolean }) => {
      const catalog = PriceCatalog.default();
      const resolved = catalog.resolve(model);
      const { entry } = resolved;
      const current = catalog.priceSetAt(entry);
      if (options.json) {
        printJson({ requested: resolved.requested, matchedBy: resolved.matchedBy, current, entry });
        return;
      }
      printLine(`${entry.id} (${entry.provider}${entry.displayName ? `, ${entry.displayName}` : ''})`);
      if (resolved.requested !== entry.id) printLine(`Resolved from "${resolved.requested}" (${resolved.matchedBy})`);
      if (entry.aliases.length > 0) printLine(`Aliases: ${entry.aliases.join(', ')}`);
      printLine(
        `Context window: ${formatTokens(entry.contextWindow)} tokens · max output: ${formatTokens(entry.maxOutputTokens)} tokens`,
      );
      printLine(
        `Tokenizer: ${entry.encoding ?? 'not published (offline token counts are estimates)'}${entry.deprecated ? ' · deprecated' : ''}`,
      );
      printLine(`Source: ${entry.sourceUrl} (checked ${entry.checkedAt})`);
      printLine();
      printLine(`Prices in USD from ${current.effectiveFrom}:`);
      printLine(priceTable(current));
      for (const tier of current.tiers ?? []) {
        const counted =
          tier.counts === 'all-input' ? 'input tokens (cache reads and writes included)' : 'uncached input tokens';
        const passes = tier.comparison === '>' ? 'exceed' : 'reach';
        printLine(
          `Long context: when a request's ${counted} ${passes} ${formatTokens(tier.threshold)}, the whole request is billed at the tier prices.`,
        );
      }
      const earlier = entry.prices.filter((set) => set !== current);
      if (earlier.length > 0) {
        printLine();
        printLine('Other price sets:');
        for (const set of earlier) {
          printLine(
            `  from ${set.effectiveFrom}: input ${formatPrice(set.standard.input)}, output ${formatPrice(set.standard.output)}${set.tiers ? ', with long-context tiers' : ''}`,
          );
        }
      }
    });
}
