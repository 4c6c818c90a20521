import { InvalidWorkloadError } from './invalid-workload-error';
import { Rational } from './rational';
import type { MonthVolume, PerTokenPricing, Quantity, Share, WorkloadProfile } from './types';

/** A workload with every figure parsed into an exact fraction and every default filled in. */
export interface NormalizedWorkload {
  /** Requests in the first month before retries; absent when only a token total is known. */
  requestsPerMonth?: Rational;
  /** The first month's token total, before retries, when no per-request sizes are known. */
  tokensPerMonth?: Rational;
  /** With `tokensPerMonth`: the share of it that is input, when given. */
  inputShare?: Rational;
  inputTokensPerRequest?: Rational;
  outputTokensPerRequest?: Rational;
  pricing?: PerTokenPricing;
  cacheHitShare: Rational;
  retryRate: Rational;
  contextGrowthPerMonth: Rational;
  monthlyGrowth: Rational;
  daysPerMonth: number;
  spikes: Array<{ multiplier: Rational; days: number }>;
}

export const DEFAULT_DAYS_PER_MONTH = 30;
const MINUTES_PER_DAY = 1440;

/** Parses `"10%"`, `"0.1"` or `0.1` into an exact fraction; negative shares are an error. */
export function parseShare(value: Share, field: string, options: { max?: number } = {}): Rational {
  const text = typeof value === 'number' ? String(value) : value.trim();
  let share: Rational;
  try {
    share = text.endsWith('%') ? Rational.from(text.slice(0, -1).trim()).dividedBy(100) : Rational.from(text);
  } catch {
    throw new InvalidWorkloadError(
      `${field} must be a decimal (0.1) or a percentage ("10%"), got ${JSON.stringify(value)}`,
    );
  }
  if (share.isNegative()) throw new InvalidWorkloadError(`${field} must not be negative, got ${JSON.stringify(value)}`);
  if (options.max !== undefined && share.compare(options.max) > 0) {
    throw new InvalidWorkloadError(`${field} must be at most ${options.max * 100}%, got ${JSON.stringify(value)}`);
  }
  return share;
}

/** Parses a non-negative count or size (`1000`, `"312.5"`, `"1_000"`, `"1,000"`). */
export function parseQuantity(value: Quantity, field: string): Rational {
  let quantity: Rational;
  try {
    quantity = Rational.from(typeof value === 'number' ? value : value.replace(/[,_]/g, ''));
  } catch {
    throw new InvalidWorkloadError(`${field} must be a number ≥ 0, got ${JSON.stringify(value)}`);
  }
  if (quantity.isNegative())
    throw new InvalidWorkloadError(`${field} must not be negative, got ${JSON.stringify(value)}`);
  return quantity;
}

