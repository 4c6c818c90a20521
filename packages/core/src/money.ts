import { InvalidMoneyError } from './invalid-money-error';

/**
 * Exact US-dollar amounts.
 *
 * Prices run from $0.05 to $75 per million tokens, so one token of the cheapest model costs
 * $0.00000005 and a month of traffic is a sum of millions of such amounts. Binary floating point cannot
 * hold either exactly, so an amount is a bigint count of atto-dollars (10^-18 USD). A price per million
 * tokens with up to 12 decimal places then gives an exact cost for any whole number of tokens, and sums
 * are exact however many terms they have. Only division (averages, projections, break-even) rounds, half
 * to even, and says so in its name.
 */
export class Money {
  /** Decimal places held exactly. */
  static readonly SCALE = 18;
  private static readonly UNIT = 10n ** 18n;
  static readonly ZERO = new Money(0n);

  private constructor(
    /** The amount in atto-dollars (10^-18 USD). */
    readonly atto: bigint,
  ) {}

  static fromAtto(atto: bigint): Money {
    return atto === 0n ? Money.ZERO : new Money(atto);
  }

  /**
   * Parses a plain decimal string (`"2.50"`, `"-0.000003"`, `"1e-7"`). Numbers are accepted only when they
   * are safe integers or come from a JSON feed, and are read through their shortest round-trip decimal form,
   * never multiplied as floats.
   */
  static from(value: string | number | bigint | Money): Money {
    if (value instanceof Money) return value;
    if (typeof value === 'bigint') return Money.fromAtto(value * Money.UNIT);
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new InvalidMoneyError(String(value));
      return Money.fromAtto(parseDecimal(numberToDecimalString(value), Money.SCALE));
    }
    return Money.fromAtto(parseDecimal(value, Money.SCALE));
  }

  static sum(amounts: Iterable<Money>): Money {
    let total = 0n;
    for (const amount of amounts) total += amount.atto;
    return Money.fromAtto(total);
  }

  static max(a: Money, b: Money): Money {
    return a.atto >= b.atto ? a : b;
  }

  static min(a: Money, b: Money): Money {
    return a.atto <= b.atto ? a : b;
  }

  plus(other: Money): Money {
    return Money.fromAtto(this.atto + other.atto);
  }

  minus(other: Money): Money {
    return Money.fromAtto(this.atto - other.atto);
  }

  /** Multiplies by a whole number (a token count, a request count): always exact. */
  times(count: number | bigint): Money {
    return Money.fromAtto(this.atto * toBigInt(count));
  }

  /** Multiplies by a decimal factor (`"1.1"` for +10 %), rounding half to even at 10^-18. */
  timesDecimal(factor: string | number): Money {
    const scaled = parseDecimal(typeof factor === 'number' ? numberToDecimalString(factor) : factor, Money.SCALE);
    return Money.fromAtto(divideRoundHalfEven(this.atto * scaled, Money.UNIT));
  }

  /** Multiplies by numerator / denominator, rounding half to even at 10^-18. */
  timesRatio(numerator: number | bigint, denominator: number | bigint): Money {
    const d = toBigInt(denominator);
    if (d === 0n) throw new RangeError('Money.timesRatio: denominator is zero');
    return Money.fromAtto(divideRoundHalfEven(this.atto * toBigInt(numerator), d));
  }

  /** Divides by a whole number, rounding half to even at 10^-18. */
  dividedBy(count: number | bigint): Money {
    return this.timesRatio(1n, count);
  }

  /** How many times `other` fits in this amount, as a decimal string with `places` places (half to even). */
  ratioTo(other: Money, places = 6): string {
    if (other.atto === 0n) throw new RangeError('Money.ratioTo: division by zero');
    const scale = 10n ** BigInt(places);
    return formatScaled(divideRoundHalfEven(this.atto * scale, other.atto), places, false);
  }

  compare(other: Money): -1 | 0 | 1 {
    return this.atto < other.atto ? -1 : this.atto > other.atto ? 1 : 0;
  }

  equals(other: Money): boolean {
    return this.atto === other.atto;
  }

  isZero(): boolean {
    return this.atto === 0n;
  }

  isNegative(): boolean {
    return this.atto < 0n;
  }

  negate(): Money {
    return Money.fromAtto(-this.atto);
  }

  abs(): Money {
    return this.atto < 0n ? this.negate() : this;
  }

  /** Rounds to `places` decimal places, half to even. */
  round(places: number): Money {
    const step = 10n ** BigInt(Money.SCALE - places);
    return Money.fromAtto(divideRoundHalfEven(this.atto, step) * step);
  }

  /** Rounds up (toward +∞) to `places` decimal places: for reservations that must never be short. */
  ceil(places: number): Money {
    const step = 10n ** BigInt(Money.SCALE - places);
    const quotient = this.atto / step;
    const exact = quotient * step === this.atto;
    return Money.fromAtto((exact || this.atto < 0n ? quotient : quotient + 1n) * step);
  }

  /** The exact amount as a plain decimal string without trailing zeros: `"157.5"`, `"0.0000035"`. */
  toString(): string {
    return formatScaled(this.atto, Money.SCALE, true);
  }

  /** Rounded (half to even) to a fixed number of places: `toFixed(2)` → `"157.50"`. */
  toFixed(places: number): string {
    return formatScaled(divideRoundHalfEven(this.atto, 10n ** BigInt(Money.SCALE - places)), places, false);
  }

  /** A number for charts and metrics only; never feed it back into money arithmetic. */
  toNumber(): number {
    return Number(this.toString());
  }

  toJSON(): string {
    return this.toString();
  }
}

