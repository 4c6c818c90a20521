import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AiCall, emptyBuckets } from './ai-call';
import { applicableBudgets, endBudgetHold, reserveForCall } from './budget-enforcer';
import { toNanoDollars } from './budget-rules';
import { parseMeterOptions } from './meter-config';
import type { UnpricedPolicyOption } from './meter-options';
import { createMemoryStore } from './store-memory';
import type { BudgetWindow } from './types';
import { buildUsageEvent } from './usage-event';

const DAY: BudgetWindow = { kind: 'calendar', period: 'day', timeZone: 'UTC' };
const UNKNOWN = 'acme-frontier-1';

const callArbitrary = fc.record({
  unknown: fc.boolean(),
  words: fc.integer({ min: 1, max: 40 }),
  maxTokens: fc.integer({ min: 1, max: 4000 }),
  // The share of max_tokens the answer actually used, in percent.
  used: fc.integer({ min: 0, max: 100 }),
});

const policyArbitrary = fc.constantFrom<UnpricedPolicyOption>(
  'refuse',
  'allow',
  { priceAs: 'gpt-4o-mini' },
  { priceAs: 'gpt-4o' },
);

/**
 * The policy's promises over random traffic: every call reserves at once (all concurrent), then each settles at
 * what it used, through the same functions the proxy and the instrumented fetch call.
 */
describe('unpricedPolicy (property)', () => {
  it('refuse never lets an unknown model through; no policy lets USD spend pass the limit; allow counts tokens', async () => {
    await fc.assert(
      fc.asyncProperty(
        policyArbitrary,
        fc.integer({ min: 1, max: 2_000_000 }),
        fc.integer({ min: 1, max: 50_000 }),
        fc.array(callArbitrary, { minLength: 1, maxLength: 30 }),
        async (unpricedPolicy, usdNano, tokenLimit, calls) => {
          const store = createMemoryStore();
          const config = parseMeterOptions({
            store,
            logger: { warn: () => {} },
            unpricedPolicy,
            budgets: [
              { scope: 'user', limit: { usd: (usdNano / 1e9).toFixed(9) }, window: 'day' },
              { scope: 'user', limit: { tokens: tokenLimit }, window: 'day' },
            ],
          });
          const applied = applicableBudgets(config.budgets, { user: 'alice' }, '/chat');
          const prepared = calls.map((spec) => {
            const body = {
              model: spec.unknown ? UNKNOWN : 'gpt-4o-mini',
              messages: [{ role: 'user', content: 'word '.repeat(spec.words) }],
              max_tokens: spec.maxTokens,
            };
            return { spec, call: new AiCall('chat', body, JSON.stringify(body).length) };
          });
          const results = await Promise.all(prepared.map(({ call }) => reserveForCall(config, call, applied)));
          let usdSpent = 0;
          let tokensSpent = 0;
          results.forEach((result, index) => {
            const { spec, call } = prepared[index] as (typeof prepared)[number];
            if (spec.unknown && unpricedPolicy === 'refuse') {
              expect(result.ok).toBe(false);
              expect('refusal' in result).toBe(true);
            }
            if (!result.ok) return;
            const usage = {
              ...emptyBuckets(),
              inputTokens: call.promptTokens().tokens,
              outputTokens: Math.floor((spec.maxTokens * spec.used) / 100),
              estimated: false,
            };
            const { event, cost } = buildUsageEvent(config, {
              call,
              requestId: `r${index}`,
              route: '/chat',
              identity: { user: 'alice' },
              usage,
              ...(result.hold.unpriced ? { unpriced: result.hold.unpriced } : {}),
              status: 200,
              streamed: false,
              durationMs: 1,
            });
            endBudgetHold(config, result.hold, usage, cost);
            tokensSpent += usage.inputTokens + usage.outputTokens;
            if (cost?.priced && cost.total) usdSpent += toNanoDollars(cost.total);
            if (spec.unknown) {
              if (typeof unpricedPolicy === 'object') {
                expect(event).toMatchObject({ priced: true, unpricedPolicy: 'price_as' });
                expect(event.pricedAs).toBe(unpricedPolicy.priceAs);
              } else {
                expect(event).toMatchObject({ priced: false, unpricedPolicy: 'allow' });
                expect(event.cost).toBeUndefined();
              }
            }
          });
          // The memory store settles synchronously: the counters now hold exactly the settled amounts.
          const usdUsed = await store.budgetUsage('user:alice:usd:day', DAY, Date.now());
          const tokensUsed = await store.budgetUsage('user:alice:tokens:day', DAY, Date.now());
          expect(usdUsed).toBe(usdSpent);
          expect(usdUsed).toBeLessThanOrEqual(usdNano);
          expect(tokensUsed).toBe(tokensSpent);
          expect(tokensUsed).toBeLessThanOrEqual(tokenLimit);
        },
      ),
      { numRuns: 150 },
    );
  });
});
