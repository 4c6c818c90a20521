import { describe, expect, it } from 'vitest';
import { Money } from './money';
import { parseCheckConfig } from './prompt-config';
import { breakEvenVolume, type ChangedFile, diffPrompts, percentChange } from './prompt-diff';
import { fakePromptEngine } from './prompt-engine-fake';
import { parseUsageVolume } from './prompt-usage';

// Hand-computed with the fake engine: 1 token per word, gpt-4o at its published $2.50 input / $10 output per
// million tokens, 400 output tokens per call, 30,000 calls per month.
//   4 words:  4 × 2.5/1e6 + 400 × 10/1e6 = $0.00401   per call → $120.30  per month
//   8 words:                               $0.00402            → $120.60
//  10 words:                               $0.004025           → $120.75
//   2 words:                               $0.004005           → $120.15
//   5 words:                               $0.0040125          → $120.375
const config = parseCheckConfig(`
prompts:
  - files: "prompts/**/*.md"
    model: gpt-4o
    calls-per-month: 30000
    output-tokens: 400
plans:
  - name: Flat 25
    monthly-usd: 25
`);
const words = (count: number) => Array.from({ length: count }, (_, index) => `w${index}`).join(' ');

const files: ChangedFile[] = [
  { path: 'prompts/a.md', status: 'modified', before: words(4), after: words(8) },
  { path: 'prompts/b.md', status: 'added', after: words(10) },
  { path: 'prompts/c.md', status: 'removed', before: words(2) },
  { path: 'prompts/new.md', previousPath: 'prompts/old.md', status: 'renamed', before: words(5), after: words(5) },
  { path: 'src/index.ts', status: 'modified', before: 'a', after: 'b' },
];

