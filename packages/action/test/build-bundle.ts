import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Bundles the Action from the current sources into `outDir`, exactly as `pnpm build` does into dist/ (same tsup
 * config), and returns the bundle's path. The end-to-end tests run this, not the committed dist/, which is
 * rebuilt only when releasing: a test of the committed bundle would test yesterday's sources.
 */
export function buildBundle(outDir: string): string {
  const require = createRequire(join(packageDirectory, 'package.json'));
  const tsup = join(dirname(require.resolve('tsup/package.json')), 'dist', 'cli-default.js');
  execFileSync(process.execPath, [tsup, '--out-dir', outDir, '--silent'], { cwd: packageDirectory, stdio: 'pipe' });
  return join(outDir, 'index.js');
}
