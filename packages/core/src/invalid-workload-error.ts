import { TokenmeterError } from './tokenmeter-error';

/** A workload profile that cannot be projected: a missing or contradictory volume, a negative size, a share that is not a percentage. */
export class InvalidWorkloadError extends TokenmeterError {
  constructor(message: string) {
    super('INVALID_WORKLOAD', message);
  }
}
