/**
 * Child process for the PostgreSQL multi-process test: one Express app with the metered proxy, its store
 * opened from the command-line spelling (`storeFromSpec`), as `tokenmeter proxy --store postgres://…` does.
 *   TM_UPSTREAM      OpenAI-compatible base URL (with /v1)
 *   TM_STORE         `postgres://…?schema=…`
 *   TM_BUDGET_TOKENS a global token budget per day
 * Prints `port N` once the tables exist and it listens.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { meteredProxy } from '../../src/metered-proxy';
import { storeFromSpec } from '../../src/proxy-server';
import type { PostgresStore } from '../../src/store-postgres';

const store = storeFromSpec(process.env.TM_STORE ?? '') as PostgresStore;
await store.ready();
const proxy = meteredProxy({
  upstream: process.env.TM_UPSTREAM ?? '',
  store,
  budgets: { scope: 'global', limit: { tokens: Number(process.env.TM_BUDGET_TOKENS) }, window: 'day' },
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
