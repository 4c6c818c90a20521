import { TokenmeterError } from './tokenmeter-error';

/** A flat-rate plan file that does not describe plans: bad YAML/JSON, a missing name or fee, a negative quota. */
export class InvalidPlanError extends TokenmeterError {
  constructor(message: string) {
    super('INVALID_PLAN', message);
  }
}
