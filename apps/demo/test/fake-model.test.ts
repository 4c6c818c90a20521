import { countChatTokens, countTokens } from '@tokenmeter/core';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeModel, startFakeModel } from '../src/fake-model';
import { loadPrompts } from '../src/prompts';

describe('the offline fake model', () => {
  let model: FakeModel;
  let client: OpenAI;
  const prompts = loadPrompts();

  beforeAll(async () => {
    model = await startFakeModel({ chunkDelayMs: 0 });
    client = new OpenAI({ apiKey: 'unused', baseURL: model.url, maxRetries: 0 });
  });
  afterAll(() => model.close());

  it('reports usage counted with the real tokenizer', async () => {
    const messages = [
      { role: 'system' as const, content: prompts.summarize },
      { role: 'user' as const, content: 'Customer: the export button does nothing.' },
    ];
    const completion = await client.chat.completions.create({ model: 'gpt-4.1-mini', messages });
    const reply = completion.choices[0]?.message.content ?? '';
    expect(reply.length).toBeGreaterThan(0);
    expect(completion.usage?.prompt_tokens).toBe(countChatTokens(messages, 'gpt-4.1-mini').tokens);
    expect(completion.usage?.completion_tokens).toBe(countTokens(reply, 'gpt-4.1-mini').tokens);
    expect(completion.usage?.completion_tokens_details?.reasoning_tokens).toBe(0);
  });

  it('streams with usage in one last chunk only when include_usage is asked for', async () => {
    const messages = [{ role: 'user' as const, content: 'How do I export a notebook?' }];
    const withUsage = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of withUsage) chunks.push(chunk);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.total_tokens).toBeGreaterThan(0);
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta?.content ?? '').join('');
    expect(last?.usage?.completion_tokens).toBe(countTokens(text, 'gpt-4o-mini').tokens);

    const withoutUsage = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    for await (const chunk of withoutUsage) expect(chunk.usage).toBeUndefined();
  });

  it('reports a repeated prefix as cached tokens, in whole 128-token steps', async () => {
    const first = [
      { role: 'system' as const, content: prompts.chat },
      { role: 'user' as const, content: 'Is there a dark mode on Android?' },
    ];
    const again = [
      ...first,
      { role: 'assistant' as const, content: 'Yes.' },
      { role: 'user' as const, content: 'And on iPad?' },
    ];
    const before = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: first });
    const after = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: again });
    // The first call's whole prompt is the longest prefix of the second seen before.
    const prefixTokens = countChatTokens(first, 'gpt-4o-mini').tokens;
    expect(before.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    expect(after.usage?.prompt_tokens_details?.cached_tokens).toBe(Math.floor(prefixTokens / 128) * 128);
  });

  it('bills reasoning tokens for reasoning models, inside completion_tokens', async () => {
    const completion = await client.chat.completions.create({
      model: 'o4-mini',
      messages: [{ role: 'user', content: 'How do I verify the webhook signature?' }],
    });
    const reply = completion.choices[0]?.message.content ?? '';
    const visible = countTokens(reply, 'o4-mini').tokens;
    expect(completion.usage?.completion_tokens_details?.reasoning_tokens).toBe(2 * visible + 64);
    expect(completion.usage?.completion_tokens).toBe(3 * visible + 64);
  });
});
