import { computeCost } from './cost';
import { PriceCatalog } from './price-catalog';
import type { CallPrice, PromptEngine } from './prompt-diff';
import type { PromptCounter } from './prompt-parse';
import { countChatTokens } from './token-chat';
import { splitForEncoding } from './token-chunks';
import { countTokens } from './token-count';
import { encodingForModel } from './token-encoding';
import type { TokenCount } from './types';

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
    suggestModels: (model) => catalog.suggest(model),
    priceCall: (model, inputTokens, outputTokens): CallPrice => {
      const resolved = catalog.tryResolve(model);
      if (!resolved) return { priced: false, modelId: model, unknown: true };
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
  countText: countPromptText,
  countChat: (messages, model) => countChatTokens(messages, model),
};

/** Pieces of about this many characters: a 10 KB prompt is three, each counted once per run. */
const PROMPT_CHUNK_SIZE = 4096;

/**
 * A pull request changes a prompt's base and head versions only in places, so both are counted in chunks
 * cut where tiktoken's pre-tokenizer cuts anyway (the sum is then the exact count) and the count memo
 * answers every chunk the two versions share: the unchanged part of a prompt is encoded once, not twice.
 * Anything that is not a plain exact count (estimates, forced cuts in a run without token boundaries) is
 * counted whole, as before, so the numbers never depend on the chunking.
 */
function countPromptText(text: string, model: string): TokenCount {
  if (text.length <= PROMPT_CHUNK_SIZE || encodingForModel(model) === undefined) return countTokens(text, model);
  const { chunks, forced } = splitForEncoding(text, PROMPT_CHUNK_SIZE);
  if (forced) return countTokens(text, model);
  let tokens = 0;
  let encoding: TokenCount['encoding'] | undefined;
  for (const chunk of chunks) {
    const count = countTokens(chunk, model);
    if (count.estimated || (encoding !== undefined && count.encoding !== encoding)) return countTokens(text, model);
    encoding = count.encoding;
    tokens += count.tokens;
  }
  return { tokens, encoding: encoding ?? 'estimate', estimated: false };
}
