import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Request } from 'express';
import express from 'express';
import { adminAuthorize, adminGuard } from './admin-access';
import { InvalidMeterOptionsError } from './invalid-meter-options-error';
import type { KeyStore } from './key-store';
import { keyStoreFromSpec } from './key-store-spec';
import type { BudgetRuleOptions, MeteredProxyOptions } from './meter-options';
import { type MeteredProxy, meteredProxy } from './metered-proxy';
import { createMetrics } from './metrics';
import { createIdentityGate, type ProxyIdentityOptions } from './proxy-identity';
import { type PolicedStore, withFailurePolicy } from './store-failure-policy';
import { createMemoryStore } from './store-memory';
import { postgresStoreFromUrl } from './store-postgres-spec';
import { createRedisStore, type RedisStoreOptions } from './store-redis';
import { createSqliteStore } from './store-sqlite';
import type { Store } from './types';
import { usageRouter } from './usage-router';
import { keyBudgetRules } from './virtual-keys';

export interface StartProxyOptions
  extends Omit<MeteredProxyOptions, 'store'>,
    Omit<ProxyIdentityOptions, 'virtualKeys'> {
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** Default `'127.0.0.1'` (only this machine); `'0.0.0.0'` to serve others. */
  host?: string;
  /** A Store, or `memory` (default), `sqlite:FILE`, `redis://…` / `rediss://…`, `redis-cluster://host:port,…`. */
  store?: Store | string;
  /** What a store failure does to requests: `open` (default: serve, buffer events) or `closed` (503). */
  storeFailure?: 'open' | 'closed';
  /** @deprecated Same as `trustUserHeader` (and its rules: sent once, never a credential header). */
  userHeader?: string;
  /** @deprecated Same as `trustTenantHeader`. */
  tenantHeader?: string;
  /**
   * Clients authenticate with virtual keys (`tm_…`) and the proxy calls upstream with `providerKeys`. `true`
   * keeps the keys beside the events (the `store` spec: the same SQLite file or Redis); or a `KeyStore`.
   */
  virtualKeys?: boolean | KeyStore;
  /**
   * Bearer token for the admin surfaces (`/tokenmeter/usage`, `/metrics`): callers send
   * `Authorization: Bearer <token>`. At least 16 characters. Without it (and without `adminOpen`) they
   * answer 401 to everyone, this machine included.
   */
  adminToken?: string;
  /** Serve the admin surfaces to anyone, without a token (a private network, a demo). Default `false`. */
  adminOpen?: boolean;
  /** Who may read `/tokenmeter/usage`, replacing the admin-token check there. Default: the admin token. */
  usageAuthorize?: (req: Request) => boolean | Promise<boolean>;
  /** How long `close()` waits for requests in flight before cutting them. Default 10000 ms. */
  shutdownGraceMs?: number;
}

/** What `close()` did with the usage events: either all were written, or `eventsLost` say how many were not. */
export interface ShutdownReport {
  /** Events that were waiting in memory for a store outage to end and were written at shutdown. */
  eventsFlushed: number;
  /** Events never written (the store was still down at shutdown). */
  eventsLost: number;
}

export interface RunningProxy {
  /** Base URL, e.g. `http://127.0.0.1:8787` (OpenAI SDKs use `${url}/v1`, Anthropic SDKs `url`). */
  url: string;
  port: number;
  store: Store;
  /** Where virtual keys live, when they are on. */
  keys?: KeyStore;
  server: Server;
  /** Stops accepting, lets requests in flight finish, flushes every event and closes the store. */
  close(): Promise<ShutdownReport>;
}

/**
 * Opens a store from its command-line spelling: `memory`, `sqlite:FILE`, `redis://…`, `redis-cluster://h:p,h:p`,
 * `postgres://…`.
 */
