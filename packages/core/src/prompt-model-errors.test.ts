import { describe, expect, it } from 'vitest';
import { renderCostReport } from './cost-report';
import { costReportJson, renderCostReportText } from './cost-report-text';
import { parseCheckConfig } from './prompt-config';
import { type ChangedFile, diffPrompts } from './prompt-diff';
import { createPromptEngine } from './prompt-engine';
import { fakePromptEngine } from './prompt-engine-fake';

// The bug behind this: `model: gpt4o` in the config left 3 of 4 prompts unpriced, the headline dropped and the
// cost gate passed. An unknown model name must be an error that names its line and suggests the real id.
const CONFIG_TEXT = `# prompts of the support bot
model: gpt4o
prompts:
  - files: "prompts/support/**"
    calls-per-month: 1000
  - files: "prompts/billing/**"
    model: gpt-4o
    calls-per-month: 1000
`;
const config = parseCheckConfig(CONFIG_TEXT);

const files: ChangedFile[] = [
  { path: 'prompts/billing/refund.md', status: 'modified', before: 'one two', after: 'one two three' },
  { path: 'prompts/support/a.md', status: 'modified', before: 'a b', after: 'a b c d' },
  { path: 'prompts/support/b.md', status: 'added', after: 'x y z' },
  { path: 'prompts/support/c.md', status: 'removed', before: 'gone now' },
];

describe('unknown models are configuration errors', () => {
  const diff = diffPrompts({
    files,
    config,
    engine: fakePromptEngine(),
    configPath: '.tokenmeter.yml',
    configText: CONFIG_TEXT,
  });

  it('names the config line, suggests the catalog id and lists the prompts it leaves out', () => {
    expect(diff.modelErrors).toEqual([
      {
        model: 'gpt4o',
        file: '.tokenmeter.yml',
        line: 2,
        source: 'config',
        suggestions: ['gpt-4o'],
        prompts: ['prompts/support/a.md', 'prompts/support/b.md', 'prompts/support/c.md'],
      },
    ]);
    expect(diff.complete).toBe(false);
  });

  it('says so above the numbers in markdown, text and JSON', () => {
    const markdown = renderCostReport(diff);
    const lines = markdown.split('\n');
    const headline = lines.findIndex((line) => line.startsWith('## '));
    expect(lines.slice(headline + 2, headline + 6)).toEqual([
      '> [!CAUTION]',
      '> **Configuration error: this check fails.** The totals are incomplete:',
      '>',
      '> - Model ` gpt4o ` (` .tokenmeter.yml ` line 2) is not in the price catalog; did you mean ` gpt-4o `? 3 changed prompts use it and are left out of the totals.',
    ]);
    expect(renderCostReportText(diff)).toContain(
      '- model gpt4o (.tokenmeter.yml line 2) is not in the price catalog; did you mean gpt-4o? 3 changed prompts use it and are left out of the totals.',
    );
    const json = costReportJson(diff);
    expect(json.modelErrors).toHaveLength(1);
    expect(json.modelErrors[0]).toMatchObject({ model: 'gpt4o', line: 2, suggestions: ['gpt-4o'] });
  });

  it('flags a model the config names even when no changed prompt uses it', () => {
    const text =
      'prompts:\n  - files: "a/**"\n    model: gpt-4o\n    calls-per-month: 1\n  - files: "b/**"\n    model: "gtp-4o"\n    calls-per-month: 1\n';
    const result = diffPrompts({
      files: [{ path: 'a/x.md', status: 'added', after: 'hi' }],
      config: parseCheckConfig(text),
      engine: fakePromptEngine(),
      configText: text,
    });
    expect(result.modelErrors).toEqual([
      { model: 'gtp-4o', file: '.tokenmeter.yml', line: 6, source: 'config', suggestions: ['gpt-4o'], prompts: [] },
    ]);
    expect(result.complete).toBe(true);
  });

  it("points at a prompt file's own front matter at the head, not at a base the change fixes", () => {
    const rule = parseCheckConfig('model: gpt-4o\nprompts:\n  - files: "p/**"\n    calls-per-month: 10\n');
    const broken = diffPrompts({
      files: [
        {
          path: 'p/a.md',
          status: 'modified',
          before: 'hello there',
          after: new TextEncoder().encode('---\ntitle: x\nmodel: gpt-4oo\n---\nhello there friend'),
        },
      ],
      config: rule,
      engine: fakePromptEngine(),
    });
    expect(broken.modelErrors).toEqual([
      { model: 'gpt-4oo', file: 'p/a.md', line: 3, source: 'file', suggestions: ['gpt-4o'], prompts: ['p/a.md'] },
    ]);
    const fixed = diffPrompts({
      files: [{ path: 'p/a.md', status: 'modified', before: '---\nmodel: gpt-4oo\n---\nhello', after: 'hello' }],
      config: rule,
      engine: fakePromptEngine(),
    });
    expect(fixed.modelErrors).toEqual([]);
  });

  it('a known model without prices is not a typo; the shipped catalog suggests real ids', () => {
    const engine = createPromptEngine();
    expect(engine.priceCall('gpt-4o', 0, 0).unknown).toBeUndefined();
    expect(engine.priceCall('gpt4o', 0, 0).unknown).toBe(true);
    expect(engine.suggestModels?.('gpt4o')).toContain('gpt-4o');
  });
});
