import { describe, expect, it } from 'vitest';
import { InvalidConfigError } from './invalid-config-error';
import { matchPromptRule, parseCheckConfig } from './prompt-config';
import { parseUsageVolume } from './prompt-usage';

describe('parseCheckConfig', () => {
  it('reads the documented schema', () => {
    const config = parseCheckConfig(`
prompts:
  - files: "prompts/**/*.md"
    model: gpt-4o
    calls-per-month: 30000
    output-tokens: 400
    variables:
      question: 60
  - files: ["agents/*.prompty", "agents/*.prompt"]
    model: gpt-4o-mini
    calls-per-month: "1,000"
variables:
  user_name: 3
default-variable-tokens: 10
plans:
  - name: Flat 25
    monthly-usd: 25
`);
    expect(config.prompts).toHaveLength(2);
    expect(config.prompts[0]).toMatchObject({
      files: ['prompts/**/*.md'],
      model: 'gpt-4o',
      callsPerMonth: 30000,
      outputTokens: 400,
      variables: { question: 60 },
    });
    expect(config.prompts[1]?.callsPerMonth).toBe(1000);
    expect(config.variables).toEqual({ user_name: 3 });
    expect(config.defaultVariableTokens).toBe(10);
    expect(config.plans.map((plan) => [plan.name, plan.monthlyUsd.toString()])).toEqual([['Flat 25', '25']]);
    expect(matchPromptRule(config, 'prompts/a/b.md')).toBe(config.prompts[0]);
    expect(matchPromptRule(config, 'agents/x.prompty')).toBe(config.prompts[1]);
    expect(matchPromptRule(config, 'src/index.ts')).toBeUndefined();
    // Line breaks are characters of a file name like any other (git allows them).
    for (const name of ['prompts/a\nb.md', 'prompts/a\r\nb.md', 'prompts/a\u2028b.md']) {
      expect(matchPromptRule(config, name), JSON.stringify(name)).toBe(config.prompts[0]);
    }
    expect(matchPromptRule(config, 'src/a\nb.md')).toBeUndefined();
  });

  it('accepts measured volume instead of calls-per-month', () => {
    const config = parseCheckConfig('model: gpt-4o\nprompts:\n  files: "*.md"\nusage: usage/daily.json\n');
    expect(config.usage).toEqual({ file: 'usage/daily.json' });
    expect(config.prices).toBeUndefined();
    const priced = parseCheckConfig(
      'model: gpt-4o\nprompts:\n  files: "*.md"\n  calls-per-month: 1\nprices: [./prices/ours.yaml, https://example.test/p.json]\n',
    );
    expect(priced.prices).toEqual(['prices/ours.yaml', 'https://example.test/p.json']);
    expect(
      parseCheckConfig('model: m\nprompts:\n  files: "*.md"\n  calls-per-month: 1\nprices: a.json\n').prices,
    ).toEqual(['a.json']);
    expect(() => parseCheckConfig('model: m\nprompts:\n  files: "*.md"\n  calls-per-month: 1\nprices: [1]\n')).toThrow(
      /prices\[0\]/,
    );
    expect(() =>
      parseCheckConfig('model: m\nprompts:\n  files: "*.md"\n  calls-per-month: 1\nprices: {a: 1}\n'),
    ).toThrow(/prices/);
    expect(config.prompts[0]?.callsPerMonth).toBeUndefined();
  });

  it('refuses a usage file outside the repository', () => {
    const outside = ['../usage.csv', '/etc/passwd', 'usage/../../x.csv', '..\\x.csv', 'C:/x.csv', '\\\\host\\x'];
    for (const file of outside) {
      for (const usage of [JSON.stringify(file), `{ file: ${JSON.stringify(file)} }`]) {
        expect(() => parseCheckConfig(`model: gpt-4o\nprompts:\n  files: "*.md"\nusage: ${usage}\n`), file).toThrow(
          /usage(\.file)?.*relative path inside the repository/,
        );
      }
    }
    for (const file of ['usage/./daily.json', 'a/../usage.json', 'dots..json']) {
      const config = parseCheckConfig(`model: gpt-4o\nprompts:\n  files: "*.md"\nusage: ${JSON.stringify(file)}\n`);
      expect(config.usage?.file).toBe(file);
    }
  });

  it.each([
    ['', 'prompts'],
    ['prompts: []', 'prompts'],
    ['prompts:\n  - model: gpt-4o\n    calls-per-month: 1', 'prompts[0].files'],
    ['prompts:\n  - files: "*.md"\n    calls-per-month: 1', 'prompts[0].model'],
    ['prompts:\n  - files: "*.md"\n    model: gpt-4o', 'prompts[0].calls-per-month'],
    ['prompts:\n  - files: "*.md"\n    model: gpt-4o\n    calls-per-month: -5', 'prompts[0].calls-per-month'],
    ['prompts:\n  - files: "*.md"\n    model: gpt-4o\n    callsPerMonth: 5', 'prompts[0].callsPerMonth'],
    [
      'model: m\nprompts:\n  - files: "*.md"\n    calls-per-month: 1\nplans:\n  - name: X\n    monthly-usd: lots',
      'plans[0].monthly-usd',
    ],
    ['model: m\nprompts:\n  files: "*.md"\n  calls-per-month: 1\nvariables:\n  a: many', 'variables.a'],
    ['prompts: [unclosed', ''],
    ['model: m\nprompts:\n  files: "*.md"\n  calls-per-month: 1\nplans-in-comment: yes please', 'plans-in-comment'],
  ])('rejects %j naming %s', (yaml, field) => {
    try {
      parseCheckConfig(yaml);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).code).toBe('INVALID_CONFIG');
      expect((error as InvalidConfigError).field).toBe(field);
    }
  });

  it('reads `volumes: measured` as a per-prompt usage export, and not together with `usage`', () => {
    const base = 'model: m\nprompts:\n  files: "*.md"\n';
    expect(parseCheckConfig(`${base}volumes:\n  measured: ./usage/prompts.json\n`).usage).toEqual({
      file: 'usage/prompts.json',
      format: 'per-prompt',
    });
    expect(() => parseCheckConfig(`${base}volumes:\n  measured: a.json\nusage: b.json\n`)).toThrow(
      'give either `usage` or `volumes: { measured }`',
    );
    expect(() => parseCheckConfig(`${base}volumes:\n  guessed: a.json\n`)).toThrow(InvalidConfigError);
  });

  it('shows the flat-rate plans in the comment only when asked', () => {
    const base = 'model: m\nprompts:\n  files: "*.md"\n  calls-per-month: 1\n';
    expect(parseCheckConfig(base).plansInComment).toBe(false);
    expect(parseCheckConfig(`${base}plans-in-comment: true\n`).plansInComment).toBe(true);
  });

  it('suggests the kebab-case spelling', () => {
    expect(() => parseCheckConfig('prompts:\n  - files: "*.md"\n    model: m\n    callsPerMonth: 5')).toThrow(
      'did you mean `calls-per-month`?',
    );
  });
});