/** Validates a workload profile: exactly one volume, sizes where they are needed, shares in range. */
export function normalizeWorkload(profile: WorkloadProfile): NormalizedWorkload {
  if (profile === null || typeof profile !== 'object') throw new InvalidWorkloadError('A workload must be an object');
  const days = profile.daysPerMonth ?? DEFAULT_DAYS_PER_MONTH;
  if (!Number.isInteger(days) || days < 1 || days > 31) {
    throw new InvalidWorkloadError(`daysPerMonth must be a whole number from 1 to 31, got ${JSON.stringify(days)}`);
  }
  const sources = (
    [
      'requestsPerDay',
      'requestsPerMonth',
      'conversationsPerDay',
      'conversationsPerMonth',
      'users',
      'tokensPerMonth',
      'tokensPerDay',
    ] as const
  ).filter((key) => profile[key] !== undefined);
  if (sources.length === 0) {
    throw new InvalidWorkloadError(
      'A workload needs a volume: requestsPerDay, requestsPerMonth, conversationsPerDay, conversationsPerMonth, users with requestsPerUser, tokensPerDay or tokensPerMonth',
    );
  }
  if (sources.length > 1) throw new InvalidWorkloadError(`Give one volume, not ${sources.join(' and ')}`);
  const input =
    profile.inputTokensPerRequest === undefined
      ? undefined
      : parseQuantity(profile.inputTokensPerRequest, 'inputTokensPerRequest');
  const output =
    profile.outputTokensPerRequest === undefined
      ? undefined
      : parseQuantity(profile.outputTokensPerRequest, 'outputTokensPerRequest');
  if ((input === undefined) !== (output === undefined)) {
    throw new InvalidWorkloadError('Give both inputTokensPerRequest and outputTokensPerRequest, or neither');
  }
  const source = sources[0];
  let requestsPerMonth: Rational | undefined;
  let tokensPerMonth: Rational | undefined;
  if (source === 'requestsPerDay' || source === 'conversationsPerDay') {
    requestsPerMonth = parseQuantity(profile[source] as Quantity, source).times(days);
  } else if (source === 'requestsPerMonth' || source === 'conversationsPerMonth') {
    requestsPerMonth = parseQuantity(profile[source] as Quantity, source);
  } else if (source === 'users') {
    if (profile.requestsPerUser === undefined)
      throw new InvalidWorkloadError('users needs requestsPerUser (per month)');
    requestsPerMonth = parseQuantity(profile.users as Quantity, 'users').times(
      parseQuantity(profile.requestsPerUser, 'requestsPerUser'),
    );
  } else {
    const total =
      source === 'tokensPerDay'
        ? parseQuantity(profile.tokensPerDay as Quantity, 'tokensPerDay').times(days)
        : parseQuantity(profile.tokensPerMonth as Quantity, 'tokensPerMonth');
    if (input !== undefined && output !== undefined) {
      const perRequest = input.plus(output);
      if (perRequest.isZero()) throw new InvalidWorkloadError('A request of zero tokens cannot carry tokensPerMonth');
      requestsPerMonth = total.dividedBy(perRequest);
    } else {
      tokensPerMonth = total;
    }
  }
  if (requestsPerMonth !== undefined && input === undefined) {
    throw new InvalidWorkloadError('A request volume needs inputTokensPerRequest and outputTokensPerRequest');
  }
  let inputShare: Rational | undefined;
  if (profile.inputShare !== undefined) {
    if (tokensPerMonth === undefined) {
      throw new InvalidWorkloadError(
        'inputShare goes with a token total (tokensPerDay or tokensPerMonth) and no per-request sizes: sizes already give the split',
      );
    }
    inputShare = parseShare(profile.inputShare, 'inputShare', { max: 1 });
  }
  const contextGrowth =
    profile.contextGrowthPerMonth === undefined
      ? Rational.ZERO
      : parseQuantity(profile.contextGrowthPerMonth, 'contextGrowthPerMonth');
  if (tokensPerMonth !== undefined && !contextGrowth.isZero()) {
    throw new InvalidWorkloadError('contextGrowthPerMonth needs per-request sizes (inputTokensPerRequest)');
  }
  const spikes = (profile.spikes ?? []).map((spike, index) => {
    const multiplier = parseQuantity(spike.multiplier, `spikes[${index}].multiplier`);
    if (!Number.isInteger(spike.days) || spike.days < 0 || spike.days > days) {
      throw new InvalidWorkloadError(`spikes[${index}].days must be a whole number from 0 to ${days}`);
    }
    return { multiplier, days: spike.days };
  });
  if (spikes.reduce((sum, spike) => sum + spike.days, 0) > days) {
    throw new InvalidWorkloadError('Spike days add up to more than a month');
  }
  return {
    ...(requestsPerMonth === undefined ? {} : { requestsPerMonth }),
    ...(tokensPerMonth === undefined ? {} : { tokensPerMonth }),
    ...(inputShare === undefined ? {} : { inputShare }),
    ...(input === undefined ? {} : { inputTokensPerRequest: input }),
    ...(output === undefined ? {} : { outputTokensPerRequest: output }),
    ...(profile.pricing === undefined ? {} : { pricing: profile.pricing }),
    cacheHitShare:
      profile.cacheHitShare === undefined
        ? Rational.ZERO
        : parseShare(profile.cacheHitShare, 'cacheHitShare', { max: 1 }),
    retryRate: profile.retryRate === undefined ? Rational.ZERO : parseShare(profile.retryRate, 'retryRate'),
    contextGrowthPerMonth: contextGrowth,
    monthlyGrowth:
      profile.monthlyGrowth === undefined ? Rational.ZERO : parseShare(profile.monthlyGrowth, 'monthlyGrowth'),
    daysPerMonth: days,
    spikes,
  };
}

/**
 * The traffic of month `month` (1 = the first): requests × (1 + growth)^(month − 1) × the spike factor ×
 * (1 + retry rate); input per request + context growth × (month − 1). All exact.
 */
