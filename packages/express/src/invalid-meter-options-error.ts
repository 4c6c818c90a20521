import { TokenmeterError } from '@tokenmeter/core';

/** `meter()`, `meteredProxy()` or `startProxy()` was given options it cannot use; thrown once, at creation. */
export class InvalidMeterOptionsError extends TokenmeterError {
  /** The option path at fault, e.g. `budgets[1].limit`. */
  readonly option: string;

  constructor(option: string, message: string) {
    super('INVALID_METER_OPTIONS', `Invalid option ${option}: ${message}`);
    this.option = option;
  }
}
