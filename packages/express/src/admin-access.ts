import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { InvalidMeterOptionsError } from './invalid-meter-options-error';

/** The smallest admin token accepted: shorter ones can be guessed online. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * Compares two secrets in time independent of where they differ (and of their lengths: both sides are
 * hashed to 32 bytes first).
 */
export function secretsEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token of `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

export interface AdminAccessOptions {
  /** Callers with `Authorization: Bearer <token>` may read. At least 16 characters. */
  token?: string;
  /** Anyone may read, without a token. Only for a private network or a demo. Default `false`. */
  open?: boolean;
}

/**
 * Who may read the admin surfaces (usage API, dashboard, `/metrics`): the bearer of the admin token,
 * compared in constant time; everyone when explicitly `open`; nobody otherwise.
 */
export function adminAuthorize(options: AdminAccessOptions): (req: Request) => boolean {
  const { token, open = false } = options;
  if (typeof open !== 'boolean') throw new InvalidMeterOptionsError('adminOpen', 'expected true or false');
  if (token !== undefined) {
    if (typeof token !== 'string' || token.length < MIN_ADMIN_TOKEN_LENGTH || /\s/.test(token)) {
      throw new InvalidMeterOptionsError(
        'adminToken',
        `expected a string of at least ${MIN_ADMIN_TOKEN_LENGTH} characters without spaces (e.g. openssl rand -hex 32)`,
      );
    }
  }
  if (open) return () => true;
  if (token === undefined) return () => false;
  return (req) => {
    const given = bearerToken(req);
    return given !== undefined && secretsEqual(given, token);
  };
}

/**
 * Express middleware refusing what `authorize` refuses: 401 (with `WWW-Authenticate: Bearer`) without
 * credentials, 403 with wrong ones. A throwing check refuses, like false.
 */
export function adminGuard(authorize: (req: Request) => boolean | Promise<boolean>): RequestHandler {
  return async (req, res, next) => {
    let allowed = false;
    try {
      allowed = (await authorize(req)) === true;
    } catch {
      allowed = false;
    }
    if (allowed) {
      next();
      return;
    }
    if (req.headers.authorization === undefined) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="tokenmeter"');
      res
        .status(401)
        .json({ error: { type: 'unauthorized', code: 'UNAUTHORIZED', message: 'Authentication required.' } });
    } else {
      res.status(403).json({ error: { type: 'forbidden', code: 'FORBIDDEN', message: 'Not allowed.' } });
    }
  };
}