export function monthVolume(workload: NormalizedWorkload, month = 1): MonthVolume {
  if (!Number.isInteger(month) || month < 1) throw new InvalidWorkloadError('month must be a whole number ≥ 1');
  const days = workload.daysPerMonth;
  const growth = Rational.ONE.plus(workload.monthlyGrowth).pow(month - 1);
  // Spike days replace ordinary days: (ordinary days + Σ multiplier × spike days) / days.
  const spikeDays = workload.spikes.reduce((sum, spike) => sum + spike.days, 0);
  const spikeVolume = workload.spikes.reduce(
    (sum, spike) => sum.plus(spike.multiplier.times(spike.days)),
    Rational.of(days - spikeDays),
  );
  const spikeFactor = spikeVolume.dividedBy(days);
  const peakMultiplier = workload.spikes.reduce(
    (peak, spike) => (spike.days > 0 ? Rational.max(peak, spike.multiplier) : peak),
    Rational.ONE,
  );
  const retries = Rational.ONE.plus(workload.retryRate);
  const factor = growth.times(spikeFactor).times(retries);
  // The busiest day is an ordinary day scaled by the largest spike.
  const peakDayFactor = growth.times(retries).times(peakMultiplier).dividedBy(days);

  if (workload.requestsPerMonth === undefined) {
    const tokens = (workload.tokensPerMonth ?? Rational.ZERO).times(factor);
    const volume: MonthVolume = {
      month,
      days,
      tokens,
      tokensPerDay: tokens.dividedBy(days),
      peakDayTokens: (workload.tokensPerMonth ?? Rational.ZERO).times(peakDayFactor),
    };
    if (workload.inputShare !== undefined) {
      volume.inputTokens = tokens.times(workload.inputShare);
      volume.cachedInputTokens = volume.inputTokens.times(workload.cacheHitShare);
      volume.outputTokens = tokens.minus(volume.inputTokens);
    }
    return volume;
  }
  const requests = workload.requestsPerMonth.times(factor);
  const inputPerRequest = (workload.inputTokensPerRequest ?? Rational.ZERO).plus(
    workload.contextGrowthPerMonth.times(month - 1),
  );
  const cachedPerRequest = inputPerRequest.times(workload.cacheHitShare);
  const outputPerRequest = workload.outputTokensPerRequest ?? Rational.ZERO;
  const tokensPerRequest = inputPerRequest.plus(outputPerRequest);
  const tokens = requests.times(tokensPerRequest);
  const peakDayRequests = workload.requestsPerMonth.times(peakDayFactor);
  return {
    month,
    days,
    requests,
    requestsPerDay: requests.dividedBy(days),
    inputTokens: requests.times(inputPerRequest),
    cachedInputTokens: requests.times(cachedPerRequest),
    outputTokens: requests.times(outputPerRequest),
    tokens,
    tokensPerDay: tokens.dividedBy(days),
    peakDayTokens: peakDayRequests.times(tokensPerRequest),
    peakDayRequests,
    perRequest: { inputTokens: inputPerRequest, cachedInputTokens: cachedPerRequest, outputTokens: outputPerRequest },
  };
}

/** The same month with its volume scaled so that it carries `tokens` tokens, the shape held fixed. */
export function scaleVolume(volume: MonthVolume, tokens: Rational): MonthVolume {
  if (volume.tokens.isZero()) throw new InvalidWorkloadError('Cannot scale a month of zero tokens');
  const factor = tokens.dividedBy(volume.tokens);
  const scale = (value: Rational | undefined) => (value === undefined ? undefined : value.times(factor));
  const scaled: MonthVolume = {
    ...volume,
    tokens,
    tokensPerDay: volume.tokensPerDay.times(factor),
    peakDayTokens: volume.peakDayTokens.times(factor),
  };
  for (const key of [
    'requests',
    'requestsPerDay',
    'inputTokens',
    'cachedInputTokens',
    'outputTokens',
    'peakDayRequests',
  ] as const) {
    const value = scale(volume[key]);
    if (value !== undefined) scaled[key] = value;
  }
  return scaled;
}

/** Average per minute over a day: daily volume / 1,440. */
export function perMinute(perDay: Rational): Rational {
  return perDay.dividedBy(MINUTES_PER_DAY);
}

export { MINUTES_PER_DAY };
