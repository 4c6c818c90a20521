import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.config.base.ts';

// One entry per optional peer: importing the main entry never loads better-sqlite3, ioredis or prom-client.
// Splitting keeps the modules the entries share in one chunk, so classes like StoreUnavailableError stay one class.
export default defineConfig(
  packageBuild({
    entry: {
      index: 'src/index.ts',
      sqlite: 'src/sqlite.ts',
      redis: 'src/redis.ts',
      metrics: 'src/metrics.ts',
      server: 'src/server.ts',
      testing: 'src/testing.ts',
    },
    splitting: true,
    // ./testing asserts with the caller's vitest: never a copy of it.
    external: ['vitest'],
    loader: { '.html': 'text', '.css': 'text' },
  }),
);
