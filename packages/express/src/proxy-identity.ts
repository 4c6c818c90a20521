import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { bearerToken, secretsEqual } from './admin-access';
import { sendError } from './error-response';
import { InvalidMeterOptionsError } from './invalid-meter-options-error';
import type { KeyStore, VirtualKeyRecord } from './key-store';
import type { Identity } from './meter-options';
import { isAnthropicRoute, resolveRoute } from './proxy-routes';
import { credentialFingerprint, modelAllowed, verifyVirtualKey } from './virtual-keys';

/** The real provider keys the proxy holds when clients present virtual keys. */
export interface ProviderKeys {
  /** Sent upstream as `Authorization: Bearer …` on OpenAI-compatible routes. */
  openai?: string;
  /** Sent upstream as `x-api-key: …` on Anthropic routes. */
  anthropic?: string;
}

/** How the standalone proxy decides who is calling. Everything is off by default: calls carry no user. */
export interface ProxyIdentityOptions {
  /**
   * Header naming the user, set by a gateway in front of the proxy that you trust to set it (clients must
   * not reach the proxy around it: see `gatewaySecret` / `trustedAddresses`). A request without it, or with
   * it twice, is refused with 400. Credential headers (`authorization`, `x-api-key`, `cookie`, …) are refused.
   */
  trustUserHeader?: string;
  /** Header naming the tenant, under the same rules. */
  trustTenantHeader?: string;
  /**
   * A secret the trusted gateway adds to every request (in `gatewaySecretHeader`); requests without it
   * get 401 and it is never forwarded upstream. At least 16 characters.
   */
  gatewaySecret?: string;
  /** Header carrying `gatewaySecret`. Default `x-tokenmeter-gateway-secret`. */
  gatewaySecretHeader?: string;
  /** Addresses the trusted gateway connects from (`10.0.0.5`, `::1`); requests from others get 401. */
  trustedAddresses?: string[];
  /**
   * Attribute each call to a fingerprint of the API key it carries (`key:sha256:<12 hex>`): usage per key
   * without storing any key. The client's key is forwarded upstream as it came.
   */
  userFromKey?: boolean;
  /**
   * Clients present virtual keys (`tm_…`, made by `tokenmeter keys create` / `createVirtualKey()`) instead of
   * provider keys; the proxy swaps in `providerKeys` upstream. An unknown or revoked key gets 401, a model
   * outside the key's list 403. Calls are attributed to the key's user and tenant.
   */
  virtualKeys?: KeyStore;
  /** The real keys used upstream with `virtualKeys`. */
  providerKeys?: ProviderKeys;
}

/** Headers that carry credentials: never an identity, since the identity is stored and shown. */
const CREDENTIAL_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'x-goog-api-key',
  'cookie',
]);

export interface IdentityGate {
  /** Runs before the metered proxy (mounted at `/v1`): checks, refuses or lets through. */
  middleware: RequestHandler;
  /** The identity established for a request by `middleware`. */
  identify(req: Request): Identity | undefined;
  /** The virtual key a request came with. */
  keyOf(req: Request): VirtualKeyRecord | undefined;
  /** Some identity rule is configured (the gate's `identify` is the proxy's). */
  readonly identifies: boolean;
}

function headerName(value: unknown, option: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value)) {
    throw new InvalidMeterOptionsError(option, 'expected an HTTP header name');
  }
  const name = value.toLowerCase();
  if (CREDENTIAL_HEADERS.has(name)) {
    throw new InvalidMeterOptionsError(
      option,
      `${name} carries credentials, which would be stored and shown as the identity; use virtualKeys (or userFromKey for a fingerprint of the key)`,
    );
  }
  return name;
}

function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

/** Decided on the canonical path, as the proxy routes it: `/V1//Messages` must not get the OpenAI key. */
function isAnthropic(req: Request): boolean {
  const queryAt = req.url.indexOf('?');
  const route = resolveRoute(req.method, queryAt === -1 ? req.url : req.url.slice(0, queryAt));
  return isAnthropicRoute(route.ok ? route.path : req.path, req.headers);
}

/**
 * An error in the shape of the provider the request was for, so its SDK raises its own error class
 * (AuthenticationError, PermissionDeniedError…). Anthropic: `{"type":"error","error":{"type","message"}}`
 * (https://docs.anthropic.com/en/api/errors); OpenAI: `{"error":{"message","type","param","code"}}`
 * (https://platform.openai.com/docs/guides/error-codes).
 */
