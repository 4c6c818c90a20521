import { closestIds } from './model-suggestions';
import { costOfTokens, parsePricePerMillion } from './money';
import type { PromptEngine } from './prompt-diff';
import type { ChatMessage, TokenCount } from './types';

/**
 * A counting and pricing engine whose numbers a test can work out by hand: one token per whitespace-separated
 * word, chat messages with OpenAI's per-message overheads (3 per message + 3 for the reply), and gpt-4o's
 * published price ($2.50 input / $10.00 output per million tokens). Only for tests.
 */
export function fakePromptEngine(): PromptEngine {
  const words = (text: string) => (text.trim() === '' ? 0 : text.trim().split(/\s+/).length);
  const count = (tokens: number): TokenCount => ({ tokens, encoding: 'o200k_base', estimated: false });
  return {
    catalogDate: '2026-11-01',
    suggestModels: (model) => closestIds(model, ['gpt-4o']),
    countText: (text) => count(words(text)),
    countChat: (messages: ChatMessage[]) =>
      count(
        messages.reduce(
          (sum, message) =>
            sum + 3 + words(message.role) + words(typeof message.content === 'string' ? message.content : ''),
          3,
        ),
      ),
    priceCall: (model, inputTokens, outputTokens) => {
      if (model !== 'gpt-4o' && model !== 'openai/gpt-4o') return { priced: false, modelId: model, unknown: true };
      const input = parsePricePerMillion('2.5');
      const output = parsePricePerMillion('10');
      return {
        priced: true,
        modelId: 'gpt-4o',
        total: costOfTokens(input, inputTokens).plus(costOfTokens(output, outputTokens)),
        inputPerMillion: '2.5',
        outputPerMillion: '10',
        pricesEffectiveFrom: '2024-10-01',
      };
    },
  };
}
