import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ANTHROPIC_BATCH_RESULT,
  ANTHROPIC_WEB_SEARCH,
  BEDROCK_CONVERSE,
  BEDROCK_INVOKE_LLAMA,
  BEDROCK_INVOKE_TITAN,
  COHERE_CHAT,
  DEEPSEEK_CHAT,
  FIREWORKS_CHAT,
  GEMINI_AUDIO,
  GROQ_CHAT,
  MISTRAL_CHAT,
  OPENAI_AUDIO_CHAT,
  OPENAI_EMBEDDINGS,
  OPENAI_REALTIME_DONE,
  OPENAI_TRANSCRIPTION,
  OPENROUTER_CHAT,
  TOGETHER_CHAT,
  XAI_CHAT,
} from '../test/fixtures/provider-responses';
import { computeCost } from './cost';
import { PriceCatalog } from './price-catalog';
import type { CatalogEntry, NormalizedUsage, NormalizeUsageOptions, TokenPrices } from './types';
import { USAGE_DIALECTS, usageDialect } from './usage-dialects';
import { normalizeUsage, totalInputTokens, totalOutputTokens, USAGE_FORMATS } from './usage-normalize';
import { createStreamUsageAccumulator } from './usage-stream';

function entry(id: string, provider: string, standard: TokenPrices, extra: Partial<CatalogEntry> = {}): CatalogEntry {
  return {
    id,
    provider,
    aliases: [],
    mode: 'chat',
    prices: [{ effectiveFrom: '2025-01-01', standard }],
    sourceUrl: 'https://example.test/pricing',
    checkedAt: '2025-10-01',
    ...extra,
  };
}

// Published list prices, USD per million tokens, from the page named on each line.
const catalog = new PriceCatalog([
  // https://docs.x.ai/docs/models (grok-3-mini)
  entry('grok-3-mini', 'xai', { input: '0.30', cachedInput: '0.075', output: '0.50' }),
  // https://api-docs.deepseek.com/quick_start/pricing (cache hit / cache miss / output)
  entry('deepseek-chat', 'deepseek', { input: '0.28', cachedInput: '0.028', output: '0.42' }),
  // https://ai.google.dev/gemini-api/docs/pricing (Gemini 2.5 Flash: text/image/video vs audio, context caching)
  entry('gemini-2.5-flash', 'google', {
    input: '0.30',
    inputAudio: '1.00',
    cachedInput: '0.03',
    cachedInputAudio: '0.10',
    output: '2.50',
  }),
  // https://aws.amazon.com/bedrock/pricing/ (Anthropic Claude Sonnet 4.5, on-demand, with prompt caching)
  entry('anthropic.claude-sonnet-4-5-20250929-v1:0', 'bedrock', {
    input: '3',
    cachedInput: '0.30',
    cacheWrite5m: '3.75',
    cacheWrite1h: '6',
    output: '15',
  }),
  // https://aws.amazon.com/bedrock/pricing/ (Meta Llama 3.3 Instruct 70B; Amazon Titan Text Express)
  entry('meta.llama3-3-70b-instruct-v1:0', 'bedrock', { input: '0.72', output: '0.72' }),
  entry('amazon.titan-text-express-v1', 'bedrock', { input: '0.20', output: '0.60' }),
  // https://docs.anthropic.com/en/docs/about-claude/pricing (Claude Sonnet 4.5 standard and Batch API)
  {
    ...entry('claude-sonnet-4-5', 'anthropic', { input: '3', cachedInput: '0.30', cacheWrite5m: '3.75', output: '15' }),
    aliases: ['claude-sonnet-4-5-20250929'],
    prices: [
      {
        effectiveFrom: '2025-09-29',
        standard: { input: '3', cachedInput: '0.30', cacheWrite5m: '3.75', output: '15' },
        batch: { input: '1.50', output: '7.50' },
      },
    ],
  },
  // https://platform.openai.com/docs/pricing (gpt-4o-audio-preview: text tokens and audio tokens)
  entry(
    'gpt-4o-audio-preview',
    'openai',
    { input: '2.50', inputAudio: '40', output: '10', outputAudio: '80' },
    {
      aliases: ['gpt-4o-audio-preview-2024-12-17'],
    },
  ),
  // https://platform.openai.com/docs/pricing (gpt-4o-transcribe: text and audio input, text output)
  entry('gpt-4o-transcribe', 'openai', { input: '2.50', inputAudio: '6', output: '10' }),
  // https://platform.openai.com/docs/pricing (gpt-realtime: text and audio, cached input of both)
  entry('gpt-realtime', 'openai', {
    input: '4',
    cachedInput: '0.40',
    inputAudio: '32',
    cachedInputAudio: '0.40',
    output: '16',
    outputAudio: '64',
  }),
  // https://platform.openai.com/docs/pricing (embeddings)
  entry('text-embedding-3-small', 'openai', { input: '0.02', output: '0' }, { mode: 'embedding' }),
  // https://cohere.com/pricing (Command R+ 08-2024)
  entry('command-r-plus-08-2024', 'cohere', { input: '2.50', output: '10' }),
  // https://groq.com/pricing (Llama 3.3 70B Versatile)
  entry('llama-3.3-70b-versatile', 'groq', { input: '0.59', output: '0.79' }),
  // https://mistral.ai/pricing#api-pricing (Mistral Small 3.2)
  entry('mistral-small-latest', 'mistral', { input: '0.10', output: '0.30' }),
  // https://www.together.ai/pricing (Llama 3.3 70B Instruct Turbo)
  entry('meta-llama/Llama-3.3-70B-Instruct-Turbo', 'together', { input: '0.88', output: '0.88' }),
  // https://fireworks.ai/pricing (>16B parameters; cached input tokens at 50%)
  entry('accounts/fireworks/models/llama-v3p3-70b-instruct', 'fireworks', {
    input: '0.90',
    cachedInput: '0.45',
    output: '0.90',
  }),
  // https://openrouter.ai/openai/gpt-4o-mini
  entry('openai/gpt-4o-mini', 'openrouter', { input: '0.15', output: '0.60' }),
]);

