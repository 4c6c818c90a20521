import {
  type CostResult,
  computeCost,
  formatUsd,
  type Money,
  normalizeUsage,
  PriceCatalog,
  type ServiceTier,
  type TokenBuckets,
  UnknownModelError,
  USAGE_FORMATS,
  type UsageFormat,
} from '@tokenmeter/core';
import type { Command } from 'commander';
import {
  CliInputError,
  EXIT_BAD_INPUT,
  parseCount,
  parseJsonInput,
  printJson,
  printLine,
  readInput,
  renderTable,
} from './output';

interface CostCommandOptions {
  model?: string;
  usage?: string;
  format?: string;
  provider?: string;
  input?: string;
  output?: string;
  cachedInput?: string;
  cacheWrite?: string;
  cacheWrite1h?: string;
  reasoning?: string;
  tier?: string;
  at?: string;
  json?: boolean;
}

const TIERS: readonly ServiceTier[] = ['standard', 'batch', 'flex', 'priority'];

const ROWS: Array<[keyof TokenBuckets, keyof NonNullable<CostResult['breakdown']>, string]> = [
  ['inputTokens', 'input', 'Input (uncached)'],
  ['cachedInputTokens', 'cachedInput', 'Cache read'],
  ['cacheWrite5mTokens', 'cacheWrite5m', 'Cache write 5m'],
  ['cacheWrite1hTokens', 'cacheWrite1h', 'Cache write 1h'],
  ['outputTokens', 'output', 'Output'],
  ['reasoningTokens', 'reasoning', 'Reasoning'],
  ['audioInputTokens', 'inputAudio', 'Audio input'],
  ['cachedAudioInputTokens', 'cachedInputAudio', 'Audio cache read'],
  ['audioOutputTokens', 'outputAudio', 'Audio output'],
];

/** Token buckets from `--input/--output/…`, where `--input` and `--output` are inclusive totals. */
export function bucketsFromCounts(options: CostCommandOptions): TokenBuckets {
  if (options.input === undefined || options.output === undefined) {
    throw new CliInputError('Give --usage FILE (or -), or both --input N and --output N.');
  }
  const input = parseCount(options.input, '--input');
  const output = parseCount(options.output, '--output');
  const cached = options.cachedInput === undefined ? 0 : parseCount(options.cachedInput, '--cached-input');
  const write5m = options.cacheWrite === undefined ? 0 : parseCount(options.cacheWrite, '--cache-write');
  const write1h = options.cacheWrite1h === undefined ? 0 : parseCount(options.cacheWrite1h, '--cache-write-1h');
  const reasoning = options.reasoning === undefined ? 0 : parseCount(options.reasoning, '--reasoning');
  const parts = cached + write5m + write1h;
  if (parts > input) {
    throw new CliInputError(
      `--input (${input}) counts all input tokens, so it must be at least --cached-input + --cache-write + --cache-write-1h (${parts}).`,
    );
  }
  if (reasoning > output) {
    throw new CliInputError(
      `--output (${output}) counts all output tokens, so it must be at least --reasoning (${reasoning}).`,
    );
  }
  return {
    inputTokens: input - parts,
    cachedInputTokens: cached,
    cacheWrite5mTokens: write5m,
    cacheWrite1hTokens: write1h,
    outputTokens: output - reasoning,
    reasoningTokens: reasoning,
  };
}

