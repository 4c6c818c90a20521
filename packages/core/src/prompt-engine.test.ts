import { describe, expect, it } from 'vitest';
import { parseCheckConfig } from './prompt-config';
import { diffPrompts } from './prompt-diff';
import { createPromptEngine } from './prompt-engine';
import { clearTokenCountMemo, countTokens, tokenCountMemoSize } from './token-count';

describe('createPromptEngine', () => {
  const engine = createPromptEngine();

  it('counts with tiktoken and prices with the shipped catalog', () => {
    // o200k_base: "Hello world" is 2 tokens. gpt-4o's published price: $2.50 input / $10 output per million.
    expect(engine.countText('Hello world', 'gpt-4o')).toMatchObject({
      tokens: 2,
      encoding: 'o200k_base',
      estimated: false,
    });
    const price = engine.priceCall('gpt-4o', 2, 100);
    // 2 × 2.5/1e6 + 100 × 10/1e6 = 0.000005 + 0.001 = 0.001005
    expect(price).toMatchObject({ priced: true, modelId: 'gpt-4o', inputPerMillion: '2.5', outputPerMillion: '10' });
    expect(price.total?.toString()).toBe('0.001005');
    expect(engine.priceCall('no-such-model-xyz', 10, 10)).toEqual({
      priced: false,
      modelId: 'no-such-model-xyz',
      unknown: true,
    });
    expect(engine.catalogDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('counts chat files with the chat rules', () => {
    // Cookbook rules: 3 per message + role + content tokens, + 3 for the reply priming.
    // "system" 1 + "Hi" 1 → 3 + 2 = 5, + 3 = 8.
    expect(engine.countChat([{ role: 'system', content: 'Hi' }], 'gpt-4o').tokens).toBe(8);
  });

  it('prices a real diff end to end', () => {
    const config = parseCheckConfig(
      'prompts:\n  - files: "*.md"\n    model: gpt-4o-mini\n    calls-per-month: 1000000\n',
    );
    const diff = diffPrompts({
      files: [{ path: 'a.md', status: 'modified', before: 'Hello world', after: 'Hello world, how are you?' }],
      config,
      engine,
    });
    // o200k_base: "Hello world" = 2, "Hello world, how are you?" = 7 tokens; gpt-4o-mini input $0.15 per million.
    // 2 × 0.15 = $0.30 per million calls → $0.30 per month; 7 × 0.15 = $1.05.
    expect(diff.prompts[0]?.before?.tokens).toBe(2);
    expect(diff.prompts[0]?.after?.tokens).toBe(7);
    expect([diff.costBefore.toString(), diff.costAfter.toString(), diff.costDelta.toString()]).toEqual([
      '0.3',
      '1.05',
      '0.75',
    ]);
    expect(diff.deltaPercent).toBe('250.0');
  });

  it('counts long prompts in chunks with exactly the whole-text count, sharing the unchanged part', () => {
    const paragraph = (seed: number) =>
      `Section ${seed}: answer the customer's question politely, cite the order number 10${seed}, and never guess.\n\n`;
    const base = Array.from({ length: 200 }, (_, index) => paragraph(index)).join('');
    const head = `${base.slice(0, -300)}A rewritten ending: escalate refunds over $500 to a human.\n`;
    clearTokenCountMemo();
    const whole = { base: countTokens(base, 'gpt-4o'), head: countTokens(head, 'gpt-4o') };
    clearTokenCountMemo();
    expect(engine.countText(base, 'gpt-4o')).toEqual(whole.base);
    const afterBase = tokenCountMemoSize();
    expect(engine.countText(head, 'gpt-4o')).toEqual(whole.head);
    // Only the last chunk differs: the head adds one memo entry, its shared chunks are lookups.
    expect(afterBase).toBeGreaterThan(2);
    expect(tokenCountMemoSize()).toBe(afterBase + 1);
  });
});
