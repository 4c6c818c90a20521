import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderCostReport } from './cost-report';
import { costReportJson, renderCostReportText } from './cost-report-text';
import { costOfTokens, Money, parsePricePerMillion } from './money';
import { parseCheckConfig } from './prompt-config';
import { type ChangedFile, diffPrompts, exceededThreshold, type PromptEngine } from './prompt-diff';
import { fakePromptEngine } from './prompt-engine-fake';

// The fake engine (1 token per word, gpt-4o at $2.50 / $10 per million) plus gpt-4o-mini at its published
// $0.15 input / $0.60 output per million tokens (https://openai.com/api/pricing/).
function engineWithMini(): PromptEngine {
  const fake = fakePromptEngine();
  return {
    ...fake,
    priceCall: (model, inputTokens, outputTokens) => {
      if (model !== 'gpt-4o-mini') return fake.priceCall(model, inputTokens, outputTokens);
      return {
        priced: true,
        modelId: 'gpt-4o-mini',
        total: costOfTokens(parsePricePerMillion('0.15'), inputTokens).plus(
          costOfTokens(parsePricePerMillion('0.6'), outputTokens),
        ),
        inputPerMillion: '0.15',
        outputPerMillion: '0.6',
      };
    },
  };
}

const config = parseCheckConfig(`
prompts:
  - files: "prompts/**"
    model: gpt-4o-mini
    calls-per-month: 1000000
plans:
  - name: Flat 25
    monthly-usd: 25
`);
const engine = engineWithMini();

// a.md: 4 words at gpt-4o-mini → 8 words at gpt-4o, 1,000,000 calls a month:
//   before 4 × $0.15 = $0.60; the new text at the old model 8 × $0.15 = $1.20 (prompt +$0.60);
//   after 8 × $2.50 = $20.00 (model +$18.80); change +$19.40.
// b.md: added, 3 words around `{{conversation}}`, which has no estimate: 3 × $0.15 = $0.45, a floor.
const files: ChangedFile[] = [
  {
    path: 'prompts/a.md',
    status: 'modified',
    before: 'one two three four',
    after: '---\nmodel: gpt-4o\n---\none two three four five six seven eight',
  },
  { path: 'prompts/b.md', status: 'added', after: 'Summarize {{conversation}} briefly please' },
];

describe('a comment that shows what moved the bill', () => {
  const diff = diffPrompts({ files, config, engine });
  const failure = exceededThreshold(diff, { maxIncreaseUsd: Money.from('10') });

  it('splits a row into the prompt part and the model part', () => {
    const a = diff.prompts.find((prompt) => prompt.path === 'prompts/a.md');
    expect([a?.monthlyBefore.toString(), a?.monthlyAfter.toString(), a?.monthlyDelta.toString()]).toEqual([
      '0.6',
      '20',
      '19.4',
    ]);
    expect([a?.promptDelta?.toString(), a?.modelDelta?.toString()]).toEqual(['0.6', '18.8']);
    const b = diff.prompts.find((prompt) => prompt.path === 'prompts/b.md');
    expect([b?.promptDelta?.toString(), b?.modelDelta?.toString()]).toEqual(['0.45', '0']);
    expect(b?.after?.unestimated).toEqual(['conversation']);
  });

  it('markdown: model column, split, floor flag in the row and under the headline, the failed limit, no plans', () => {
    expect(failure).toBe('monthly cost increase +$19.85 exceeds max-increase-usd $10.00.');
    const body = renderCostReport(diff, { failure: failure ?? '' });
    const lines = body.split('\n');
    const headline = lines.findIndex((line) => line.startsWith('## '));
    expect(lines[headline]).toBe('## Monthly cost +\\$19.85 (+3308.3 %)');
    expect(lines.slice(headline + 2, headline + 4)).toEqual([
      '> [!WARNING]',
      '> **Check failed:** monthly cost increase \\+\\$19\\.85 exceeds max\\-increase\\-usd \\$10\\.00\\.',
    ]);
    expect(body).toContain(
      '> Input is a floor: ` {{conversation}} ` (` prompts/b.md `) has no estimate — add one under `variables:`.',
    );
    expect(body).toContain(
      '| ` prompts/a.md `  | ` gpt-4o-mini ` → ` gpt-4o ` | 4 → 8 | +\\$0.000019 | \\$0.60 | \\$20.00 | +\\$19.40 (prompt +\\$0.60 · model +\\$18.80) |',
    );
    expect(body).toContain('| ` prompts/b.md ` (added) | ` gpt-4o-mini ` | — → ≈3 (floor) |');
    expect(body).not.toContain('Flat 25');
    expect(renderCostReport(diff, { plans: true })).toContain('Flat 25');
  });

  it('text and JSON carry the same content in the same order', () => {
    const text = renderCostReportText(diff, { failure: failure ?? '' });
    const order = [
      'Monthly cost +$19.85',
      'Check failed: monthly cost increase +$19.85 exceeds max-increase-usd $10.00.',
      'Input is a floor: {{conversation}} (prompts/b.md) has no estimate',
      'gpt-4o-mini → gpt-4o',
      '+$19.40 (prompt +$0.60 · model +$18.80)',
    ].map((part) => text.indexOf(part));
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    const json = costReportJson(diff, failure === undefined ? {} : { failure });
    expect(json.failure).toBe(failure);
    expect(json.prompts[0]).toMatchObject({
      path: 'prompts/a.md',
      modelBefore: 'gpt-4o-mini',
      modelAfter: 'gpt-4o',
      promptDelta: '0.6',
      modelDelta: '18.8',
    });
    expect(json.prompts[1]).toMatchObject({ unestimated: ['conversation'] });
  });

  it('the two parts always add up to the change exactly, whatever the models, texts and volumes', () => {
    const models = fc.constantFrom('gpt-4o', 'gpt-4o-mini', 'nope-model');
    fc.assert(
      fc.property(
        models,
        models,
        fc.nat(400),
        fc.nat(400),
        fc.nat(5_000_000),
        fc.nat(2000),
        (before, after, wordsBefore, wordsAfter, calls, output) => {
          const words = (n: number) => Array.from({ length: n }, (_, index) => `w${index}`).join(' ');
          const result = diffPrompts({
            files: [
              {
                path: 'p/x.md',
                status: 'modified',
                before: `---\nmodel: ${before}\n---\n${words(wordsBefore)}`,
                after: `---\nmodel: ${after}\n---\n${words(wordsAfter)}`,
              },
            ],
            config: parseCheckConfig(
              `prompts:\n  - files: "p/**"\n    model: gpt-4o\n    calls-per-month: ${calls}\n    output-tokens: ${output}\n`,
            ),
            engine,
          });
          const row = result.prompts[0];
          if (!row) return false;
          if (!row.priced) return row.promptDelta === undefined && row.modelDelta === undefined;
          if (!row.promptDelta || !row.modelDelta) return false;
          if (before === after && !row.modelDelta.isZero()) return false;
          return row.promptDelta.plus(row.modelDelta).equals(row.monthlyDelta);
        },
      ),
      { numRuns: 300 },
    );
  });
});