function price(payload: unknown, model: string, options?: NormalizeUsageOptions) {
  const usage = normalizeUsage(payload, options);
  return { usage, cost: computeCost(usage, model, { catalog }) };
}

describe('every provider prices exactly from its documented response shape', () => {
  const cases: Array<[string, unknown, string, NormalizeUsageOptions | undefined, string]> = [
    // 26 uncached × 0.30 + 6 cached × 0.075 + 9 output × 0.50 + 94 reasoning × 0.50 (reasoning on top).
    ['xAI (provider known)', XAI_CHAT, 'grok-3-mini', { provider: 'xai' }, '0.00005975'],
    ['xAI (told by total_tokens)', XAI_CHAT, 'grok-3-mini', undefined, '0.00005975'],
    // 176 miss × 0.28 + 1024 hit × 0.028 + 300 × 0.42.
    ['DeepSeek', DEEPSEEK_CHAT, 'deepseek-chat', undefined, '0.000203952'],
    // 90 text × 0.30 + 1800 audio × 1.00 + 120 × 2.50 + 300 thoughts × 2.50.
    ['Gemini audio input', GEMINI_AUDIO, 'gemini-2.5-flash', undefined, '0.002877'],
    // 120 × 3 + 4000 read × 0.30 + 1000 write × 3.75 + 250 × 15.
    ['Bedrock Converse', BEDROCK_CONVERSE, 'anthropic.claude-sonnet-4-5-20250929-v1:0', undefined, '0.00906'],
    // 22 × 0.72 + 128 × 0.72; 12 × 0.20 + 64 × 0.60.
    ['Bedrock InvokeModel (Llama)', BEDROCK_INVOKE_LLAMA, 'meta.llama3-3-70b-instruct-v1:0', undefined, '0.000108'],
    ['Bedrock InvokeModel (Titan)', BEDROCK_INVOKE_TITAN, 'amazon.titan-text-express-v1', undefined, '0.0000408'],
    // Batch prices: 11 × 1.50 + 36 × 7.50.
    ['Anthropic batch result', ANTHROPIC_BATCH_RESULT, 'claude-sonnet-4-5', undefined, '0.0002865'],
    // 17 text × 2.50 + 133 audio × 40 + 20 text × 10 + 84 audio × 80.
    ['OpenAI audio', OPENAI_AUDIO_CHAT, 'gpt-4o-audio-preview', undefined, '0.0122825'],
    // 14 audio × 6 + 45 × 10.
    ['OpenAI transcription', OPENAI_TRANSCRIPTION, 'gpt-4o-transcribe', undefined, '0.000534'],
    // 55 text × 4 + 64 cached text × 0.40 + 13 audio × 32 + 30 text out × 16 + 91 audio out × 64.
    ['OpenAI Realtime', OPENAI_REALTIME_DONE, 'gpt-realtime', undefined, '0.0069656'],
    ['OpenAI embeddings', OPENAI_EMBEDDINGS, 'text-embedding-3-small', undefined, '0.00000016'],
    // billed_units only: 17 × 2.50 + 12 × 10.
    ['Cohere', COHERE_CHAT, 'command-r-plus-08-2024', undefined, '0.0001625'],
    ['Groq', GROQ_CHAT, 'llama-3.3-70b-versatile', { provider: 'groq' }, '0.00044986'],
    ['Mistral', MISTRAL_CHAT, 'mistral-small-latest', { provider: 'mistral' }, '0.0000118'],
    ['Together', TOGETHER_CHAT, 'meta-llama/Llama-3.3-70B-Instruct-Turbo', undefined, '0.00003344'],
    // 512 × 0.90 + 1536 cached × 0.45 + 40 × 0.90.
    ['Fireworks', FIREWORKS_CHAT, 'accounts/fireworks/models/llama-v3p3-70b-instruct', undefined, '0.001188'],
    ['OpenRouter', OPENROUTER_CHAT, 'openai/gpt-4o-mini', { provider: 'openrouter' }, '0.0000303'],
  ];

  it.each(cases)('%s', (_name, payload, model, options, total) => {
    const { usage, cost } = price(payload, model, options);
    expect(cost.priced).toBe(true);
    expect(cost.total?.toString()).toBe(total);
    expect(usage.estimated).toBe(false);
    expect(usage.notes).toBeUndefined();
    expect(cost.notes).toEqual([]);
  });
});

