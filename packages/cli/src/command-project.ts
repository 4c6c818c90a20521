import {
  cheapestModels,
  formatUsd,
  type PerTokenPricing,
  projectWorkload,
  type WorkloadProjection,
} from '@tokenmeter/core';
import type { Command } from 'commander';
import { CliInputError, parseCount, printJson, printLine, renderTable } from './output';
import {
  ASSUMED_INPUT_SHARE,
  addWorkloadOptions,
  assumeInputShare,
  count,
  splitPricing,
  type WorkloadOptions,
  workloadFromOptions,
} from './planner-options';

interface ProjectCommandOptions extends WorkloadOptions {
  model?: string;
  pricePerMillion?: string;
  inputPricePerMillion?: string;
  outputPricePerMillion?: string;
  cachedInputPricePerMillion?: string;
  months?: string;
  cheapest?: string | boolean;
  json?: boolean;
}

function pricingFrom(options: ProjectCommandOptions): PerTokenPricing | undefined {
  const split = splitPricing(options);
  const given = [options.model, options.pricePerMillion, split].filter((value) => value !== undefined);
  if (given.length > 1) {
    throw new CliInputError('Give one of --model, --price-per-million, or --input/--output-price-per-million');
  }
  if (options.model !== undefined) return { model: options.model };
  if (options.pricePerMillion !== undefined) return { pricePerMillion: options.pricePerMillion };
  return split;
}

async function action(options: ProjectCommandOptions): Promise<void> {
  const profile = workloadFromOptions(options);
  const pricing = pricingFrom(options);
  if (pricing !== undefined) profile.pricing = pricing;
  const splitAssumed = assumeInputShare(profile, pricing !== undefined && !('pricePerMillion' in pricing));
  const months = options.months === undefined ? 1 : parseCount(options.months, '--months');
  const projection = projectWorkload(profile, { months });
  if (profile.inputShare !== undefined) {
    projection.assumptions.unshift(
      splitAssumed
        ? `Split assumed: ${ASSUMED_INPUT_SHARE} of the tokens are input (not given; --input-share sets it).`
        : `Split: ${String(profile.inputShare)} of the tokens are input.`,
    );
  }
  const cheapestCount =
    typeof options.cheapest === 'string'
      ? parseCount(options.cheapest, '--cheapest')
      : options.cheapest === true
        ? 10
        : undefined;
  const cheapest = cheapestCount === undefined ? undefined : cheapestModels(profile, { count: cheapestCount });
  if (options.json) {
    printJson({
      ...projectionJson(projection),
      ...(cheapest === undefined
        ? {}
        : {
            cheapestModels: cheapest.map((model) => ({
              model: model.model,
              provider: model.provider,
              costPerMonth: model.costPerMonth.toString(),
              contextWindow: model.contextWindow,
            })),
          }),
    });
    return;
  }
  printText(projection);
  if (cheapest !== undefined) {
    printLine('');
    if (cheapest.length === 0) printLine('No catalog model with a known context window fits this request size.');
    else {
      printLine(`The ${cheapest.length} cheapest catalog models that fit this request size (month 1):`);
      printLine(
        renderTable(
          ['Model', 'Provider', 'Context', 'Cost/month'],
          cheapest.map((model) => [
            model.model,
            model.provider,
            model.contextWindow.toLocaleString('en-US'),
            formatUsd(model.costPerMonth),
          ]),
        ),
      );
    }
  }
}

export function projectionJson(projection: WorkloadProjection) {
  return {
    pricing: projection.pricing ?? null,
    priced: projection.priced,
    tokensPerMonth: projection.tokensPerMonth.toNumber(),
    tokensPerDay: projection.tokensPerDay.toNumber(),
    requestsPerMonth: count(projection.requestsPerMonth),
    costPerMonth: projection.costPerMonth?.toString() ?? null,
    costPerDay: projection.costPerDay?.toString() ?? null,
    months: projection.months.map((month) => ({
      month: month.month,
      requests: count(month.requests),
      inputTokens: count(month.inputTokens),
      cachedInputTokens: count(month.cachedInputTokens),
      outputTokens: count(month.outputTokens),
      tokens: month.tokens.toNumber(),
      tokensPerDay: month.tokensPerDay.toNumber(),
      cost: month.cost?.toString() ?? null,
      costPerDay: month.costPerDay?.toString() ?? null,
    })),
    total: { tokens: projection.total.tokens.toNumber(), cost: projection.total.cost?.toString() ?? null },
    assumptions: projection.assumptions,
  };
}

const whole = (value: { round(): bigint } | undefined) =>
  value === undefined
    ? '—'
    : value
        .round()
        .toString()
        .replace(/\B(?=(\d{3})+(?!\d))/g, ',');

function printText(projection: WorkloadProjection): void {
  const label = projection.pricing === undefined ? 'no price given' : projection.pricing.name;
  printLine(`Projection · ${label}`);
  printLine(
    renderTable(
      ['Month', 'Requests', 'Tokens', 'Tokens/day', 'Cost', 'Cost/day'],
      projection.months.map((month) => [
        String(month.month),
        whole(month.requests),
        whole(month.tokens),
        whole(month.tokensPerDay),
        month.cost === undefined ? '—' : formatUsd(month.cost),
        month.costPerDay === undefined ? '—' : formatUsd(month.costPerDay),
      ]),
    ),
  );
  if (projection.months.length > 1) {
    printLine(
      `Total over ${projection.months.length} months: ${whole(projection.total.tokens)} tokens` +
        (projection.total.cost === undefined ? '' : `, ${formatUsd(projection.total.cost)}`),
    );
  }
  if (projection.pricing !== undefined && !projection.priced) printLine('Cost: unknown (the model has no price)');
  for (const assumption of projection.assumptions) printLine(`· ${assumption}`);
}

export function register(program: Command): void {
  const command = program
    .command('project')
    .description('Project tokens and cost per day and per month for a workload, over months of growth.');
  addWorkloadOptions(command)
    .option('--tokens-per-month <n>', 'monthly token total (with --price-per-million, or --input/--output sizes)')
    .option('--model <model>', 'price with a catalog model')
    .option('--price-per-million <usd>', 'blended price in USD per million tokens')
    .option('--input-price-per-million <usd>', 'input price in USD per million tokens')
    .option('--output-price-per-million <usd>', 'output price in USD per million tokens')
    .option('--cached-input-price-per-million <usd>', 'cached-input price (default: the input price)')
    .option('--months <n>', 'months to project', '1')
    .option('--cheapest [n]', 'also list the n (10) cheapest catalog models that fit the request size')
    .option('--json', 'print JSON')
    .action(action);
}
