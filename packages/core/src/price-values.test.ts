import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatScaled } from './money';
import { normalizePerMillion, perTokenToPerMillion, priceProblem } from './price-values';

describe('perTokenToPerMillion', () => {
  it('moves the decimal point six places without float multiplication', () => {
    // 3.3e-6 × 1e6 in floats is 3.3000000000000003; Bedrock's published regional price is $3.30.
    expect(3.3e-6 * 1e6).not.toBe(3.3);
    expect(perTokenToPerMillion(3.3e-6)).toBe('3.3');
    expect(perTokenToPerMillion(2.5e-6)).toBe('2.5');
    expect(perTokenToPerMillion(1.25e-7)).toBe('0.125');
    expect(perTokenToPerMillion(2.25e-5)).toBe('22.5');
    expect(perTokenToPerMillion(1.875e-5)).toBe('18.75');
    expect(perTokenToPerMillion(2.8e-9)).toBe('0.0028');
    expect(perTokenToPerMillion(0)).toBe('0');
  });

  it('is exact for every per-token price with up to nine significant digits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 999_999_999 }), fc.integer({ min: 6, max: 15 }), (digits, places) => {
        // digits × 10^-places USD per token is digits × 10^(6 - places) per million, written exactly.
        const perToken = Number(`${digits}e-${places}`);
        expect(perTokenToPerMillion(perToken)).toBe(formatScaled(BigInt(digits), places - 6, true));
      }),
    );
  });

  it('drops binary representation noise beyond twelve significant digits', () => {
    expect(perTokenToPerMillion(3.0000000000000004e-7)).toBe('0.3');
    expect(normalizePerMillion(0.30000000000000004)).toBe('0.3');
  });

  it('keeps prices given as decimal strings exactly', () => {
    expect(normalizePerMillion('0.003625')).toBe('0.003625');
    expect(normalizePerMillion('2.50')).toBe('2.5');
  });
});

describe('priceProblem', () => {
  it('accepts non-negative numbers and decimal strings', () => {
    expect(priceProblem(0)).toBeUndefined();
    expect(priceProblem('1.5')).toBeUndefined();
  });

  it('names what is wrong with anything else', () => {
    expect(priceProblem(-1)).toMatch(/≥ 0/);
    expect(priceProblem('abc')).toMatch(/decimal price/);
    expect(priceProblem(null)).toMatch(/null/);
    expect(priceProblem(Number.NaN)).toMatch(/finite/);
  });
});
