import type {
  BreakEven,
  LimitViolation,
  MonthVolume,
  PerTokenPricing,
  Rational,
  Scenario,
  WorkloadProfile,
} from '@tokenmeter/core';
import { InvalidWorkloadError, normalizeWorkload } from '@tokenmeter/core';
import type { Command } from 'commander';
import { CliInputError, parseCount } from './output';

/** Options shared by `project` and `compare`: the workload and its per-token pricing. */
export interface WorkloadOptions {
  requestsPerDay?: string;
  requestsPerMonth?: string;
  conversationsPerDay?: string;
  users?: string;
  requestsPerUser?: string;
  tokensPerMonth?: string;
  tokensPerDay?: string;
  inputShare?: string;
  input?: string;
  output?: string;
  days?: string;
  growth?: string;
  cacheHit?: string;
  retries?: string;
  contextGrowth?: string;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function addWorkloadOptions(command: Command): Command {
  return command
    .option('--requests-per-day <n>', 'requests a day')
    .option('--requests-per-month <n>', 'requests a month')
    .option('--conversations-per-day <n>', 'conversations a day (tokens per conversation in --input/--output)')
    .option('--users <n>', 'active users a month (with --requests-per-user)')
    .option('--requests-per-user <n>', 'requests per user per month')
    .option('--tokens-per-day <n>', 'daily token total ("about 2M tokens a day"; with --input-share)')
    .option(
      '--input-share <share>',
      'with a token total: the share that is input (75%); assumed 75% when a model needs it',
    )
    .option('--input <n>', 'input tokens per request')
    .option('--output <n>', 'output tokens per request')
    .option('--days <n>', 'days in a billing month', '30')
    .option('--growth <share>', 'traffic growth per month, compounded (10% or 0.1)')
    .option('--cache-hit <share>', 'share of input tokens read from the prompt cache (40%)')
    .option('--retries <share>', 'extra requests from retries, billed in full (5%)')
    .option('--context-growth <n>', 'input tokens each request gains per month');
}

/** The workload profile the flags describe (the core validates the numbers and says what is wrong). */
export function workloadFromOptions(options: WorkloadOptions): WorkloadProfile {
  const profile: WorkloadProfile = { daysPerMonth: parseCount(options.days ?? '30', '--days') };
  const set = <K extends keyof WorkloadProfile>(key: K, value: WorkloadProfile[K] | undefined) => {
    if (value !== undefined) profile[key] = value;
  };
  set('requestsPerDay', options.requestsPerDay);
  set('requestsPerMonth', options.requestsPerMonth);
  set('conversationsPerDay', options.conversationsPerDay);
  set('users', options.users);
  set('requestsPerUser', options.requestsPerUser);
  set('tokensPerMonth', options.tokensPerMonth);
  set('tokensPerDay', options.tokensPerDay);
  set('inputShare', options.inputShare);
  set('inputTokensPerRequest', options.input);
  set('outputTokensPerRequest', options.output);
  set('monthlyGrowth', options.growth);
  set('cacheHitShare', options.cacheHit);
  set('retryRate', options.retries);
  set('contextGrowthPerMonth', options.contextGrowth);
  if (options.requestsPerUser !== undefined && options.users === undefined) {
    throw new CliInputError('--requests-per-user needs --users');
  }
  try {
    normalizeWorkload(profile);
  } catch (error) {
    // The core names the profile's fields; a person at a terminal typed flags.
    if (error instanceof InvalidWorkloadError) throw new CliInputError(withFlagNames(error.message));
    throw error;
  }
  return profile;
}

const FLAG_OF_FIELD: Record<string, string> = {
  requestsPerDay: '--requests-per-day',
  requestsPerMonth: '--requests-per-month',
  conversationsPerDay: '--conversations-per-day',
  requestsPerUser: '--requests-per-user',
  users: '--users',
  tokensPerMonth: '--tokens-per-month',
  tokensPerDay: '--tokens-per-day',
  inputShare: '--input-share',
  inputTokensPerRequest: '--input',
  outputTokensPerRequest: '--output',
  daysPerMonth: '--days',
  monthlyGrowth: '--growth',
  cacheHitShare: '--cache-hit',
  retryRate: '--retries',
  contextGrowthPerMonth: '--context-growth',
};
const FIELD_NAMES = new RegExp(`\\b(${Object.keys(FLAG_OF_FIELD).join('|')})\\b`, 'g');

/** A workload message with the profile's field names replaced by the flags that set them. */
export function withFlagNames(message: string): string {
  return message.replace(FIELD_NAMES, (field) => FLAG_OF_FIELD[field] ?? field);
}

/**
 * The input share assumed for a token total given without one, when a price needs the split (a catalog model
 * or separate input/output prices): three input tokens for every output token, typical of chat and retrieval
 * traffic. Said next to every result it shapes, with where the verdict turns.
 */
export const ASSUMED_INPUT_SHARE = '75%';

/** Fills in the assumed input share when the split is needed and unknown; true when it did. */
export function assumeInputShare(profile: WorkloadProfile, needsSplit: boolean): boolean {
  const tokenTotal = profile.tokensPerDay !== undefined || profile.tokensPerMonth !== undefined;
  const sized = profile.inputTokensPerRequest !== undefined;
  if (!needsSplit || !tokenTotal || sized || profile.inputShare !== undefined) return false;
  profile.inputShare = ASSUMED_INPUT_SHARE;
  return true;
}

/** Separate input/output prices from flags, when both are given. */
export function splitPricing(options: {
  inputPricePerMillion?: string;
  outputPricePerMillion?: string;
  cachedInputPricePerMillion?: string;
}): PerTokenPricing | undefined {
  const { inputPricePerMillion, outputPricePerMillion, cachedInputPricePerMillion } = options;
  if (inputPricePerMillion === undefined && outputPricePerMillion === undefined) {
    if (cachedInputPricePerMillion !== undefined) {
      throw new CliInputError(
        '--cached-input-price-per-million needs --input-price-per-million and --output-price-per-million',
      );
    }
    return undefined;
  }
  if (inputPricePerMillion === undefined || outputPricePerMillion === undefined) {
    throw new CliInputError('Give both --input-price-per-million and --output-price-per-million');
  }
  return {
    inputPricePerMillion,
    outputPricePerMillion,
    ...(cachedInputPricePerMillion === undefined ? {} : { cachedInputPricePerMillion }),
  };
}

/** `spike:3:2` (×3 for 2 days), `retries:20%`, `context:500` (tokens per request per month). */
export function parseScenario(text: string): Scenario {
  const [kind, first, second] = text.split(':');
  if (kind === 'spike' && first !== undefined && second !== undefined) {
    return { kind: 'spike', multiplier: first.replace(/x$/i, ''), days: parseCount(second, '--scenario spike days') };
  }
  if ((kind === 'retries' || kind === 'retry-storm') && first !== undefined && second === undefined) {
    return { kind: 'retry-storm', extraRequests: first };
  }
  if (kind === 'context' && first !== undefined) {
    return {
      kind: 'context-growth',
      tokensPerRequestPerMonth: first,
      ...(second === undefined ? {} : { months: parseCount(second, '--scenario context months') }),
    };
  }
  throw new CliInputError(
    `--scenario must be spike:MULTIPLIER:DAYS, retries:SHARE or context:TOKENS[:MONTHS], got ${JSON.stringify(text)}`,
  );
}

/** Counts for JSON: whole numbers stay exact, fractions become the nearest double. */
export const count = (value: Rational | undefined) => (value === undefined ? null : value.toNumber());

export function volumeJson(volume: MonthVolume) {
  return {
    month: volume.month,
    days: volume.days,
    requestsPerMonth: count(volume.requests),
    requestsPerDay: count(volume.requestsPerDay),
    inputTokens: count(volume.inputTokens),
    cachedInputTokens: count(volume.cachedInputTokens),
    outputTokens: count(volume.outputTokens),
    tokensPerMonth: volume.tokens.toNumber(),
    tokensPerDay: volume.tokensPerDay.toNumber(),
  };
}

export function violationJson(violation: LimitViolation) {
  return {
    limit: violation.limit,
    allowed: violation.allowed,
    peak: violation.peak.toNumber(),
    message: violation.message,
  };
}

export function breakEvenJson(entry: BreakEven) {
  return {
    between: entry.between,
    tokensPerMonth: entry.tokensPerMonth?.toNumber() ?? null,
    tokensPerMonthExact: entry.tokensPerMonth?.toFraction() ?? null,
    requestsPerMonth: count(entry.requestsPerMonth),
    never: entry.never,
    crossings: entry.crossings.map((crossing) => ({
      tokensPerMonth: crossing.tokensPerMonth.toNumber(),
      tokensPerMonthExact: crossing.tokensPerMonth.toFraction(),
      requestsPerMonth: count(crossing.requestsPerMonth),
      cheaperAbove: crossing.cheaperAbove,
      cheaperBelow: crossing.cheaperBelow,
      withinLimits: crossing.withinLimits,
    })),
    sentence: entry.sentence,
  };
}
