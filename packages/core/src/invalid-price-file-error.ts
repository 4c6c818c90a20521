import { TokenmeterError } from './tokenmeter-error';

/** A price file or feed that cannot be read as prices; the message names the entry and field at fault. */
export class InvalidPriceFileError extends TokenmeterError {
  /** Where the problem is, e.g. `models[2].input`; absent when the whole file is unreadable. */
  readonly path?: string;

  constructor(message: string, options: { path?: string; cause?: unknown } = {}) {
    super(
      'INVALID_PRICE_FILE',
      options.path ? `Invalid price file at ${options.path}: ${message}` : `Invalid price file: ${message}`,
      {
        cause: options.cause,
      },
    );
    if (options.path !== undefined) this.path = options.path;
  }
}
