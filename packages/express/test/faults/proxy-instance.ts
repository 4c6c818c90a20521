/**
 * Child process for the multi-process fault tests: one Express app with the metered proxy.
 *   TM_UPSTREAM      OpenAI-compatible base URL (with /v1)
 *   TM_STORE         `redis:<prefix>` (REDIS_URL, or REDIS_CLUSTER_NODES `host:port,…`) or `sqlite:<file>`
 *   TM_BUDGET_TOKENS a global token budget per day (optional)
 *   TM_COMMAND_TIMEOUT_MS the Redis store's commandTimeoutMs (optional)
 * Prints `port N` when listening. With SQLite it also flushes every few milliseconds and prints
 * `ack id,id,…` once those events are committed (the acknowledgement the SIGKILL test relies on).
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Cluster } from 'ioredis';
import { meteredProxy } from '../../src/metered-proxy';
import { createRedisStore } from '../../src/store-redis';
import { createSqliteStore } from '../../src/store-sqlite';

const upstream = process.env.TM_UPSTREAM ?? '';
const spec = process.env.TM_STORE ?? '';
const budgetTokens = Number(process.env.TM_BUDGET_TOKENS ?? '0');

const sqlite = spec.startsWith('sqlite:') ? createSqliteStore({ path: spec.slice('sqlite:'.length) }) : undefined;
const store =
  sqlite ??
  createRedisStore({
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix: spec.slice('redis:'.length),
    ...(process.env.TM_COMMAND_TIMEOUT_MS ? { commandTimeoutMs: Number(process.env.TM_COMMAND_TIMEOUT_MS) } : {}),
    ...(process.env.REDIS_CLUSTER_NODES
      ? {
          nodes: process.env.REDIS_CLUSTER_NODES.split(',').map((node) => {
            const [host, port] = node.split(':');
            return { host: host as string, port: Number(port) };
          }),
        }
      : {}),
  });
const seen: string[] = [];
const proxy = meteredProxy({
  upstream,
  store,
  ...(budgetTokens > 0 ? { budgets: { scope: 'global', limit: { tokens: budgetTokens }, window: 'day' } } : {}),
  onEvent: (event) => {
    seen.push(event.id);
  },
});
const app = express();
app.use('/v1', proxy);
if (process.env.REDIS_CLUSTER_NODES && 'client' in store) {
  // Connect to every primary before announcing the port, so the first burst does not wait for connections.
  await store.budgetUsage('warm-up', { kind: 'calendar', period: 'day', timeZone: 'UTC' }, Date.now());
  await Promise.all((store.client as Cluster).nodes('master').map((node) => node.ping()));
}
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`port ${(server.address() as AddressInfo).port}\n`);
});

if (sqlite) {
  const acknowledge = async () => {
    const batch = seen.splice(0);
    await proxy.flush();
    sqlite.flush();
    if (batch.length > 0) process.stdout.write(`ack ${batch.join(',')}\n`);
    setTimeout(acknowledge, 5);
  };
  setTimeout(acknowledge, 5);
}

process.on('SIGTERM', async () => {
  server.closeAllConnections();
  server.close();
  await proxy.close();
  await store.close();
  process.exit(0);
});
