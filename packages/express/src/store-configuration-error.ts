import { TokenmeterError } from '@tokenmeter/core';

/**
 * The store answered, but refuses this configuration: wrong or missing password (`NOAUTH`, `WRONGPASS`), no
 * permission, a database index it does not have, or a command it does not support (no Lua scripting). Unlike
 * an outage this does not heal by waiting, so it is thrown at startup instead of turning budgets off.
 */
export class StoreConfigurationError extends TokenmeterError {
  readonly store: string;
  /** The server's own words, e.g. `WRONGPASS invalid username-password pair or user is disabled.` */
  readonly reason: string;

  constructor(store: string, reason: string, hint: string, options: { cause?: unknown } = {}) {
    super('STORE_MISCONFIGURED', `The ${store} usage store refuses this configuration: ${reason} (${hint})`, options);
    this.store = store;
    this.reason = reason;
  }
}

/** The hint for a Redis error that no retry can fix, or undefined for one that may heal (an outage). */
export function redisConfigurationHint(message: string): string | undefined {
  if (/^NOAUTH\b/.test(message)) return 'Redis requires a password: put it in the URL, redis://:PASSWORD@host:port';
  if (/^WRONGPASS\b/.test(message) || /^ERR (invalid password|AUTH\b)/i.test(message)) {
    return 'check the user name and password in the Redis URL';
  }
  if (/^NOPERM\b/.test(message)) return "the Redis user's ACL does not allow the commands tokenmeter needs";
  if (/^ERR (DB index is out of range|invalid DB index|SELECT is not allowed)/i.test(message)) {
    return 'the database number in the Redis URL (redis://host:port/DB) does not exist on this server';
  }
  if (/^ERR unknown command\b/i.test(message)) {
    return 'this server does not support a command tokenmeter needs (Lua scripting with EVALSHA)';
  }
  return undefined;
}
