/**
 * The curated part of the catalog: which models of each feed the project ships, under which canonical ids,
 * with which aliases, source pages and long-context rules. `generate-catalog.ts` applies it to the feeds.
 * Edit this file (not the generated JSON) to add a model family or correct an id, then regenerate.
 */
import { formatScaled, PRICE_DECIMALS, parseDecimal } from '../src/money';
import type { CatalogEntry, LongContextTier, PriceSet, TokenPrices } from '../src/types';

export interface ProviderCuration {
  /** tokenmeter provider name of the entries produced. */
  provider: string;
  /** tokenmeter provider names of the LiteLLM entries to read (after mapping `litellm_provider`). */
  litellmProviders: string[];
  /** The model name an entry is known by, from its LiteLLM key; undefined skips the key. */
  name(key: string): string | undefined;
  /** Names that differ only by snapshot date group into one entry when their prices agree. */
  group(name: string): string;
  /** For members whose price differs from their group's: the name their own entry groups under. */
  subgroup?(name: string): string;
  /** Canonical names to keep (after `group`). */
  include: RegExp;
  exclude?: RegExp;
  /** genai-prices provider id for price history and tiers. */
  genaiProvider?: string;
  /** Models only genai-prices still lists (LiteLLM dropped them): genai-prices id → canonical id. */
  genaiOnly?: Record<string, string>;
  /** Which feed's standard prices win when both have the model. Default `genai`. */
  prefer?: 'genai' | 'litellm';
  /** The name genai-prices' match rules are tried on (default: the name without a platform prefix). */
  genaiName?(name: string): string;
  sourceUrl: string;
  /** How this provider's long-context tiers are billed: whether the threshold is exclusive, which tokens count. */
  tierRule: Pick<LongContextTier, 'comparison' | 'counts'>;
}

const ISO_OR_COMPACT_DATE = /-(?:\d{4}-\d{2}-\d{2}|\d{8})$/;

function stripPrefix(prefix: string) {
  return (key: string) => (key.startsWith(prefix) ? key.slice(prefix.length) : key.includes('/') ? undefined : key);
}

/** Every provider bills a long-context request entirely at the tier price once its prompt passes the threshold. */
const ABOVE_ALL_INPUT: ProviderCuration['tierRule'] = { comparison: '>', counts: 'all-input' };

