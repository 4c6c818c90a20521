import { computeCost, countTokens, normalizeUsage, PriceCatalog } from '@tokenmeter/core';
import { describe, expect, it } from 'vitest';
import { AiCall, costOf } from './ai-call';

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

describe('the prompt estimate (used when the provider reports no usage)', () => {
  const schema = {
    type: 'object',
    properties: Object.fromEntries(
      Array.from({ length: 20 }, (_, index) => [`field_${index}`, { type: 'string', description: 'A field.' }]),
    ),
  };
  const tokens = (operation: 'chat' | 'responses' | 'messages', body: Record<string, unknown>) =>
    new AiCall(operation, body, JSON.stringify(body).length).promptTokens().tokens;

  it('counts structured-output schemas and non-function tools, which are billed as input', () => {
    const messages = [{ role: 'user', content: 'Fill the form.' }];
    const schemaTokens = countTokens(JSON.stringify(schema), 'gpt-4o').tokens;
    const chat = { model: 'gpt-4o', messages };
    const withFormat = {
      ...chat,
      response_format: { type: 'json_schema', json_schema: { name: 'form', schema } },
      tools: [{ type: 'custom', custom: { name: 'grammar', description: 'Free-form text in a grammar.' } }],
    };
    expect(tokens('chat', withFormat) - tokens('chat', chat)).toBeGreaterThanOrEqual(schemaTokens);
    const responses = { model: 'gpt-4o', input: 'Fill the form.' };
    const withText = { ...responses, text: { format: { type: 'json_schema', name: 'form', schema } } };
    expect(tokens('responses', withText) - tokens('responses', responses)).toBeGreaterThanOrEqual(schemaTokens);
  });

  it('counts Anthropic tool results whose content is an array of blocks', () => {
    const log = 'npm ERR! code ELIFECYCLE: the build script exited with status 1. '.repeat(30);
    const body = (content: unknown) => ({
      model: 'claude-sonnet-4-5',
      max_tokens: 100,
      messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content }] }],
    });
    const asString = tokens('messages', body(log));
    const asBlocks = tokens('messages', body([{ type: 'text', text: log }]));
    expect(asBlocks).toBeGreaterThanOrEqual(asString);
    expect(asBlocks).toBeGreaterThan(countTokens(log, 'claude-sonnet-4-5').tokens);
  });
});