describe('diffPrompts', () => {
  const diff = diffPrompts({ files, config, engine: fakePromptEngine() });

  it('prices every changed prompt before and after, ignoring files outside the globs', () => {
    expect(
      diff.prompts.map((prompt) => [prompt.path, prompt.status, prompt.before?.tokens, prompt.after?.tokens]),
    ).toEqual([
      ['prompts/a.md', 'modified', 4, 8],
      ['prompts/b.md', 'added', undefined, 10],
      ['prompts/c.md', 'removed', 2, undefined],
      ['prompts/new.md', 'renamed', 5, 5],
    ]);
    const [a, b, c, renamed] = diff.prompts;
    expect(a?.before?.costPerCall?.toString()).toBe('0.00401');
    expect(a?.after?.costPerCall?.toString()).toBe('0.00402');
    expect(a?.perCallDelta.toString()).toBe('0.00001');
    expect([a?.monthlyBefore.toString(), a?.monthlyAfter.toString(), a?.monthlyDelta.toString()]).toEqual([
      '120.3',
      '120.6',
      '0.3',
    ]);
    expect([b?.monthlyBefore.toString(), b?.monthlyAfter.toString()]).toEqual(['0', '120.75']);
    expect([c?.monthlyBefore.toString(), c?.monthlyAfter.toString()]).toEqual(['120.15', '0']);
    expect(renamed?.previousPath).toBe('prompts/old.md');
  });

  it('charges nothing for a pure rename', () => {
    const renamed = diff.prompts.find((prompt) => prompt.status === 'renamed');
    expect(renamed?.monthlyBefore.toString()).toBe('120.375');
    expect(renamed?.monthlyDelta.isZero()).toBe(true);
    expect(renamed?.perCallDelta.isZero()).toBe(true);
  });

  it('totals the month and the percent change', () => {
    // Before 120.30 + 120.15 + 120.375 = 360.825; after 120.60 + 120.75 + 120.375 = 361.725; +0.90 = +0.249 %.
    expect(diff.costBefore.toString()).toBe('360.825');
    expect(diff.costAfter.toString()).toBe('361.725');
    expect(diff.costDelta.toString()).toBe('0.9');
    expect(diff.deltaPercent).toBe('0.2');
    expect(diff.complete).toBe(true);
    expect(diff.callsPerMonthAfter).toBe(90000);
    // (408 + 410 + 405) tokens per call × 30,000 calls.
    expect(diff.tokensPerMonthAfter).toBe(36_690_000);
  });

  it('compares with the flat-rate plan and finds the break-even', () => {
    // 25 × 36,690,000 / 361.725 = 2,535,766.12 tokens; 25 × 90,000 / 361.725 = 6,220.19 calls.
    expect(diff.plans).toHaveLength(1);
    const plan = diff.plans[0];
    expect(plan?.cheaper).toBe('flat-rate');
    expect(plan?.savings.toString()).toBe('336.725');
    expect(plan?.breakEvenTokensPerMonth).toBe('2535766.12');
    expect(plan?.breakEvenCallsPerMonth).toBe(6220);
  });

  it('lets a model named in the file win and keeps unpriced models out of the totals', () => {
    const result = diffPrompts({
      files: [
        { path: 'prompts/x.md', status: 'modified', before: words(1), after: '---\nmodel: mystery-9\n---\nhello' },
        { path: 'prompts/y.md', status: 'modified', before: words(1), after: words(3) },
      ],
      config,
      engine: fakePromptEngine(),
    });
    const [x, y] = result.prompts;
    expect(x?.after).toMatchObject({ model: 'mystery-9', modelSource: 'file', priced: false });
    expect(x?.priced).toBe(false);
    expect(x?.after?.notes).toContain('model mystery-9 is not in the price catalog');
    expect(result.complete).toBe(false);
    // Only y counts: 1 word $0.0040025 → 3 words $0.0040075 per call, × 30,000.
    expect([result.costBefore.toString(), result.costAfter.toString()]).toEqual(['120.075', '120.225']);
    expect(y?.priced).toBe(true);
    expect(result.models.map((model) => [model.model, model.priced])).toEqual([
      ['gpt-4o', true],
      ['mystery-9', false],
    ]);
  });

  it('skips binary or unreadable sides and says why', () => {
    const result = diffPrompts({
      files: [
        { path: 'prompts/logo.md', status: 'modified', before: new Uint8Array([0, 1]), after: words(2) },
        { path: 'prompts/huge.md', status: 'added', after: { skipped: 'larger than 1 MB' } },
      ],
      config,
      engine: fakePromptEngine(),
    });
    expect(result.prompts.map((prompt) => [prompt.path, prompt.skipped])).toEqual([
      ['prompts/huge.md', 'larger than 1 MB'],
      ['prompts/logo.md', 'binary file'],
    ]);
    expect(result.costAfter.isZero()).toBe(true);
    expect(result.complete).toBe(false);
  });

  it('uses measured per-prompt volume, carried across a rename, over the config', () => {
    const usage = parseUsageVolume('{"prompts": {"prompts/old.md": 1000}}', 'usage/volume.json');
    const result = diffPrompts({
      files: [
        {
          path: 'prompts/new.md',
          previousPath: 'prompts/old.md',
          status: 'renamed',
          before: words(5),
          after: words(5),
        },
      ],
      config,
      engine: fakePromptEngine(),
      usage,
    });
    // $0.0040125 × 1,000 = $4.0125 on both sides.
    expect(result.prompts[0]?.before).toMatchObject({ callsPerMonth: 1000, volumeSource: 'usage-per-prompt' });
    expect(result.prompts[0]?.after).toMatchObject({ callsPerMonth: 1000, volumeSource: 'usage-per-prompt' });
    expect(result.costAfter.toString()).toBe('4.0125');
    expect(result.costDelta.isZero()).toBe(true);
    expect(result.usageSource).toBe('usage/volume.json');
  });

  it('uses a measured daily series for volume and output tokens when the config has none', () => {
    const measured = parseCheckConfig('prompts:\n  - files: "**/*.txt"\n    model: gpt-4o\nusage: usage.json\n');
    const usage = parseUsageVolume('[{"date":"2026-11-01","requests":10,"outputTokens":1000}]', 'usage.json');
    const result = diffPrompts({
      files: [{ path: 'p.txt', status: 'added', after: words(40) }],
      config: measured,
      engine: fakePromptEngine(),
      usage,
    });
    // 10 requests/day × 30 = 300 calls; 100 output tokens per call: 40 × 2.5/1e6 + 100 × 10/1e6 = $0.0011 → $0.33.
    expect(result.prompts[0]?.after).toMatchObject({
      callsPerMonth: 300,
      outputTokens: 100,
      volumeSource: 'usage-daily-series',
    });
    expect(result.costAfter.toString()).toBe('0.33');
    expect(result.deltaPercent).toBeUndefined();
  });

  it('treats a rename into the globs as an added prompt', () => {
    const result = diffPrompts({
      files: [
        { path: 'prompts/z.md', previousPath: 'drafts/z.md', status: 'renamed', before: words(5), after: words(5) },
      ],
      config,
      engine: fakePromptEngine(),
    });
    expect(result.prompts[0]).toMatchObject({ status: 'added', path: 'prompts/z.md' });
    expect(result.costDelta.toString()).toBe('120.375');
  });
});

describe('breakEvenVolume', () => {
  it("reproduces the essay's $25 flat rate against $3 per million tokens", () => {
    // 500,000 tokens/month at $3 per million cost $1.50: the flat rate wins from 25 × 500,000 / 1.5 = 8,333,333.33.
    expect(breakEvenVolume(Money.from(25), Money.from('1.5'), 500_000, 200)).toEqual({
      breakEvenTokensPerMonth: '8333333.33',
      breakEvenCallsPerMonth: 3333,
    });
    expect(breakEvenVolume(Money.from(25), Money.ZERO, 0, 0)).toEqual({});
  });
});

describe('percentChange', () => {
  it('rounds half to even at one decimal', () => {
    expect(percentChange(Money.from(200), Money.from('200.25'))).toBe('0.1');
    expect(percentChange(Money.from(100), Money.from(50))).toBe('-50.0');
  });
});
