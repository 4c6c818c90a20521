import { describe, expect, it } from 'vitest';
import { advise } from './advice';
import { comparePricing } from './compare';
import { flatRatePlan } from './plans';
import { projectWorkload } from './projection';
import { analyzeSeries, parseDailySeries } from './series';
import { inputShareFlip } from './split-flip';

// "We make about 2M tokens a day on gpt-4o — is a $200/month flat plan cheaper?" (gpt-4o: $2.50 input,
// $10 output per million: https://openai.com/api/pricing/). 60M tokens a month.
describe('a daily token total with an input share', () => {
  it('prices a catalog model per token of each kind: 75 % input → 45M × $2.50 + 15M × $10 = $262.50', () => {
    const projection = projectWorkload({ tokensPerDay: '2000000', inputShare: '75%', pricing: { model: 'gpt-4o' } });
    expect(projection.tokensPerMonth.toFraction()).toBe('60000000');
    expect(projection.costPerMonth?.toString()).toBe('262.5');
    expect(projection.months[0]?.inputTokens?.toFraction()).toBe('45000000');
  });

  it('bills cache reads at the cached price: 50 % of 45M input at $1.25 saves $28.125', () => {
    const projection = projectWorkload({
      tokensPerDay: 2_000_000,
      inputShare: 0.75,
      cacheHitShare: '50%',
      pricing: { model: 'gpt-4o' },
    });
    expect(projection.costPerMonth?.toString()).toBe('234.375');
  });

  it('refuses a share without a token total, or beside per-request sizes', () => {
    expect(() =>
      projectWorkload({ requestsPerDay: 10, inputTokensPerRequest: 1, outputTokensPerRequest: 1, inputShare: '50%' }),
    ).toThrow(/inputShare goes with a token total/);
    expect(() => projectWorkload({ tokensPerDay: 10, inputShare: '150%', pricing: { model: 'gpt-4o' } })).toThrow(
      /at most 100%/,
    );
  });

  it('finds the input share where the verdict turns: 600 − 450 s = 200 at s = 8/9', () => {
    const input = {
      workload: { tokensPerDay: 2_000_000, inputShare: '75%', pricing: { model: 'gpt-4o' } },
      plans: [flatRatePlan(200)],
    };
    const comparison = comparePricing(input);
    const flip = inputShareFlip(input, comparison);
    expect(flip?.share?.toFraction()).toBe('8/9');
    expect(flip?.cheaperAboveShare).toBe('gpt-4o');
    expect(flip?.cheaperBelowShare).toBe('flat $200/month');
  });

  it('says when one option wins at every split', () => {
    const input = {
      workload: { tokensPerDay: 2_000_000, inputShare: '75%', pricing: { model: 'gpt-4o' } },
      plans: [flatRatePlan(1000)],
    };
    const flip = inputShareFlip(input, comparePricing(input));
    expect(flip?.share).toBeUndefined();
    expect(flip?.cheaperAboveShare).toBe('gpt-4o');
  });
});

describe('sentences a person reads', () => {
  it('a comparison with one option says it compared nothing', () => {
    const advice = advise(comparePricing({ workload: { tokensPerMonth: 1_000_000, pricing: { pricePerMillion: 3 } } }));
    expect(advice.sentence).toContain('the only option that could be priced, so nothing was compared');
    expect(advice.sentence).not.toContain('cheapest');
  });

  it('a single-day series does not call the bill steady, and says "1 day"', () => {
    const series = parseDailySeries('date,requests,inputTokens,outputTokens,cost\n2026-01-01,100,50000,20000,1.50');
    const analysis = analyzeSeries(series, { samples: 50 });
    const advice = advise(
      comparePricing({
        volume: analysis.volumeP50,
        plans: [flatRatePlan(25)],
        measured: { name: 'measured', cost: analysis.nextMonth.p50 },
      }),
      { analysis },
    );
    expect(advice.predictability).toBe('unknown');
    expect(advice.sentence).not.toContain('steady');
    expect(advice.sentence).toContain('1 day of history');
    expect(analysis.confidenceNote).not.toContain('1 days');
  });

  it('"1 day" and "2 days" in projection notes', () => {
    const notes = projectWorkload({
      requestsPerDay: 10,
      inputTokensPerRequest: 10,
      outputTokensPerRequest: 10,
      spikes: [{ multiplier: 3, days: 1 }],
    }).assumptions;
    expect(notes).toContain('1 day a month runs at 3× the usual traffic.');
    expect(notes.join(' ')).not.toMatch(/\b1 days\b|day\(s\)/);
  });
});
