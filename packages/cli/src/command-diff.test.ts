import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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

function write(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

// o200k_base: "Hello world", "Goodbye" and "Say hello" are 2 tokens each, "Hello world, how are you?" 7.
// gpt-4o-mini's published input price is $0.15 per million tokens; 1,000,000 calls a month → tokens × $0.15.
describe('tokenmeter diff', { timeout: 60_000 }, () => {
  let repo: string;
  let base: string;

  beforeAll(() => {
    repo = mkdtempSync(join(tmpdir(), 'tokenmeter-diff-'));
    git(repo, 'init', '-q', '-b', 'main');
    write(repo, {
      '.tokenmeter.yml': 'prompts:\n  - files: "prompts/**"\n    model: gpt-4o-mini\n    calls-per-month: 1000000\n',
      'prompts/support.md': 'Hello world',
      'prompts/legacy.md': 'Goodbye',
      'prompts/move-me.md': 'Hello world',
    });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'base');
    base = git(repo, 'rev-parse', 'HEAD');
    write(repo, { 'prompts/support.md': 'Hello world, how are you?', 'prompts/new.md': 'Say hello' });
    rmSync(join(repo, 'prompts/legacy.md'));
    git(repo, 'mv', 'prompts/move-me.md', 'prompts/moved.md');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'head');
  });

  afterAll(() => rmSync(repo, { recursive: true, force: true }));

  it('prints the JSON report between two commits', async () => {
    const result = await runCli('diff', '--repo', repo, '--base', base, '--head', 'HEAD', '--format', 'json');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    // Before: support 2 + legacy 2 + move-me 2 = 6 tokens → $0.90; after: support 7 + new 2 + moved 2 = 11 → $1.65.
    expect(report).toMatchObject({ costBefore: '0.9', costAfter: '1.65', costDelta: '0.75', deltaPercent: '83.3' });
    expect(
      report.prompts.map((prompt: Record<string, unknown>) => [
        prompt.path,
        prompt.previousPath,
        prompt.status,
        prompt.tokensBefore,
        prompt.tokensAfter,
        prompt.costBefore,
        prompt.costAfter,
      ]),
    ).toEqual([
      ['prompts/legacy.md', null, 'removed', 2, null, '0.3', '0'],
      ['prompts/moved.md', 'prompts/move-me.md', 'renamed', 2, 2, '0.3', '0.3'],
      ['prompts/new.md', null, 'added', null, 2, '0', '0.3'],
      ['prompts/support.md', null, 'modified', 2, 7, '0.3', '1.05'],
    ]);
  });

  it('prints the same Markdown as the Action comment', async () => {
    const result = await runCli('diff', '--repo', repo, '--base', base);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe('<!-- tokenmeter-cost-report -->');
    expect(result.stdout).toContain('## Monthly cost +\\$0.75 (+83.3 %)');
    expect(result.stdout).toContain(
      '| ` prompts/move-me.md ` → ` prompts/moved.md ` (renamed) | ` gpt-4o-mini ` | 2 → 2 | \\$0.00 |',
    );
  });

  it('states the failed limit under the headline in text and JSON, as in the comment', async () => {
    const text = await runCli('diff', '--repo', repo, '--base', base, '--format', 'text', '--max-increase-usd', '0.5');
    expect(text.code).toBe(1);
    const lines = text.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'Monthly cost +$0.75 (+83.3 %)',
      '',
      'Check failed: monthly cost increase +$0.75 exceeds max-increase-usd $0.50.',
    ]);
    expect(text.stdout).toMatch(/prompts\/support\.md\s+modified\s+gpt-4o-mini\s+2\s+7/);
    const json = await runCli('diff', '--repo', repo, '--base', base, '--format', 'json', '--max-increase-usd', '0.5');
    expect(JSON.parse(json.stdout).failure).toBe('monthly cost increase +$0.75 exceeds max-increase-usd $0.50.');
  });

  it('compares with the working tree, untracked files included, and renders text', async () => {
    write(repo, { 'prompts/draft.md': 'Goodbye', 'prompts/support.md': 'Hello world' });
    try {
      const result = await runCli('diff', '--repo', repo, '--base', base, '--working-tree', '--format', 'text');
      expect(result.code, result.stderr).toBe(0);
      // support.md is back to its base text, so it is no change. Before: legacy 2 + move-me 2 = $0.60;
      // after: moved 2 + new 2 + draft 2 = $0.90: +$0.30 (+50.0 %).
      expect(result.stdout.split('\n')[0]).toBe('Monthly cost +$0.30 (+50.0 %)');
      expect(result.stdout).toContain('prompts/draft.md');
      expect(result.stdout).not.toContain('prompts/support.md');
    } finally {
      git(repo, 'checkout', '-q', '--', 'prompts/support.md');
      rmSync(join(repo, 'prompts/draft.md'));
    }
  });

  it('exits 1 when a threshold is exceeded', async () => {
    const result = await runCli(
      'diff',
      '--repo',
      repo,
      '--base',
      base,
      '--format',
      'json',
      '--max-increase-usd',
      '0.5',
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('monthly cost increase +$0.75 exceeds max-increase-usd $0.50.');
    const percent = await runCli(
      'diff',
      '--repo',
      repo,
      '--base',
      base,
      '--format',
      'json',
      '--max-increase-percent',
      '90',
    );
    expect(percent.code).toBe(0);
  });

  it('reports bad input clearly', async () => {
    const unknown = await runCli('diff', '--repo', repo, '--base', 'no-such-branch');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown revision "no-such-branch"');
    const both = await runCli('diff', '--repo', repo, '--base', base, '--head', 'HEAD', '--working-tree');
    expect(both.code).toBe(2);
    const config = join(repo, 'bad.yml');
    writeFileSync(config, 'prompts:\n  - files: "*.md"\n');
    const invalid = await runCli('diff', '--repo', repo, '--base', base, '--config', config);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('Invalid config at prompts[0].model');
    rmSync(config);
    const notRepo = await runCli('diff', '--repo', tmpdir(), '--base', 'HEAD');
    expect(notRepo.code).toBe(2);
  });

  it('prices with the config’s prices: file from the repository, and --prices wins over it', async () => {
    const priced = mkdtempSync(join(tmpdir(), 'tokenmeter-diff-prices-'));
    try {
      git(priced, 'init', '-q', '-b', 'main');
      write(priced, {
        '.tokenmeter.yml':
          'prompts:\n  - files: "prompts/**"\n    model: gpt-4o-mini\n    calls-per-month: 1000000\nprices: prices/ours.yaml\n',
        'prices/ours.yaml': 'models:\n  - id: gpt-4o-mini\n    input: "1"\n    output: "4"\n',
        'prompts/support.md': 'Hello world',
      });
      git(priced, 'add', '-A');
      git(priced, 'commit', '-q', '-m', 'base');
      const first = git(priced, 'rev-parse', 'HEAD');
      write(priced, { 'prompts/support.md': 'Hello world, how are you?' });
      git(priced, 'add', '-A');
      git(priced, 'commit', '-q', '-m', 'head');
      // 2 → 7 tokens × 1M calls at the repository's negotiated $1 per million.
      const result = await runCli('diff', '--repo', priced, '--base', first, '--format', 'json');
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ costBefore: '2', costAfter: '7' });
      const flag = join(priced, 'flag.json');
      writeFileSync(flag, JSON.stringify([{ id: 'gpt-4o-mini', input: '2', output: '8' }]));
      const overridden = await runCli('diff', '--repo', priced, '--base', first, '--format', 'json', '--prices', flag);
      expect(JSON.parse(overridden.stdout)).toMatchObject({ costBefore: '4', costAfter: '14' });
      write(priced, {
        '.tokenmeter.yml':
          'prompts:\n  - files: "prompts/**"\n    model: gpt-4o-mini\n    calls-per-month: 1\nprices: prices/missing.yaml\n',
      });
      const missing = await runCli('diff', '--repo', priced, '--base', first, '--working-tree', '--format', 'json');
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('Cannot load price feed prices/missing.yaml: not found');
    } finally {
      rmSync(priced, { recursive: true, force: true });
    }
  });

  it('exits 2 on an unknown model, with the line and a suggestion, and still prints the report', async () => {
    const config = join(repo, 'typo.yml');
    writeFileSync(config, '# typo\nprompts:\n  - files: "prompts/**"\n    model: gpt4o\n    calls-per-month: 1000\n');
    try {
      const result = await runCli('diff', '--repo', repo, '--base', base, '--config', config, '--format', 'json');
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        `model gpt4o (${config} line 4) is not in the price catalog; did you mean gpt-4o`,
      );
      const report = JSON.parse(result.stdout);
      expect(report.complete).toBe(false);
      expect(report.modelErrors[0]).toMatchObject({ model: 'gpt4o', line: 4 });
    } finally {
      rmSync(config);
    }
  });
});
