import {
  advise,
  analyzeSeries,
  comparePricing,
  compareScenarios,
  costCurve,
  type FlatRatePlan,
  flatRatePlan,
  formatUsd,
  inputShareFlip,
  type PerTokenPricing,
  type PricingComparison,
  parseDailySeries,
  parsePlans,
  renderTerminalChart,
  type ScenarioEffect,
  type SeriesAnalysis,
  type SplitFlip,
} from '@tokenmeter/core';
import type { Command } from 'commander';
import { CliInputError, parseCount, printJson, printLine, readInput, renderTable } from './output';
import {
  addWorkloadOptions,
  assumeInputShare,
  breakEvenJson,
  collect,
  parseScenario,
  splitPricing,
  violationJson,
  volumeJson,
  type WorkloadOptions,
  workloadFromOptions,
} from './planner-options';

interface CompareCommandOptions extends WorkloadOptions {
  series?: string;
  pricePerMillion: string[];
  model: string[];
  inputPricePerMillion?: string;
  outputPricePerMillion?: string;
  cachedInputPricePerMillion?: string;
  flat: string[];
  plans?: string;
  peakFactor?: string;
  budget?: string;
  seed?: string;
  samples?: string;
  scenario: string[];
  chart?: boolean;
  json?: boolean;
}

const WORKLOAD_FLAGS: Array<[keyof WorkloadOptions, string]> = [
  ['requestsPerDay', '--requests-per-day'],
  ['requestsPerMonth', '--requests-per-month'],
  ['conversationsPerDay', '--conversations-per-day'],
  ['users', '--users'],
  ['tokensPerMonth', '--tokens-per-month'],
  ['tokensPerDay', '--tokens-per-day'],
  ['inputShare', '--input-share'],
  ['growth', '--growth'],
  ['retries', '--retries'],
  ['contextGrowth', '--context-growth'],
];

type SplitNote = { share: string | number; assumed: boolean; flip: SplitFlip | undefined };

function percent(share: string | number): string {
  const text = String(share).trim();
  return text.endsWith('%') ? text.replace(/\s*%$/, ' %') : `${Math.round(Number(text) * 1000) / 10} %`;
}

/** What split the costs rest on, whether it was assumed, and at which input share the verdict turns. */
function splitSentence(split: SplitNote): string {
  const basis = split.assumed
    ? `Split assumed: ${percent(split.share)} input (not given; --input-share sets it).`
    : `Split: ${percent(split.share)} input.`;
  const flip = split.flip;
  if (flip === undefined) return basis;
  if (flip.share === undefined) return `${basis} ${flip.cheaperAboveShare} is cheaper at every split.`;
  const at = `${Math.round(flip.share.toNumber() * 1000) / 10} %`;
  return `${basis} ${flip.cheaperAboveShare} wins above ${at} input, ${flip.cheaperBelowShare} below.`;
}

function splitJson(split: SplitNote) {
  return {
    inputShare: String(split.share),
    assumed: split.assumed,
    flipsAtInputShare: split.flip?.share?.toNumber() ?? null,
    cheaperAboveShare: split.flip?.cheaperAboveShare ?? null,
    cheaperBelowShare: split.flip?.cheaperBelowShare ?? null,
  };
}