/** Formats a human-readable dollar amount: `$157.50`, `-$0.0042`, keeping small amounts visible. */
export function formatUsd(amount: Money, options: { signed?: boolean } = {}): string {
  const negative = amount.isNegative();
  const magnitude = amount.abs();
  let digits: string;
  if (magnitude.isZero() || magnitude.compare(Money.from('0.01')) >= 0) {
    digits = groupThousands(magnitude.toFixed(2));
  } else {
    // Below a cent, show enough places that the amount does not read as zero.
    digits = magnitude.toFixed(6).replace(/0+$/, '');
    if (digits.endsWith('.')) digits = `${digits}00`;
    if (/^0\.0*$/.test(digits)) digits = '<0.000001';
  }
  const sign = negative ? '-' : options.signed && !magnitude.isZero() ? '+' : '';
  return `${sign}$${digits}`;
}

function groupThousands(fixed: string): string {
  const [whole = '0', fraction] = fixed.split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

/** Parses a decimal string into an integer scaled by 10^scale; rejects more precision than it can hold. */
export function parseDecimal(input: string, scale: number): bigint {
  // The form tokenmeter itself writes (`"0.0000054"`, every event's cost) is read without a regular expression.
  const point = input.indexOf('.');
  if (
    isDigits(input, 0, point === -1 ? input.length : point) &&
    (point === -1 || isDigits(input, point + 1, input.length))
  ) {
    const fraction = point === -1 ? '' : input.slice(point + 1);
    if (fraction.length <= scale) {
      const whole = point === -1 ? input : input.slice(0, point);
      return BigInt(whole + fraction + '0'.repeat(scale - fraction.length));
    }
  }
  const text = input.trim();
  const match = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match || (match[2] === '' && (match[3] === undefined || match[3] === ''))) {
    throw new InvalidMoneyError(input);
  }
  const [, sign, whole = '', fraction = '', exponentText] = match;
  const exponent = exponentText === undefined ? 0 : Number(exponentText);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 1000) throw new InvalidMoneyError(input);
  let digits = (whole + fraction).replace(/^0+(?=\d)/, '');
  // The value is digits × 10^(exponent − fraction.length); scale it by 10^scale.
  const shift = exponent - fraction.length + scale;
  if (shift >= 0) {
    digits = digits + '0'.repeat(shift);
  } else {
    const dropped = digits.slice(Math.max(0, digits.length + shift));
    if (/[1-9]/.test(dropped)) {
      throw new InvalidMoneyError(input, `more than ${scale} decimal places`);
    }
    digits = digits.slice(0, Math.max(0, digits.length + shift)) || '0';
  }
  const value = BigInt(digits || '0');
  return sign === '-' ? -value : value;
}