export function storeFromSpec(spec: string, redisOptions: Pick<RedisStoreOptions, 'onFold'> = {}): Store {
  if (spec === 'memory') return createMemoryStore();
  if (spec.startsWith('sqlite:')) {
    const path = spec.slice('sqlite:'.length);
    if (path === '') throw new InvalidMeterOptionsError('store', 'sqlite: needs a file, e.g. sqlite:./usage.db');
    return createSqliteStore({ path });
  }
  if (spec.startsWith('redis://') || spec.startsWith('rediss://'))
    return createRedisStore({ ...redisOptions, url: spec });
  if (spec.startsWith('redis-cluster://')) {
    const nodes = spec
      .slice('redis-cluster://'.length)
      .split(',')
      .map((node) => {
        const match = /^([^:/]+):(\d+)$/.exec(node.trim());
        if (!match) {
          throw new InvalidMeterOptionsError(
            'store',
            `redis-cluster:// needs host:port seed nodes separated by commas, got ${JSON.stringify(node)}`,
          );
        }
        return { host: match[1] as string, port: Number(match[2]) };
      });
    return createRedisStore({ ...redisOptions, nodes });
  }
  if (spec.startsWith('postgres://') || spec.startsWith('postgresql://')) return postgresStoreFromUrl(spec);
  throw new InvalidMeterOptionsError(
    'store',
    `unknown store ${JSON.stringify(spec)}; expected memory, sqlite:FILE, redis://… (redis-cluster://host:port,… for a cluster) or postgres://…`,
  );
}

/**
 * The metered proxy as a standalone gateway: OpenAI-compatible routes under `/v1`, Anthropic's at
 * `/v1/messages`, usage JSON at `GET /tokenmeter/usage`, Prometheus text at `GET /metrics`.
 */
