import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PriceCatalog, staleCatalogWarning } from '@tokenmeter/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FakeGitHub } from './fake-github';

// The bundled dist/ is rebuilt once after the merge, so this runs the Action from its sources, in-process, against
// the fake GitHub API on 127.0.0.1 and a real git checkout. `@actions/github` reads the event when first
// imported, so the environment is set before `main` is imported, and this file holds one run.
const REPOSITORY = 'octo/priced';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-C', cwd, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
    },
  }).trim();
}

function write(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

// gpt-4o-mini at a negotiated $1 and gpt-4o at $100 from the config's `prices:`; the `prices` input then puts
// gpt-4o at $3 (later wins). Token counts (o200k_base): "Hello world" 2, "Hello world, how are you?" 7, "Goodbye" 2.
const CONFIG = `prompts:
  - files: "prompts/mini/*.md"
    model: gpt-4o-mini
    calls-per-month: 1000000
  - files: "prompts/big/*.md"
    model: gpt-4o
    calls-per-month: 1000000
prices: prices/negotiated.yaml
`;

describe('the Action with price overrides (sources)', { timeout: 120_000 }, () => {
  let root = '';
  let api: FakeGitHub;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'tokenmeter-action-prices-'));
    const repo = join(root, 'repo');
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    write(repo, {
      '.tokenmeter.yml': CONFIG,
      'prices/negotiated.yaml':
        'models:\n  - id: gpt-4o-mini\n    input: "1"\n    output: "4"\n  - id: gpt-4o\n    input: "100"\n    output: "400"\n',
      'prices/input.json': JSON.stringify([{ id: 'gpt-4o', input: '3', output: '12' }]),
      'prompts/mini/support.md': 'Hello world',
    });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'base');
    const base = git(repo, 'rev-parse', 'HEAD');
    write(repo, { 'prompts/mini/support.md': 'Hello world, how are you?', 'prompts/big/new.md': 'Goodbye' });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'head');
    const head = git(repo, 'rev-parse', 'HEAD');

    api = new FakeGitHub(REPOSITORY, repo);
    const apiUrl = await api.start();
    api.pulls.set(7, { number: 7, base, head });
    const eventPath = join(root, 'event.json');
    writeFileSync(
      eventPath,
      JSON.stringify({
        action: 'synchronize',
        number: 7,
        pull_request: { number: 7, base: { sha: base }, head: { sha: head }, updated_at: '2026-12-01T10:00:00Z' },
        repository: { full_name: REPOSITORY, name: 'priced', owner: { login: 'octo' } },
      }),
    );
    writeFileSync(join(root, 'output'), '');
    writeFileSync(join(root, 'summary.md'), '');
    const env: Record<string, string> = {
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_OUTPUT: join(root, 'output'),
      GITHUB_STEP_SUMMARY: join(root, 'summary.md'),
      GITHUB_API_URL: apiUrl,
      GITHUB_REPOSITORY: REPOSITORY,
      GITHUB_WORKSPACE: repo,
      'INPUT_GITHUB-TOKEN': 'ghs_fake',
      INPUT_CONFIG: '.tokenmeter.yml',
      'INPUT_COMMENT-MODE': 'update',
      INPUT_PRICES: './prices/input.json\n',
    };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await api?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('prices with the config’s prices: and the prices input on top, and says when the catalog is stale', async () => {
    const stdout: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout.push(String(chunk));
      return true;
    });
    try {
      const { run } = await import('../src/main');
      await run();
    } finally {
      spy.mockRestore();
    }
    const log = stdout.join('');
    expect(process.exitCode ?? 0, log).toBe(0);
    const outputs = readFileSync(join(root, 'output'), 'utf8');
    // Before: 2 tokens × 1M calls × $1/M = $2. After: 7 × $1 + 2 × $3 (the input's gpt-4o, not the config's $100).
    expect(outputs).toMatch(/cost-before<<.*\n2\n/);
    expect(outputs).toMatch(/cost-after<<.*\n13\n/);
    expect(log).toContain('Prices layered over the catalog: prices/negotiated.yaml, prices/input.json');
    const body = api.comments.get(7)?.[0]?.body ?? '';
    const due = staleCatalogWarning(PriceCatalog.bundled().generatedAt);
    if (due) {
      expect(log).toContain('::warning::tokenmeter: The price catalog is from');
      // The comment escapes Markdown: `2026\-08\-21 \(109 days old\)`.
      expect(body.replace(/\\/g, '')).toMatch(/The price catalog is from \d{4}-\d{2}-\d{2} \(\d+ days old\)/);
      expect(body).toContain('prices input');
    } else {
      expect(body).not.toContain('The price catalog is from');
    }
  });
});
