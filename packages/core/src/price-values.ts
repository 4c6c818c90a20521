import { divideRoundHalfEven, formatScaled, numberToDecimalString, PRICE_DECIMALS, parseDecimal } from './money';

// Feeds store prices as binary floats; a value such as 3.0000000000000004e-6 is representation noise, not a
// price anyone published. Twelve significant digits keep every real price and drop that noise.
const SIGNIFICANT_DIGITS = 12;
// Enough places for the smallest per-token price in either feed (about 1e-10 USD) with room to spare.
const WORK_SCALE = 40;

/** Why a value is not a price, or undefined when it is one. */
export function priceProblem(value: unknown): string | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return `expected a finite number, got ${String(value)}`;
    if (value < 0) return `expected a price ≥ 0, got ${value}`;
    return undefined;
  }
  if (typeof value === 'string') {
    if (!/^\s*\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(value)) {
      return `expected a decimal price such as "2.50", got ${JSON.stringify(value.slice(0, 40))}`;
    }
    return undefined;
  }
  return `expected a decimal price such as "2.50", got ${value === null ? 'null' : typeof value}`;
}

function scaled(value: number | string): bigint {
  return parseDecimal(typeof value === 'number' ? numberToDecimalString(value) : value, WORK_SCALE);
}

function dropFloatNoise(value: bigint): bigint {
  const digits = (value < 0n ? -value : value).toString();
  if (digits.length <= SIGNIFICANT_DIGITS) return value;
  const step = 10n ** BigInt(digits.length - SIGNIFICANT_DIGITS);
  return divideRoundHalfEven(value, step) * step;
}

/** Formats an integer scaled by 10^places, kept to PRICE_DECIMALS places so `parsePricePerMillion` takes it. */
function finish(value: bigint, places: number): string {
  const rounded = divideRoundHalfEven(value, 10n ** BigInt(places - PRICE_DECIMALS));
  return formatScaled(rounded, PRICE_DECIMALS, true);
}

/**
 * A per-token USD price (LiteLLM's floats) as a per-million decimal string. The float is read through its
 * shortest round-trip decimal text and the point moved six places in integer arithmetic, so 2.5e-6 becomes
 * exactly "2.5", never 2.4999999999999996.
 */
export function perTokenToPerMillion(value: number | string): string {
  // value × 10^40 is the per-million price × 10^34.
  return finish(dropFloatNoise(scaled(value)), WORK_SCALE - 6);
}

/** A per-million price from a feed or a user's file (number or decimal string) as a canonical decimal string. */
export function normalizePerMillion(value: number | string): string {
  return finish(dropFloatNoise(scaled(value)), WORK_SCALE);
}

const PRICE_FIELDS = [
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

/** The same prices with fields in one fixed order, so generated JSON and printed entries read alike. */
export function orderPriceFields<T extends Partial<Record<(typeof PRICE_FIELDS)[number], string>>>(prices: T): T {
  const ordered: Partial<Record<(typeof PRICE_FIELDS)[number], string>> = {};
  for (const field of PRICE_FIELDS) {
    const value = prices[field];
    if (value !== undefined) ordered[field] = value;
  }
  return ordered as T;
}
