import { describe, expect, it } from 'vitest';
import { costOfTokens, parsePricePerMillion } from './money';
import { matchPromptRule, parseCheckConfig } from './prompt-config';
import { diffPrompts, type PromptEngine } from './prompt-diff';
import { fakePromptEngine } from './prompt-engine-fake';

// gpt-4o at $2.50/$10 (fake engine) and gpt-4o-mini at its published $0.15/$0.60 per million tokens
// (https://openai.com/api/pricing/).
const engine: PromptEngine = {
  ...fakePromptEngine(),
  priceCall(model, inputTokens, outputTokens) {
    if (model !== 'gpt-4o-mini') return fakePromptEngine().priceCall(model, inputTokens, outputTokens);
    return {
      priced: true,
      modelId: 'gpt-4o-mini',
      total: costOfTokens(parsePricePerMillion('0.15'), inputTokens).plus(
        costOfTokens(parsePricePerMillion('0.6'), outputTokens),
      ),
    };
  },
};

const config = parseCheckConfig(`
prompts:
  - files: "prompts/**"
    model: gpt-4o-mini
    calls-per-month: 1000
models:
  - file: config/agents.yml
    path: agents.triage.model
    input-tokens: 1200
    output-tokens: 50
    calls-per-month: 20000
  - file: config/agents.json
    path: agents.triage.model
    input-tokens: 1000
    calls-per-month: 1000
`);

const agents = (model: string) =>
  `agents:\n  triage:\n    model: ${model}\n    temperature: 0\n  other:\n    model: gpt-4o\n`;

describe('`models:` entries: a model name in a YAML/JSON config', () => {
  it('prices a model switch at the entry volume: 1200 in + 50 out tokens × 20,000 calls', () => {
    const diff = diffPrompts({
      files: [
        { path: 'config/agents.yml', status: 'modified', before: agents('gpt-4o-mini'), after: agents('gpt-4o') },
      ],
      config,
      engine,
    });
    // Before: 1200 × 0.15/1e6 + 50 × 0.6/1e6 = $0.00021 per call → $4.20; after: 1200 × 2.5/1e6 + 50 × 10/1e6 =
    // $0.0035 → $70.
    expect(
      diff.prompts.map((row) => [
        row.path,
        row.status,
        row.before?.model,
        row.after?.model,
        row.monthlyBefore.toString(),
        row.monthlyAfter.toString(),
        row.monthlyDelta.toString(),
      ]),
    ).toEqual([['config/agents.yml (agents.triage.model)', 'modified', 'gpt-4o-mini', 'gpt-4o', '4.2', '70', '65.8']]);
    expect(diff.costDelta.toString()).toBe('65.8');
  });

  it('adds no row when other keys of the file change but the model does not', () => {
    const after = agents('gpt-4o-mini').replace('temperature: 0', 'temperature: 1').replace('gpt-4o\n', 'o3\n');
    const diff = diffPrompts({
      files: [{ path: 'config/agents.yml', status: 'modified', before: agents('gpt-4o-mini'), after }],
      config,
      engine,
    });
    expect(diff.prompts).toEqual([]);
  });

  it('reads JSON files, and a model that is not in the catalog makes the row unpriced (never $0)', () => {
    const json = (model: string) => JSON.stringify({ agents: { triage: { model } } });
    const diff = diffPrompts({
      files: [{ path: 'config/agents.json', status: 'modified', before: json('gpt-4o'), after: json('my-finetune') }],
      config,
      engine,
    });
    expect(diff.prompts.map((row) => [row.before?.model, row.after?.model, row.priced])).toEqual([
      ['gpt-4o', 'my-finetune', false],
    ]);
    expect(diff.complete).toBe(false);
    expect(diff.costDelta.toString()).toBe('0');
  });

  it('says so when the path no longer names a model', () => {
    const diff = diffPrompts({
      files: [{ path: 'config/agents.yml', status: 'modified', before: agents('gpt-4o'), after: 'agents: {}\n' }],
      config,
      engine,
    });
    expect(diff.prompts[0]?.status).toBe('removed');
    expect(diff.prompts[0]?.before?.notes.join('\n')).toContain(
      'config/agents.yml has no model name at agents.triage.model',
    );
  });

  it('matches before the prompt globs and validates its keys', () => {
    expect(matchPromptRule(config, 'config/agents.yml')?.kind).toBe('model');
    expect(matchPromptRule(config, 'prompts/a.md')?.kind).toBeUndefined();
    expect(() =>
      parseCheckConfig(
        'prompts: { files: a, model: x, calls-per-month: 1 }\nmodels: [{ file: a.yml, path: a.model, calls-per-month: 1 }]',
      ),
    ).toThrow(/models\[0\]\.input-tokens: is required/);
    expect(() =>
      parseCheckConfig(
        'prompts: { files: a, model: x, calls-per-month: 1 }\nmodels: [{ file: a.toml, path: m, input-tokens: 1, calls-per-month: 1 }]',
      ),
    ).toThrow(/models\[0\]\.file: must be a \.yml, \.yaml or \.json file/);
  });
});

describe('a model switch in a prompt file front matter', () => {
  it('is priced at that prompt volume', () => {
    const prompt = (model: string) => `---\nmodel: ${model}\n---\none two three four`;
    const diff = diffPrompts({
      files: [{ path: 'prompts/a.md', status: 'modified', before: prompt('gpt-4o-mini'), after: prompt('gpt-4o') }],
      config,
      engine,
    });
    // 4 tokens × 1,000 calls: $0.15/1e6 × 4000 = $0.0006 → $2.50/1e6 × 4000 = $0.01.
    expect(diff.prompts.map((row) => [row.before?.model, row.after?.model, row.monthlyDelta.toString()])).toEqual([
      ['gpt-4o-mini', 'gpt-4o', '0.0094'],
    ]);
  });
});
