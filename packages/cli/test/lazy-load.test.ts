import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * What the built bin (dist/bin.js, as users run it) loads for a command. Node's module hooks log every resolved URL
 * (ES modules included, which require.cache never sees) and process.dlopen logs every native addon.
 */
const bin = join(import.meta.dirname, '../dist/bin.js');
const work = mkdtempSync(join(tmpdir(), 'tokenmeter-cli-lazy-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const hooks = join(work, 'hooks.mjs');
writeFileSync(
  hooks,
  `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.TOKENMETER_LOAD_LOG, resolved.url + '\\n');
  return resolved;
}`,
);
const preload = join(work, 'preload.mjs');
writeFileSync(
  preload,
  `import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(hooks).href)});
const dlopen = process.dlopen;
process.dlopen = function (module, filename, ...rest) {
  appendFileSync(process.env.TOKENMETER_LOAD_LOG, 'addon:' + filename + '\\n');
  return dlopen.call(this, module, filename, ...rest);
};`,
);

function loadedBy(...args: string[]): { stdout: string; loaded: string[] } {
  const log = join(work, `${args.join('-').replace(/[^\w-]/g, '_')}.log`);
  writeFileSync(log, '');
  const stdout = execFileSync(process.execPath, ['--import', pathToFileURL(preload).href, bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TOKENMETER_LOAD_LOG: log },
  });
  return { stdout, loaded: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}

describe('what a command loads', () => {
  it('has a build to test', () => {
    expect(existsSync(bin), 'run `pnpm --filter @tokenmeter/cli build` first').toBe(true);
  });

  it('`tokenmeter price` loads neither @tokenmeter/express nor a native addon', () => {
    const { stdout, loaded } = loadedBy('price', 'gpt-4o-mini');
    expect(stdout).toContain('gpt-4o-mini');
    // The probe works: core itself shows up, resolved as its own package (not bundled into the bin).
    expect(loaded.some((url) => /[\\/]core[\\/]dist[\\/]index\.js$/.test(url))).toBe(true);
    expect(loaded.filter((url) => /[\\/]express[\\/]dist[\\/]/.test(url))).toEqual([]);
    expect(loaded.filter((url) => /better-sqlite3|ioredis|prom-client|^addon:/.test(url))).toEqual([]);
  });

  it('`tokenmeter keys list` does load the store it opens', () => {
    const store = join(work, 'keys.db');
    const { loaded } = loadedBy('keys', 'list', '--store', `sqlite:${store}`);
    expect(loaded.some((url) => /[\\/]express[\\/]dist[\\/]server\.js$/.test(url))).toBe(true);
    expect(loaded.some((url) => url.startsWith('addon:') && url.includes('better_sqlite3'))).toBe(true);
  });
});
