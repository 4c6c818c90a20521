import { PriceCatalog } from '@tokenmeter/core';
import { describe, expect, it } from 'vitest';
import { catalogBenchmark, TYPED_NAMES } from './catalog';

describe('catalog bench section', () => {
  it('reports the generator stats and resolves every typed name', async () => {
    const section = await catalogBenchmark();
    const stats = PriceCatalog.default().stats;
    expect(section.markdown).toContain(`| models priced | ${stats?.models} |`);
    expect(section.markdown).toContain(`| rows refused by the plausibility checks | ${stats?.refused} |`);
    expect(section.markdown).toContain(`| typed names resolved | ${TYPED_NAMES.length} / ${TYPED_NAMES.length} (`);
    expect(section.targets.map((target) => [target.name, target.met])).toEqual([
      ['catalog: priced models', true],
      ['catalog: providers', true],
      ['catalog: typed names resolved', true],
      ['catalog: rows refused / curated by the generator', true],
    ]);
  });

  it('misses the resolution target when a typed name is unknown', async () => {
    TYPED_NAMES.push('no-such-model-anywhere');
    try {
      const section = await catalogBenchmark();
      expect(section.targets[2]).toMatchObject({
        met: false,
        measured: `${TYPED_NAMES.length - 1} / ${TYPED_NAMES.length}`,
      });
      expect(section.markdown).toContain('Not resolved: `no-such-model-anywhere`');
    } finally {
      TYPED_NAMES.pop();
    }
  });
});
