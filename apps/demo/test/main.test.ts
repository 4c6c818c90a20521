import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO_ROOT } from '../src/prompts';

/**
 * `pnpm demo` as a user runs it: the built `dist/main.js` (turbo builds it before the tests), with
 * `--exit-after-traffic`, in CI mode so the output is plain.
 */
const MAIN = join(DEMO_ROOT, 'dist', 'main.js');
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd: DEMO_ROOT,
      // No provider keys: the demo must fall back to its offline model.
      env: { PATH: process.env.PATH ?? '', CI: 'true', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(!existsSync(MAIN) && !IN_CI)('the demo command (skipped: no dist/main.js; run pnpm demo once)', () => {
  it('drives traffic, prints the summary in plain text and exits with --exit-after-traffic', {
    timeout: 120_000,
  }, async () => {
    expect(existsSync(MAIN), `${MAIN} is missing: build the demo first`).toBe(true);
    const directory = mkdtempSync(join(tmpdir(), 'tokenmeter-demo-main-'));
    try {
      const result = await run(['--', '--exit-after-traffic', '--no-history', '--db', join(directory, 'usage.db')], {
        PORT: '0',
      });
      expect(result.stderr).toContain('Sending traffic from 5 users: 57/57 requests (100 %)');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('built-in offline fake model');
      expect(result.stdout).toMatch(
        /Traffic: 57 requests from 5 users in [\d.]+ s — \d+ answered, \d+ refused by the daily budget \(HTTP 429\), 1 streamed reply closed halfway/,
      );
      expect(result.stdout).toContain('Cost by user (this run)');
      expect(result.stdout).toContain('Cost by route');
      expect(result.stdout).toContain('Cost by model');
      expect(result.stdout).toContain('Per token or flat rate?');
      expect(result.stdout).not.toContain('\x1b[');
      expect(result.stdout).not.toContain('Press Ctrl+C');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('rejects an unknown option with usage text and exit code 2', async () => {
    const result = await run(['--frobnicate'], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: pnpm demo');
  });
});
