import { TokenmeterError } from '@tokenmeter/core';

/** A usage query with a bad range, grouping, time zone or filter (the usage API answers 400). */
export class InvalidUsageQueryError extends TokenmeterError {
  constructor(reason: string) {
    super('INVALID_USAGE_QUERY', `Invalid usage query: ${reason}.`);
  }
}