describe('parseUsageVolume', () => {
  it('turns a daily series into calls per month (mean per day × 30) and output tokens per call', () => {
    const json = JSON.stringify([
      { date: '2026-11-01', requests: 100, inputTokens: 5000, outputTokens: 2000, cost: '0.03' },
      { date: '2026-11-02', requests: 201, inputTokens: 5000, outputTokens: 4020, cost: '0.04' },
    ]);
    // (100 + 201) × 30 / 2 = 4515; output (2000 + 4020) / 301 = 20.
    expect(parseUsageVolume(json, 'usage.json')).toEqual({
      source: 'usage.json',
      kind: 'daily-series',
      days: 2,
      callsPerMonth: 4515,
      outputTokensPerCall: 20,
    });
    const csv =
      'date,requests,inputTokens,outputTokens,cost\n2026-11-01,100,5000,2000,0.03\n2026-11-02,201,5000,4020,0.04\n';
    expect(parseUsageVolume(csv, 'usage.csv')).toMatchObject({ callsPerMonth: 4515, outputTokensPerCall: 20 });
  });

  it('reads per-prompt volume', () => {
    expect(parseUsageVolume('{"prompts": {"./prompts/a.md": 1200}}', 'v.json')).toEqual({
      source: 'v.json',
      kind: 'per-prompt',
      perPrompt: { 'prompts/a.md': 1200 },
    });
  });

  it.each(['', '[]', '{"x": 1}', '[{"requests": -1}]', 'a,b\n1,2', '{"prompts": {"a": "many"}}', '[{'])(
    'rejects %j with INVALID_CONFIG',
    (text) => {
      expect(() => parseUsageVolume(text, 'u')).toThrow(InvalidConfigError);
    },
  );
});