describe('dialects: what each provider’s fields mean', () => {
  it('xAI: reasoning is billed on top of completion_tokens, also when it is below completion_tokens', () => {
    const usage = normalizeUsage(XAI_CHAT, { provider: 'xai' });
    expect(usage).toMatchObject({ inputTokens: 26, cachedInputTokens: 6, outputTokens: 9, reasoningTokens: 94 });
    // reasoning ≤ completion: the inclusive reading would bill 100 tokens less and call it exact.
    const small = {
      prompt_tokens: 10,
      completion_tokens: 200,
      total_tokens: 310,
      completion_tokens_details: { reasoning_tokens: 100 },
    };
    for (const options of [{ provider: 'xai' }, undefined]) {
      const read = normalizeUsage(small, options);
      expect(read).toMatchObject({ outputTokens: 200, reasoningTokens: 100, estimated: false });
      expect(totalInputTokens(read) + totalOutputTokens(read)).toBe(310);
    }
    // Without a total, the provider decides.
    const bare = { prompt_tokens: 10, completion_tokens: 200, completion_tokens_details: { reasoning_tokens: 100 } };
    expect(normalizeUsage(bare, { provider: 'xai' }).outputTokens).toBe(200);
    expect(normalizeUsage(bare).outputTokens).toBe(100);
  });

  it('OpenAI keeps its inclusive reading when the total agrees', () => {
    const usage = normalizeUsage({
      prompt_tokens: 10,
      completion_tokens: 200,
      total_tokens: 210,
      completion_tokens_details: { reasoning_tokens: 100 },
    });
    expect(usage).toMatchObject({ outputTokens: 100, reasoningTokens: 100, estimated: false });
    // The OpenAI provider never reads reasoning as additive, whatever the total says.
    const odd = normalizeUsage(
      {
        prompt_tokens: 10,
        completion_tokens: 200,
        total_tokens: 310,
        completion_tokens_details: { reasoning_tokens: 100 },
      },
      { provider: 'openai' },
    );
    expect(odd).toMatchObject({ outputTokens: 100, estimated: true });
    expect(odd.notes?.[0]).toMatch(/total_tokens is 310 but the reported parts add up to 210: 100 token/);
  });

  it('DeepSeek: hits at the cache price; a hit + miss that is not the prompt is noted', () => {
    expect(normalizeUsage(DEEPSEEK_CHAT)).toMatchObject({ inputTokens: 176, cachedInputTokens: 1024 });
    const onlyHitMiss = {
      prompt_tokens: 100,
      completion_tokens: 1,
      prompt_cache_hit_tokens: 64,
      prompt_cache_miss_tokens: 36,
    };
    expect(normalizeUsage(onlyHitMiss)).toMatchObject({ inputTokens: 36, cachedInputTokens: 64, estimated: false });
    const gap = normalizeUsage({ ...onlyHitMiss, prompt_cache_miss_tokens: 30 });
    expect(gap.estimated).toBe(true);
    expect(gap.notes?.[0]).toMatch(/prompt_tokens .* is 100 but the reported parts add up to 94/);
  });

  it('Gemini: audio input, cached audio and audio output get their own buckets', () => {
    expect(normalizeUsage(GEMINI_AUDIO)).toMatchObject({
      inputTokens: 90,
      audioInputTokens: 1800,
      outputTokens: 120,
      reasoningTokens: 300,
      estimated: false,
    });
    const cached = normalizeUsage({
      usageMetadata: {
        promptTokenCount: 2000,
        cachedContentTokenCount: 1500,
        candidatesTokenCount: 50,
        totalTokenCount: 2050,
        promptTokensDetails: [
          { modality: 'TEXT', tokenCount: 500 },
          { modality: 'AUDIO', tokenCount: 1500 },
        ],
        cacheTokensDetails: [
          { modality: 'TEXT', tokenCount: 300 },
          { modality: 'AUDIO', tokenCount: 1200 },
        ],
        candidatesTokensDetails: [{ modality: 'AUDIO', tokenCount: 50 }],
      },
    });
    expect(cached).toMatchObject({
      inputTokens: 200,
      audioInputTokens: 300,
      cachedInputTokens: 300,
      cachedAudioInputTokens: 1200,
      outputTokens: 0,
      audioOutputTokens: 50,
      estimated: false,
    });
    expect(totalInputTokens(cached)).toBe(2000);
    // 200 × 0.30 + 300 × 1.00 + 300 × 0.03 + 1200 × 0.10 + 50 × 2.50 (no audio output price: output price).
    const cost = computeCost(cached, 'gemini-2.5-flash', { catalog });
    expect(cost.total?.toString()).toBe('0.000614');
    expect(cost.breakdown?.cachedInputAudio?.toString()).toBe('0.00012');
    expect(cost.notes).toEqual([
      'gemini-2.5-flash has no audio output price: audio output billed at the output price.',
    ]);
  });

  it('Gemini: modality details that do not add up are noted, not trusted', () => {
    const usage = normalizeUsage({
      usageMetadata: {
        promptTokenCount: 100,
        candidatesTokenCount: 10,
        totalTokenCount: 110,
        promptTokensDetails: [{ modality: 'AUDIO', tokenCount: 60 }],
      },
    });
    expect(usage.estimated).toBe(true);
    expect(usage.notes).toEqual(['usageMetadata.promptTokensDetails adds up to 60, not promptTokenCount (100).']);
    expect(totalInputTokens(usage)).toBe(100);
  });

  it('Bedrock Converse: cache counters beside inputTokens; a 1-hour TTL split; the stream metadata event', () => {
    expect(normalizeUsage(BEDROCK_CONVERSE)).toMatchObject({
      format: 'bedrock-converse',
      inputTokens: 120,
      cachedInputTokens: 4000,
      cacheWrite5mTokens: 1000,
      outputTokens: 250,
      estimated: false,
    });
    const split = normalizeUsage({
      usage: {
        ...BEDROCK_CONVERSE.usage,
        cacheDetails: [
          { ttl: '1h', inputTokens: 600 },
          { ttl: '5m', inputTokens: 400 },
        ],
      },
    });
    expect(split).toMatchObject({ cacheWrite5mTokens: 400, cacheWrite1hTokens: 600 });
    // totalTokens as input + output only (the API reference's wording) is not a gap either.
    expect(normalizeUsage({ usage: { ...BEDROCK_CONVERSE.usage, totalTokens: 370 } }).estimated).toBe(false);
    expect(normalizeUsage({ usage: { ...BEDROCK_CONVERSE.usage, totalTokens: 6000 } }).estimated).toBe(true);
    // ConverseStream's last event: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamMetadataEvent.html
    const stream = createStreamUsageAccumulator('bedrock-converse');
    stream.push({ messageStart: { role: 'assistant' } });
    stream.push({ contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'Hello' } } });
    stream.push({ messageStop: { stopReason: 'end_turn' } });
    stream.push({ metadata: { usage: BEDROCK_CONVERSE.usage, metrics: { latencyMs: 1840 } } });
    expect(stream.outputText).toBe('Hello');
    expect(stream.result()).toMatchObject({ inputTokens: 120, cachedInputTokens: 4000, estimated: false });
  });

  it('Bedrock InvokeModelWithResponseStream: the invocation metrics of the last chunk', () => {
    // https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-meta.html (streamed chunks)
    const stream = createStreamUsageAccumulator('bedrock-invoke');
    stream.push({ generation: 'A large', prompt_token_count: 22, generation_token_count: 2, stop_reason: null });
    stream.push({
      generation: ' model.',
      prompt_token_count: null,
      generation_token_count: 4,
      stop_reason: 'stop',
      'amazon-bedrock-invocationMetrics': {
        inputTokenCount: 22,
        outputTokenCount: 4,
        invocationLatency: 407,
        firstByteLatency: 188,
      },
    });
    expect(stream.outputText).toBe('A large model.');
    expect(stream.result()).toMatchObject({
      format: 'bedrock-invoke',
      inputTokens: 22,
      outputTokens: 4,
      estimated: false,
    });
  });

  it('Anthropic: a reported batch tier reaches computeCost; server-tool requests are noted, never dropped', () => {
    const batch = normalizeUsage(ANTHROPIC_BATCH_RESULT);
    expect(batch.serviceTier).toBe('batch');
    const cost = computeCost(batch, 'claude-sonnet-4-5', { catalog });
    expect(cost.tierApplied).toBe('batch');
    const search = price(ANTHROPIC_WEB_SEARCH, 'claude-sonnet-4-5');
    // Tokens exact (6039 × 3 + 931 × 15), the search itself named as not in the cost.
    expect(search.cost.total?.toString()).toBe('0.032082');
    expect(search.usage.estimated).toBe(true);
    expect(search.cost.estimated).toBe(true);
    expect(search.cost.notes[0]).toMatch(/web_search_requests: 1 request\(s\) are billed per request/);
  });

  it('xAI live-search sources are noted like server tools', () => {
    const usage = normalizeUsage({ ...XAI_CHAT, usage: { ...XAI_CHAT.usage, num_sources_used: 3 } });
    expect(usage.estimated).toBe(true);
    expect(usage.notes?.[0]).toMatch(/num_sources_used: 3 live-search source/);
  });

  it('Cohere without billed_units is priced from the raw counts and marked estimated', () => {
    const usage = normalizeUsage({ usage: { tokens: { input_tokens: 215, output_tokens: 12 } } }, 'cohere');
    expect(usage).toMatchObject({ inputTokens: 215, outputTokens: 12, estimated: true });
    const stream = createStreamUsageAccumulator('cohere');
    // Chat v2 stream events: https://docs.cohere.com/reference/chat-stream
    stream.push({ type: 'content-delta', index: 0, delta: { message: { content: { text: 'LLMs' } } } });
    stream.push({ type: 'message-end', delta: { finish_reason: 'COMPLETE', usage: COHERE_CHAT.usage } });
    expect(stream.outputText).toBe('LLMs');
    expect(stream.result()).toMatchObject({ inputTokens: 17, outputTokens: 12, estimated: false });
  });

  it('Groq streams its usage in x_groq.usage', () => {
    // https://console.groq.com/docs/api-reference#chat-create (streaming: last chunk's x_groq.usage)
    const stream = createStreamUsageAccumulator('openai-chat', { provider: 'groq' });
    stream.push({
      object: 'chat.completion.chunk',
      model: 'llama-3.3-70b-versatile',
      choices: [{ index: 0, delta: { content: 'Hi' } }],
    });
    stream.push({
      object: 'chat.completion.chunk',
      model: 'llama-3.3-70b-versatile',
      choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
      x_groq: { id: 'req_01', usage: GROQ_CHAT.usage },
    });
    expect(stream.result()).toMatchObject({ inputTokens: 18, outputTokens: 556, provider: 'groq' });
  });

  it('an xAI stream with the provider known bills reasoning on top', () => {
    const stream = createStreamUsageAccumulator('openai-chat', { provider: 'xai' });
    stream.push({
      object: 'chat.completion.chunk',
      model: 'grok-3-mini',
      choices: [],
      usage: { ...XAI_CHAT.usage, total_tokens: undefined },
    });
    expect(stream.result()).toMatchObject({ outputTokens: 9, reasoningTokens: 94, estimated: false });
  });

  it('the table has a dialect for every format and names its source', () => {
    for (const format of USAGE_FORMATS) expect(usageDialect(format).format).toBe(format);
    expect(usageDialect('openai-chat', 'xai').reasoning).toBe('beside-output');
    expect(usageDialect('openai-chat', 'openai').reasoning).toBe('inside-output');
    expect(usageDialect('openai-chat', 'somebody-else').id).toBe('openai/chat');
    for (const dialect of USAGE_DIALECTS) expect(dialect.source).toMatch(/^https:\/\//);
  });
});

