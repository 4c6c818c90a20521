/**
 * The curated part of the catalog: which models of each feed the project ships, under which canonical ids,
 * with which aliases, source pages and long-context rules. `generate-catalog.ts` applies it to the feeds.
 * Edit this file (not the generated JSON) to add a model family or correct an id, then regenerate.
 */
import type { LongContextTier } from '../src/types';

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
      /^(?:gpt-4o(?:-mini)?|chatgpt-4o-latest|gpt-4\.1(?:-mini|-nano)?|gpt-4(?:-turbo)?|gpt-3\.5-turbo(?:-16k)?|gpt-5(?:\.\d)?(?:-(?:mini|nano|pro|chat|chat-latest|codex|codex-mini|codex-max|sol|terra|luna))?|o1(?:-pro|-mini)?|o3(?:-pro|-mini|-deep-research)?|o4-mini(?:-deep-research)?|codex-mini-latest|ft:(?:gpt-4o(?:-mini)?|gpt-4\.1(?:-mini|-nano)?|o4-mini|gpt-3\.5-turbo|gpt-4))$/,
    genaiProvider: 'openai',
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
    group: (name) => name.replace(/-(?:\d{3})$/, ''),
    include:
      /^gemini-(?:2\.0-flash(?:-lite)?|2\.5-(?:pro|flash|flash-lite)(?:-preview-\d{2}-\d{4})?|3(?:\.\d)?-(?:pro|flash|flash-lite)(?:-preview)?|flash-latest|flash-lite-latest|pro-latest)$/,
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
      /^vertex_ai\/(?:claude-(?:3-(?:5-haiku|5-sonnet|7-sonnet|haiku|opus)|(?:opus|sonnet|haiku|fable)-\d(?:-\d)?)|gemini-(?:2\.0-flash(?:-lite)?|2\.5-(?:pro|flash|flash-lite)|3(?:\.\d)?-(?:pro|flash|flash-lite)(?:-preview)?))$/,
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
      /^(?:mistral-(?:large|medium|small)-latest|mistral-large-3|mistral-large-2(?:411|512)|mistral-medium-(?:2505|2508|3-5)|mistral-small-3-2-2506|magistral-(?:medium|small)-latest|magistral-(?:medium|small)-2509|codestral-(?:latest|2508)|devstral-(?:latest|medium-latest|small-latest|2512|medium-2507|small-2507)|ministral-(?:8b-latest|3-(?:3b|8b|14b)-2512)|pixtral-large-latest|open-mistral-nemo)$/,
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
    group: (name) => name.replace(/-latest$/, ''),
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
      /^(?:(?:us|eu|apac|au|jp|global)\.)?(?:anthropic\.claude-(?:3-5-haiku|3-5-sonnet|3-7-sonnet|3-haiku|opus-4|sonnet-4|haiku-4|opus-5|sonnet-5|fable-5)[^/]*|amazon\.nova-(?:micro|lite|pro|premier|2-lite)-v1:0|meta\.llama(?:3-3-70b|4-maverick-17b|4-scout-17b)-instruct-v1:0|mistral\.(?:mistral-large-3-675b-instruct|magistral-small-2509|devstral-2-123b)|deepseek\.(?:v3\.2|v3-v1:0|r1-v1:0)|openai\.gpt-oss-(?:120b|20b)-1:0)$/,
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
      /^azure\/(?:gpt-4o(?:-mini)?|gpt-4\.1(?:-mini|-nano)?|gpt-4(?:-turbo)?|gpt-35-turbo|gpt-5(?:\.\d)?(?:-(?:mini|nano|pro|chat|codex|codex-mini|codex-max|sol|terra|luna))?|o1(?:-mini)?|o3(?:-pro|-mini|-deep-research)?|o4-mini)$/,
    genaiProvider: 'azure',
    prefer: 'litellm',
    sourceUrl: 'https://azure.microsoft.com/en-us/pricing/details/cognitive-services/openai-service/',
    tierRule: ABOVE_ALL_INPUT,
  },
];

/** Extra names people use for a model that neither feed lists. */
export const EXTRA_ALIASES: Record<string, string[]> = {
  'claude-sonnet-4-5': ['claude-sonnet-4.5', 'claude-4-5-sonnet'],
  'claude-opus-4-1': ['claude-opus-4.1'],
  'claude-haiku-4-5': ['claude-haiku-4.5'],
  'claude-3-7-sonnet': ['claude-3.7-sonnet'],
  'claude-3-5-haiku': ['claude-3.5-haiku'],
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
