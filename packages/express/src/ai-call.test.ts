import { computeCost, normalizeUsage, PriceCatalog } from '@tokenmeter/core';
import { describe, expect, it } from 'vitest';
import { costOf } from './ai-call';

describe('costOf', () => {
  const catalog = PriceCatalog.default();
  const resolved = catalog.tryResolve('gpt-5-mini');
  const answer = (tier: string | undefined) => ({
    object: 'chat.completion',
    model: 'gpt-5-mini',
    ...(tier === undefined ? {} : { service_tier: tier }),
    usage: { prompt_tokens: 12_000, completion_tokens: 3_000 },
  });

  it('bills the service tier the answer reports, and standard when it reports none or an unknown one', () => {
    const standard = computeCost(normalizeUsage(answer(undefined)), 'gpt-5-mini', { catalog }).total;
    const flex = computeCost(normalizeUsage(answer(undefined)), 'gpt-5-mini', { catalog, tier: 'flex' }).total;
    expect(flex?.equals(standard as NonNullable<typeof standard>)).toBe(false);

    const billedFlex = costOf(normalizeUsage(answer('flex')), 'gpt-5-mini', resolved, catalog);
    expect(billedFlex.tierApplied).toBe('flex');
    expect(billedFlex.total?.toString()).toBe(flex?.toString());

    for (const tier of [undefined, 'default', 'scale']) {
      const billed = costOf(normalizeUsage(answer(tier)), 'gpt-5-mini', resolved, catalog);
      expect(billed.tierApplied).toBe('standard');
      expect(billed.total?.toString()).toBe(standard?.toString());
    }
  });
});
