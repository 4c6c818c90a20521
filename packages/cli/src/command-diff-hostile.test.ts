import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test/run-cli';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-C', cwd, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'T',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 'T',
      GIT_COMMITTER_EMAIL: 't@example.com',
    },
  }).trim();
}

const CONFIG = 'prompts:\n  - files: "prompts/**"\n    model: gpt-4o-mini\n    calls-per-month: 1000000\n';
// A name that reads "evil‮dm.txt" but shows as "evil" + "txt.md" reversed: U+202E RIGHT-TO-LEFT OVERRIDE.
const SPOOFED = 'prompts/evil\u202Etxt.md';
const ZERO_WIDTH = 'prompts/sup\u200Bport.md';
const NEWLINE = 'prompts/two\nlines.md';

interface JsonPrompt {
  path: string;
  status: string;
  tokensAfter: number | null;
  skipped: string | null;
}

/**
 * A repository whose working tree tries to make `tokenmeter diff --working-tree` leave it: symbolic links to
 * /dev/zero, /etc/passwd and a file outside, a FIFO, and names with a line break, U+202E and a zero-width space.
 */
describe('tokenmeter diff --working-tree never leaves the repository', { timeout: 60_000 }, () => {
  let root: string;
  let repo: string;
  let base: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'tokenmeter-hostile-'));
    repo = join(root, 'repo');
    mkdirSync(join(repo, 'prompts'), { recursive: true });
    writeFileSync(join(root, 'secret.txt'), 'SECRET outside the repository');
    writeFileSync(join(root, 'usage.csv'), 'date,calls\n2026-01-01,5\n');
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(join(repo, '.tokenmeter.yml'), CONFIG);
    writeFileSync(join(repo, 'prompts/ok.md'), 'Hello world');
    writeFileSync(join(repo, 'inside.md'), 'Say hello');
    // Tracked as a file, then replaced by a FIFO on disk (git does not list untracked FIFOs).
    writeFileSync(join(repo, 'prompts/fifo.md'), 'Goodbye');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'base');
    base = git(repo, 'rev-parse', 'HEAD');
    symlinkSync('/dev/zero', join(repo, 'prompts/zero.md'));
    symlinkSync('/etc/passwd', join(repo, 'prompts/passwd.md'));
    symlinkSync(join(root, 'secret.txt'), join(repo, 'prompts/outside.md'));
    symlinkSync('../inside.md', join(repo, 'prompts/inside-link.md'));
    symlinkSync('no-such-file.md', join(repo, 'prompts/dangling.md'));
    rmSync(join(repo, 'prompts/fifo.md'));
    execFileSync('mkfifo', [join(repo, 'prompts/fifo.md')]);
    writeFileSync(join(repo, NEWLINE), 'Say hello');
    writeFileSync(join(repo, SPOOFED), 'Say hello');
    writeFileSync(join(repo, ZERO_WIDTH), 'Say hello');
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reports links out of the repository and special files as skipped, and reads every other name', async () => {
    const result = await runCli('diff', '--repo', repo, '--base', base, '--working-tree', '--format', 'json');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { prompts: JsonPrompt[]; complete: boolean };
    const byPath = new Map(report.prompts.map((prompt) => [prompt.path, prompt]));
    for (const path of ['prompts/zero.md', 'prompts/passwd.md', 'prompts/outside.md']) {
      expect(byPath.get(path), path).toMatchObject({ skipped: 'link out of the repository', tokensAfter: null });
    }
    expect(byPath.get('prompts/fifo.md')).toMatchObject({ skipped: 'not a regular file', tokensAfter: null });
    expect(byPath.get('prompts/dangling.md')).toMatchObject({ skipped: 'link to a missing file', tokensAfter: null });
    // A link that stays inside is read; names with a line break, U+202E or a zero-width space are not dropped.
    for (const path of ['prompts/inside-link.md', NEWLINE, SPOOFED, ZERO_WIDTH]) {
      expect(byPath.get(path), JSON.stringify(path)).toMatchObject({ status: 'added', tokensAfter: 2, skipped: null });
    }
    expect(report.complete).toBe(false);
    expect(result.stdout).not.toContain('SECRET');
    expect(result.stderr).toContain('5 files could not be read');
  });

  for (const format of ['markdown', 'text']) {
    it(`neutralises bidi and zero-width characters and line breaks in the ${format} output`, async () => {
      const result = await runCli('diff', '--repo', repo, '--base', base, '--working-tree', '--format', format);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).not.toMatch(/[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C\u200C\u2060\uFEFF]|\u200D/);
      // markdownText may add U+200B after "@" on purpose; no name here has one, so none may remain.
      expect(result.stdout).not.toContain('\u200B');
      expect(result.stdout).toContain('<U+202E>');
      expect(result.stdout).toContain('<U+200B>');
      // The line break in a name does not start a new line of the report.
      expect(result.stdout.split('\n').some((line) => line.startsWith('lines.md'))).toBe(false);
      expect(result.stdout).toContain('link out of the repository');
    });
  }

  it('refuses a usage file outside the repository, by path or by link', async () => {
    const config = (usage: string) =>
      `${CONFIG}usage:\n  file: ${JSON.stringify(usage)}\n  format: daily-series\n`.replace(
        '    calls-per-month: 1000000\n',
        '',
      );
    for (const usage of ['../usage.csv', '/etc/passwd', 'prompts/../../usage.csv']) {
      writeFileSync(join(repo, '.tokenmeter.yml'), config(usage));
      const result = await runCli('diff', '--repo', repo, '--base', base, '--working-tree', '--format', 'json');
      expect(result.code, usage).toBe(2);
      expect(result.stderr).toMatch(/usage\.file.*inside the repository/);
    }
    symlinkSync(join(root, 'usage.csv'), join(repo, 'usage-link.csv'));
    writeFileSync(join(repo, '.tokenmeter.yml'), config('usage-link.csv'));
    const linked = await runCli('diff', '--repo', repo, '--base', base, '--working-tree', '--format', 'json');
    expect(linked.code).toBe(2);
    expect(linked.stderr).toMatch(/usage file "usage-link\.csv".*link out of the repository/);
    writeFileSync(join(repo, '.tokenmeter.yml'), CONFIG);
    rmSync(join(repo, 'usage-link.csv'));
  });

  it('reads names with a line break or U+202E between two commits too, and skips committed links', async () => {
    const other = join(root, 'commits');
    mkdirSync(join(other, 'prompts'), { recursive: true });
    git(other, 'init', '-q', '-b', 'main');
    writeFileSync(join(other, '.tokenmeter.yml'), CONFIG);
    writeFileSync(join(other, 'prompts/ok.md'), 'Hello world');
    git(other, 'add', '-A');
    git(other, 'commit', '-q', '-m', 'base');
    const first = git(other, 'rev-parse', 'HEAD');
    writeFileSync(join(other, NEWLINE), 'Say hello');
    writeFileSync(join(other, SPOOFED), 'Say hello');
    // At a commit a link's blob is its target path: that is not a prompt, whatever it points at.
    symlinkSync(join(root, 'secret.txt'), join(other, 'prompts/link.md'));
    git(other, 'add', '-A');
    git(other, 'commit', '-q', '-m', 'head');
    const result = await runCli('diff', '--repo', other, '--base', first, '--head', 'HEAD', '--format', 'json');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { prompts: JsonPrompt[] };
    expect(report.prompts.map((prompt) => [prompt.path, prompt.tokensAfter, prompt.skipped]).sort()).toEqual(
      [
        [NEWLINE, 2, null],
        [SPOOFED, 2, null],
        ['prompts/link.md', null, 'symbolic link'],
      ].sort(),
    );
  });

  it('refuses a .tokenmeter.yml that links out of the repository, saying why', async () => {
    const outsideConfig = join(root, 'outside.yml');
    writeFileSync(outsideConfig, CONFIG);
    rmSync(join(repo, '.tokenmeter.yml'));
    symlinkSync(outsideConfig, join(repo, '.tokenmeter.yml'));
    try {
      const result = await runCli('diff', '--repo', repo, '--base', base, '--working-tree', '--format', 'json');
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('.tokenmeter.yml cannot be used: link out of the repository');
    } finally {
      rmSync(join(repo, '.tokenmeter.yml'));
      writeFileSync(join(repo, '.tokenmeter.yml'), CONFIG);
    }
  });
});
