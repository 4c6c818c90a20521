import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * What each published entry loads, run against the built dist/ (turbo builds before testing) in a fresh Node:
 * the package imports itself by name, exactly as a user's `import '@tokenmeter/express'` resolves.
 */
const root = join(import.meta.dirname, '..');

interface Loaded {
  exports: string[];
  nativeAddons: string[];
  heavy: string[];
}

// process.dlopen is how every native addon (.node file) gets in; require.cache holds the CJS peers, also when
// an ES module imported them.
const probe = (specifier: string, how: 'import' | 'require') => `
const { createRequire } = require('node:module');
const addons = [];
const dlopen = process.dlopen;
process.dlopen = function (module, filename, ...rest) { addons.push(filename); return dlopen.call(this, module, filename, ...rest); };
const load = ${how === 'import' ? `() => import(${JSON.stringify(specifier)})` : `async () => require(${JSON.stringify(specifier)})`};
load().then((exports) => {
  const heavy = Object.keys(require.cache).filter((file) => /[\\\\/]node_modules[\\\\/](better-sqlite3|ioredis|prom-client)[\\\\/]/.test(file));
  process.stdout.write(JSON.stringify({ exports: Object.keys(exports), nativeAddons: addons, heavy: [...new Set(heavy.map((file) => file.match(/node_modules[\\\\/](better-sqlite3|ioredis|prom-client)/)[1]))] }));
});`;

function loadEntry(specifier: string, how: 'import' | 'require'): Loaded {
  const out = execFileSync(process.execPath, ['-e', probe(specifier, how)], { cwd: root, encoding: 'utf8' });
  return JSON.parse(out) as Loaded;
}

describe('entry points', () => {
  it('has a build to test', () => {
    expect(existsSync(join(root, 'dist/index.js')), 'run `pnpm --filter @tokenmeter/express build` first').toBe(true);
  });

  for (const how of ['import', 'require'] as const) {
    it(`${how} of the main entry loads no native addon and none of the optional peers`, () => {
      const loaded = loadEntry('@tokenmeter/express', how);
      expect(loaded.exports).toEqual(
        expect.arrayContaining(['meter', 'meteredProxy', 'wrapOpenAI', 'createMemoryStore']),
      );
      expect(loaded.exports).not.toContain('createSqliteStore');
      expect(loaded.nativeAddons).toEqual([]);
      expect(loaded.heavy).toEqual([]);
    });

    it(`${how} of each subpath loads its own peer and no other`, () => {
      const sqlite = loadEntry('@tokenmeter/express/sqlite', how);
      expect(sqlite.exports).toEqual(expect.arrayContaining(['createSqliteStore', 'createSqliteKeyStore']));
      expect(sqlite.heavy).toEqual(['better-sqlite3']);
      const redis = loadEntry('@tokenmeter/express/redis', how);
      expect(redis.exports).toEqual(expect.arrayContaining(['createRedisStore', 'createRedisKeyStore']));
      expect(redis.heavy).toEqual(['ioredis']);
      expect(redis.nativeAddons).toEqual([]);
      const metrics = loadEntry('@tokenmeter/express/metrics', how);
      expect(metrics.exports).toEqual(expect.arrayContaining(['createMetrics', 'TOKEN_USAGE_BUCKETS']));
      expect(metrics.heavy).toEqual(['prom-client']);
      const server = loadEntry('@tokenmeter/express/server', how);
      expect(server.exports).toEqual(expect.arrayContaining(['startProxy', 'storeFromSpec', 'keyStoreFromSpec']));
    });
  }

  it('shares one class between entries, so instanceof holds across them', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const main = await import('@tokenmeter/express');
         const server = await import('@tokenmeter/express/server');
         try { server.storeFromSpec('nonsense'); } catch (error) { process.stdout.write(String(error instanceof main.InvalidMeterOptionsError)); }`,
      ],
      { cwd: root, encoding: 'utf8' },
    );
    expect(out).toBe('true');
  });
});
