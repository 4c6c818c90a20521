import { TokenmeterError } from '@tokenmeter/core';

/**
 * The usage store could not answer and the failure policy is `closed`: the middleware answers 503 rather
 * than let a request through unmetered.
 */
export class StoreUnavailableError extends TokenmeterError {
  readonly store: string;

  constructor(store: string, options: { cause?: unknown } = {}) {
    super('STORE_UNAVAILABLE', `The ${store} usage store is unavailable.`, options);
    this.store = store;
  }
}
