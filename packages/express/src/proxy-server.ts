import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Request } from 'express';
import express from 'express';
import { InvalidMeterOptionsError } from './invalid-meter-options-error';
import type { MeteredProxyOptions } from './meter-options';
import { meteredProxy } from './metered-proxy';
import { createMetrics } from './metrics';
import { type PolicedStore, withFailurePolicy } from './store-failure-policy';
import { createMemoryStore } from './store-memory';
import { createRedisStore, type RedisStoreOptions } from './store-redis';
import { createSqliteStore } from './store-sqlite';
import type { Store } from './types';
import { usageRouter } from './usage-router';

export interface StartProxyOptions extends Omit<MeteredProxyOptions, 'store'> {
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** Default `'127.0.0.1'` (only this machine); `'0.0.0.0'` to serve others. */
  host?: string;
  /** A Store, or `memory` (default), `sqlite:FILE`, `redis://…` / `rediss://…`. */
  store?: Store | string;
  /** What a store failure does to requests: `open` (default: serve, buffer events) or `closed` (503). */
  storeFailure?: 'open' | 'closed';
  /** Header naming the user (for attribution and user budgets). Default: none. */
  userHeader?: string;
  /** Header naming the tenant. Default: none. */
  tenantHeader?: string;
  /** Who may read `/tokenmeter/usage`. Default: requests from this machine (loopback) only. */
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
  server: Server;
  /** Stops accepting, lets requests in flight finish, flushes every event and closes the store. */
  close(): Promise<ShutdownReport>;
}

/** Opens a store from its command-line spelling: `memory`, `sqlite:FILE`, `redis://…`. */
export function storeFromSpec(spec: string, redisOptions: Pick<RedisStoreOptions, 'onFold'> = {}): Store {
  if (spec === 'memory') return createMemoryStore();
  if (spec.startsWith('sqlite:')) {
    const path = spec.slice('sqlite:'.length);
    if (path === '') throw new InvalidMeterOptionsError('store', 'sqlite: needs a file, e.g. sqlite:./usage.db');
    return createSqliteStore({ path });
  }
  if (spec.startsWith('redis://') || spec.startsWith('rediss://'))
    return createRedisStore({ ...redisOptions, url: spec });
  throw new InvalidMeterOptionsError(
    'store',
    `unknown store ${JSON.stringify(spec)}; expected memory, sqlite:FILE or redis://…`,
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
    shutdownGraceMs = 10_000,
    usageAuthorize,
    ...proxyOptions
  } = options;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidMeterOptionsError('port', 'expected a port number between 0 and 65535');
  }
  if (storeFailure !== 'open' && storeFailure !== 'closed') {
    throw new InvalidMeterOptionsError('storeFailure', "expected 'open' or 'closed'");
  }
  const metrics = proxyOptions.metrics ?? createMetrics();
  const onFold = (dimension: string) => {
    if ('observeFold' in metrics && typeof metrics.observeFold === 'function') metrics.observeFold(dimension);
  };
  const base = typeof storeOption === 'string' ? storeFromSpec(storeOption, { onFold }) : storeOption;
  // Memory cannot fail, and a store that already has a policy (it exposes `inner`) keeps its own.
  const store = base.name === 'memory' || 'inner' in base ? base : withFailurePolicy(base, { mode: storeFailure });
  const userHeaderName = userHeader?.toLowerCase();
  const tenantHeaderName = tenantHeader?.toLowerCase();
  const identify =
    proxyOptions.identify ??
    (userHeaderName || tenantHeaderName
      ? (req: Request) => {
          const user = userHeaderName ? req.get(userHeaderName) : undefined;
          const tenant = tenantHeaderName ? req.get(tenantHeaderName) : undefined;
          return {
            ...(user ? { user: user.slice(0, 200) } : {}),
            ...(tenant ? { tenant: tenant.slice(0, 200) } : {}),
          };
        }
      : undefined);
  let proxy: ReturnType<typeof meteredProxy>;
  try {
    // A wrong password or database fails the start, loudly, instead of turning budgets off (fail-open).
    await store.connect?.();
    proxy = meteredProxy({ ...proxyOptions, metrics, store, ...(identify ? { identify } : {}) });
  } catch (error) {
    await store.close();
    throw error;
  }

  const app = express();
  app.disable('x-powered-by');
  // Usage answers include every event recorded so far: hand them to the store (and let it write them) first.
  app.use('/tokenmeter', async (_req, _res, next) => {
    await proxy.flush();
    // A store that is down answers from what it has; its outage is the failure policy's to report.
    await Promise.resolve((store as Store & { flush?: () => unknown }).flush?.()).catch(() => undefined);
    next();
  });
  app.use('/tokenmeter', usageRouter({ store, ...(usageAuthorize ? { authorize: usageAuthorize } : {}) }));
  if ('metricsHandler' in metrics && typeof metrics.metricsHandler === 'function') {
    app.get('/metrics', (metrics as ReturnType<typeof createMetrics>).metricsHandler());
  }
  app.use('/v1', proxy);
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
    await proxy.close();
    await store.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<ShutdownReport> | undefined;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    store,
    server,
    close: () => {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const grace = setTimeout(() => server.closeAllConnections(), shutdownGraceMs);
        await stopped;
        clearTimeout(grace);
        await proxy.close();
        await store.close();
        const stats = 'stats' in store ? (store as PolicedStore).stats() : undefined;
        return { eventsFlushed: stats?.flushedAtClose ?? 0, eventsLost: stats?.lostAtClose ?? 0 };
      })();
      return closing;
    },
  };
}
