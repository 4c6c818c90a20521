import { TokenmeterError } from './tokenmeter-error';

/** A `.tokenmeter.yml` (or usage file) that cannot be used: the message names the field and what was wrong. */
export class InvalidConfigError extends TokenmeterError {
  /** The offending field as a path (`prompts[0].calls-per-month`), or `""` for the whole document. */
  readonly field: string;

  constructor(field: string, message: string, options: { cause?: unknown } = {}) {
    super('INVALID_CONFIG', field ? `Invalid config at ${field}: ${message}` : `Invalid config: ${message}`, options);
    this.field = field;
  }
}
