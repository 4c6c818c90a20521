export { InvalidMoneyError } from './invalid-money-error';
export { costOfTokens, formatUsd, Money, parsePricePerMillion } from './money';
export { TokenmeterError } from './tokenmeter-error';
export type * from './types';
