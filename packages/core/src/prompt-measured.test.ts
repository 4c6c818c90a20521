import { describe, expect, it } from 'vitest';
import { renderCostReport } from './cost-report';
import { costReportJson, renderCostReportText } from './cost-report-text';
import { InvalidConfigError } from './invalid-config-error';
import { parseCheckConfig } from './prompt-config';
import { type ChangedFile, diffPrompts } from './prompt-diff';
import { fakePromptEngine } from './prompt-engine-fake';
import { parseUsageVolume } from './prompt-usage';

// What `tokenmeter usage export --by prompt --days 30` writes: calls per month and the mean input / output tokens
// per call as the app really sent them. Fake engine: 1 token per word, gpt-4o $2.50 / $10 per million.
const EXPORT = JSON.stringify({
  by: 'prompt',
  days: 30,
  prompts: { 'prompts/support.md': { callsPerMonth: 1000, meanInputTokens: 120, meanOutputTokens: 50 } },
});
const config = parseCheckConfig(`
prompts:
  - files: "prompts/**"
    model: gpt-4o
    calls-per-month: 10
    output-tokens: 400
usage: usage/prompts.json
`);

// support.md's template is 2 words at the base ("Hi … end"), so its variable really weighs 120 − 2 = 118 tokens;
// the head's template is 4 words: 4 + 118 = 122. Before: (120 × 2.5 + 50 × 10) / 1e6 × 1000 = $0.80; after $0.805.
const files: ChangedFile[] = [
  {
    path: 'prompts/support.md',
    status: 'modified',
    before: 'Hi {{conversation}} end',
    after: 'Hi there {{conversation}} end now',
  },
  { path: 'prompts/other.md', status: 'modified', before: 'a b', after: 'a b c' },
];

describe('volumes and sizes measured, not guessed', () => {
  const usage = parseUsageVolume(EXPORT, 'usage/prompts.json');
  const diff = diffPrompts({ files, config, engine: fakePromptEngine(), usage });

  it('prices the measured prompt at its real calls, variable size and output', () => {
    const support = diff.prompts.find((prompt) => prompt.path === 'prompts/support.md');
    expect([support?.before?.tokens, support?.after?.tokens]).toEqual([120, 122]);
    expect([support?.before?.outputTokens, support?.after?.callsPerMonth]).toEqual([50, 1000]);
    expect([support?.monthlyBefore.toString(), support?.monthlyAfter.toString()]).toEqual(['0.8', '0.805']);
    // The measured size replaces the missing estimate: no floor.
    expect(support?.after?.unestimated).toEqual([]);
    expect(support?.after?.volumeSource).toBe('usage-per-prompt');
  });

  it('falls back to the config where nothing was measured', () => {
    const other = diff.prompts.find((prompt) => prompt.path === 'prompts/other.md');
    expect(other?.after).toMatchObject({ tokens: 3, outputTokens: 400, callsPerMonth: 10, volumeSource: 'config' });
  });

  it('says per row which volume it used, in markdown, text and JSON', () => {
    const body = renderCostReport(diff);
    expect(body).toContain('| ` prompts/support.md ` <br><sub>volume: measured over the last 30 days</sub> |');
    expect(body).toContain('| ` prompts/other.md ` <br><sub>volume: config (not measured)</sub> |');
    const text = renderCostReportText(diff);
    expect(text).toContain('prompts/support.md: volume: measured over the last 30 days');
    expect(text).toContain('prompts/other.md: volume: config (not measured)');
    const json = costReportJson(diff);
    expect(json.usageDays).toBe(30);
    expect(json.prompts.map((prompt) => prompt.volumeSource)).toEqual(['config', 'usage-per-prompt']);
  });

  it('a measured mean below the template never makes the variables negative', () => {
    const small = parseUsageVolume('{"prompts":{"prompts/support.md":{"callsPerMonth":1,"meanInputTokens":1}}}', 'u');
    const result = diffPrompts({ files, config, engine: fakePromptEngine(), usage: small });
    const support = result.prompts.find((prompt) => prompt.path === 'prompts/support.md');
    expect([support?.before?.tokens, support?.after?.tokens]).toEqual([2, 4]);
  });

  it('reads the old calls-only shape and rejects a bad size', () => {
    expect(parseUsageVolume('{"prompts":{"a.md":5}}', 'u').perPrompt).toEqual({ 'a.md': 5 });
    expect(() => parseUsageVolume('{"prompts":{"a.md":{"callsPerMonth":5,"meanInputTokens":-1}}}', 'u')).toThrow(
      InvalidConfigError,
    );
    expect(() => parseUsageVolume('{"prompts":{"a.md":{"meanInputTokens":3}}}', 'u')).toThrow(
      'calls for "a.md" must be a number ≥ 0',
    );
  });
});