async function action(options: CompareCommandOptions): Promise<void> {
  const perToken: PerTokenPricing[] = [
    ...options.pricePerMillion.map((price) => ({ pricePerMillion: price })),
    ...options.model.map((model) => ({ model })),
  ];
  const separatePrices = splitPricing(options);
  if (separatePrices !== undefined) perToken.push(separatePrices);
  const plans: FlatRatePlan[] = options.flat.map((fee) => flatRatePlan(fee.replace(/^\$/, '')));
  if (options.plans !== undefined) plans.push(...parsePlans(await readInput(options.plans)));
  const peakFactor = options.peakFactor ?? '3';
  const common = { perToken, plans, peakFactor };

  let comparison: PricingComparison;
  let atP95: PricingComparison | undefined;
  let analysis: SeriesAnalysis | undefined;
  let scenarios: ScenarioEffect[] = [];
  let split: SplitNote | undefined;
  if (options.series !== undefined) {
    const used = WORKLOAD_FLAGS.filter(([key]) => options[key] !== undefined).map(([, flag]) => flag);
    if (used.length > 0) throw new CliInputError(`--series measures the workload: drop ${used.join(', ')}`);
    if (options.scenario.length > 0) throw new CliInputError('--scenario needs a described workload, not --series');
    analysis = analyzeSeries(parseDailySeries(await readInput(options.series)), {
      plans,
      peakFactor,
      daysPerMonth: parseCount(options.days ?? '30', '--days'),
      ...(options.budget === undefined ? {} : { budget: options.budget.replace(/^\$/, '') }),
      ...(options.seed === undefined ? {} : { seed: parseCount(options.seed, '--seed') }),
      ...(options.samples === undefined ? {} : { samples: parseCount(options.samples, '--samples') }),
    });
    comparison = comparePricing({
      ...common,
      volume: analysis.volumeP50,
      measured: { name: 'measured per-token', cost: analysis.nextMonth.p50 },
    });
    atP95 = comparePricing({
      ...common,
      volume: analysis.volumeP95,
      measured: { name: 'measured per-token', cost: analysis.nextMonth.p95 },
    });
  } else {
    if (options.budget !== undefined) throw new CliInputError('--budget needs --series (a measured history)');
    const workload = workloadFromOptions(options);
    const splitAssumed = assumeInputShare(
      workload,
      perToken.some((pricing) => !('pricePerMillion' in pricing)),
    );
    comparison = comparePricing({ ...common, workload });
    if (workload.inputShare !== undefined) {
      split = {
        share: workload.inputShare,
        assumed: splitAssumed,
        flip: inputShareFlip({ ...common, workload }, comparison),
      };
    }
    if (options.scenario.length > 0) {
      scenarios = compareScenarios({ ...common, workload }, options.scenario.map(parseScenario));
    }
  }
  const advice = advise(comparison, analysis === undefined ? {} : { analysis });
  const curve = options.chart ? costCurve(comparison) : undefined;

  if (options.json) {
    const p95Costs = new Map(atP95?.options.map((option) => [option.name, option]) ?? []);
    printJson({
      volume: volumeJson(comparison.volume),
      peakFactor: comparison.peakFactor.toNumber(),
      options: comparison.options.map((option) => ({
        name: option.name,
        kind: option.kind,
        costPerMonth: option.costPerMonth?.toString() ?? null,
        ...(atP95 === undefined
          ? {}
          : { costPerMonthP95: p95Costs.get(option.name)?.costPerMonth?.toString() ?? null }),
        priced: option.priced,
        feasible: option.feasible,
        ...(atP95 === undefined ? {} : { feasibleP95: p95Costs.get(option.name)?.feasible ?? null }),
        violations: option.violations.map(violationJson),
        unchecked: option.unchecked ?? [],
      })),
      cheapest: comparison.cheapest ?? null,
      ...(atP95 === undefined ? {} : { cheapestP95: atP95.cheapest ?? null }),
      breakEven: comparison.breakEven.map(breakEvenJson),
      advice: {
        cheapest: advice.cheapest ?? null,
        runnerUp: advice.runnerUp ?? null,
        savings: advice.savings?.toString() ?? null,
        flipsAtTokensPerMonth: advice.flipsAt?.tokensPerMonth.toNumber() ?? null,
        predictability: advice.predictability,
        sentence: advice.sentence,
      },
      ...(split === undefined ? {} : { split: splitJson(split) }),
      ...(analysis === undefined ? {} : seriesJson(analysis)),
      ...(scenarios.length === 0 ? {} : { scenarios: scenarios.map(scenarioJson) }),
      ...(curve === undefined ? {} : { chart: curve }),
    });
    return;
  }

  const requests = comparison.volume.requests;
  printLine(
    `Compared at ${whole(comparison.volume.tokens)} tokens/month` +
      (requests === undefined ? '' : ` (${whole(requests)} requests)`) +
      (analysis === undefined ? '' : ', the p50 of the measured series'),
  );
  const p95Costs = new Map(atP95?.options.map((option) => [option.name, option]) ?? []);
  printLine(
    renderTable(
      ['Option', 'Kind', 'Cost/month', ...(atP95 ? ['At p95'] : []), 'Carries it'],
      comparison.options.map((option) => [
        option.name,
        option.kind,
        option.costPerMonth === undefined ? '—' : formatUsd(option.costPerMonth),
        ...(atP95 ? [usd(p95Costs.get(option.name)?.costPerMonth)] : []),
        option.feasible ? 'yes' : 'NO',
      ]),
    ),
  );
  printLine(`Cheapest: ${comparison.cheapest ?? 'none (no priced option carries this workload)'}`);
  for (const option of comparison.options) {
    for (const violation of option.violations) printLine(`  ${option.name}: ${violation.message}`);
    if (option.unchecked !== undefined) {
      printLine(`  ${option.name}: ${option.unchecked.join(', ')} not checked (give requests, not only tokens)`);
    }
  }
  if (split !== undefined) printLine(splitSentence(split));
  if (comparison.breakEven.length > 0) {
    printLine('Break-even:');
    for (const entry of comparison.breakEven) printLine(`  ${entry.sentence}`);
  }
  if (analysis !== undefined) {
    printLine(
      `Next month (measured, ${analysis.days} days): p50 ${formatUsd(analysis.nextMonth.p50)}, p95 ${formatUsd(analysis.nextMonth.p95)}` +
        (analysis.volatility === undefined ? '' : `, daily cost varies ${Math.round(analysis.volatility * 100)}%`) +
        (analysis.budget === undefined
          ? ''
          : `, ${Math.round(analysis.budget.probabilityOver * 100)}% chance of exceeding ${formatUsd(analysis.budget.amount)}`),
    );
    printLine(`Confidence ${analysis.confidence}: ${analysis.confidenceNote}`);
  }
  for (const effect of scenarios) {
    printLine(`Scenario — ${effect.label}:`);
    for (const entry of effect.perToken) {
      printLine(`  ${entry.name}: ${usd(entry.base)} → ${usd(entry.scenario)} (${usd(entry.change, true)})`);
    }
    for (const entry of effect.plans) {
      const limits = entry.feasible ? '' : ` — ${entry.violations.map((violation) => violation.message).join('; ')}`;
      printLine(`  ${entry.name}: ${usd(entry.base)} → ${usd(entry.scenario)} (${usd(entry.change, true)})${limits}`);
    }
  }
  printLine(advice.sentence);
  if (curve !== undefined) {
    printLine('');
    printLine(renderTerminalChart(curve));
  }
}

