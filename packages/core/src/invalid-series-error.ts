import { TokenmeterError } from './tokenmeter-error';

/** A daily usage series that cannot be read: bad CSV/JSON, a missing column, a bad date or a duplicated day. */
export class InvalidSeriesError extends TokenmeterError {
  constructor(message: string) {
    super('INVALID_SERIES', message);
  }
}
