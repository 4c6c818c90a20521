import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { costOfTokens, formatUsd, Money, parsePricePerMillion } from './money';

describe('Money', () => {
  it('holds decimal amounts exactly', () => {
    expect(Money.from('0.1').plus(Money.from('0.2')).toString()).toBe('0.3');
    expect(Money.from('157.50').toString()).toBe('157.5');
    expect(Money.from('-0.000003').toString()).toBe('-0.000003');
    expect(Money.from(2.5e-6).toString()).toBe('0.0000025');
    expect(Money.from('1e-7').toString()).toBe('0.0000001');
  });

  it('prices tokens exactly: the essay workload at $2 and $15 per million', () => {
    // 500 conversations × (300 + 400) tokens × 30 days = 10,500,000 tokens.
    expect(costOfTokens(parsePricePerMillion('2'), 10_500_000).toString()).toBe('21');
    expect(costOfTokens(parsePricePerMillion('15'), 10_500_000).toString()).toBe('157.5');
    expect(costOfTokens(parsePricePerMillion('3'), 500_000).toString()).toBe('1.5');
  });

  it('sums ten million small costs to the last unit', () => {
    const price = parsePricePerMillion('0.05'); // the cheapest price on the market
    let total = Money.ZERO;
    for (let i = 0; i < 10_000_000; i++) total = total.plus(costOfTokens(price, 1));
    expect(total.toString()).toBe('0.5');
    expect(total.equals(costOfTokens(price, 10_000_000))).toBe(true);
  });

  it('rounds half to even', () => {
    expect(Money.from('0.125').toFixed(2)).toBe('0.12');
    expect(Money.from('0.135').toFixed(2)).toBe('0.14');
    expect(Money.from('-0.125').toFixed(2)).toBe('-0.12');
    expect(Money.from('10').dividedBy(3).toFixed(6)).toBe('3.333333');
    expect(Money.from('25').ratioTo(costOfTokens(parsePricePerMillion('3'), 1), 2)).toBe('8333333.33');
  });

  it('rejects what is not a finite decimal', () => {
    for (const bad of ['', 'abc', '1.2.3', 'NaN', '--1', '1e99999'])
      expect(() => Money.from(bad)).toThrow(/Invalid amount/);
    expect(() => Money.from(Number.POSITIVE_INFINITY)).toThrow();
    expect(() => parsePricePerMillion('0.0000000000001')).toThrow(/12 decimal places/);
  });

  it('formats dollars for people', () => {
    expect(formatUsd(Money.from('157.5'))).toBe('$157.50');
    expect(formatUsd(Money.from('1234567.891'))).toBe('$1,234,567.89');
    expect(formatUsd(Money.from('0.0042'), { signed: true })).toBe('+$0.0042');
    expect(formatUsd(Money.from('-12'))).toBe('-$12.00');
    expect(formatUsd(Money.ZERO)).toBe('$0.00');
  });

  describe('properties', () => {
    const decimal = fc
      .tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 18 }))
      .map(([units, places]) => {
        const text = units.toString();
        const negative = text.startsWith('-');
        const digits = (negative ? text.slice(1) : text).padStart(places + 1, '0');
        const body = places ? `${digits.slice(0, -places)}.${digits.slice(-places)}` : digits;
        return negative ? `-${body}` : body;
      });

    it('parses a decimal to its exact scaled integer', () => {
      fc.assert(
        fc.property(
          fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
          fc.integer({ min: 0, max: 18 }),
          (units, places) => {
            const text = units.toString();
            const negative = text.startsWith('-');
            const digits = (negative ? text.slice(1) : text).padStart(places + 1, '0');
            const decimal = `${negative ? '-' : ''}${places ? `${digits.slice(0, -places)}.${digits.slice(-places)}` : digits}`;
            expect(Money.from(decimal).atto).toBe(units * 10n ** BigInt(18 - places));
          },
        ),
      );
    });

    it('parses and prints back to the same value', () => {
      fc.assert(fc.property(decimal, (text) => Money.from(Money.from(text).toString()).equals(Money.from(text))));
    });

    it('prints the canonical form: no leading or trailing zeros, no "-0", fixed places when asked', () => {
      fc.assert(
        fc.property(decimal, fc.integer({ min: 0, max: 18 }), (text, places) => {
          const value = Money.from(text);
          expect(value.toString()).toMatch(value.isZero() ? /^0$/ : /^-?(0|[1-9]\d*)(\.\d*[1-9])?$/);
          const fixed = value.toFixed(places);
          expect(fixed).toMatch(places === 0 ? /^-?(0|[1-9]\d*)$/ : new RegExp(`^-?(0|[1-9]\\d*)\\.\\d{${places}}$`));
          expect(fixed.startsWith('-')).toBe(value.round(places).isNegative());
        }),
      );
    });

    it('addition is associative and commutative, subtraction undoes it', () => {
      fc.assert(
        fc.property(decimal, decimal, decimal, (a, b, c) => {
          const [x, y, z] = [Money.from(a), Money.from(b), Money.from(c)];
          expect(
            x
              .plus(y)
              .plus(z)
              .equals(x.plus(y.plus(z))),
          ).toBe(true);
          expect(x.plus(y).equals(y.plus(x))).toBe(true);
          expect(x.plus(y).minus(y).equals(x)).toBe(true);
        }),
      );
    });

    it('the cost of n tokens equals n single-token costs', () => {
      fc.assert(
        fc.property(
          decimal.filter((d) => !d.startsWith('-')),
          fc.integer({ min: 0, max: 5_000 }),
          (price, n) => {
            const perMillion = parsePricePerMillion(Money.from(price).round(12).toString());
            const single = costOfTokens(perMillion, 1);
            expect(costOfTokens(perMillion, n).equals(single.times(n))).toBe(true);
          },
        ),
      );
    });

    it('rounding stays within half a unit of the last place', () => {
      fc.assert(
        fc.property(decimal, fc.integer({ min: 0, max: 18 }), (text, places) => {
          const value = Money.from(text);
          const error = value.minus(value.round(places)).abs();
          const half = Money.fromAtto(10n ** BigInt(18 - places)).dividedBy(2);
          expect(error.compare(half)).toBeLessThanOrEqual(0);
        }),
      );
    });
  });
});