function usd(amount: Parameters<typeof formatUsd>[0] | undefined, signed = false): string {
  return amount === undefined ? '—' : formatUsd(amount, { signed });
}

const whole = (value: { round(): bigint }) =>
  value
    .round()
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');

function seriesJson(analysis: SeriesAnalysis) {
  return {
    p50: analysis.nextMonth.p50.toString(),
    p95: analysis.nextMonth.p95.toString(),
    series: {
      days: analysis.days,
      from: analysis.from,
      to: analysis.to,
      meanDailyCost: analysis.meanDailyCost.toString(),
      volatility: analysis.volatility ?? null,
      trendApplied: analysis.trendApplied,
      trendPerDay: analysis.trendPerDay?.toString() ?? null,
      samples: analysis.samples,
      seed: analysis.seed,
      p50: analysis.nextMonth.p50.toString(),
      p95: analysis.nextMonth.p95.toString(),
      mean: analysis.nextMonth.mean.toString(),
      tokensP50: analysis.nextMonth.tokensP50.toNumber(),
      tokensP95: analysis.nextMonth.tokensP95.toNumber(),
      budget:
        analysis.budget === undefined
          ? null
          : { amount: analysis.budget.amount.toString(), probabilityOver: analysis.budget.probabilityOver },
      plans: analysis.plans.map((plan) => ({
        plan: plan.plan,
        p50: plan.p50.cost.toString(),
        p95: plan.p95.cost.toString(),
        feasibleP50: plan.p50.feasible,
        feasibleP95: plan.p95.feasible,
        cheaperThanPerTokenAtP50: plan.cheaperThanPerTokenAtP50,
        cheaperThanPerTokenAtP95: plan.cheaperThanPerTokenAtP95,
      })),
      confidence: analysis.confidence,
      confidenceNote: analysis.confidenceNote,
    },
  };
}

function scenarioJson(effect: ScenarioEffect) {
  return {
    scenario: effect.scenario,
    label: effect.label,
    perToken: effect.perToken.map((entry) => ({
      name: entry.name,
      base: entry.base?.toString() ?? null,
      scenario: entry.scenario?.toString() ?? null,
      change: entry.change?.toString() ?? null,
    })),
    plans: effect.plans.map((entry) => ({
      name: entry.name,
      base: entry.base.toString(),
      scenario: entry.scenario.toString(),
      change: entry.change.toString(),
      feasible: entry.feasible,
      violations: entry.violations.map(violationJson),
    })),
  };
}

export function register(program: Command): void {
  const command = program
    .command('compare')
    .description('Pay per token or a flat-rate plan? Monthly cost, limits, break-even volume and advice.');
  addWorkloadOptions(command)
    .option('--tokens-per-month <n>', 'monthly token total (instead of requests)')
    .option('--series <file>', 'measured daily usage (CSV or JSON from the middleware); "-" reads standard input')
    .option('--price-per-million <usd>', 'a per-token option: blended USD per million tokens (repeatable)', collect, [])
    .option('--model <model>', 'a per-token option: a catalog model (repeatable)', collect, [])
    .option('--input-price-per-million <usd>', 'a per-token option with separate input …')
    .option('--output-price-per-million <usd>', '… and output prices')
    .option('--cached-input-price-per-million <usd>', 'its cached-input price (default: the input price)')
    .option('--flat <usd>', 'a flat-rate option: monthly fee, no quota, no limits (repeatable)', collect, [])
    .option('--plans <file>', 'flat-rate plans (YAML or JSON: fee, quotas, overage, rate limits, models)')
    .option('--peak-factor <n>', 'busiest minute ÷ average minute, for rate limits', '3')
    .option('--budget <usd>', 'with --series: the chance next month exceeds this')
    .option('--seed <n>', 'with --series: bootstrap seed (same seed, same result)')
    .option('--samples <n>', 'with --series: bootstrap months drawn (5000)')
    .option('--scenario <spec>', 'spike:3:2 (×3 for 2 days), retries:20%, context:500 (repeatable)', collect, [])
    .option('--chart', 'draw monthly cost against volume, break-even marked')
    .option('--json', 'print JSON')
    .action(action);
}