describe('a reported total either holds or the usage says it is estimated (property)', () => {
  const count = fc.nat({ max: 1_000_000 });
  const sumOf = (usage: NormalizedUsage) => totalInputTokens(usage) + totalOutputTokens(usage);

  it('OpenAI chat: consistent reports are exact and lose no token; any gap is estimated and named', () => {
    fc.assert(
      fc.property(
        count,
        count,
        count,
        count,
        count,
        count,
        fc.integer({ min: -5, max: 5 }),
        (prompt, completion, a, b, c, d, gap) => {
          const cached = prompt === 0 ? 0 : a % (prompt + 1);
          const audioIn = prompt - cached === 0 ? 0 : b % (prompt - cached + 1);
          const reasoning = completion === 0 ? 0 : c % (completion + 1);
          const audioOut = completion - reasoning === 0 ? 0 : d % (completion - reasoning + 1);
          const report = {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: Math.max(0, prompt + completion + gap),
            prompt_tokens_details: { cached_tokens: cached, audio_tokens: audioIn },
            completion_tokens_details: { reasoning_tokens: reasoning, audio_tokens: audioOut },
          };
          const usage = normalizeUsage(report, { provider: 'openai' });
          expect(sumOf(usage)).toBe(prompt + completion);
          expect(usage.estimated).toBe(report.total_tokens !== prompt + completion);
          if (usage.estimated) expect(usage.notes?.join(' ')).toMatch(/total_tokens/);
        },
      ),
    );
  });

  it('xAI: buckets always add up to prompt + completion + reasoning; the total is checked against that', () => {
    fc.assert(
      fc.property(count, count, count, fc.integer({ min: -5, max: 5 }), (prompt, completion, reasoning, gap) => {
        const total = Math.max(0, prompt + completion + reasoning + gap);
        const usage = normalizeUsage(
          {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: total,
            completion_tokens_details: { reasoning_tokens: reasoning },
          },
          { provider: 'xai' },
        );
        expect(sumOf(usage)).toBe(prompt + completion + reasoning);
        expect(usage.estimated).toBe(total !== prompt + completion + reasoning);
      }),
    );
  });

  it('Gemini: modality buckets stay disjoint and add up to the prompt, cache and candidates counts', () => {
    fc.assert(
      fc.property(count, count, count, count, count, (text, audio, cachedShare, audioCachedShare, out) => {
        const cachedAudio = audio === 0 ? 0 : audioCachedShare % (audio + 1);
        const cachedText = text === 0 ? 0 : cachedShare % (text + 1);
        const prompt = text + audio;
        const usage = normalizeUsage({
          usageMetadata: {
            promptTokenCount: prompt,
            cachedContentTokenCount: cachedText + cachedAudio,
            candidatesTokenCount: out,
            totalTokenCount: prompt + out,
            promptTokensDetails: [
              { modality: 'TEXT', tokenCount: text },
              { modality: 'AUDIO', tokenCount: audio },
            ],
            cacheTokensDetails: [
              { modality: 'TEXT', tokenCount: cachedText },
              { modality: 'AUDIO', tokenCount: cachedAudio },
            ],
          },
        });
        expect(usage.estimated).toBe(false);
        expect(usage.inputTokens).toBe(text - cachedText);
        expect(usage.audioInputTokens ?? 0).toBe(audio - cachedAudio);
        expect(usage.cachedAudioInputTokens ?? 0).toBe(cachedAudio);
        expect(sumOf(usage)).toBe(prompt + out);
      }),
    );
  });
});

