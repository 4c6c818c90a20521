import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The published packages as users get them: `pnpm pack` each one (workspace:* becomes a real version) and
 * install the tarballs into fresh projects with npm, third-party dependencies from the npm registry. Runs in CI
 * (after `turbo run build`); it needs the registry and takes a minute or more.
 */
const run = promisify(execFile);
const repo = join(import.meta.dirname, '../../..');
const work = mkdtempSync(join(tmpdir(), 'tokenmeter-packed-'));
const tarballs = join(work, 'tarballs');
const LONG = 600_000;

// better-sqlite3 from the registry compiles from source when no prebuilt binary can be fetched (minutes on a
// busy machine): the projects link the workspace's already built copy instead. Everything else comes from npm.
const betterSqlite3 = dirname(
  realpathSync(createRequire(join(repo, 'packages/express/package.json')).resolve('better-sqlite3/package.json')),
);
const tsc = join(repo, 'node_modules/typescript/bin/tsc');

afterAll(() => rmSync(work, { recursive: true, force: true }));

// pnpm's bin shims (vitest's included) set NODE_PATH to the workspace's packages: a fresh project must not see them.
const { NODE_PATH: _workspaceModules, ...cleanEnv } = process.env;

const tarball = (name: string) => join(tarballs, `tokenmeter-${name}-0.1.0.tgz`);

async function project(name: string, dependencies: string[]): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  // --ignore-scripts: nothing here needs an install script, and better-sqlite3 would otherwise try to rebuild.
  await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...dependencies], {
    cwd: dir,
    timeout: LONG,
    env: cleanEnv,
  });
  return dir;
}

async function node(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { stdout } = await run(process.execPath, args, { cwd, timeout: 60_000, env: { ...cleanEnv, ...env } });
  return stdout;
}

/** The first ```ts block after a heading of the root README. */
function readmeCode(heading: string): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(heading));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match?.[1]) throw new Error(`no ts block after ${heading}`);
  return match[1];
}

beforeAll(async () => {
  mkdirSync(tarballs);
  for (const name of ['core', 'express', 'cli']) {
    await run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: join(repo, 'packages', name), timeout: LONG });
  }
}, LONG);

describe('packed tarballs', () => {
  it(
    '@tokenmeter/express installs with only core beside it; the README code compiles and runs; each entry imports and requires',
    async () => {
      const dir = await project('use-express', [
        tarball('core'),
        tarball('express'),
        'express@^5',
        'openai@^6',
        '@types/express@^5',
        '@types/node@^20',
        betterSqlite3,
      ]);
      const manifest = JSON.parse(readFileSync(join(dir, 'node_modules/@tokenmeter/express/package.json'), 'utf8'));
      expect(manifest.dependencies['@tokenmeter/core']).toBe('0.1.0');

      // The README's example, as written, except that it listens on a free port and stops once it is up.
      const code = readmeCode('### Meter an Express app');
      expect(code).toContain('app.listen(3000);');
      writeFileSync(
        join(dir, 'main.ts'),
        code.replace(
          'app.listen(3000);',
          "const server = app.listen(0, '127.0.0.1', async () => {\n  console.log('listening');\n  server.close();\n  await store.close();\n});",
        ),
      );
      // A CommonJS file: under nodenext its imports resolve through the `require` condition (.cjs and .d.cts).
      writeFileSync(
        join(dir, 'check.cts'),
        "import { meter } from '@tokenmeter/express';\nimport { createSqliteStore } from '@tokenmeter/express/sqlite';\nconst store = createSqliteStore({ path: ':memory:' });\nmeter({ store });\nconsole.log(typeof meter, store.name);\nvoid store.close();\n",
      );
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'es2023',
            strict: true,
            skipLibCheck: true,
            outDir: 'out',
          },
          files: ['main.ts', 'check.cts'],
        }),
      );
      await node(dir, [tsc, '-p', '.']);
      const out = await node(dir, ['out/main.js'], { OPENAI_API_KEY: 'sk-test-not-used' });
      expect(out).toContain('listening');
      expect(await node(dir, ['out/check.cjs'])).toBe('function sqlite\n');

      // CommonJS and ESM, every entry whose peers are here; ioredis and prom-client are not.
      for (const [entry, name] of [
        ['@tokenmeter/core', 'countTokens'],
        ['@tokenmeter/express', 'meter'],
        ['@tokenmeter/express/sqlite', 'createSqliteStore'],
      ] as const) {
        const required = await node(dir, [
          '-e',
          `process.stdout.write(typeof require(${JSON.stringify(entry)}).${name})`,
        ]);
        expect(required, `require ${entry}`).toBe('function');
        const imported = await node(dir, [
          '--input-type=module',
          '-e',
          `process.stdout.write(typeof (await import(${JSON.stringify(entry)})).${name})`,
        ]);
        expect(imported, `import ${entry}`).toBe('function');
      }
      for (const [entry, peer] of [
        ['@tokenmeter/express/redis', 'ioredis'],
        ['@tokenmeter/express/metrics', 'prom-client'],
        ['@tokenmeter/express/server', 'ioredis'],
      ] as const) {
        const missing = await node(dir, [
          '-e',
          `try { require(${JSON.stringify(entry)}) } catch (error) { process.stdout.write(error.message) }`,
        ]);
        expect(missing).toContain(`needs the package ${peer}: install it beside @tokenmeter/express`);
      }
    },
    LONG,
  );

  it(
    '@tokenmeter/cli installs with core and express beside it and prices a model',
    async () => {
      const dir = await project('use-cli', [tarball('core'), tarball('express'), tarball('cli')]);
      const out = await node(dir, ['node_modules/@tokenmeter/cli/dist/bin.js', 'price', 'gpt-4o-mini']);
      expect(out).toContain('gpt-4o-mini (openai');
      const bundled = readFileSync(join(dir, 'node_modules/@tokenmeter/cli/dist/bin.js'), 'utf8');
      expect(bundled.length).toBeLessThan(200_000);
    },
    LONG,
  );
});
