// Rebuilds the Action into a temporary directory and compares it byte for byte with the committed dist/:
// GitHub runs the committed bundle, so it must be exactly what the sources build.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), '..');
const committed = join(packageDirectory, 'dist');
const rebuilt = mkdtempSync(join(tmpdir(), 'tokenmeter-action-dist-'));
try {
  execFileSync('npx', ['tsup', '--out-dir', rebuilt], {
    cwd: packageDirectory,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const names = new Set([...readdirSync(committed), ...readdirSync(rebuilt)]);
  const different = [...names].filter((name) => {
    try {
      return !readFileSync(join(committed, name)).equals(readFileSync(join(rebuilt, name)));
    } catch {
      return true;
    }
  });
  if (different.length > 0) {
    console.error(
      `dist/ differs from a fresh build: ${different.join(', ')}. Run \`pnpm --filter @tokenmeter/action build\` and commit dist/.`,
    );
    process.exitCode = 1;
  } else {
    console.log(`dist/ matches a fresh build (${names.size} files).`);
  }
} finally {
  rmSync(rebuilt, { recursive: true, force: true });
}