function parseFormat(value: string | undefined): UsageFormat | undefined {
  if (value === undefined) return undefined;
  if (!(USAGE_FORMATS as readonly string[]).includes(value)) {
    throw new CliInputError(`--format must be one of ${USAGE_FORMATS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as UsageFormat;
}

function parseTier(value: string | undefined): ServiceTier | undefined {
  if (value === undefined) return undefined;
  if (!(TIERS as readonly string[]).includes(value)) {
    throw new CliInputError(`--tier must be one of ${TIERS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as ServiceTier;
}

function parseDate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(new Date(value).getTime())) {
    throw new CliInputError(`--at must be a date like 2025-06-30, got ${JSON.stringify(value)}`);
  }
  return value.slice(0, 10);
}

const money = (amount: Money | undefined) => (amount === undefined ? null : amount.toString());

/** The JSON shape of a cost: money as exact decimal strings, `total: null` when unpriced. */
export function costJson(result: CostResult, requested: string, estimated: boolean) {
  return {
    model: result.model,
    requested,
    provider: result.provider ?? null,
    priced: result.priced,
    currency: result.currency,
    total: money(result.total),
    breakdown: result.breakdown
      ? Object.fromEntries(Object.entries(result.breakdown).map(([key, amount]) => [key, amount.toString()]))
      : null,
    usage: result.usage,
    tier: result.tier,
    tierApplied: result.tierApplied,
    longContextTier: result.longContextTier ?? null,
    pricesEffectiveFrom: result.pricesEffectiveFrom ?? null,
    estimated: result.estimated || estimated,
    notes: result.notes,
  };
}

async function action(options: CostCommandOptions): Promise<void> {
  const format = parseFormat(options.format);
  const tier = parseTier(options.tier);
  const at = parseDate(options.at);
  const countOptions = [
    options.input,
    options.output,
    options.cachedInput,
    options.cacheWrite,
    options.cacheWrite1h,
    options.reasoning,
  ];
  const catalog = PriceCatalog.default();
  let usage: TokenBuckets & { estimated?: boolean; serviceTier?: string; notes?: string[] };
  let model = options.model;
  if (options.usage !== undefined) {
    if (countOptions.some((value) => value !== undefined)) {
      throw new CliInputError('Give either --usage or the --input/--output counts, not both.');
    }
    const source = options.usage === '-' ? 'standard input' : options.usage;
    const payload = parseJsonInput(await readInput(options.usage), source);
    // The provider picks the dialect (xAI bills reasoning on top of completion_tokens): from --model when
    // given, else from the model the response names, read once without a provider to learn it.
    let provider = options.provider ?? (model === undefined ? undefined : catalog.tryResolve(model)?.entry.provider);
    if (model === undefined) {
      const named = normalizeUsage(payload, {
        ...(format === undefined ? {} : { format }),
        ...(options.provider === undefined ? {} : { provider: options.provider }),
      }).model;
      if (named === undefined) {
        throw new CliInputError('The response names no model (Bedrock Converse, bare usage objects): give --model.');
      }
      model = named;
      provider = options.provider ?? catalog.tryResolve(named)?.entry.provider;
    }
    usage = normalizeUsage(payload, {
      ...(format === undefined ? {} : { format }),
      ...(provider === undefined ? {} : { provider }),
    });
  } else {
    if (format !== undefined || options.provider !== undefined) {
      throw new CliInputError('--format and --provider only apply to --usage.');
    }
    if (model === undefined) throw new CliInputError('Give --model (it is optional only with --usage).');
    usage = bucketsFromCounts(options);
  }

  const result = computeCost(usage, model, {
    catalog,
    ...(tier === undefined ? {} : { tier }),
    ...(at === undefined ? {} : { at }),
  });
  if (!result.priced) {
    // Nothing could be priced: printing a table with an unknown total and exiting 0 would let a script read
    // the missing cost as $0. An unknown model is bad input (exit 2), with the nearest ids the catalog has.
    const error = new UnknownModelError(model, catalog.suggest(model));
    if (!options.json) throw error;
    // JSON readers still get what was read from the usage, next to the error that makes the run fail.
    printJson({
      error: { code: error.code, message: error.message, suggestions: error.suggestions },
      ...costJson(result, model, usage.estimated === true),
    });
    process.stderr.write(`tokenmeter: ${error.message}\n`);
    process.exitCode = EXIT_BAD_INPUT;
    return;
  }
  if (options.json) {
    printJson(costJson(result, model, usage.estimated === true));
    return;
  }
  printText(result, model);
}

function printText(result: CostResult, requested: string): void {
  const title = result.priced ? `${result.model} (${result.provider})` : requested;
  printLine(`${title}${result.priced && requested !== result.model ? ` · asked for "${requested}"` : ''}`);
  const rows = ROWS.filter(([bucket]) => (result.usage[bucket] ?? 0) > 0).map(([bucket, cost, label]) => {
    const amount = result.breakdown?.[cost];
    return [label, (result.usage[bucket] ?? 0).toLocaleString('en-US'), amount ? formatUsd(amount) : '—'];
  });
  printLine(renderTable(['Bucket', 'Tokens', 'Cost'], rows));
  if (result.total === undefined) {
    printLine('Total: unknown (model not in the catalog)');
  } else {
    printLine(`Total: ${formatUsd(result.total)} (exactly ${result.total.toString()} USD)`);
  }
  const facts: string[] = [];
  if (result.priced) facts.push(`prices from ${result.pricesEffectiveFrom}`);
  facts.push(`tier ${result.tierApplied}`);
  if (result.longContextTier) {
    facts.push(
      `long-context prices (${result.longContextTier.comparison} ${result.longContextTier.threshold.toLocaleString('en-US')} tokens)`,
    );
  }
  if (result.estimated) facts.push('estimated usage');
  printLine(facts.join(' · '));
  for (const note of result.notes) if (result.priced) printLine(`Note: ${note}`);
}

export function register(program: Command): void {
  program
    .command('cost')
    .description('Price one request: a provider usage object or response, or token counts.')
    .option(
      '--model <model>',
      'model name (gpt-4o, claude-sonnet-4-5, anthropic/…, bedrock ids); with --usage, defaults to the model the response names',
    )
    .option('--usage <file>', 'provider usage JSON or whole response; "-" reads standard input')
    .option('--format <format>', `usage shape, detected when absent: ${USAGE_FORMATS.join('|')}`)
    .option(
      '--provider <name>',
      "whose usage dialect to read (xai, deepseek, openai, …); default: the model's provider in the catalog",
    )
    .option('--input <n>', 'ALL input tokens, cached and cache-written included')
    .option('--output <n>', 'ALL output tokens, reasoning included')
    .option('--cached-input <n>', 'input tokens read from the prompt cache (part of --input)')
    .option('--cache-write <n>', 'input tokens written to the cache, 5-minute lifetime (part of --input)')
    .option('--cache-write-1h <n>', 'input tokens written to the cache, 1-hour lifetime (part of --input)')
    .option('--reasoning <n>', 'reasoning tokens (part of --output)')
    .option('--tier <tier>', 'service tier: batch|flex|priority (default standard)')
    .option('--at <date>', 'price as of this date (YYYY-MM-DD)')
    .option('--json', 'print JSON instead of text')
    .action(action);
}
