import { TokenmeterError } from '@tokenmeter/core';

/** A budget window that cannot be counted: unknown kind or period, a bad duration, an unknown time zone. */
export class InvalidBudgetWindowError extends TokenmeterError {
  constructor(reason: string) {
    super('INVALID_BUDGET_WINDOW', `Invalid budget window: ${reason}.`);
  }
}
