import { describe, expect, it } from 'vitest';
import { runCli, scratchFiles } from '../test/run-cli';

const file = scratchFiles('compare');

// Expectations worked by hand from the essay's figures and the plan numbers in each test.
describe('tokenmeter compare', () => {
  it('10.5 M tokens/month: $3/M = $31.50 vs $25 flat; break-even 25,000,000/3 tokens', async () => {
    const result = await runCli(
      'compare',
      '--tokens-per-month',
      '10500000',
      '--price-per-million',
      '3',
      '--flat',
      '25',
      '--json',
    );
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.options).toEqual([
      expect.objectContaining({ name: '$3/M', kind: 'per-token', costPerMonth: '31.5' }),
      expect.objectContaining({ name: 'flat $25/month', kind: 'flat-rate', costPerMonth: '25' }),
    ]);
    expect(json.cheapest).toBe('flat $25/month');
    expect(json.breakEven).toHaveLength(1);
    expect(json.breakEven[0].between).toEqual(['$3/M', 'flat $25/month']);
    expect(json.breakEven[0].tokensPerMonthExact).toBe('25000000/3');
    expect(json.breakEven[0].tokensPerMonth).toBeCloseTo(8333333.333333, 5);
    expect(json.advice.savings).toBe('6.5');
  });

  it('--chart draws the curve with the break-even marked', async () => {
    const result = await runCli(
      'compare',
      '--tokens-per-month',
      '10500000',
      '--price-per-million',
      '3',
      '--flat',
      '25',
      '--chart',
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('X  break-even $3/M = flat $25/month at 8.33M tokens/month ($25.00)');
    expect(result.stdout).toContain('┴');
    expect(result.stdout).toContain('from 8,333,334 tokens/month flat $25/month is cheaper');
  });

  it('reads plans from YAML and flags the rate limit the peak breaks', async () => {
    const plans = file(
      'plans.yaml',
      [
        'plans:',
        '  - name: Starter',
        '    monthlyFee: 10',
        '    includedRequests: 10000',
        '    overage: { perThousandRequests: 2 }',
        '    limits: { requestsPerMinute: 60 }',
        '  - name: Scale',
        '    monthlyFee: 99',
        '    limits: { requestsPerMinute: 600 }',
      ].join('\n'),
    );
    // 43,200 requests/day = 30/min on average, 90/min at 3× peak: Starter (60/min) cannot carry it.
    // Starter's cost: $10 + (1,296,000 − 10,000) requests × $2/1k = $2,582.
    const result = await runCli(
      'compare',
      '--requests-per-day',
      '43200',
      '--input',
      '300',
      '--output',
      '400',
      '--price-per-million',
      '2',
      '--plans',
      plans,
      '--json',
    );
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    const starter = json.options.find((option: { name: string }) => option.name === 'Starter');
    expect(starter.costPerMonth).toBe('2582');
    expect(starter.feasible).toBe(false);
    expect(starter.violations[0]).toMatchObject({ limit: 'requestsPerMinute', allowed: 60, peak: 90 });
    // 1,296,000 × 700 = 907.2 M tokens × $2/M = $1,814.40 > $99: Scale is cheapest.
    expect(json.options[0].costPerMonth).toBe('1814.4');
    expect(json.cheapest).toBe('Scale');
  });

  it('--series gives p50/p95 and compares plans at both', async () => {
    const lines = ['date,requests,inputTokens,outputTokens,cost'];
    for (let day = 1; day <= 10; day++) {
      const date = `2026-03-${String(day).padStart(2, '0')}`;
      lines.push(day === 4 ? `${date},1100,330000,440000,11` : `${date},100,30000,40000,1`);
    }
    const series = file('series.csv', lines.join('\n'));
    // As in the core test: K spike days of 30 ~ Binomial(30, 0.1), cost $30 + $10K → p50 $60, p95 $90.
    const result = await runCli('compare', '--series', series, '--flat', '75', '--budget', '1000', '--json');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.p50).toBe('60');
    expect(json.p95).toBe('90');
    expect(json.series.confidence).toBe('low');
    expect(json.series.budget.probabilityOver).toBe(0);
    const measured = json.options.find((option: { name: string }) => option.name === 'measured per-token');
    expect(measured).toMatchObject({ costPerMonth: '60', costPerMonthP95: '90' });
    expect(json.cheapest).toBe('measured per-token');
    expect(json.cheapestP95).toBe('flat $75/month');
    expect(json.series.plans[0]).toMatchObject({ cheaperThanPerTokenAtP50: false, cheaperThanPerTokenAtP95: true });
  });

  it('shows scenarios on both billing models', async () => {
    const result = await runCli(
      'compare',
      '--requests-per-day',
      '500',
      '--input',
      '300',
      '--output',
      '400',
      '--price-per-million',
      '2',
      '--flat',
      '25',
      '--scenario',
      'spike:5:2',
      '--scenario',
      'retries:20%',
      '--json',
    );
    const json = JSON.parse(result.stdout);
    // Spike: 38 ordinary days' traffic → 13.3 M tokens → $26.60; retries +20%: 12.6 M → $25.20.
    expect(
      json.scenarios.map((scenario: { perToken: Array<{ scenario: string }> }) => scenario.perToken[0]?.scenario),
    ).toEqual(['26.6', '25.2']);
    expect(json.scenarios[0].plans[0]).toMatchObject({ name: 'flat $25/month', change: '0', feasible: true });
  });

  it('explains bad input with exit code 2', async () => {
    const noOptions = await runCli('compare', '--tokens-per-month', '100');
    expect(noOptions.code).toBe(2);
    expect(noOptions.stderr).toContain('Nothing to compare');
    const badPlans = await runCli(
      'compare',
      '--tokens-per-month',
      '100',
      '--plans',
      file('bad.yaml', '- monthlyFee: 3'),
    );
    expect(badPlans.code).toBe(2);
    expect(badPlans.stderr).toContain('needs a name');
    const mixed = await runCli(
      'compare',
      '--series',
      file('s.csv', 'date,requests,inputTokens,outputTokens,cost\n'),
      '--users',
      '3',
    );
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('drop --users');
    const modelSplit = await runCli(
      'compare',
      '--tokens-per-month',
      '100',
      '--input-price-per-million',
      '1',
      '--output-price-per-million',
      '2',
    );
    // A token total with separate input/output prices is no longer refused: the split is assumed and said.
    expect(modelSplit.code, modelSplit.stderr).toBe(0);
    expect(modelSplit.stdout).toContain('Split assumed: 75 % input');
  });
});

