import { TokenmeterError } from '@tokenmeter/core';
import type { BudgetRejection } from './budget-enforcer';

/**
 * An AI call was refused because a budget could not hold its maximum cost. Thrown by instrumented clients
 * in in-app mode; `budgetErrorHandler()` turns it into the same 429 response the proxy sends.
 */
export class BudgetExceededError extends TokenmeterError {
  readonly rejection: BudgetRejection;

  constructor(rejection: BudgetRejection) {
    super('BUDGET_EXCEEDED', rejection.message);
    this.rejection = rejection;
  }
}
