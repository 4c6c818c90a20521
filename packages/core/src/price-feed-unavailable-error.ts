import { TokenmeterError } from './tokenmeter-error';

/** A price feed that could not be fetched or read (network, HTTP status, missing file). */
export class PriceFeedUnavailableError extends TokenmeterError {
  readonly source: string;

  constructor(source: string, reason: string, options: { cause?: unknown } = {}) {
    super('PRICE_FEED_UNAVAILABLE', `Cannot load price feed ${source}: ${reason}`, options);
    this.source = source;
  }
}
