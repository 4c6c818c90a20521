import { TokenmeterError } from './tokenmeter-error';

/**
 * A provider usage payload that cannot be turned into billing buckets: a missing or non-numeric counter, a
 * negative or fractional count, an absurd value, or parts that exceed their total. Never replaced by a
 * silent zero, because a zero would under-bill without anyone noticing.
 */
export class InvalidUsageError extends TokenmeterError {
  /** Dotted path of the offending field, when one field is to blame (`usage.prompt_tokens`). */
  readonly field?: string;

  constructor(message: string, field?: string) {
    super('INVALID_USAGE', field === undefined ? `Invalid usage: ${message}` : `Invalid usage: ${field} ${message}`);
    if (field !== undefined) this.field = field;
  }
}
