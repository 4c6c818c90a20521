import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/program';

async function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
  // The binary's process.argv is its own argv (reportError reads `--json` from it).
  const savedArgv = process.argv;
  process.argv = ['node', 'tokenmeter', ...args];
  try {
    const code = await main(['node', 'tokenmeter', ...args]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.argv = savedArgv;
    stdout.mockRestore();
    stderr.mockRestore();
    process.exitCode = undefined;
  }
}

/**
 * What bad input must get: exit 0 (it was fine after all) or a clear message with a non-zero code —
 * never an internal error, never a stack trace.
 */
function expectClear(result: { code: number; stdout: string; stderr: string }): void {
  expect(result.stderr).not.toContain('unexpected error');
  expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
  if (result.code !== 0) expect(result.stderr.trim().length).toBeGreaterThan(0);
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
const directory = mkdtempSync(join(tmpdir(), 'tokenmeter-cli-bad-'));
let counter = 0;
function file(content: string | Uint8Array): string {
  const path = join(directory, `input-${counter++}`);
  writeFileSync(path, content);
  return path;
}

const hostileNumber = fc.oneof(
  fc.constantFrom(
    '-1',
    '1.5',
    '1e999',
    '1e3',
    '',
    ' ',
    'abc',
    '0x10',
    'NaN',
    'Infinity',
    '99999999999999999999999',
    '1_000',
    '١٢',
  ),
  fc.integer().map(String),
  fc.double().map(String),
  fc.string({ maxLength: 12 }),
);
const hostileText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('--help', '-', '--', '$(rm -rf /)', '`id`', '../../etc/passwd', '<img src=x>', '\u0000', '\ud800'),
);

beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  expect(unhandled).toEqual([]);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  rmSync(directory, { recursive: true, force: true });
});

describe('the CLI on bad input', { timeout: 120_000 }, () => {
  it('cost: hostile token counts and model names get a clear error or a price', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom('gpt-4o', 'claude-sonnet-4'), hostileText),
        hostileNumber,
        hostileNumber,
        fc.boolean(),
        async (model, input, output, json) => {
          const result = await run(
            'cost',
            '--model',
            model,
            '--input',
            input,
            '--output',
            output,
            ...(json ? ['--json'] : []),
          );
          expectClear(result);
          if (json && result.code !== 0) {
            const parsed = JSON.parse(result.stdout) as { error: { code: string } };
            expect(parsed.error.code).not.toBe('INTERNAL');
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('cost --usage and count: hostile JSON, invalid UTF-8 and huge files get a clear error or a count', async () => {
    const content = fc.oneof(
      fc.json({ maxDepth: 3 }),
      fc.anything({ maxDepth: 2 }).map((value) => JSON.stringify({ usage: value }) ?? ''),
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }),
      fc.constantFrom(
        '{"usage":{"prompt_tokens":1e309,"completion_tokens":-1}}',
        '{"usage":{"prompt_tokens":9007199254740993}}',
        '{"__proto__":{"usage":{"prompt_tokens":5}}}',
        '['.repeat(2_000),
        Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc]),
      ),
    );
    await fc.assert(
      fc.asyncProperty(content, async (text) => {
        const path = file(text);
        expectClear(await run('cost', '--model', 'gpt-4o', '--usage', path));
        expectClear(await run('count', '--model', 'gpt-4o', path));
        expectClear(await run('count', '--model', 'gpt-4o', '--messages', path));
        expectClear(await run('compare', '--series', path, '--flat', '25'));
      }),
      { numRuns: 50 },
    );
    const missing = await run('count', '--model', 'gpt-4o', join(directory, 'does-not-exist'));
    expect(missing.code).toBe(2);
    expectClear(missing);
  });

  it('price and project: hostile names and numbers', async () => {
    await fc.assert(
      fc.asyncProperty(hostileText, hostileNumber, async (model, number) => {
        expectClear(await run('price', model));
        expectClear(await run('project', '--tokens-per-month', number, '--price-per-million', number));
        expectClear(await run('project', '--tokens-per-month', '1000', '--model', model, '--months', number));
      }),
      { numRuns: 100 },
    );
  });

  it('diff: hostile revisions are refused as revisions, never run as options or commands', async () => {
    const repo = join(directory, 'repo');
    execFileSync('git', ['init', '-q', '-b', 'main', repo]);
    writeFileSync(
      join(repo, '.tokenmeter.yml'),
      'prompts:\n  - files: "prompts/**/*.md"\n    model: gpt-4o-mini\n    calls-per-month: 10\n',
    );
    execFileSync('git', ['-C', repo, 'add', '-A']);
    execFileSync('git', [
      '-C',
      repo,
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@example.com',
      'commit',
      '-q',
      '-m',
      'base',
    ]);
    const marker = join(directory, 'pwned');
    const revisions = fc.oneof(
      hostileText,
      fc.constantFrom(
        `--output=${marker}`,
        `--upload-pack=touch ${marker}`,
        `HEAD; touch ${marker}`,
        'HEAD~999',
        '@{-1}',
        ':/',
      ),
    );
    await fc.assert(
      fc.asyncProperty(revisions, async (base) => {
        const result = await run('diff', '--repo', repo, '--base', base, '--format', 'json');
        expectClear(result);
      }),
      { numRuns: 60 },
    );
    expect(() => execFileSync('test', ['-e', marker])).toThrow();
  });
});