function refuse(req: Request, res: Response, status: 400 | 401 | 403 | 413 | 502 | 503, code: string, message: string) {
  if (isAnthropic(req)) {
    const type =
      status === 401
        ? 'authentication_error'
        : status === 403
          ? 'permission_error'
          : status === 413
            ? 'request_too_large'
            : status >= 500
              ? 'api_error'
              : 'invalid_request_error';
    const body = JSON.stringify({ type: 'error', error: { type, message } });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
    return;
  }
  const type = status >= 500 ? 'server_error' : 'invalid_request_error';
  sendError(res, status, type, code, message);
}

function singleHeader(req: Request, name: string): { value?: string; repeated: boolean } {
  const values = req.headersDistinct[name];
  if (values === undefined || values.length === 0) return { repeated: false };
  if (values.length > 1) return { repeated: true };
  return { value: values[0], repeated: false };
}

/** The API key a client sent: `Authorization: Bearer …` (OpenAI SDKs) or `x-api-key` (Anthropic SDKs). */
function presentedCredential(req: Request): { value?: string; conflict: boolean } {
  const bearer = bearerToken(req);
  const apiKey = singleHeader(req, 'x-api-key');
  if (apiKey.repeated || req.headersDistinct.authorization?.length === 2) return { conflict: true };
  if (bearer !== undefined && apiKey.value !== undefined && bearer !== apiKey.value) return { conflict: true };
  const value = bearer ?? apiKey.value;
  return value === undefined ? { conflict: false } : { value, conflict: false };
}

function readRawBody(req: Request, limit: number): Promise<Buffer | 'too_large' | 'aborted'> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      resolve('too_large');
      return;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    let done = false;
    const finish = (result: Buffer | 'too_large' | 'aborted') => {
      if (done) return;
      done = true;
      resolve(result);
    };
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      length += chunk.length;
      if (length > limit) {
        chunks.length = 0;
        req.resume();
        finish('too_large');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => finish(Buffer.concat(chunks, length)));
    req.on('error', () => finish('aborted'));
    req.on('close', () => finish('aborted'));
  });
}

