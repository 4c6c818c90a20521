import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HELP_EXAMPLES } from '../src/help-examples';
import { createProgram } from '../src/program';
import { runCli } from './run-cli';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

// docs: packages/cli/README.md "exits with": 0 done, 1 a check failed, 2 bad arguments or input.
describe('the exit-code contract', () => {
  it.each([
    ['an unknown command', ['frobnicate']],
    ['an unknown option', ['models', '--no-such-flag']],
    ['a missing required option', ['diff', '--format', 'text']],
    ['an option without its value', ['models', '--provider']],
    ['a value outside the choices', ['diff', '--base', 'main', '--format', 'yaml']],
    ['no command at all', []],
  ])('exits 2 for %s, never 1 (1 means a threshold was exceeded)', async (_what, args) => {
    const result = await runCli(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error|Usage/);
  });

  it('exits 0 for help and --version, and --version prints the package version', async () => {
    expect((await runCli('--help')).code).toBe(0);
    expect((await runCli('cost', '--help')).code).toBe(0);
    const version = await runCli('--version');
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(manifest.version);
  });
});

describe('--json errors', () => {
  it('puts a parser error on stdout as {"error":{…}}', async () => {
    const result = await runCli('models', '--json', '--no-such-flag');
    expect(result.code).toBe(2);
    const parsed = JSON.parse(result.stdout) as { error: { code: string; message: string } };
    expect(parsed.error.code).toBe('CLI_USAGE');
    expect(parsed.error.message).toContain('--no-such-flag');
  });

  it('puts an input error on stdout as {"error":{…}} with its code', async () => {
    const result = await runCli('price', 'gpt-4oo', '--json');
    expect(result.code).toBe(2);
    const parsed = JSON.parse(result.stdout) as { error: { code: string } };
    expect(parsed.error.code).toBe('UNKNOWN_MODEL');
  });
});

describe('help pages', () => {
  it('every command shows examples and no "(default: [])" for repeatable flags', async () => {
    const program = await createProgram();
    for (const command of program.commands) {
      const help = command.helpInformation() + (await runCli(command.name(), '--help')).stdout;
      expect(help, command.name()).not.toContain('(default: [])');
      expect(HELP_EXAMPLES[command.name()]?.length ?? 0, `${command.name()} has examples`).toBeGreaterThan(0);
      expect(help, command.name()).toContain('Examples:');
    }
  });
});

describe('messages name the flags a person typed', () => {
  it.each([
    [['project', '--requests-per-day', '10', '--input', '-5', '--output', '3', '--model', 'gpt-4o'], '--input'],
    [['project', '--requests-per-day', '10', '--input', '5', '--model', 'gpt-4o'], '--output'],
    [['compare', '--requests-per-day', '10', '--input', '5', '--output', 'x', '--model', 'gpt-4o'], '--output'],
    [
      [
        'compare',
        '--requests-per-day',
        '10',
        '--input',
        '5',
        '--output',
        '5',
        '--cache-hit',
        '150%',
        '--model',
        'gpt-4o',
      ],
      '--cache-hit',
    ],
  ])('%j names %s', async (args, flag) => {
    const result = await runCli(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(flag);
    expect(result.stderr).not.toMatch(/inputTokensPerRequest|outputTokensPerRequest|cacheHitShare/);
  });
});