/** True when `text[from, to)` is one or more ASCII digits. */
function isDigits(text: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let index = from; index < to; index++) {
    const code = text.charCodeAt(index);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

/** The shortest decimal string that round-trips to `value` (what `JSON.stringify` prints), without exponent. */
export function numberToDecimalString(value: number): string {
  if (!Number.isFinite(value)) throw new InvalidMoneyError(String(value));
  const text = String(value);
  if (!/e/i.test(text)) return text;
  const scaled = parseDecimal(text, 40);
  return formatScaled(scaled, 40, true);
}

/** Formats an integer scaled by 10^scale as a decimal string. */
export function formatScaled(value: bigint, scale: number, trimZeros: boolean): string {
  const negative = value < 0n;
  let digits = (negative ? -value : value).toString();
  if (digits.length <= scale) digits = '0'.repeat(scale + 1 - digits.length) + digits;
  const point = digits.length - scale;
  // Every event's cost is formatted once: a character loop, not a regular expression, trims the zeros.
  let end = digits.length;
  if (trimZeros) while (end > point && digits.charCodeAt(end - 1) === 48) end--;
  const body = end > point ? `${digits.slice(0, point)}.${digits.slice(point, end)}` : digits.slice(0, point);
  // A negative bigint is never zero, so its digits always hold a non-zero one: the sign always stays.
  return negative ? `-${body}` : body;
}

/** Integer division rounding half to even (banker's rounding), for any signs. */
export function divideRoundHalfEven(numerator: bigint, denominator: bigint): bigint {
  if (denominator === 0n) throw new RangeError('division by zero');
  if (denominator < 0n) return divideRoundHalfEven(-numerator, -denominator);
  const quotient = numerator / denominator; // truncates toward zero
  const remainder = numerator - quotient * denominator;
  if (remainder === 0n) return quotient;
  const twice = (remainder < 0n ? -remainder : remainder) * 2n;
  const direction = numerator < 0n ? -1n : 1n;
  if (twice > denominator) return quotient + direction;
  if (twice < denominator) return quotient;
  return quotient % 2n === 0n ? quotient : quotient + direction;
}

function toBigInt(value: number | bigint): bigint {
  if (typeof value === 'bigint') return value;
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`expected a whole number of units, got ${value}`);
  }
  return BigInt(value);
}

/** Decimal places a price per million tokens may carry: 12 keeps the cost of every whole token exact. */
export const PRICE_DECIMALS = 12;

/** Parses a USD-per-million-tokens price; more than 12 decimal places is an error, not a silent rounding. */
export function parsePricePerMillion(value: string | number): Money {
  const text = typeof value === 'number' ? numberToDecimalString(value) : value;
  return Money.fromAtto(parseDecimal(text, PRICE_DECIMALS) * 10n ** BigInt(Money.SCALE - PRICE_DECIMALS));
}

/** The cost of `tokens` tokens at `pricePerMillion` USD per million tokens: exact for catalog prices. */
export function costOfTokens(pricePerMillion: Money, tokens: number | bigint): Money {
  // Most buckets of most requests are empty (no cache, no reasoning): skip the bigint work for them.
  if (tokens === 0 || tokens === 0n) return Money.ZERO;
  return pricePerMillion.timesRatio(tokens, 1_000_000n);
}
