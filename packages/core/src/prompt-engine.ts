import { computeCost } from './cost';
import { PriceCatalog } from './price-catalog';
import type { CallPrice, PromptEngine } from './prompt-diff';
import type { PromptCounter } from './prompt-parse';
import { countChatTokens } from './token-chat';
import { countTokens } from './token-count';

export interface PromptEngineOptions {
  /** Default: the shipped catalog. */
  catalog?: PriceCatalog;
  /** Default: tiktoken for OpenAI models, a labelled estimate for the others. */
  counter?: PromptCounter;
}

/** Counting with tiktoken and pricing with the catalog: what the Action and `tokenmeter diff` use. */
export function createPromptEngine(options: PromptEngineOptions = {}): PromptEngine {
  const catalog = options.catalog ?? PriceCatalog.default();
  const counter = options.counter ?? defaultCounter;
  return {
    catalogDate: catalog.generatedAt,
    countText: (text, model) => counter.countText(text, model),
    countChat: (messages, model) => counter.countChat(messages, model),
    priceCall: (model, inputTokens, outputTokens): CallPrice => {
      const resolved = catalog.tryResolve(model);
      if (!resolved) return { priced: false, modelId: model };
      const cost = computeCost(
        {
          inputTokens,
          outputTokens,
          cachedInputTokens: 0,
          cacheWrite5mTokens: 0,
          cacheWrite1hTokens: 0,
          reasoningTokens: 0,
        },
        resolved,
        { catalog },
      );
      const prices = catalog.priceSetAt(resolved.entry).standard;
      return {
        priced: cost.priced && cost.total !== undefined,
        modelId: resolved.entry.id,
        ...(cost.total ? { total: cost.total } : {}),
        inputPerMillion: prices.input,
        outputPerMillion: prices.output,
        ...(cost.pricesEffectiveFrom ? { pricesEffectiveFrom: cost.pricesEffectiveFrom } : {}),
      };
    },
  };
}

const defaultCounter: PromptCounter = {
  countText: (text, model) => countTokens(text, model),
  countChat: (messages, model) => countChatTokens(messages, model),
};