export async function startProxy(options: StartProxyOptions = {}): Promise<RunningProxy> {
  const {
    port = 8787,
    host = '127.0.0.1',
    store: storeOption = 'memory',
    storeFailure = 'open',
    userHeader,
    tenantHeader,
    trustUserHeader = userHeader,
    trustTenantHeader = tenantHeader,
    gatewaySecret,
    gatewaySecretHeader,
    trustedAddresses,
    userFromKey,
    virtualKeys: virtualKeysOption,
    providerKeys,
    shutdownGraceMs = 10_000,
    usageAuthorize,
    adminToken,
    adminOpen = false,
    ...proxyOptions
  } = options;
  const adminAllowed = adminAuthorize({ ...(adminToken === undefined ? {} : { token: adminToken }), open: adminOpen });
  if (!Number.isSafeInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidMeterOptionsError('port', 'expected a port number between 0 and 65535');
  }
  if (storeFailure !== 'open' && storeFailure !== 'closed') {
    throw new InvalidMeterOptionsError('storeFailure', "expected 'open' or 'closed'");
  }
  if (userHeader !== undefined && trustUserHeader !== userHeader) {
    throw new InvalidMeterOptionsError('userHeader', 'give trustUserHeader only');
  }
  if (tenantHeader !== undefined && trustTenantHeader !== tenantHeader) {
    throw new InvalidMeterOptionsError('tenantHeader', 'give trustTenantHeader only');
  }
  let keyStore: KeyStore | undefined;
  if (virtualKeysOption === true) {
    if (typeof storeOption !== 'string') {
      throw new InvalidMeterOptionsError(
        'virtualKeys',
        'with a Store object, pass a KeyStore (createSqliteKeyStore()…)',
      );
    }
    keyStore = keyStoreFromSpec(storeOption);
  } else if (virtualKeysOption !== undefined && virtualKeysOption !== false) {
    keyStore = virtualKeysOption;
  }
  const ownsKeyStore = virtualKeysOption === true;
  const closeKeyStore = async () => {
    if (ownsKeyStore) await keyStore?.close();
  };
  let gate: ReturnType<typeof createIdentityGate>;
  try {
    gate = createIdentityGate(
      {
        ...(trustUserHeader === undefined ? {} : { trustUserHeader }),
        ...(trustTenantHeader === undefined ? {} : { trustTenantHeader }),
        ...(gatewaySecret === undefined ? {} : { gatewaySecret }),
        ...(gatewaySecretHeader === undefined ? {} : { gatewaySecretHeader }),
        ...(trustedAddresses === undefined ? {} : { trustedAddresses }),
        ...(userFromKey === undefined ? {} : { userFromKey }),
        ...(keyStore === undefined ? {} : { virtualKeys: keyStore }),
        ...(providerKeys === undefined ? {} : { providerKeys }),
      },
      proxyOptions.maxBodyBytes ?? 10 * 1024 * 1024,
    );
    if (gate.identifies && proxyOptions.identify) {
      throw new InvalidMeterOptionsError('identify', 'give either identify or the header / key identity options');
    }
  } catch (error) {
    await closeKeyStore();
    throw error;
  }
  const metrics = proxyOptions.metrics ?? createMetrics();
  const onFold = (dimension: string) => {
    if ('observeFold' in metrics && typeof metrics.observeFold === 'function') metrics.observeFold(dimension);
  };
  const base = typeof storeOption === 'string' ? storeFromSpec(storeOption, { onFold }) : storeOption;
  // Memory cannot fail, and a store that already has a policy (it exposes `inner`) keeps its own.
  const store = base.name === 'memory' || 'inner' in base ? base : withFailurePolicy(base, { mode: storeFailure });
  const identify = proxyOptions.identify ?? (gate.identifies ? gate.identify : undefined);
  const proxyFor = (budgets: MeteredProxyOptions['budgets']) =>
    meteredProxy({ ...proxyOptions, metrics, store, ...(identify ? { identify } : {}), budgets });
  let proxy: MeteredProxy;
  try {
    // A wrong password or database fails the start, loudly, instead of turning budgets off (fail-open).
    await store.connect?.();
    proxy = proxyFor(proxyOptions.budgets);
  } catch (error) {
    await store.close();
    await closeKeyStore();
    throw error;
  }
  // A key with budgets of its own gets a metered proxy holding them beside the global ones (one per key,
  // made on the key's first call): budget rules are fixed per proxy, and this leaves them so.
  const sharedBudgets = proxyOptions.budgets === undefined ? [] : [proxyOptions.budgets].flat();
  const keyProxies = new Map<string, MeteredProxy>();
  const everyProxy = () => [proxy, ...keyProxies.values()];
  const proxyOfKey = (id: string, budgets: string[]): MeteredProxy => {
    let found = keyProxies.get(id);
    if (!found) {
      const rules: Array<BudgetRuleOptions | string> = [...sharedBudgets, ...keyBudgetRules({ id, budgets })];
      found = proxyFor(rules);
      keyProxies.set(id, found);
    }
    return found;
  };

  const app = express();
  app.disable('x-powered-by');
  // Spend per user and the metrics are for operators: refused before any work (or flush) is done for them.
  app.use('/tokenmeter', adminGuard(usageAuthorize ?? adminAllowed));
  // Usage answers include every event recorded so far: hand them to the store (and let it write them) first.
  app.use('/tokenmeter', async (_req, _res, next) => {
    await Promise.all(everyProxy().map((each) => each.flush()));
    // A store that is down answers from what it has; its outage is the failure policy's to report.
    await Promise.resolve((store as Store & { flush?: () => unknown }).flush?.()).catch(() => undefined);
    next();
  });
  app.use('/tokenmeter', usageRouter({ store, authorize: () => true }));
  if ('metricsHandler' in metrics && typeof metrics.metricsHandler === 'function') {
    app.get('/metrics', adminGuard(adminAllowed), (metrics as ReturnType<typeof createMetrics>).metricsHandler());
  }
  app.use('/v1', gate.middleware, (req, res, next) => {
    const key = gate.keyOf(req);
    (key?.budgets ? proxyOfKey(key.id, key.budgets) : proxy)(req, res, next);
  });
  app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const message = error instanceof Error ? error.message : String(error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(500).json({ error: { type: 'server_error', code: 'internal_error', message } });
  });

  const server = app.listen(port, host);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
  } catch (error) {
    await Promise.all(everyProxy().map((each) => each.close()));
    await store.close();
    await closeKeyStore();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<ShutdownReport> | undefined;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    store,
    ...(keyStore ? { keys: keyStore } : {}),
    server,
    close: () => {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const grace = setTimeout(() => server.closeAllConnections(), shutdownGraceMs);
        await stopped;
        clearTimeout(grace);
        await Promise.all(everyProxy().map((each) => each.close()));
        await store.close();
        await closeKeyStore();
        const stats = 'stats' in store ? (store as PolicedStore).stats() : undefined;
        return { eventsFlushed: stats?.flushedAtClose ?? 0, eventsLost: stats?.lostAtClose ?? 0 };
      })();
      return closing;
    },
  };
}
