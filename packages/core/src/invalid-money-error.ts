import { TokenmeterError } from './tokenmeter-error';

/** A money amount or price that is not a plain finite decimal number. */
export class InvalidMoneyError extends TokenmeterError {
  readonly input: string;

  constructor(input: string, reason = 'not a finite decimal number') {
    super('INVALID_MONEY', `Invalid amount ${JSON.stringify(input.slice(0, 64))}: ${reason}.`);
    this.input = input;
  }
}
