import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { breakEvenTokens, lineCostAt, perTokenLine, planLine } from './break-even';
import { Money } from './money';
import { Rational } from './rational';
import type { FlatRatePlan, MonthVolume } from './types';

const volume: MonthVolume = {
  month: 1,
  days: 30,
  tokens: Rational.of(10_000_000),
  tokensPerDay: Rational.of(10_000_000, 30),
  peakDayTokens: Rational.of(10_000_000, 30),
  requests: Rational.of(10_000),
};

describe('breakEvenTokens (properties)', () => {
  it('at every crossing both lines cost exactly the same, and between crossings the cheaper side never changes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }), // per-token price in cents per million
        fc.integer({ min: 0, max: 20000 }), // fee in cents
        fc.option(fc.integer({ min: 0, max: 50_000_000 })), // included tokens
        fc.option(fc.integer({ min: 0, max: 3000 })), // token overage in cents per million
        fc.option(fc.integer({ min: 0, max: 50_000 })), // included requests
        fc.option(fc.integer({ min: 0, max: 500 })), // request overage in cents per thousand
        (price, fee, includedTokens, tokenOverage, includedRequests, requestOverage) => {
          const plan: FlatRatePlan = { name: 'plan', monthlyFee: Money.from(fee).dividedBy(100), limits: {} };
          if (includedTokens !== null) plan.includedTokens = includedTokens;
          if (tokenOverage !== null) plan.overagePerMillionTokens = Money.from(tokenOverage).dividedBy(100);
          if (includedRequests !== null) plan.includedRequests = includedRequests;
          if (requestOverage !== null) plan.overagePerThousandRequests = Money.from(requestOverage).dividedBy(100);
          const perToken = perTokenLine('per-token', Money.from(price).dividedBy(100));
          const line = planLine(plan, volume);
          const result = breakEvenTokens(perToken, line);
          for (const crossing of result.crossings) {
            expect(
              lineCostAt(perToken, crossing.tokensPerMonth).equals(lineCostAt(line, crossing.tokensPerMonth)),
            ).toBe(true);
          }
          // Between two sampled volumes the cheaper side changes only if a crossing lies between them.
          const samples = [1, 1e5, 1e6, 5e6, 1e7, 3e7, 1e8, 1e9].map((tokens) => Rational.of(tokens));
          const sides = samples.map((point) => lineCostAt(line, point).minus(lineCostAt(perToken, point)).compare(0));
          for (let index = 1; index < samples.length; index++) {
            const before = sides[index - 1];
            const after = sides[index];
            const low = samples[index - 1] as Rational;
            const high = samples[index] as Rational;
            if (before !== 0 && after !== 0 && before !== after) {
              const between = result.crossings.some(
                (crossing) => crossing.tokensPerMonth.compare(low) >= 0 && crossing.tokensPerMonth.compare(high) <= 0,
              );
              expect(between).toBe(true);
            }
          }
          if (result.never) expect(result.crossings).toHaveLength(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
