import type { TokenBuckets, UsageFormat } from './types';

/**
 * How one usage field relates to the billing buckets:
 * - `bucket`: its count goes into the bucket as it is (nothing else is inside it);
 * - `includes`: a count that contains the fields listed in `parts` (they are taken out of it);
 * - `part-of`: a count inside another field (`of`), moved from that field's bucket into its own;
 * - `beside`: a count reported NEXT TO a related field and billed on top of it (xAI reasoning);
 * - `total`: a reported sum the buckets are checked against (a gap marks the usage estimated);
 * - `not-tokens`: a charge that is not tokens (web searches, live-search sources): noted, never dropped.
 */
export type UsageFieldRelation = 'bucket' | 'includes' | 'part-of' | 'beside' | 'total' | 'not-tokens';

export type BucketName = keyof TokenBuckets;

export interface UsageFieldMeaning {
  /** Path inside the usage object (`prompt_tokens_details.cached_tokens`). */
  field: string;
  relation: UsageFieldRelation;
  /** The bucket the field's tokens land in (for `includes`: what remains once its parts are taken out). */
  bucket?: BucketName;
  /** For `part-of` / `beside`: the field it is inside of, or next to. */
  of?: string;
  /** For `includes`: the fields inside it. */
  parts?: string[];
  /** For `total`: the fields that must add up to it. */
  sumOf?: string[];
}

/** What one provider's usage report means for one API. */
export interface UsageDialect {
  /** `<provider>/<api>`, e.g. `xai/chat`. */
  id: string;
  /** Catalog provider name(s) this dialect applies to. */
  providers: readonly string[];
  api: string;
  format: UsageFormat;
  /**
   * Where reasoning tokens are counted: inside the output counter (OpenAI), beside it and billed on top
   * (xAI), or inside it and not reported apart (Anthropic, Bedrock: they bill as output either way).
   */
  reasoning: 'inside-output' | 'beside-output' | 'inside-output-unreported' | 'separate-counter';
  /** The provider's own reference for these fields. */
  source: string;
  fields: readonly UsageFieldMeaning[];
  /** Anything a reader of the numbers must know. */
  remarks?: string;
}

const OPENAI_CHAT_FIELDS: readonly UsageFieldMeaning[] = [
  {
    field: 'prompt_tokens',
    relation: 'includes',
    bucket: 'inputTokens',
    parts: ['prompt_tokens_details.cached_tokens', 'prompt_tokens_details.audio_tokens'],
  },
  {
    field: 'prompt_tokens_details.cached_tokens',
    relation: 'part-of',
    of: 'prompt_tokens',
    bucket: 'cachedInputTokens',
  },
  { field: 'prompt_tokens_details.audio_tokens', relation: 'part-of', of: 'prompt_tokens', bucket: 'audioInputTokens' },
  {
    field: 'completion_tokens',
    relation: 'includes',
    bucket: 'outputTokens',
    parts: ['completion_tokens_details.reasoning_tokens', 'completion_tokens_details.audio_tokens'],
  },
  {
    field: 'completion_tokens_details.reasoning_tokens',
    relation: 'part-of',
    of: 'completion_tokens',
    bucket: 'reasoningTokens',
  },
  {
    field: 'completion_tokens_details.audio_tokens',
    relation: 'part-of',
    of: 'completion_tokens',
    bucket: 'audioOutputTokens',
  },
  { field: 'total_tokens', relation: 'total', sumOf: ['prompt_tokens', 'completion_tokens'] },
];

const OPENAI_CHAT_SOURCE = 'https://platform.openai.com/docs/api-reference/chat/object';

/**
 * The table of usage semantics, per provider and API. The normaliser reads its choices from here (which
 * dialect a provider speaks), and docs/catalog.md documents the same rows.
 */
