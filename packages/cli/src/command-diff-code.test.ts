import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { costOfTokens, parsePricePerMillion } from '@tokenmeter/core';
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

const FIXTURES = join(import.meta.dirname, '..', '..', 'core', 'fixtures', 'prompts-in-code');
const fixture = (path: string) => readFileSync(join(FIXTURES, path), 'utf8');
const TRIAGE = 'src/agents/triage.ts';
const ESCALATE = 'src/agents/escalate.py';

// Published prices per million input tokens (https://openai.com/api/pricing/): gpt-4o $2.50, gpt-4o-mini $0.15.
const perCall = (pricePerMillion: string, tokens: number) =>
  costOfTokens(parsePricePerMillion(pricePerMillion), tokens).toString();

describe('tokenmeter diff over prompts in code', { timeout: 60_000 }, () => {
  let repo: string;
  let base: string;

  beforeAll(() => {
    repo = mkdtempSync(join(tmpdir(), 'tokenmeter-diff-code-'));
    git(repo, 'init', '-q', '-b', 'main');
    write(repo, {
      '.tokenmeter.yml': [
        'variables:',
        '  conversation: 500',
        'prompts:',
        '  - code: ["src/**/*.ts", "src/**/*.py"]',
        '    calls-per-month: 10000',
        '',
      ].join('\n'),
      [TRIAGE]: fixture(TRIAGE),
      [ESCALATE]: fixture(ESCALATE),
    });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'base');
    base = git(repo, 'rev-parse', 'HEAD');
    write(repo, {
      // An edited system prompt inside a Vercel AI SDK call, and a model switch in a Python OpenAI call.
      [TRIAGE]: fixture(TRIAGE).replace(
        'Never promise refunds.',
        'Never promise refunds. Always thank the customer by name.',
      ),
      [ESCALATE]: fixture(ESCALATE).replace('model="gpt-4o-mini"', 'model="gpt-4o"'),
    });
    git(repo, 'commit', '-q', '-am', 'head');
  });

  afterAll(() => rmSync(repo, { recursive: true, force: true }));

  it('prints one row per changed call site with its file:line, label and model', async () => {
    const result = await runCli('diff', '--repo', repo, '--base', base, '--head', 'HEAD', '--format', 'json');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    const [escalate, draft] = report.prompts;
    expect(
      report.prompts.map((row: { path: string; status: string; model: string }) => [row.path, row.status, row.model]),
    ).toEqual([
      ['src/agents/escalate.py:12 (system prompt of escalate)', 'modified', 'gpt-4o'],
      ['src/agents/triage.ts:43 (system prompt of draftReply)', 'modified', 'gpt-4o'],
    ]);

    // The model switch: the same tokens, priced at gpt-4o-mini before and gpt-4o after (no output tokens set).
    expect(escalate.tokensBefore).toBe(escalate.tokensAfter);
    expect(escalate.tokensBefore).toBeGreaterThan(500);
    expect(escalate.costPerCallBefore).toBe(perCall('0.15', escalate.tokensBefore));
    expect(escalate.costPerCallAfter).toBe(perCall('2.5', escalate.tokensAfter));

    // The edited prompt: more tokens at the same model; the {conversation} hole counts 500 on both sides.
    expect(draft.tokensAfter - draft.tokensBefore).toBeGreaterThanOrEqual(6);
    expect(draft.costPerCallBefore).toBe(perCall('2.5', draft.tokensBefore));
    expect(draft.costPerCallAfter).toBe(perCall('2.5', draft.tokensAfter));
    expect(draft.estimated).toBe(true);
  });

  it('fails the check (exit 1) when the model switch costs more than max-increase-usd', async () => {
    const result = await runCli(
      'diff',
      '--repo',
      repo,
      '--base',
      base,
      '--head',
      'HEAD',
      '--format',
      'text',
      '--max-increase-usd',
      '5',
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('src/agents/escalate.py:12 (system prompt of escalate)');
  });
});