describe('tokenmeter compare: the question as people ask it', () => {
  it('"about 2M tokens a day on gpt-4o — is a $200/month flat plan cheaper?" with the split assumed and the flip shown', async () => {
    const result = await runCli('compare', '--tokens-per-day', '2000000', '--model', 'gpt-4o', '--flat', '200');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Compared at 60,000,000 tokens/month');
    expect(result.stdout).toContain('$262.50');
    expect(result.stdout).toContain(
      'Split assumed: 75 % input (not given; --input-share sets it). gpt-4o wins above 88.9 % input, flat $200/month below.',
    );
  });

  it('takes --input-share and reports the flip as JSON', async () => {
    const result = await runCli(
      'compare',
      '--tokens-per-day',
      '2000000',
      '--input-share',
      '90%',
      '--model',
      'gpt-4o',
      '--flat',
      '200',
      '--json',
    );
    expect(result.code, result.stderr).toBe(0);
    const parsed = JSON.parse(result.stdout) as { cheapest: string; split: Record<string, unknown> };
    expect(parsed.cheapest).toBe('gpt-4o');
    expect(parsed.split).toMatchObject({ inputShare: '90%', assumed: false, cheaperAboveShare: 'gpt-4o' });
    expect(parsed.split.flipsAtInputShare).toBeCloseTo(8 / 9, 9);
  });
});