describe('the new dialects on hostile input (property)', () => {
  const hostile = fc.oneof(
    fc.nat({ max: 1_000_000 }),
    fc.constantFrom(-1, 0.5, 1e13, Number.NaN, '12', null, true, [], {}),
  );
  const modalities = fc.array(
    fc.record({ modality: fc.oneof(fc.constantFrom('TEXT', 'AUDIO', 'audio', 'IMAGE'), hostile), tokenCount: hostile }),
    { maxLength: 3 },
  );
  const payloads = fc.oneof(
    fc.record({
      usage: fc.record(
        {
          inputTokens: hostile,
          outputTokens: hostile,
          totalTokens: hostile,
          cacheReadInputTokens: hostile,
          cacheWriteInputTokens: hostile,
          cacheDetails: fc.oneof(
            fc.array(fc.record({ ttl: fc.constantFrom('5m', '1h'), inputTokens: hostile })),
            hostile,
          ),
        },
        { requiredKeys: [] },
      ),
    }),
    fc.record({
      usageMetadata: fc.record(
        {
          promptTokenCount: hostile,
          cachedContentTokenCount: hostile,
          candidatesTokenCount: hostile,
          thoughtsTokenCount: hostile,
          totalTokenCount: hostile,
          promptTokensDetails: fc.oneof(modalities, hostile),
          cacheTokensDetails: fc.oneof(modalities, hostile),
          candidatesTokensDetails: fc.oneof(modalities, hostile),
        },
        { requiredKeys: [] },
      ),
    }),
    fc.record(
      {
        prompt_tokens: hostile,
        completion_tokens: hostile,
        total_tokens: hostile,
        prompt_cache_hit_tokens: hostile,
        prompt_cache_miss_tokens: hostile,
        prompt_tokens_details: fc.record({ cached_tokens: hostile, audio_tokens: hostile }, { requiredKeys: [] }),
        completion_tokens_details: fc.record(
          { reasoning_tokens: hostile, audio_tokens: hostile },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
    fc.record({
      usage: fc.record({
        billed_units: fc.record({ input_tokens: hostile, output_tokens: hostile }, { requiredKeys: [] }),
      }),
    }),
    fc.record({ prompt_token_count: hostile, generation_token_count: hostile }, { requiredKeys: [] }),
  );

  it('every format and provider gives disjoint, whole, non-negative buckets or INVALID_USAGE', () => {
    fc.assert(
      fc.property(
        payloads,
        fc.option(fc.constantFrom(...USAGE_FORMATS), { nil: undefined }),
        fc.option(fc.constantFrom('openai', 'xai', 'deepseek', 'google', 'bedrock'), { nil: undefined }),
        (payload, format, provider) => {
          let usage: NormalizedUsage;
          try {
            usage = normalizeUsage(payload, { ...(format ? { format } : {}), ...(provider ? { provider } : {}) });
          } catch (error) {
            expect((error as { code?: string }).code).toBe('INVALID_USAGE');
            return;
          }
          for (const [key, value] of Object.entries(usage)) {
            if (!key.endsWith('Tokens')) continue;
            expect(Number.isSafeInteger(value)).toBe(true);
            expect(value as number).toBeGreaterThanOrEqual(0);
          }
          if (usage.notes !== undefined) expect(usage.estimated).toBe(true);
          expect(computeCost(usage, 'gemini-2.5-flash', { catalog }).total).toBeDefined();
        },
      ),
      { numRuns: 500 },
    );
  });
});
