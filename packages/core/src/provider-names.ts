/** Canonical provider names and the pages their prices come from, shared by the importers and the catalog. */

/** LiteLLM's `litellm_provider` values mapped to tokenmeter's provider names (others pass through). */
const LITELLM_PROVIDERS: Record<string, string> = {
  openai: 'openai',
  text_completion_openai: 'openai',
  anthropic: 'anthropic',
  gemini: 'google',
  'vertex_ai-language-models': 'vertex',
  'vertex_ai-anthropic_models': 'vertex',
  'vertex_ai-mistral_models': 'vertex',
  vertex_ai: 'vertex',
  mistral: 'mistral',
  codestral: 'mistral',
  deepseek: 'deepseek',
  xai: 'xai',
  bedrock: 'bedrock',
  bedrock_converse: 'bedrock',
  azure: 'azure',
  azure_ai: 'azure',
};

/** genai-prices provider ids mapped to tokenmeter's provider names (others pass through). */
const GENAI_PROVIDERS: Record<string, string> = {
  aws: 'bedrock',
  'x-ai': 'xai',
};

export function providerFromLiteLLM(value: string): string {
  if (LITELLM_PROVIDERS[value]) return LITELLM_PROVIDERS[value];
  if (value.startsWith('vertex_ai')) return 'vertex';
  return value;
}

export function providerFromGenAiPrices(value: string): string {
  return GENAI_PROVIDERS[value] ?? value;
}

/** The public pricing page of each provider: every catalog entry links to where its prices can be checked. */
export const PROVIDER_PRICING_URLS: Record<string, string> = {
  openai: 'https://openai.com/api/pricing/',
  anthropic: 'https://www.anthropic.com/pricing#api',
  google: 'https://ai.google.dev/gemini-api/docs/pricing',
  vertex: 'https://cloud.google.com/vertex-ai/generative-ai/pricing',
  mistral: 'https://mistral.ai/pricing#api-pricing',
  deepseek: 'https://api-docs.deepseek.com/quick_start/pricing',
  xai: 'https://docs.x.ai/docs/models',
  bedrock: 'https://aws.amazon.com/bedrock/pricing/',
  azure: 'https://azure.microsoft.com/en-us/pricing/details/cognitive-services/openai-service/',
};

export const LITELLM_SOURCE_URL = 'https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json';

/** Provider prefixes a model name may carry (`openai/gpt-4o`, `vertex_ai/claude-…`); resolution strips them. */
export const MODEL_NAME_PREFIXES = [
  'openai',
  'anthropic',
  'gemini',
  'google',
  'vertex_ai',
  'vertex',
  'bedrock',
  'bedrock_converse',
  'azure',
  'azure_ai',
  'mistral',
  'deepseek',
  'xai',
  'x-ai',
  'openrouter',
  // Model makers whose catalog ids drop LiteLLM's prefix: `moonshot/kimi-k2.5` → `kimi-k2.5`.
  'cohere',
  'cohere_chat',
  'voyage',
  'moonshot',
  'zai',
  'dashscope',
  'perplexity',
  'minimax',
  'ai21',
];
