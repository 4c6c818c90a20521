import { TokenmeterError } from '@tokenmeter/core';

/** A `with:` input of the Action that cannot be used. */
export class ActionInputError extends TokenmeterError {
  constructor(input: string, message: string) {
    super('INVALID_ACTION_INPUT', `Input ${input}: ${message}`);
  }
}
