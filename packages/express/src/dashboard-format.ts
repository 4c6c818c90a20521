import { formatUsd, Money } from '@tokenmeter/core';

const ONE_DOLLAR = Money.from(1);
const SMALLEST_SHOWN = Money.from('0.0001');

/**
 * Dollars for people: cents from $1 up; below, four decimal places (trailing zeros trimmed to cents) so
 * small AI amounts line up instead of mixing `$0.05` with `$0.002887`. The exact amount is in the JSON.
 */
export function displayUsd(amount: Money): string {
  const magnitude = amount.abs();
  if (magnitude.isZero() || magnitude.compare(ONE_DOLLAR) >= 0 || magnitude.compare(SMALLEST_SHOWN) < 0) {
    return formatUsd(amount);
  }
  const [whole = '0', fraction = ''] = magnitude.toFixed(4).split('.');
  const digits = `${whole}.${fraction.replace(/0+$/, '').padEnd(2, '0')}`;
  return `${amount.isNegative() ? '-' : ''}$${digits}`;
}
