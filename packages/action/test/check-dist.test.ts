import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), '..');

it('the committed dist/ is exactly what the sources build', { timeout: 180_000 }, () => {
  const output = execFileSync('node', ['scripts/check-dist.mjs'], { cwd: packageDirectory, encoding: 'utf8' });
  expect(output).toContain('dist/ matches a fresh build');
});
