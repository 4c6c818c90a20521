import { describe, expect, it } from 'vitest';
import { runCli } from '../test/run-cli';

// Expectations worked by hand from the essay (DESIGN.md, "The essay's worked numbers").
describe('tokenmeter project', () => {
  it('500 conversations/day × (300 + 400) at $2/M: 350,000 tokens/day, 10.5 M/month, $21', async () => {
    const result = await runCli(
      'project',
      '--conversations-per-day',
      '500',
      '--input',
      '300',
      '--output',
      '400',
      '--price-per-million',
      '2',
      '--json',
    );
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.tokensPerDay).toBe(350000);
    expect(json.tokensPerMonth).toBe(10500000);
    expect(json.costPerMonth).toBe('21');
    expect(json.requestsPerMonth).toBe(15000);
  });

  it('$15/M gives $157.50, printed for a person', async () => {
    const result = await runCli(
      'project',
      '--requests-per-day',
      '500',
      '--input',
      '300',
      '--output',
      '400',
      '--price-per-million',
      '15',
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('$157.50');
    expect(result.stdout).toContain('10,500,000');
    expect(result.stdout).toContain('A month has 30 days.');
  });

  it('users × requests per user at $3/M: 5,000 users → $37.50, 50,000 → $375', async () => {
    const at = async (users: string) =>
      JSON.parse(
        (
          await runCli(
            'project',
            '--users',
            users,
            '--requests-per-user',
            '5',
            '--input',
            '200',
            '--output',
            '300',
            '--price-per-million',
            '3',
            '--json',
          )
        ).stdout,
      );
    expect((await at('200')).costPerMonth).toBe('1.5');
    expect((await at('5000')).costPerMonth).toBe('37.5');
    expect((await at('50000')).costPerMonth).toBe('375');
  });

  it('projects months of growth with retries and cache hits (separate prices)', async () => {
    const result = await runCli(
      'project',
      '--requests-per-month',
      '1000',
      '--input',
      '1000',
      '--output',
      '200',
      '--input-price-per-million',
      '3',
      '--output-price-per-million',
      '15',
      '--cached-input-price-per-million',
      '0.3',
      '--cache-hit',
      '40%',
      '--retries',
      '10%',
      '--months',
      '2',
      '--growth',
      '10%',
      '--json',
    );
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    // Month 1: 1,100 requests: 660,000 uncached × $3/M = $1.98, 440,000 cached × $0.30/M = $0.132,
    // 220,000 output × $15/M = $3.30 → $5.412. Month 2: × 1.1 → $5.9532.
    expect(json.months.map((month: { cost: string }) => month.cost)).toEqual(['5.412', '5.9532']);
    expect(json.total.cost).toBe('11.3652');
  });

  it('rejects contradictory or missing input with exit code 2', async () => {
    const both = await runCli(
      'project',
      '--requests-per-day',
      '5',
      '--requests-per-month',
      '5',
      '--input',
      '1',
      '--output',
      '1',
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('Give one volume');
    const twoPrices = await runCli(
      'project',
      '--requests-per-day',
      '5',
      '--input',
      '1',
      '--output',
      '1',
      '--price-per-million',
      '2',
      '--model',
      'x',
    );
    expect(twoPrices.code).toBe(2);
    const unknown = await runCli(
      'project',
      '--requests-per-day',
      '5',
      '--input',
      '1',
      '--output',
      '1',
      '--model',
      'surely-not-a-model-xyz',
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('surely-not-a-model-xyz');
    const badShare = await runCli(
      'project',
      '--requests-per-day',
      '5',
      '--input',
      '1',
      '--output',
      '1',
      '--growth',
      'fast',
    );
    expect(badShare.code).toBe(2);
    expect(badShare.stderr).toContain('--growth');
  });
});