/** Checks the identity options once and returns the per-request gate. */
export function createIdentityGate(options: ProxyIdentityOptions, maxBodyBytes: number): IdentityGate {
  const userHeader = headerName(options.trustUserHeader, 'trustUserHeader');
  const tenantHeader = headerName(options.trustTenantHeader, 'trustTenantHeader');
  const secretHeader = headerName(options.gatewaySecretHeader ?? 'x-tokenmeter-gateway-secret', 'gatewaySecretHeader');
  const { gatewaySecret, virtualKeys, providerKeys, userFromKey = false } = options;
  if (gatewaySecret !== undefined && (typeof gatewaySecret !== 'string' || gatewaySecret.length < 16)) {
    throw new InvalidMeterOptionsError('gatewaySecret', 'expected a string of at least 16 characters');
  }
  if (secretHeader === userHeader || secretHeader === tenantHeader) {
    throw new InvalidMeterOptionsError('gatewaySecretHeader', 'must differ from the user and tenant headers');
  }
  let addresses: Set<string> | undefined;
  if (options.trustedAddresses !== undefined) {
    if (
      !Array.isArray(options.trustedAddresses) ||
      options.trustedAddresses.length === 0 ||
      !options.trustedAddresses.every((address) => typeof address === 'string' && address !== '')
    ) {
      throw new InvalidMeterOptionsError('trustedAddresses', 'expected a non-empty list of IP addresses');
    }
    addresses = new Set(options.trustedAddresses.map(normalizeAddress));
  }
  if (typeof userFromKey !== 'boolean') throw new InvalidMeterOptionsError('userFromKey', 'expected true or false');
  if (userFromKey && userHeader) {
    throw new InvalidMeterOptionsError('userFromKey', 'choose either userFromKey or trustUserHeader');
  }
  if (virtualKeys !== undefined) {
    for (const method of ['keyByHash', 'addKey', 'listKeys', 'revokeKey'] as const) {
      if (typeof (virtualKeys as unknown as Record<string, unknown>)[method] !== 'function') {
        throw new InvalidMeterOptionsError('virtualKeys', `expected a KeyStore (missing ${method}())`);
      }
    }
    if (userHeader || tenantHeader || userFromKey) {
      throw new InvalidMeterOptionsError(
        'virtualKeys',
        'a virtual key names its own user and tenant; drop trustUserHeader, trustTenantHeader and userFromKey',
      );
    }
    if (!providerKeys || (!providerKeys.openai && !providerKeys.anthropic)) {
      throw new InvalidMeterOptionsError(
        'providerKeys',
        'virtual keys need the real keys to call upstream with: { openai, anthropic } (e.g. OPENAI_API_KEY, ANTHROPIC_API_KEY)',
      );
    }
  } else if (providerKeys !== undefined) {
    throw new InvalidMeterOptionsError('providerKeys', 'provider keys are only used with virtualKeys');
  }

  const identities = new WeakMap<Request, Identity>();
  const keys = new WeakMap<Request, VirtualKeyRecord>();

  const middleware = async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    if (addresses && !addresses.has(normalizeAddress(req.socket.remoteAddress ?? ''))) {
      refuse(req, res, 401, 'untrusted_source', 'Requests must come through the trusted gateway.');
      return;
    }
    if (gatewaySecret !== undefined) {
      const presented = singleHeader(req, secretHeader as string);
      if (presented.value === undefined || !secretsEqual(presented.value, gatewaySecret)) {
        refuse(req, res, 401, 'untrusted_source', 'Requests must come through the trusted gateway.');
        return;
      }
    }
    // The gateway's secret is for this proxy only.
    delete req.headers[secretHeader as string];
    const identity: Identity = {};
    for (const [name, field] of [
      [userHeader, 'user'],
      [tenantHeader, 'tenant'],
    ] as const) {
      if (name === undefined) continue;
      const { value, repeated } = singleHeader(req, name);
      // Two values (two lines, or one comma-joined list as forwarders merge them) would be a new, empty
      // budget for a made-up name: refused, never guessed.
      if (repeated || value?.includes(',')) {
        refuse(req, res, 400, 'ambiguous_identity', `The ${name} header must be sent once.`);
        return;
      }
      const trimmed = value?.trim();
      if (!trimmed) {
        refuse(req, res, 400, 'missing_identity', `The ${name} header is required.`);
        return;
      }
      if (trimmed.length > 200) {
        refuse(req, res, 400, 'invalid_identity', `The ${name} header is longer than 200 characters.`);
        return;
      }
      identity[field] = trimmed;
    }
    if (userFromKey) {
      const credential = presentedCredential(req);
      if (credential.conflict) {
        refuse(req, res, 400, 'ambiguous_credentials', 'Send one API key, once.');
        return;
      }
      if (credential.value !== undefined) identity.user = credentialFingerprint(credential.value);
    }
    if (virtualKeys) {
      const credential = presentedCredential(req);
      let record: VirtualKeyRecord | undefined;
      if (!credential.conflict && credential.value !== undefined) {
        try {
          record = await verifyVirtualKey(virtualKeys, credential.value);
        } catch {
          refuse(req, res, 503, 'store_unavailable', 'Keys cannot be checked right now; retry shortly.');
          return;
        }
      }
      if (!record) {
        // The same answer for a missing, malformed, unknown or revoked key: nothing to learn by probing.
        refuse(req, res, 401, 'invalid_api_key', 'Invalid API key: use a tokenmeter virtual key (tm_…).');
        return;
      }
      const anthropic = isAnthropic(req);
      const providerKey = anthropic ? providerKeys?.anthropic : providerKeys?.openai;
      if (!providerKey) {
        refuse(
          req,
          res,
          502,
          'provider_key_missing',
          `This proxy holds no ${anthropic ? 'Anthropic' : 'OpenAI'} key to call upstream with.`,
        );
        return;
      }
      if (record.models !== undefined && req.method !== 'GET' && req.method !== 'HEAD') {
        const body = await readRawBody(req, maxBodyBytes);
        if (body === 'aborted') return;
        if (body === 'too_large') {
          refuse(req, res, 413, 'request_too_large', `The request body is larger than ${maxBodyBytes} bytes.`);
          return;
        }
        let model: unknown;
        try {
          model = (JSON.parse(body.toString('utf8')) as { model?: unknown })?.model;
        } catch {
          model = undefined;
        }
        // A call that names no model here (multipart uploads, batches) could reach any model: refused.
        if (typeof model !== 'string' || !modelAllowed(record.models, model)) {
          refuse(
            req,
            res,
            403,
            'model_not_allowed',
            typeof model === 'string'
              ? `This key may not call ${JSON.stringify(model.slice(0, 100))}.`
              : 'This key is limited to some models; the request must name one in its JSON body.',
          );
          return;
        }
        // The metered proxy takes an already-read body as it is.
        req.body = body;
      }
      for (const name of ['authorization', 'x-api-key', 'api-key']) delete req.headers[name];
      if (anthropic) req.headers['x-api-key'] = providerKey;
      else req.headers.authorization = `Bearer ${providerKey}`;
      keys.set(req, record);
      identity.user = record.user;
      if (record.tenant !== undefined) identity.tenant = record.tenant;
    }
    identities.set(req, identity);
    next();
  };

  return {
    middleware: (req, res, next) => {
      middleware(req, res, next).catch(next);
    },
    identify: (req) => identities.get(req),
    keyOf: (req) => keys.get(req),
    identifies: Boolean(userHeader || tenantHeader || userFromKey || virtualKeys),
  };
}
