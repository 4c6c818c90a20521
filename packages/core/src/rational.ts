import { divideRoundHalfEven, formatScaled, Money, parseDecimal } from './money';

/**
 * An exact fraction of two bigints, for token and request counts.
 *
 * Growth, retry rates and cache shares make counts fractional (10 % growth on 350,000 tokens a day is
 * 385,000, but 10 % on 333 is 366.3), and a break-even volume is a quotient (8,333,333.33… tokens). Holding
 * them exactly means a money amount derived from them is rounded once, at 10^-18 USD, and nowhere else.
 */
export class Rational {
  static readonly ZERO = new Rational(0n, 1n);
  static readonly ONE = new Rational(1n, 1n);

  readonly numerator: bigint;
  /** Always positive. */
  readonly denominator: bigint;

  private constructor(numerator: bigint, denominator: bigint) {
    this.numerator = numerator;
    this.denominator = denominator;
  }

  static of(numerator: bigint | number, denominator: bigint | number = 1n): Rational {
    let n = BigInt(numerator);
    let d = BigInt(denominator);
    if (d === 0n) throw new RangeError('Rational: denominator is zero');
    if (d < 0n) {
      n = -n;
      d = -d;
    }
    const divisor = gcd(n < 0n ? -n : n, d);
    return divisor > 1n ? new Rational(n / divisor, d / divisor) : new Rational(n, d);
  }

  /** Reads a decimal string (`"0.1"`, `"1e6"`), a finite number (through its shortest decimal form) or a bigint. */
  static from(value: string | number | bigint | Rational): Rational {
    if (value instanceof Rational) return value;
    if (typeof value === 'bigint') return Rational.of(value);
    if (typeof value === 'number' && Number.isSafeInteger(value)) return Rational.of(BigInt(value));
    const text = typeof value === 'number' ? String(value) : value;
    const fraction = /^\s*([+-]?\d+)\s*\/\s*(\d+)\s*$/.exec(text);
    if (fraction) return Rational.of(BigInt(fraction[1] ?? '0'), BigInt(fraction[2] ?? '1'));
    // 30 places is far beyond any count or share a person types, and keeps parsing exact.
    return Rational.of(parseDecimal(text, 30), 10n ** 30n);
  }

  /** Dollars as a fraction (the amount is exact in atto-dollars). */
  static fromMoney(amount: Money): Rational {
    return Rational.of(amount.atto, 10n ** BigInt(Money.SCALE));
  }

  plus(other: Rational | number | bigint): Rational {
    const o = Rational.from(other);
    return Rational.of(
      this.numerator * o.denominator + o.numerator * this.denominator,
      this.denominator * o.denominator,
    );
  }

  minus(other: Rational | number | bigint): Rational {
    return this.plus(Rational.from(other).negate());
  }

  times(other: Rational | number | bigint): Rational {
    const o = Rational.from(other);
    return Rational.of(this.numerator * o.numerator, this.denominator * o.denominator);
  }

  dividedBy(other: Rational | number | bigint): Rational {
    const o = Rational.from(other);
    if (o.numerator === 0n) throw new RangeError('Rational: division by zero');
    return Rational.of(this.numerator * o.denominator, this.denominator * o.numerator);
  }

  /** Whole-number powers, for compounded growth. */
  pow(exponent: number): Rational {
    if (!Number.isSafeInteger(exponent) || exponent < 0) throw new RangeError('Rational.pow: exponent must be ≥ 0');
    return Rational.of(this.numerator ** BigInt(exponent), this.denominator ** BigInt(exponent));
  }

  negate(): Rational {
    return Rational.of(-this.numerator, this.denominator);
  }

  compare(other: Rational | number | bigint): -1 | 0 | 1 {
    const o = Rational.from(other);
    const left = this.numerator * o.denominator;
    const right = o.numerator * this.denominator;
    return left < right ? -1 : left > right ? 1 : 0;
  }

  equals(other: Rational | number | bigint): boolean {
    return this.compare(other) === 0;
  }

  isZero(): boolean {
    return this.numerator === 0n;
  }

  isNegative(): boolean {
    return this.numerator < 0n;
  }

  isInteger(): boolean {
    return this.denominator === 1n;
  }

  static max(a: Rational, b: Rational): Rational {
    return a.compare(b) >= 0 ? a : b;
  }

  static min(a: Rational, b: Rational): Rational {
    return a.compare(b) <= 0 ? a : b;
  }

  /** Rounds to a whole number, half to even. */
  round(): bigint {
    return divideRoundHalfEven(this.numerator, this.denominator);
  }

  /** Rounds up to a whole number (a limit that must not be exceeded). */
  ceil(): bigint {
    const quotient = this.numerator / this.denominator;
    return quotient * this.denominator < this.numerator ? quotient + 1n : quotient;
  }

  /** Rounds down to a whole number. */
  floor(): bigint {
    const quotient = this.numerator / this.denominator;
    return quotient * this.denominator > this.numerator ? quotient - 1n : quotient;
  }

  /** A decimal string with `places` places, half to even: `"8333333.33"`. */
  toDecimal(places = 2): string {
    const scale = 10n ** BigInt(places);
    return formatScaled(divideRoundHalfEven(this.numerator * scale, this.denominator), places, false);
  }

  /** `"25000000/3"`, or `"350000"` for a whole number: the exact value for JSON. */
  toFraction(): string {
    return this.denominator === 1n ? String(this.numerator) : `${this.numerator}/${this.denominator}`;
  }

  /** The nearest double, for charts and JSON counts; never fed back into money arithmetic. */
  toNumber(): number {
    if (this.denominator === 1n) return Number(this.numerator);
    return Number(this.toDecimal(12));
  }

  /** This many dollars as `Money`, rounded half to even at 10^-18 USD. */
  toMoney(): Money {
    return Money.fromAtto(divideRoundHalfEven(this.numerator * 10n ** BigInt(Money.SCALE), this.denominator));
  }

  /** `price` (USD per million tokens) × this many tokens, rounded once at 10^-18 USD. */
  costAt(pricePerMillion: Money): Money {
    return pricePerMillion.timesRatio(this.numerator, this.denominator * 1_000_000n);
  }

  /** `amount` × this factor, rounded once at 10^-18 USD. */
  timesMoney(amount: Money): Money {
    return amount.timesRatio(this.numerator, this.denominator);
  }

  toString(): string {
    return this.toFraction();
  }

  toJSON(): number {
    return this.toNumber();
  }
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a;
  let y = b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x === 0n ? 1n : x;
}
