import { TokenmeterError } from '@tokenmeter/core';

/** `dashboardRouter()` was given options it cannot use; thrown once, when the router is created. */
export class InvalidDashboardOptionsError extends TokenmeterError {
  constructor(message: string) {
    super('INVALID_DASHBOARD_OPTIONS', `Invalid dashboard options: ${message}`);
  }
}
