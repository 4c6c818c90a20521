/**
 * PR check at scale: `tokenmeter diff` over 1,000 changed prompt files of 10 KB each in a temporary git
 * repository, and the GitHub API calls the Action's bundle makes for the same pull request, against a
 * counting fake API on 127.0.0.1 — once reading files from the checkout (git), once from the contents API.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPromptEngine, diffPrompts, parseCheckConfig } from '@tokenmeter/core';
import { CountingGitHub } from './fake-github-api';
import { type BenchSection, log, type TargetResult, table } from './report';
import { fixed, integer } from './stats';
import { corpus } from './text-corpus';

const FILES = 1000;
const FILE_BYTES = 10 * 1024;
const REPOSITORY = 'octo/prompts';
const root = fileURLToPath(new URL('../../', import.meta.url));
const cliBin = join(root, 'packages/cli/dist/bin.js');
const actionBundle = join(root, 'packages/action/dist/index.js');

const CONFIG = `prompts:
  - files: "prompts/**/*.md"
    model: gpt-4o-mini
    calls-per-month: 100000
`;

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-C', cwd, ...args], {
    encoding: 'utf8',
    env: GIT_ENV,
    maxBuffer: 64 * 1024 * 1024,
  }).trim();
}

const RUN_LIMIT_MS = 30_000;

function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<{ code: number; stdout: string; ms: number; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    // Bounded: a run over the limit is stopped and reported as "> limit", not waited for.
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, RUN_LIMIT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, ms: performance.now() - started, killed });
    });
  });
}

async function runAction(
  api: CountingGitHub,
  apiUrl: string,
  repo: string,
  pull: { base: string; head: string },
  workspace: boolean,
) {
  const directory = mkdtempSync(join(tmpdir(), 'tokenmeter-bench-run-'));
  const eventPath = join(directory, 'event.json');
  writeFileSync(
    eventPath,
    JSON.stringify({
      action: 'synchronize',
      number: 1,
      pull_request: { number: 1, base: { sha: pull.base }, head: { sha: pull.head } },
      repository: { full_name: REPOSITORY, name: 'prompts', owner: { login: 'octo' } },
    }),
  );
  writeFileSync(join(directory, 'output'), '');
  writeFileSync(join(directory, 'summary.md'), '');
  api.reset();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: directory,
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_OUTPUT: join(directory, 'output'),
    GITHUB_STEP_SUMMARY: join(directory, 'summary.md'),
    GITHUB_API_URL: apiUrl,
    GITHUB_REPOSITORY: REPOSITORY,
    GITHUB_RUN_ID: '1',
    GITHUB_RUN_ATTEMPT: '1',
    'INPUT_GITHUB-TOKEN': 'ghs_fake',
    INPUT_CONFIG: '.tokenmeter.yml',
    'INPUT_COMMENT-MODE': 'update',
    ...(workspace ? { GITHUB_WORKSPACE: repo } : {}),
  };
  const result = await run(process.execPath, [actionBundle], { cwd: workspace ? repo : directory, env });
  const outputs = readFileSync(join(directory, 'output'), 'utf8');
  rmSync(directory, { recursive: true, force: true });
  if (result.code !== 0 && !result.killed) {
    throw new Error(`the Action failed (${result.code}): ${result.stdout.slice(-2000)}`);
  }
  return {
    ms: result.ms,
    killed: result.killed,
    calls: new Map(api.calls),
    total: api.total,
    changed: /changed-prompts<<[^\n]*\n(\d+)/.exec(outputs)?.[1],
  };
}

const GIT_MODE_FILES = 100;

function promptPath(index: number): string {
  return `prompts/p${String(index).padStart(4, '0')}.md`;
}

export async function prCheckBenchmark(): Promise<BenchSection> {
  // `pnpm bench` builds both first; a concurrent rebuild (tsup cleans dist/) gets up to a minute to finish.
  for (const file of [cliBin, actionBundle]) {
    for (let wait = 0; wait < 60 && !existsSync(file); wait++)
      await new Promise((resolve) => setTimeout(resolve, 1000));
    if (!existsSync(file)) throw new Error(`${file} is missing: build the CLI and the Action first`);
  }
  const directory = mkdtempSync(join(tmpdir(), 'tokenmeter-bench-pr-'));
  const repo = join(directory, 'repo');
  try {
    log(`pr-check: creating ${FILES} prompt files of ${FILE_BYTES / 1024} KB`);
    mkdirSync(join(repo, 'prompts'), { recursive: true });
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(join(repo, '.tokenmeter.yml'), CONFIG);
    const before: string[] = [];
    const after: string[] = [];
    for (let index = 0; index < FILES; index++) {
      const text = corpus(FILE_BYTES, 1000 + index);
      before.push(text);
      // Every file changes: its last kilobyte is rewritten.
      after.push(text.slice(0, FILE_BYTES - 1024) + corpus(1024, 5000 + index));
      writeFileSync(join(repo, promptPath(index)), text);
    }
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'base');
    const base = git(repo, 'rev-parse', 'HEAD');
    for (let index = 0; index < GIT_MODE_FILES; index++)
      writeFileSync(join(repo, promptPath(index)), after[index] as string);
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', `change ${GIT_MODE_FILES}`);
    const head100 = git(repo, 'rev-parse', 'HEAD');
    for (let index = GIT_MODE_FILES; index < FILES; index++)
      writeFileSync(join(repo, promptPath(index)), after[index] as string);
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'change the rest');
    const head = git(repo, 'rev-parse', 'HEAD');

    log('pr-check: diffPrompts in process (counting and pricing only)');
    const engineStarted = performance.now();
    const inProcess = diffPrompts({
      files: before.map((text, index) => ({
        path: promptPath(index),
        status: 'modified' as const,
        before: text,
        after: after[index] as string,
      })),
      config: parseCheckConfig(CONFIG),
      engine: createPromptEngine(),
    });
    const engineMs = performance.now() - engineStarted;

    log(`pr-check: tokenmeter diff (stopped after ${RUN_LIMIT_MS / 1000} s)`);
    const diff = await run(
      process.execPath,
      [cliBin, 'diff', '--base', base, '--head', head, '--repo', repo, '--format', 'json'],
      { cwd: repo },
    );
    if (diff.code !== 0 && !diff.killed) {
      throw new Error(`tokenmeter diff failed (${diff.code}): ${diff.stdout.slice(-2000)}`);
    }
    log(`pr-check: tokenmeter diff over the first ${GIT_MODE_FILES} files`);
    const diffSmall = await run(
      process.execPath,
      [cliBin, 'diff', '--base', base, '--head', head100, '--repo', repo, '--format', 'json'],
      { cwd: repo },
    );
    const priced = diff.killed ? Number.NaN : ((JSON.parse(diff.stdout) as { prompts: unknown[] }).prompts.length ?? 0);

    const contents = new Map<string, Buffer>();
    contents.set(`${base}:.tokenmeter.yml`, Buffer.from(CONFIG));
    contents.set(`${head}:.tokenmeter.yml`, Buffer.from(CONFIG));
    contents.set(`${head100}:.tokenmeter.yml`, Buffer.from(CONFIG));
    for (let index = 0; index < FILES; index++) {
      contents.set(`${base}:${promptPath(index)}`, Buffer.from(before[index] as string));
      contents.set(`${head}:${promptPath(index)}`, Buffer.from(after[index] as string));
    }
    const api = new CountingGitHub(REPOSITORY, repo, { number: 1, base, head }, contents);
    const apiUrl = await api.start();
    try {
      log('pr-check: the Action, 1,000 files from the contents API');
      const withApi = await runAction(api, apiUrl, repo, { base, head }, false);
      log(`pr-check: the Action, ${GIT_MODE_FILES} files from the checkout`);
      api.pull.head = head100;
      const withGit = await runAction(api, apiUrl, repo, { base, head: head100 }, true);
      const callRows = (calls: Map<string, number>) =>
        [...calls.entries()]
          .sort()
          .map(([route, count]) => `${route} × ${count}`)
          .join('<br>');
      const seconds = (run: { ms: number; killed: boolean }) =>
        run.killed ? `> ${RUN_LIMIT_MS / 1000} (stopped)` : fixed(run.ms / 1000);
      const markdown = [
        `A temporary git repository with ${integer(FILES)} prompt files of ${FILE_BYTES / 1024} KB (\`prompts/*.md\`, gpt-4o-mini, 100,000 calls a month), every file changed between base and head (20 MB of text to count). Timings include starting Node; runs are stopped after ${RUN_LIMIT_MS / 1000} s.`,
        '',
        table(
          ['run', 'seconds', 'prompts compared', 'GitHub API calls'],
          [
            [
              '`diffPrompts` in process (count + price only, no I/O)',
              fixed(engineMs / 1000),
              integer(inProcess.prompts.length),
              '—',
            ],
            ['`tokenmeter diff --format json` (reads git)', seconds(diff), integer(priced), '—'],
            [
              `\`tokenmeter diff\`, the first ${GIT_MODE_FILES} files only`,
              seconds(diffSmall),
              String(GIT_MODE_FILES),
              '—',
            ],
            [
              `Action bundle, ${integer(FILES)} files from the contents API (no checkout)`,
              seconds(withApi),
              withApi.changed ?? '?',
              `${withApi.total}: ${callRows(withApi.calls)}`,
            ],
            [
              `Action bundle, ${GIT_MODE_FILES} files from the checkout (\`GITHUB_WORKSPACE\`)`,
              seconds(withGit),
              withGit.changed ?? '?',
              `${withGit.total}: ${callRows(withGit.calls)}`,
            ],
          ],
        ),
        '',
        'The fake API serves file contents from memory, so the Action is measured, not the fake.',
      ].join('\n');
      const targets: TargetResult[] = [
        {
          name: '`tokenmeter diff`, 1,000 × 10 KB changed prompts',
          target: '< 10 s',
          measured: diff.killed ? `> ${RUN_LIMIT_MS / 1000} s` : `${fixed(diff.ms / 1000)} s`,
          met: !diff.killed && diff.ms < 10_000,
        },
        {
          name: 'Action GitHub API calls for 1,000 changed files (contents API)',
          target: 'reported',
          measured: `${withApi.total}`,
          met: withApi.killed ? undefined : true,
        },
      ];
      return { title: 'PR check at scale', markdown, targets };
    } finally {
      await api.stop();
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
