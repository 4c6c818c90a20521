import { Money } from '@tokenmeter/core';
import { describe, expect, it } from 'vitest';
import { displayUsd } from './dashboard-format';

describe('displayUsd', () => {
  it('shows cents from a dollar up and four places below, trimmed to cents', () => {
    expect(displayUsd(Money.from('1234.5'))).toBe('$1,234.50');
    expect(displayUsd(Money.from('0.05'))).toBe('$0.05');
    expect(displayUsd(Money.from('0.0488'))).toBe('$0.0488');
    expect(displayUsd(Money.from('0.012'))).toBe('$0.012');
    // Half to even at the fourth place: 0.002887 → 0.0029.
    expect(displayUsd(Money.from('0.002887'))).toBe('$0.0029');
    expect(displayUsd(Money.from('-0.25'))).toBe('-$0.25');
  });

  it('keeps amounts below a hundredth of a cent visible instead of rounding them to zero', () => {
    expect(displayUsd(Money.from('0.00004'))).toBe('$0.00004');
    expect(displayUsd(Money.ZERO)).toBe('$0.00');
  });
});