export const USAGE_DIALECTS: readonly UsageDialect[] = [
  {
    id: 'openai/chat',
    providers: ['openai', 'azure', 'mistral', 'groq', 'together', 'fireworks', 'openrouter'],
    api: 'Chat Completions (and the OpenAI-compatible chat APIs of Azure, Mistral, Groq, Together, Fireworks, OpenRouter)',
    format: 'openai-chat',
    reasoning: 'inside-output',
    source: OPENAI_CHAT_SOURCE,
    fields: OPENAI_CHAT_FIELDS,
    remarks:
      'Groq streams its usage in `x_groq.usage` of the last chunk. accepted/rejected_prediction_tokens are inside completion_tokens and bill as output.',
  },
  {
    id: 'openai/responses',
    providers: ['openai', 'azure'],
    api: 'Responses',
    format: 'openai-responses',
    reasoning: 'inside-output',
    source: 'https://platform.openai.com/docs/api-reference/responses/object',
    fields: [
      {
        field: 'input_tokens',
        relation: 'includes',
        bucket: 'inputTokens',
        parts: ['input_tokens_details.cached_tokens'],
      },
      {
        field: 'input_tokens_details.cached_tokens',
        relation: 'part-of',
        of: 'input_tokens',
        bucket: 'cachedInputTokens',
      },
      {
        field: 'output_tokens',
        relation: 'includes',
        bucket: 'outputTokens',
        parts: ['output_tokens_details.reasoning_tokens'],
      },
      {
        field: 'output_tokens_details.reasoning_tokens',
        relation: 'part-of',
        of: 'output_tokens',
        bucket: 'reasoningTokens',
      },
      { field: 'total_tokens', relation: 'total', sumOf: ['input_tokens', 'output_tokens'] },
    ],
  },
  {
    id: 'openai/audio',
    providers: ['openai', 'azure'],
    api: 'Audio transcriptions (gpt-4o-transcribe) and the Realtime API: `input_token_details` (singular)',
    format: 'openai-responses',
    reasoning: 'inside-output',
    source: 'https://platform.openai.com/docs/api-reference/audio/json-object',
    fields: [
      {
        field: 'input_tokens',
        relation: 'includes',
        bucket: 'inputTokens',
        parts: ['input_token_details.cached_tokens', 'input_token_details.audio_tokens'],
      },
      {
        field: 'input_token_details.audio_tokens',
        relation: 'part-of',
        of: 'input_tokens',
        bucket: 'audioInputTokens',
      },
      {
        field: 'input_token_details.cached_tokens',
        relation: 'part-of',
        of: 'input_tokens',
        bucket: 'cachedInputTokens',
      },
      {
        field: 'input_token_details.cached_tokens_details.audio_tokens',
        relation: 'part-of',
        of: 'input_token_details.cached_tokens',
        bucket: 'cachedAudioInputTokens',
      },
      {
        field: 'output_tokens',
        relation: 'includes',
        bucket: 'outputTokens',
        parts: ['output_token_details.audio_tokens'],
      },
      {
        field: 'output_token_details.audio_tokens',
        relation: 'part-of',
        of: 'output_tokens',
        bucket: 'audioOutputTokens',
      },
      { field: 'total_tokens', relation: 'total', sumOf: ['input_tokens', 'output_tokens'] },
    ],
  },
  {
    id: 'openai/embeddings',
    providers: ['openai', 'azure', 'mistral', 'together', 'fireworks'],
    api: 'Embeddings',
    format: 'openai-embeddings',
    reasoning: 'inside-output',
    source: 'https://platform.openai.com/docs/api-reference/embeddings/object',
    fields: [
      { field: 'prompt_tokens', relation: 'bucket', bucket: 'inputTokens' },
      { field: 'total_tokens', relation: 'total', sumOf: ['prompt_tokens'] },
    ],
  },
  {
    id: 'xai/chat',
    providers: ['xai'],
    api: 'Chat Completions (OpenAI-compatible)',
    format: 'openai-chat',
    reasoning: 'beside-output',
    source: 'https://docs.x.ai/docs/guides/reasoning',
    fields: [
      ...OPENAI_CHAT_FIELDS.filter((field) => field.field !== 'completion_tokens' && field.field !== 'total_tokens'),
      {
        field: 'completion_tokens',
        relation: 'includes',
        bucket: 'outputTokens',
        parts: ['completion_tokens_details.audio_tokens'],
      },
      {
        field: 'completion_tokens_details.reasoning_tokens',
        relation: 'beside',
        of: 'completion_tokens',
        bucket: 'reasoningTokens',
      },
      {
        field: 'total_tokens',
        relation: 'total',
        sumOf: ['prompt_tokens', 'completion_tokens', 'completion_tokens_details.reasoning_tokens'],
      },
      { field: 'num_sources_used', relation: 'not-tokens' },
    ],
    remarks:
      'Reasoning tokens are billed at the output price on top of completion_tokens. Without the provider known, a response whose total_tokens equals prompt + completion + reasoning is read this way.',
  },
  {
    id: 'deepseek/chat',
    providers: ['deepseek'],
    api: 'Chat Completions (OpenAI-compatible)',
    format: 'openai-chat',
    reasoning: 'inside-output',
    source: 'https://api-docs.deepseek.com/api/create-chat-completion',
    fields: [
      {
        field: 'prompt_tokens',
        relation: 'includes',
        bucket: 'inputTokens',
        parts: ['prompt_cache_hit_tokens'],
      },
      { field: 'prompt_cache_hit_tokens', relation: 'part-of', of: 'prompt_tokens', bucket: 'cachedInputTokens' },
      { field: 'prompt_cache_miss_tokens', relation: 'part-of', of: 'prompt_tokens', bucket: 'inputTokens' },
      ...OPENAI_CHAT_FIELDS.filter((field) => !field.field.startsWith('prompt_')),
    ],
    remarks:
      'prompt_cache_hit_tokens + prompt_cache_miss_tokens = prompt_tokens; a mismatch marks the usage estimated.',
  },
  {
    id: 'anthropic/messages',
    providers: ['anthropic', 'bedrock', 'vertex'],
    api: 'Messages (also Bedrock InvokeModel and Vertex rawPredict with Claude, and Message Batches results)',
    format: 'anthropic',
    reasoning: 'inside-output-unreported',
    source: 'https://docs.anthropic.com/en/api/messages',
    fields: [
      { field: 'input_tokens', relation: 'bucket', bucket: 'inputTokens' },
      { field: 'cache_read_input_tokens', relation: 'bucket', bucket: 'cachedInputTokens' },
      {
        field: 'cache_creation_input_tokens',
        relation: 'includes',
        bucket: 'cacheWrite5mTokens',
        parts: ['cache_creation.ephemeral_5m_input_tokens', 'cache_creation.ephemeral_1h_input_tokens'],
      },
      {
        field: 'cache_creation.ephemeral_5m_input_tokens',
        relation: 'part-of',
        of: 'cache_creation_input_tokens',
        bucket: 'cacheWrite5mTokens',
      },
      {
        field: 'cache_creation.ephemeral_1h_input_tokens',
        relation: 'part-of',
        of: 'cache_creation_input_tokens',
        bucket: 'cacheWrite1hTokens',
      },
      { field: 'output_tokens', relation: 'bucket', bucket: 'outputTokens' },
      { field: 'server_tool_use.web_search_requests', relation: 'not-tokens' },
      { field: 'server_tool_use.web_fetch_requests', relation: 'not-tokens' },
    ],
    remarks:
      'service_tier "batch" (Message Batches results) bills at the entry\'s batch prices. Extended thinking is inside output_tokens.',
  },
  {
    id: 'google/generate-content',
    providers: ['google', 'vertex'],
    api: 'generateContent / streamGenerateContent (Gemini API and Vertex AI)',
    format: 'gemini',
    reasoning: 'separate-counter',
    source: 'https://ai.google.dev/api/generate-content#UsageMetadata',
    fields: [
      {
        field: 'promptTokenCount',
        relation: 'includes',
        bucket: 'inputTokens',
        parts: ['cachedContentTokenCount', 'promptTokensDetails[AUDIO]'],
      },
      { field: 'cachedContentTokenCount', relation: 'part-of', of: 'promptTokenCount', bucket: 'cachedInputTokens' },
      { field: 'promptTokensDetails[AUDIO]', relation: 'part-of', of: 'promptTokenCount', bucket: 'audioInputTokens' },
      {
        field: 'cacheTokensDetails[AUDIO]',
        relation: 'part-of',
        of: 'cachedContentTokenCount',
        bucket: 'cachedAudioInputTokens',
      },
      { field: 'toolUsePromptTokenCount', relation: 'bucket', bucket: 'inputTokens' },
      {
        field: 'candidatesTokenCount',
        relation: 'includes',
        bucket: 'outputTokens',
        parts: ['candidatesTokensDetails[AUDIO]'],
      },
      {
        field: 'candidatesTokensDetails[AUDIO]',
        relation: 'part-of',
        of: 'candidatesTokenCount',
        bucket: 'audioOutputTokens',
      },
      { field: 'thoughtsTokenCount', relation: 'bucket', bucket: 'reasoningTokens' },
      {
        field: 'totalTokenCount',
        relation: 'total',
        sumOf: ['promptTokenCount', 'toolUsePromptTokenCount', 'candidatesTokenCount', 'thoughtsTokenCount'],
      },
    ],
    remarks:
      'TEXT, IMAGE and VIDEO input bill at the input price; AUDIO has its own. Zero counters are omitted (proto3 JSON).',
  },
  {
    id: 'bedrock/converse',
    providers: ['bedrock'],
    api: 'Converse / ConverseStream (metadata event)',
    format: 'bedrock-converse',
    reasoning: 'inside-output-unreported',
    source: 'https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html',
    fields: [
      { field: 'inputTokens', relation: 'bucket', bucket: 'inputTokens' },
      { field: 'cacheReadInputTokens', relation: 'bucket', bucket: 'cachedInputTokens' },
      {
        field: 'cacheWriteInputTokens',
        relation: 'includes',
        bucket: 'cacheWrite5mTokens',
        parts: ['cacheDetails[ttl=1h].inputTokens'],
      },
      {
        field: 'cacheDetails[ttl=1h].inputTokens',
        relation: 'part-of',
        of: 'cacheWriteInputTokens',
        bucket: 'cacheWrite1hTokens',
      },
      { field: 'outputTokens', relation: 'bucket', bucket: 'outputTokens' },
      {
        field: 'totalTokens',
        relation: 'total',
        sumOf: ['inputTokens', 'outputTokens', 'cacheReadInputTokens', 'cacheWriteInputTokens'],
      },
    ],
    remarks:
      'inputTokens excludes cache reads and writes. totalTokens equal to inputTokens + outputTokens alone is also accepted. The response names no model: give it (--model, or the proxy route).',
  },
  {
    id: 'bedrock/invoke-model',
    providers: ['bedrock'],
    api: 'InvokeModel with Meta Llama or Amazon Titan bodies; InvokeModelWithResponseStream invocation metrics',
    format: 'bedrock-invoke',
    reasoning: 'inside-output-unreported',
    source: 'https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-meta.html',
    fields: [
      { field: 'prompt_token_count', relation: 'bucket', bucket: 'inputTokens' },
      { field: 'generation_token_count', relation: 'bucket', bucket: 'outputTokens' },
      { field: 'inputTextTokenCount', relation: 'bucket', bucket: 'inputTokens' },
      { field: 'results[].tokenCount', relation: 'bucket', bucket: 'outputTokens' },
      { field: 'amazon-bedrock-invocationMetrics.inputTokenCount', relation: 'bucket', bucket: 'inputTokens' },
      { field: 'amazon-bedrock-invocationMetrics.outputTokenCount', relation: 'bucket', bucket: 'outputTokens' },
      {
        field: 'amazon-bedrock-invocationMetrics.cacheReadInputTokenCount',
        relation: 'bucket',
        bucket: 'cachedInputTokens',
      },
      {
        field: 'amazon-bedrock-invocationMetrics.cacheWriteInputTokenCount',
        relation: 'bucket',
        bucket: 'cacheWrite5mTokens',
      },
    ],
    remarks:
      "Claude's InvokeModel body is Anthropic's Messages shape and Nova's is Converse's: they are read in those dialects.",
  },
  {
    id: 'cohere/chat',
    providers: ['cohere'],
    api: 'Chat v2 (usage) and v1 (meta)',
    format: 'cohere',
    reasoning: 'inside-output-unreported',
    source: 'https://docs.cohere.com/reference/chat',
    fields: [
      { field: 'billed_units.input_tokens', relation: 'bucket', bucket: 'inputTokens' },
      { field: 'billed_units.output_tokens', relation: 'bucket', bucket: 'outputTokens' },
      { field: 'billed_units.search_units', relation: 'not-tokens' },
      { field: 'tokens.input_tokens', relation: 'total', sumOf: [] },
    ],
    remarks:
      'billed_units is what is billed; tokens also counts the prompt template Cohere adds, which is not billed and not a gap.',
  },
];

/** Formats each provider speaks when it is known; others fall back to the format's first dialect. */
export function usageDialect(format: UsageFormat, provider?: string): UsageDialect {
  const candidates = USAGE_DIALECTS.filter((dialect) => dialect.format === format);
  const named = provider === undefined ? undefined : candidates.find((dialect) => dialect.providers.includes(provider));
  // Every format has at least one row; the non-null is checked by the table's own test.
  return named ?? (candidates[0] as UsageDialect);
}
