/**
 * Child process for the multi-process budget test: one Express app with the metered proxy, a Redis store
 * and a per-user USD budget.
 *   TM_UPSTREAM    base URL of the billing fake (OpenAI at /v1, Anthropic at /anthropic)
 *   TM_PREFIX      Redis key prefix (REDIS_URL)
 *   TM_BUDGET_USD  the per-user daily budget
 * Prints `port N` when listening, and `overrun <event id>` for every call billed above its reservation.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { meteredProxy } from '../src/metered-proxy';
import { createRedisStore } from '../src/store-redis';

const upstream = process.env.TM_UPSTREAM ?? '';
const store = createRedisStore({
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  prefix: process.env.TM_PREFIX ?? '',
  // Four processes on two shared cores: give Redis commands time rather than fail closed under the burst.
  commandTimeoutMs: 15_000,
});
const proxy = meteredProxy({
  upstream: `${upstream}/v1`,
  anthropicUpstream: `${upstream}/anthropic`,
  store,
  identify: (req) => {
    const user = req.get('x-user');
    return user === undefined ? undefined : { user };
  },
  budgets: { scope: 'user', limit: process.env.TM_BUDGET_USD ?? '0.001', window: 'day' },
  onEvent: (event) => {
    if (event.reservationExceeded) process.stdout.write(`overrun ${event.id}\n`);
  },
});
const app = express();
app.use('/v1', proxy);
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`port ${(server.address() as AddressInfo).port}\n`);
});

process.on('SIGTERM', async () => {
  server.closeAllConnections();
  server.close();
  await proxy.close();
  await store.close();
  process.exit(0);
});
