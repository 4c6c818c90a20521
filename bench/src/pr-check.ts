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
  return execFileSync('git', ['-C', cwd, ...args], { encoding: 'utf8', env: GIT_ENV, maxBuffer: 64 * 1024 * 1024 }).trim();
}

function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<{ code: number; stdout: string; ms: number }> {
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
    // Bounded: a hung run fails the benchmark rather than the whole `pnpm bench`.
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, ms: performance.now() - started });
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
  if (result.code !== 0) throw new Error(`the Action failed (${result.code}): ${result.stdout.slice(-2000)}`);
  return { ms: result.ms, calls: new Map(api.calls), total: api.total, changed: /changed-prompts<<[^\n]*\n(\d+)/.exec(outputs)?.[1] };
}

export async function prCheckBenchmark(): Promise<BenchSection> {
  for (const file of [cliBin, actionBundle]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: build the CLI and the Action first`);
  }
  const directory = mkdtempSync(join(tmpdir(), 'tokenmeter-bench-pr-'));
  const repo = join(directory, 'repo');
  try {
    log(`pr-check: creating ${FILES} prompt files of ${FILE_BYTES / 1024} KB`);
    mkdirSync(join(repo, 'prompts'), { recursive: true });
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(join(repo, '.tokenmeter.yml'), CONFIG);
    for (let index = 0; index < FILES; index++) {
      writeFileSync(join(repo, 'prompts', `p${String(index).padStart(4, '0')}.md`), corpus(FILE_BYTES, 1000 + index));
    }
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'base');
    const base = git(repo, 'rev-parse', 'HEAD');
    for (let index = 0; index < FILES; index++) {
      // Every file changes: about a tenth of it is rewritten.
      const text = corpus(FILE_BYTES, 1000 + index);
      writeFileSync(
        join(repo, 'prompts', `p${String(index).padStart(4, '0')}.md`),
        text.slice(0, FILE_BYTES - 1024) + corpus(1024, 5000 + index),
      );
    }
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'head');
    const head = git(repo, 'rev-parse', 'HEAD');

    log('pr-check: tokenmeter diff');
    const diff = await run(process.execPath, [cliBin, 'diff', '--base', base, '--head', head, '--repo', repo, '--format', 'json'], {
      cwd: repo,
    });
    if (diff.code !== 0) throw new Error(`tokenmeter diff failed (${diff.code}): ${diff.stdout.slice(-2000)}`);
    const report = JSON.parse(diff.stdout) as { prompts?: unknown[]; costDelta?: string };
    const priced = Array.isArray(report.prompts) ? report.prompts.length : Number.NaN;

    const api = new CountingGitHub(REPOSITORY, repo, { number: 1, base, head });
    const apiUrl = await api.start();
    try {
      log('pr-check: the Action, files from the checkout');
      const withGit = await runAction(api, apiUrl, repo, { base, head }, true);
      log('pr-check: the Action, files from the contents API');
      const withApi = await runAction(api, apiUrl, repo, { base, head }, false);
      const callRows = (calls: Map<string, number>) =>
        [...calls.entries()].sort().map(([route, count]) => `${route} × ${count}`).join('<br>');
      const markdown = [
        `A temporary git repository with ${integer(FILES)} prompt files of ${FILE_BYTES / 1024} KB (\`prompts/*.md\`, gpt-4o-mini, 100,000 calls a month), every file changed between base and head. Timings include starting Node.`,
        '',
        table(
          ['run', 'seconds', 'prompts compared', 'GitHub API calls'],
          [
            ['`tokenmeter diff --format json` (git)', fixed(diff.ms / 1000), integer(priced), '—'],
            [
              'Action bundle, files from the checkout (`GITHUB_WORKSPACE`)',
              fixed(withGit.ms / 1000),
              withGit.changed ?? '?',
              `${withGit.total}: ${callRows(withGit.calls)}`,
            ],
            [
              'Action bundle, files from the contents API (no checkout)',
              fixed(withApi.ms / 1000),
              withApi.changed ?? '?',
              `${withApi.total}: ${callRows(withApi.calls)}`,
            ],
          ],
        ),
      ].join('\n');
      const targets: TargetResult[] = [
        {
          name: '`tokenmeter diff`, 1,000 × 10 KB changed prompts',
          target: '< 10 s',
          measured: `${fixed(diff.ms / 1000)} s`,
          met: diff.ms < 10_000,
        },
        {
          name: 'Action GitHub API calls, 1,000 files (checkout / contents API)',
          target: 'reported',
          measured: `${withGit.total} / ${withApi.total}`,
          met: true,
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