export const CURATION: ProviderCuration[] = [
  {
    provider: 'openai',
    litellmProviders: ['openai'],
    name: (key) => (key.includes('/') ? undefined : key),
    group: (name) => name.replace(/-(?:\d{4}-\d{2}-\d{2}|0314|0613|1106|0125)$/, ''),
    include:
      /^(?:gpt-4o(?:-mini)?|chatgpt-4o-latest|gpt-4\.1(?:-mini|-nano)?|gpt-4(?:-turbo)?|gpt-3\.5-turbo(?:-16k)?|gpt-5(?:\.\d)?(?:-(?:mini|nano|pro|chat|chat-latest|codex|codex-mini|codex-max|sol|terra|luna))?|o1(?:-pro|-mini)?|o3(?:-pro|-mini|-deep-research)?|o4-mini(?:-deep-research)?|codex-mini-latest|ft:(?:gpt-4o(?:-mini)?|gpt-4\.1(?:-mini|-nano)?|o4-mini|gpt-3\.5-turbo|gpt-4)|text-embedding-(?:3-small|3-large|ada-002)|gpt-4o(?:-mini)?-(?:audio-preview|realtime-preview|search-preview|transcribe(?:-diarize)?|tts)|gpt-audio(?:-mini|-1\.5)?|gpt-realtime(?:-mini|-1\.5|-2(?:\.1)?(?:-mini)?)?|gpt-5-search-api|gpt-3\.5-turbo-instruct(?:-0914)?|davinci-002|babbage-002)$/,
    genaiProvider: 'openai',
    // LiteLLM dropped these; genai-prices still prices them (and OpenAI still serves o1-mini).
    genaiOnly: { 'o1-mini': 'o1-mini' },
    sourceUrl: 'https://openai.com/api/pricing/',
    tierRule: ABOVE_ALL_INPUT,
  },
  {
    provider: 'anthropic',
    litellmProviders: ['anthropic'],
    name: (key) => (key.includes('/') ? undefined : key),
    group: (name) => {
      const undated = name.replace(ISO_OR_COMPACT_DATE, '');
      return { 'claude-4-opus': 'claude-opus-4', 'claude-4-sonnet': 'claude-sonnet-4' }[undated] ?? undated;
    },
    include: /^claude-(?:3-(?:5-haiku|7-sonnet|haiku|opus)|(?:opus|sonnet|haiku|fable)-\d(?:-\d)?)$/,
    genaiProvider: 'anthropic',
    genaiOnly: { 'claude-3-5-sonnet': 'claude-3-5-sonnet', 'claude-3-5-haiku-latest': 'claude-3-5-haiku' },
    sourceUrl: 'https://www.anthropic.com/pricing#api',
    tierRule: ABOVE_ALL_INPUT,
  },
  {
    provider: 'google',
    litellmProviders: ['google'],
    name: stripPrefix('gemini/'),
    // `-001` is a snapshot of a chat model, but part of the name of `gemini-embedding-001`.
    group: (name) => (name.includes('embedding') ? name : name.replace(/-(?:\d{3})$/, '')),
    include:
      /^gemini-(?:2\.0-flash(?:-lite)?|2\.5-(?:pro|flash|flash-lite)(?:-preview-\d{2}-\d{4})?|3(?:\.\d)?-(?:pro|flash|flash-lite)(?:-preview)?|flash-latest|flash-lite-latest|pro-latest|embedding-001|embedding-2(?:-preview)?|2\.5-(?:flash|pro)-preview-tts|live-2\.5-flash-preview-native-audio-09-2025)$/,
    genaiProvider: 'google',
    sourceUrl: 'https://ai.google.dev/gemini-api/docs/pricing',
    tierRule: ABOVE_ALL_INPUT,
  },
  {
    provider: 'vertex',
    litellmProviders: ['vertex'],
    name: (key) => (key.startsWith('vertex_ai/') ? key : key.includes('/') ? undefined : `vertex_ai/${key}`),
    group: (name) => name.replace(/@.*$/, ''),
    include:
      /^vertex_ai\/(?:claude-(?:3-(?:5-haiku|5-sonnet|7-sonnet|haiku|opus)|(?:opus|sonnet|haiku|fable)-\d(?:-\d)?)|gemini-(?:2\.0-flash(?:-lite)?|2\.5-(?:pro|flash|flash-lite)|3(?:\.\d)?-(?:pro|flash|flash-lite)(?:-preview)?|embedding-001)|text-embedding-00[45]|text-multilingual-embedding-002|multimodalembedding|meta\/llama[^@]*|mistral-[a-z-]+|codestral-[0-9a-z-]+|deepseek-ai\/[^@]+|qwen\/[^@]+|openai\/gpt-oss[^@]*)$/,
    genaiProvider: 'google',
    sourceUrl: 'https://cloud.google.com/vertex-ai/generative-ai/pricing',
    tierRule: ABOVE_ALL_INPUT,
  },
  {
    provider: 'mistral',
    litellmProviders: ['mistral'],
    name: stripPrefix('mistral/'),
    group: (name) => name,
    include:
      /^(?:mistral-(?:large|medium|small)-latest|mistral-large-3|mistral-large-2(?:411|512)|mistral-medium-(?:2505|2508|3-5)|mistral-small-3-2-2506|magistral-(?:medium|small)-latest|magistral-(?:medium|small)-2509|codestral-(?:latest|2508)|devstral-(?:latest|medium-latest|small-latest|2512|medium-2507|small-2507)|ministral-(?:8b-latest|3-(?:3b|8b|14b)-2512)|pixtral-large-latest|open-mistral-nemo|mistral-embed|codestral-embed(?:-2505)?)$/,
    genaiProvider: 'mistral',
    prefer: 'litellm',
    sourceUrl: 'https://mistral.ai/pricing#api-pricing',
    tierRule: ABOVE_ALL_INPUT,
  },
  {
    provider: 'deepseek',
    litellmProviders: ['deepseek'],
    name: stripPrefix('deepseek/'),
    group: (name) => name,
    include: /^deepseek-(?:chat|reasoner|v3\.2|v4-flash|v4-pro)$/,
    genaiProvider: 'deepseek',
    // genai-prices still carries DeepSeek's retired off-peak discount as the default price set.
    prefer: 'litellm',
    sourceUrl: 'https://api-docs.deepseek.com/quick_start/pricing',
    tierRule: ABOVE_ALL_INPUT,
  },
  {
    provider: 'xai',
    litellmProviders: ['xai'],
    name: stripPrefix('xai/'),
    // `grok-4` is served by `grok-4-0709`: one entry, so the snapshot's >128k tier reaches the family name.
    group: (name) => name.replace(/-latest$/, '').replace(/^(grok-\d)-\d{4}$/, '$1'),
    include:
      /^grok-(?:3|3-mini|4|4-0709|4-fast-(?:non-)?reasoning|4-1-fast(?:-(?:non-)?reasoning)?|4\.20-0309-reasoning|4\.20-beta-0309-(?:non-)?reasoning|4\.3|4\.5|code-fast-1)$/,
    genaiProvider: 'x-ai',
    sourceUrl: 'https://docs.x.ai/docs/models',
    tierRule: ABOVE_ALL_INPUT,
  },
  {
    provider: 'bedrock',
    litellmProviders: ['bedrock'],
    name: (key) => (key.includes('/') ? undefined : key),
    // Cross-region profiles (`us.`, `eu.`, `global.`…) are aliases, or their own entries when their price differs.
    group: (name) => name.replace(/^(?:us|eu|apac|au|jp|global)\./, ''),
    include:
      /^(?:(?:us|eu|apac|au|jp|global)\.)?(?:anthropic\.claude-(?:3-5-haiku|3-5-sonnet|3-7-sonnet|3-haiku|opus-4|sonnet-4|haiku-4|opus-5|sonnet-5|fable-5)[^/]*|amazon\.nova-(?:micro|lite|pro|premier|2-lite)-v1:0|meta\.llama[0-9a-z-]+-(?:instruct|chat)-v\d(?::0)?|mistral\.(?:mistral-large-3-675b-instruct|magistral-small-2509|devstral-2-123b)|deepseek\.(?:v3\.2|v3-v1:0|r1-v1:0)|openai\.gpt-oss-(?:120b|20b)-1:0|amazon\.titan-embed-text-v(?:1|2:0)|amazon\.nova-2-multimodal-embeddings-v1:0|cohere\.embed-(?:english-v3|multilingual-v3|v4:0))$/,
    exclude: /@/,
    genaiProvider: 'aws',
    prefer: 'litellm',
    sourceUrl: 'https://aws.amazon.com/bedrock/pricing/',
    tierRule: ABOVE_ALL_INPUT,
  },
  {
    provider: 'azure',
    litellmProviders: ['azure'],
    name: (key) => (key.startsWith('azure/') ? key : undefined),
    // Data-zone deployments (`azure/eu/…`) are aliases, or their own entries when their price differs.
    group: (name) =>
      name
        .replace(/^azure\/(?:eu|us|global|global-standard)\//, 'azure/')
        .replace(/-(?:\d{4}-\d{2}-\d{2}|0613|0125|1106)$/, ''),
    subgroup: (name) => name.replace(/-(?:\d{4}-\d{2}-\d{2}|0613|0125|1106)$/, ''),
    include:
      /^azure\/(?:gpt-4o(?:-mini)?|gpt-4\.1(?:-mini|-nano)?|gpt-4(?:-turbo)?|gpt-35-turbo|gpt-5(?:\.\d)?(?:-(?:mini|nano|pro|chat|codex|codex-mini|codex-max|sol|terra|luna))?|o1(?:-mini)?|o3(?:-pro|-mini|-deep-research)?|o4-mini|text-embedding-(?:3-small|3-large|ada-002)|gpt-4o(?:-mini)?-(?:audio-preview|realtime-preview|transcribe(?:-diarize)?)|gpt-audio(?:-mini|-1\.5)?|gpt-realtime(?:-mini|-1\.5)?)$/,
    genaiProvider: 'azure',
    prefer: 'litellm',
    sourceUrl: 'https://azure.microsoft.com/en-us/pricing/details/cognitive-services/openai-service/',
    tierRule: ABOVE_ALL_INPUT,
  },
  // Azure AI Foundry's serverless models (Claude, Llama, DeepSeek, Mistral… billed by Azure).
  host({
    provider: 'azure',
    litellm: 'azure',
    prefix: 'azure_ai',
    url: 'https://azure.microsoft.com/en-us/pricing/details/ai-foundry-models/',
  }),
  // Model makers: their own ids, as their APIs take them (`command-r`, `kimi-k2`, `glm-4.6`).
  owner({
    provider: 'cohere',
    litellm: ['cohere', 'cohere_chat'],
    prefix: 'cohere',
    genai: 'cohere',
    url: 'https://cohere.com/pricing',
  }),
  owner({
    provider: 'voyage',
    litellm: ['voyage'],
    prefix: 'voyage',
    genai: 'voyageai',
    url: 'https://docs.voyageai.com/docs/pricing',
  }),
  owner({
    provider: 'moonshot',
    litellm: ['moonshot'],
    prefix: 'moonshot',
    genai: 'moonshotai',
    url: 'https://platform.moonshot.ai/docs/pricing/chat',
  }),
  owner({
    provider: 'zai',
    litellm: ['zai'],
    prefix: 'zai',
    genai: 'zhipuai',
    url: 'https://docs.z.ai/guides/overview/pricing',
  }),
  owner({
    provider: 'alibaba',
    litellm: ['dashscope'],
    prefix: 'dashscope',
    url: 'https://www.alibabacloud.com/help/en/model-studio/models',
  }),
  owner({
    provider: 'perplexity',
    litellm: ['perplexity'],
    prefix: 'perplexity',
    genai: 'perplexity',
    url: 'https://docs.perplexity.ai/getting-started/pricing',
  }),
  owner({
    provider: 'minimax',
    litellm: ['minimax'],
    prefix: 'minimax',
    genai: 'minimax',
    url: 'https://platform.minimax.io/docs/guides/pricing-paygo',
  }),
  owner({ provider: 'ai21', litellm: ['ai21'], prefix: 'ai21', url: 'https://www.ai21.com/pricing/' }),
  // Inference hosts: their ids keep the host prefix, since the same open model costs differently at each.
  host({
    provider: 'fireworks',
    litellm: 'fireworks_ai',
    genai: 'fireworks',
    url: 'https://fireworks.ai/pricing',
    // Image models LiteLLM files as chat with a per-step price in the token field.
    exclude: /\/flux-/,
  }),
  host({ provider: 'together', litellm: 'together_ai', genai: 'together', url: 'https://www.together.ai/pricing' }),
  host({ provider: 'groq', litellm: 'groq', genai: 'groq', url: 'https://groq.com/pricing/' }),
  host({ provider: 'cerebras', litellm: 'cerebras', genai: 'cerebras', url: 'https://www.cerebras.ai/pricing' }),
  host({ provider: 'openrouter', litellm: 'openrouter', genai: 'openrouter', url: 'https://openrouter.ai/models' }),
  host({ provider: 'novita', litellm: 'novita', genai: 'novita', url: 'https://novita.ai/pricing' }),
  host({ provider: 'deepinfra', litellm: 'deepinfra', url: 'https://deepinfra.com/pricing' }),
  host({ provider: 'nebius', litellm: 'nebius', url: 'https://nebius.com/token-factory/prices' }),
  host({ provider: 'sambanova', litellm: 'sambanova', url: 'https://cloud.sambanova.ai/plans/pricing' }),
  host({ provider: 'replicate', litellm: 'replicate', url: 'https://replicate.com/pricing' }),
  host({
    provider: 'cloudflare',
    litellm: 'cloudflare',
    url: 'https://developers.cloudflare.com/workers-ai/platform/pricing/',
  }),
  host({ provider: 'vercel', litellm: 'vercel_ai_gateway', url: 'https://vercel.com/ai-gateway/models' }),
  host({
    provider: 'databricks',
    litellm: 'databricks',
    url: 'https://www.databricks.com/product/pricing/foundation-model-serving',
  }),
  host({ provider: 'watsonx', litellm: 'watsonx', url: 'https://www.ibm.com/products/watsonx-ai/pricing' }),
  host({
    provider: 'oci',
    litellm: 'oci',
    url: 'https://www.oracle.com/artificial-intelligence/generative-ai/generative-ai-service/pricing',
  }),
  host({
    provider: 'snowflake',
    litellm: 'snowflake',
    url: 'https://www.snowflake.com/legal-files/CreditConsumptionTable.pdf',
  }),
  host({ provider: 'lambda', litellm: 'lambda_ai', url: 'https://lambda.ai/inference' }),
  host({
    provider: 'ovhcloud',
    litellm: 'ovhcloud',
    genai: 'ovhcloud',
    url: 'https://endpoints.ai.cloud.ovh.net/catalog',
  }),
  host({ provider: 'hyperbolic', litellm: 'hyperbolic', url: 'https://hyperbolic.xyz/pricing' }),
  host({
    provider: 'nscale',
    litellm: 'nscale',
    url: 'https://docs.nscale.com/docs/inference/serverless-models/current',
  }),
  host({ provider: 'baseten', litellm: 'baseten', url: 'https://www.baseten.co/pricing/' }),
  host({ provider: 'wandb', litellm: 'wandb', url: 'https://wandb.ai/site/pricing/inference' }),
  host({ provider: 'scaleway', litellm: 'scaleway', url: 'https://www.scaleway.com/en/pricing/model-as-a-service/' }),
  host({ provider: 'gmi', litellm: 'gmi', url: 'https://www.gmicloud.ai/pricing' }),
  host({ provider: 'friendliai', litellm: 'friendliai', url: 'https://friendli.ai/pricing' }),
];

interface HostOptions {
  provider: string;
  /** `litellm_provider` value(s) (after tokenmeter's mapping). */
  litellm: string | string[];
  /** Key prefix in LiteLLM (default: the LiteLLM provider). */
  prefix?: string;
  genai?: string;
  url: string;
  exclude?: RegExp;
}

/** An inference host: ids keep the `host/` prefix; genai-prices rules are tried on the name after it. */
function host(options: HostOptions): ProviderCuration {
  const prefix = `${options.prefix ?? [options.litellm].flat()[0]}/`;
  return {
    provider: options.provider,
    litellmProviders: [options.litellm].flat(),
    name: (key) => (key.startsWith(prefix) ? key : undefined),
    group: (name) => name,
    include: /./,
    ...(options.exclude ? { exclude: options.exclude } : {}),
    ...(options.genai ? { genaiProvider: options.genai } : {}),
    genaiName: (name) => name.slice(prefix.length),
    prefer: 'litellm',
    sourceUrl: options.url,
    tierRule: ABOVE_ALL_INPUT,
  };
}

/** A model maker: ids as its own API takes them, without LiteLLM's `maker/` prefix. */
function owner(options: HostOptions): ProviderCuration {
  return { ...host(options), name: stripPrefix(`${options.prefix}/`), genaiName: (name) => name };
}

/**
 * Extra names people use for a model that neither feed lists: Anthropic's own `-0` and `-latest` aliases
 * (https://docs.anthropic.com/en/docs/about-claude/models/overview#model-aliases) and dotted spellings.
 */
export const EXTRA_ALIASES: Record<string, string[]> = {
  'claude-sonnet-4-5': ['claude-sonnet-4.5', 'claude-4-5-sonnet'],
  'claude-opus-4-1': ['claude-opus-4.1'],
  'claude-haiku-4-5': ['claude-haiku-4.5'],
  'claude-sonnet-4': ['claude-sonnet-4-0', 'claude-4-sonnet'],
  'claude-opus-4': ['claude-opus-4-0', 'claude-4-opus'],
  'claude-3-7-sonnet': ['claude-3.7-sonnet', 'claude-3-7-sonnet-latest'],
  'claude-3-5-sonnet': ['claude-3-5-sonnet-latest'],
  'claude-3-opus': ['claude-3-opus-latest'],
  'claude-3-5-haiku': ['claude-3.5-haiku'],
};

const HALF = (price: string): string => {
  const scaled = parseDecimal(price, PRICE_DECIMALS);
  // Halving an exact decimal with 12 places can need a 13th: prices in the feeds never have more than 10.
  if (scaled % 2n !== 0n) throw new Error(`curation: ${price} cannot be halved exactly at ${PRICE_DECIMALS} places`);
  return formatScaled(scaled / 2n, PRICE_DECIMALS, true);
};

/** A documented provider-wide rule: fills a price the feeds leave out, from the model's own standard prices. */
export interface PriceRule {
  /** Recorded in `source.rules` of each price set it changed. */
  name: string;
  /** The page that states the rule. */
  url: string;
  appliesTo(entry: CatalogEntry): boolean;
  /** Changes the set; false when it had nothing to add (a published price always wins over the rule). */
  apply(set: PriceSet): boolean;
}

function halfPriceBatch(set: PriceSet, keep: Array<keyof TokenPrices> = []): boolean {
  if (set.batch) return false;
  const batch: Partial<TokenPrices> = {};
  for (const [field, price] of Object.entries(set.standard) as Array<[keyof TokenPrices, string]>) {
    batch[field] = keep.includes(field) ? price : HALF(price);
  }
  set.batch = batch;
  return true;
}

/** Google: "the discounts for cache and batch don't stack": a cache hit in a batch keeps the cache price. */
const googleBatch = (set: PriceSet) => halfPriceBatch(set, ['cachedInput', 'cachedInputAudio']);

const CHAT_LIKE = new Set(['chat', 'responses', 'completion']);

export const PRICE_RULES: PriceRule[] = [
  {
    // "Batch processing … cutting costs by 50%" on all usage, cache reads and writes included.
    name: 'batch=50%:anthropic',
    url: 'https://platform.claude.com/docs/en/build-with-claude/batch-processing',
    appliesTo: (entry) => entry.provider === 'anthropic',
    apply: halfPriceBatch,
  },
  {
    // The Batch API bills every supported model at half its synchronous price; realtime, audio, search and
    // fine-tuned models are left out (no batch price published for them).
    name: 'batch=50%:openai',
    url: 'https://platform.openai.com/docs/guides/batch',
    appliesTo: (entry) =>
      entry.provider === 'openai' &&
      (CHAT_LIKE.has(entry.mode) || entry.mode === 'embedding') &&
      !/^ft:|search|audio|realtime|transcribe|tts|chatgpt-4o-latest|chat-latest|codex-mini-latest/.test(entry.id),
    apply: halfPriceBatch,
  },
  {
    // "Batch Mode … at a 50% discount compared to our synchronous APIs" (Gemini 2.x and later text models);
    // cache hits keep the cache price, as Google's Vertex batch page says (discounts do not stack).
    name: 'batch=50%:gemini',
    url: 'https://ai.google.dev/gemini-api/docs/batch-mode',
    appliesTo: (entry) =>
      entry.provider === 'google' &&
      CHAT_LIKE.has(entry.mode) &&
      /^gemini-(?:[23]|flash|pro)/.test(entry.id) &&
      !/tts|live|image/.test(entry.id),
    apply: googleBatch,
  },
  {
    // "Batch processing is offered at a 50% discounted rate compared to real-time inference … the discounts
    // for cache and batch don't stack" (Gemini 2.x and later on Vertex AI).
    name: 'batch=50%:vertex-gemini',
    url: 'https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/batch-prediction-gemini',
    appliesTo: (entry) =>
      entry.provider === 'vertex' && CHAT_LIKE.has(entry.mode) && /^vertex_ai\/gemini-[23]/.test(entry.id),
    apply: googleBatch,
  },
  {
    // "1-hour cache write tokens are 2 times the base input tokens price", also above the long-context
    // threshold, where the base input price is the tier's.
    name: 'cacheWrite1h=2×input:anthropic',
    url: 'https://platform.claude.com/docs/en/build-with-claude/prompt-caching#pricing',
    appliesTo: (entry) => entry.provider === 'anthropic',
    apply: (set) => {
      let changed = false;
      for (const prices of [set.standard, ...(set.tiers ?? []).map((tier) => tier.prices)]) {
        if (prices.cacheWrite1h !== undefined || prices.cacheWrite5m === undefined || !prices.input) continue;
        prices.cacheWrite1h = HALF(formatScaled(parseDecimal(prices.input, PRICE_DECIMALS) * 4n, PRICE_DECIMALS, true));
        changed = true;
      }
      return changed;
    },
  },
];

/** A fix to one feed row, with the page that shows the right price and when it was checked. */
export interface Correction {
  name: string;
  ids: string[];
  url: string;
  checkedAt: string;
  /** Changes the newest set; false when the row is already right (the feed was fixed: remove the correction). */
  apply(set: PriceSet): boolean;
}

export const CORRECTIONS: Correction[] = [
  {
    // LiteLLM files the data-zone cached-input price ($1.375) as a cache-write price; Azure charges no cache
    // writes, so those tokens would bill at $1.38 and cache reads at the full $2.75. $1.375 is the page's
    // global cached-input $1.25 plus the data-zone 10 %, and LiteLLM's own azure/eu/gpt-4o-2024-08-06 row.
    name: 'fix:azure-data-zone-gpt-4o-cached-input',
    ids: ['azure/eu/gpt-4o', 'azure/us/gpt-4o'],
    url: 'https://azure.microsoft.com/en-us/pricing/details/cognitive-services/openai-service/',
    checkedAt: '2026-12-08',
    apply: (set) => {
      if (set.standard.cachedInput !== undefined || set.standard.cacheWrite5m === undefined) return false;
      const { cacheWrite5m: _mislabelled, ...rest } = set.standard;
      set.standard = { ...rest, cachedInput: '1.375' };
      return true;
    },
  },
];

/**
 * Rows that fail a plausibility check but are right, each with the reason (`id`, `id#batch|flex|priority`,
 * or a `-latest` name). Everything else that fails a check is refused.
 */
export const ACCEPTED: Record<string, string> = {
  'glm-4.7-flash': 'free model: Z.ai lists GLM-4.7-Flash at $0 (https://docs.z.ai/guides/overview/pricing)',
  'glm-4.5-flash': 'free model: Z.ai lists GLM-4.5-Flash at $0 (https://docs.z.ai/guides/overview/pricing)',
  'together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo-Free': "Together's free endpoint of the model",
  'vercel_ai_gateway/amazon/titan-embed-text-v2':
    'an embedding model LiteLLM files as chat: it writes no output tokens',
  'vercel_ai_gateway/cohere/embed-v4.0': 'an embedding model LiteLLM files as chat: it writes no output tokens',
  'vercel_ai_gateway/mistral/codestral-embed': 'an embedding model LiteLLM files as chat: it writes no output tokens',
  'vercel_ai_gateway/mistral/mistral-embed': 'an embedding model LiteLLM files as chat: it writes no output tokens',
};

/** Release dates of models whose ids carry no date: the first price set applies from here. */
export const RELEASE_DATES: Record<string, string> = {
  'gpt-4o': '2024-05-13',
  'gpt-4o-mini': '2024-07-18',
  'gpt-4.1': '2025-04-14',
  'gpt-5': '2025-08-07',
  o3: '2025-04-16',
};

/** tiktoken encodings of OpenAI models (DESIGN.md); first matching prefix wins. */
export const OPENAI_ENCODINGS: Array<[RegExp, 'o200k_base' | 'cl100k_base' | 'o200k_harmony']> = [
  [/^(?:azure\/(?:[a-z-]+\/)?)?(?:ft:)?gpt-oss/, 'o200k_harmony'],
  [/^(?:openai\.)gpt-oss/, 'o200k_harmony'],
  [
    /^(?:azure\/(?:[a-z-]+\/)?)?(?:ft:)?(?:gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|codex-mini)/,
    'o200k_base',
  ],
  [/^(?:azure\/(?:[a-z-]+\/)?)?(?:ft:)?(?:gpt-4|gpt-3\.5|gpt-35)/, 'cl100k_base'],
];
