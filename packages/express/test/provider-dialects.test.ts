import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PriceCatalog } from '@tokenmeter/core';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANTHROPIC_WEB_SEARCH,
  DEEPSEEK_CHAT,
  GEMINI_AUDIO,
  OPENAI_AUDIO_CHAT,
  OPENAI_EMBEDDINGS,
  XAI_CHAT,
} from '../../core/test/fixtures/provider-responses';
import { AiCall, identifyProvider, providerOfHost, usageFromResponse } from '../src/ai-call';
import { instrumentFetch } from '../src/instrumented-fetch';
import { wrapAnthropic, wrapOpenAI } from '../src/meter';
import { meteredProxy } from '../src/metered-proxy';
import type { UsageEvent } from '../src/types';
import { startProxyApp } from './test-app';

/**
 * An OpenAI-compatible upstream on 127.0.0.1 that answers as xAI, DeepSeek or OpenAI do (the documented
 * shapes in core's provider fixtures, sources named there), picked by the request's model. Exact paths only.
 */
interface DialectUpstream {
  url: string;
  close(): Promise<void>;
}

const ANSWERS: Record<string, Record<string, unknown>> = {
  'grok-3-mini': XAI_CHAT,
  'deepseek-chat': DEEPSEEK_CHAT,
  'gpt-4o-audio-preview': OPENAI_AUDIO_CHAT,
  // An xAI answer relayed by a gateway under its own model name, without total_tokens.
  'gateway/grok': { ...XAI_CHAT, model: 'gateway/grok', usage: { ...XAI_CHAT.usage, total_tokens: undefined } },
};

async function startDialectUpstream(): Promise<DialectUpstream> {
  const server: Server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      if (req.method === 'POST' && req.url === '/v1beta/models/gemini-2.5-flash:generateContent') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(GEMINI_AUDIO));
        return;
      }
      if (req.method === 'POST' && req.url === '/v1/messages') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(ANTHROPIC_WEB_SEARCH));
        return;
      }
      if (req.method === 'POST' && req.url === '/v1/embeddings') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(OPENAI_EMBEDDINGS));
        return;
      }
      const answer = ANSWERS[String(body.model)];
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions' || answer === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'Not found', type: 'invalid_request_error' } }));
        return;
      }
      if (body.stream !== true) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer));
        return;
      }
      // Streamed as Chat Completions chunks; with stream_options.include_usage the usage comes on a last chunk
      // with `choices: []` (xAI streams the same way: https://docs.x.ai/docs/guides/streaming-response).
      const base = { id: answer.id, object: 'chat.completion.chunk', created: answer.created, model: answer.model };
      const events = [
        { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '303' }, finish_reason: null }] },
        { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      ];
      const options = body.stream_options as { include_usage?: boolean } | undefined;
      if (options?.include_usage) events.push({ ...base, choices: [], usage: answer.usage } as never);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`${events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join('')}data: [DONE]\n\n`);
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let upstream: DialectUpstream;
beforeAll(async () => {
  upstream = await startDialectUpstream();
});
afterAll(async () => {
  await upstream.close();
});

const HI = [{ role: 'user' as const, content: 'What is 101 * 3?' }];

// The shipped catalog prices grok-3-mini at $0.30 / $0.075 cached / $0.50 (https://docs.x.ai/docs/models) and
// deepseek-chat at $0.28 miss / $0.028 hit / $0.42 (https://api-docs.deepseek.com/quick_start/pricing).
// gpt-4o-audio-preview: $2.50 / $10 text, $40 / $80 audio (https://platform.openai.com/docs/pricing).
// Built directly (not withEntries, whose price-file validation is the catalog's business) so that the audio
// prices the catalog will import are exercised here already.
const catalog = new PriceCatalog([
  ...PriceCatalog.default().entries(),
  {
    id: 'gpt-4o-audio-preview',
    provider: 'openai',
    aliases: ['gpt-4o-audio-preview-2024-12-17'],
    mode: 'chat',
    prices: [
      { effectiveFrom: '2024-12-17', standard: { input: '2.50', inputAudio: '40', output: '10', outputAudio: '80' } },
    ],
    sourceUrl: 'https://platform.openai.com/docs/pricing',
    checkedAt: '2025-10-01',
  },
  {
    // Gemini 2.5 Flash: $0.30 text/image/video, $1.00 audio, $2.50 output (https://ai.google.dev/gemini-api/docs/pricing).
    id: 'gemini-2.5-flash',
    provider: 'google',
    aliases: [],
    mode: 'chat',
    prices: [
      {
        effectiveFrom: '2025-06-17',
        standard: { input: '0.30', inputAudio: '1.00', cachedInput: '0.03', output: '2.50' },
      },
    ],
    sourceUrl: 'https://ai.google.dev/gemini-api/docs/pricing',
    checkedAt: '2025-10-01',
  },
  {
    // $0.02 per million (https://platform.openai.com/docs/pricing, embeddings).
    id: 'text-embedding-3-small',
    provider: 'openai',
    aliases: [],
    mode: 'embedding',
    prices: [{ effectiveFrom: '2024-01-25', standard: { input: '0.02', output: '0' } }],
    sourceUrl: 'https://platform.openai.com/docs/pricing',
    checkedAt: '2025-10-01',
  },
]);

/** xAI: 26 × 0.30 + 6 × 0.075 + 9 × 0.50 + 94 reasoning × 0.50 per million (reasoning on top). */
const XAI_COST = '0.00005975';
/** DeepSeek: 176 × 0.28 + 1024 hits × 0.028 + 300 × 0.42 per million. */
const DEEPSEEK_COST = '0.000203952';
/** OpenAI audio: 17 × 2.50 + 133 audio × 40 + 20 × 10 + 84 audio × 80 per million. */
const AUDIO_COST = '0.0122825';

describe('metered proxy: each provider’s usage fields, priced exactly', () => {
  it.each([
    ['grok-3-mini', false, XAI_COST, { inputTokens: 26, cachedInputTokens: 6, outputTokens: 9, reasoningTokens: 94 }],
    ['grok-3-mini', true, XAI_COST, { outputTokens: 9, reasoningTokens: 94 }],
    ['deepseek-chat', false, DEEPSEEK_COST, { inputTokens: 176, cachedInputTokens: 1024, outputTokens: 300 }],
    ['deepseek-chat', true, DEEPSEEK_COST, { cachedInputTokens: 1024 }],
    // Events keep six buckets: audio counts with its text bucket, the cost prices it at the audio rates.
    ['gpt-4o-audio-preview', false, AUDIO_COST, { inputTokens: 150, outputTokens: 104 }],
  ])('%s (stream: %s)', async (model, stream, cost, tokens) => {
    const app = await startProxyApp({ url: upstream.url } as never, { catalog });
    try {
      const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${app.url}/v1`, maxRetries: 0 });
      if (stream) {
        const chunks = await client.chat.completions.create({ model, messages: HI, stream: true });
        for await (const _chunk of chunks) {
          // drain
        }
      } else {
        await client.chat.completions.create({ model, messages: HI });
      }
      const [event] = await app.eventsAfter(1);
      expect(event).toMatchObject({ cost, estimated: false, priced: true, ...tokens });
    } finally {
      await app.close();
    }
  });

  it('upstreamProvider names the dialect behind a gateway whose host and model say nothing', async () => {
    for (const [options, expected] of [
      [{ upstreamProvider: 'xai' }, { outputTokens: 9, reasoningTokens: 94, estimated: false }],
      // Unnamed, the report cannot be read the OpenAI way (reasoning above completion): counted, estimated.
      [{}, { estimated: true }],
    ] as const) {
      const app = await startProxyApp({ url: upstream.url } as never, options);
      try {
        const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${app.url}/v1`, maxRetries: 0 });
        await client.chat.completions.create({ model: 'gateway/grok', messages: HI });
        const [event] = await app.eventsAfter(1);
        expect(event).toMatchObject({ priced: false, ...expected });
      } finally {
        await app.close();
      }
    }
  });

  it('upstreamProvider must name a provider', () => {
    expect(() => meteredProxy({ upstreamProvider: ' ' })).toThrow(/upstreamProvider/);
    expect(() => meteredProxy({ upstreamProvider: 42 as never })).toThrow(/upstreamProvider/);
  });

  it('embeddings are read as embeddings: input only, exact', async () => {
    const app = await startProxyApp({ url: upstream.url } as never, { catalog });
    try {
      const client = new OpenAI({ apiKey: 'sk-test', baseURL: `${app.url}/v1`, maxRetries: 0 });
      await client.embeddings.create({ model: 'text-embedding-3-small', input: 'The food was delicious' });
      const [event] = await app.eventsAfter(1);
      // 8 tokens × $0.02 per million (https://platform.openai.com/docs/pricing).
      expect(event).toMatchObject({
        operation: 'embeddings',
        inputTokens: 8,
        outputTokens: 0,
        estimated: false,
        cost: '0.00000016',
      });
    } finally {
      await app.close();
    }
  });
});

describe('wrapOpenAI: each provider’s usage fields, priced exactly', () => {
  async function meteredCall(model: string, stream: boolean): Promise<UsageEvent> {
    const events: UsageEvent[] = [];
    const client = wrapOpenAI(new OpenAI({ apiKey: 'sk-in-app', baseURL: `${upstream.url}/v1`, maxRetries: 0 }), {
      catalog,
      onEvent: (event) => events.push(event),
    });
    if (stream) {
      const chunks = await client.chat.completions.create({
        model,
        messages: HI,
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const _chunk of chunks) {
        // drain
      }
    } else {
      await client.chat.completions.create({ model, messages: HI });
    }
    for (let attempt = 0; attempt < 200 && events.length === 0; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(events).toHaveLength(1);
    return events[0] as UsageEvent;
  }

  it.each([
    ['grok-3-mini', false, XAI_COST],
    ['grok-3-mini', true, XAI_COST],
    ['deepseek-chat', false, DEEPSEEK_COST],
    ['deepseek-chat', true, DEEPSEEK_COST],
    ['gpt-4o-audio-preview', false, AUDIO_COST],
  ])('%s (stream: %s)', async (model, stream, cost) => {
    const event = await meteredCall(model, stream);
    expect(event).toMatchObject({ model, cost, estimated: false });
  });
});

describe('which dialect a call speaks', () => {
  it('the upstream host names the provider; the catalog provider of the model is the fallback', () => {
    expect(providerOfHost('api.x.ai')).toBe('xai');
    expect(providerOfHost('API.DEEPSEEK.COM')).toBe('deepseek');
    expect(providerOfHost('myres.openai.azure.com')).toBe('azure');
    expect(providerOfHost('bedrock-runtime.us-east-1.amazonaws.com')).toBe('bedrock');
    expect(providerOfHost('api.x.ai.evil.example')).toBeUndefined();
    expect(providerOfHost('127.0.0.1')).toBeUndefined();
    const resolve = (model: string) => PriceCatalog.default().tryResolve(model);
    // A gateway serving grok on an OpenAI host speaks OpenAI's dialect; on an unknown host the model decides.
    const onOpenAi = new AiCall('chat', { model: 'grok-3-mini' }, 10);
    identifyProvider(onOpenAi, 'api.openai.com', resolve);
    expect(onOpenAi.provider).toBe('openai');
    const onGateway = new AiCall('chat', { model: 'grok-3-mini' }, 10);
    identifyProvider(onGateway, '127.0.0.1', resolve);
    expect(onGateway.provider).toBe('xai');
  });

  it('an unreadable usage is missing usage, never an exact input-only record', () => {
    const call = new AiCall('chat', { model: 'gpt-4o-mini' }, 10);
    expect(usageFromResponse(call, { usage: { prompt_tokens: 10, completion_tokens: -1 } })).toBeUndefined();
  });
});

describe('instrumented fetch and wrapAnthropic: modalities and per-request charges', () => {
  async function settle(events: UsageEvent[]): Promise<UsageEvent> {
    for (let attempt = 0; attempt < 200 && events.length === 0; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(events).toHaveLength(1);
    return events[0] as UsageEvent;
  }

  it('Gemini audio input is priced at the audio rate', async () => {
    const events: UsageEvent[] = [];
    const metered = instrumentFetch(fetch, { catalog, onEvent: (event) => events.push(event) });
    const response = await metered(`${upstream.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Summarize this recording.' }] }] }),
    });
    await response.json();
    // 90 text × 0.30 + 1800 audio × 1.00 + 120 × 2.50 + 300 thoughts × 2.50 per million.
    expect(await settle(events)).toMatchObject({
      model: 'gemini-2.5-flash',
      cost: '0.002877',
      inputTokens: 1890,
      outputTokens: 120,
      reasoningTokens: 300,
      estimated: false,
    });
  });

  it('Anthropic web searches are not in the token cost: the event says estimated', async () => {
    const events: UsageEvent[] = [];
    const Anthropic = (await import('@anthropic-ai/sdk')).default;
    const client = wrapAnthropic(new Anthropic({ apiKey: 'sk-ant', baseURL: upstream.url, maxRetries: 0 }), {
      onEvent: (event) => events.push(event),
    });
    await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: HI });
    // 6039 × $3 + 931 × $15 per million (shipped catalog, https://docs.anthropic.com/en/docs/about-claude/pricing).
    expect(await settle(events)).toMatchObject({
      cost: '0.032082',
      estimated: true,
      inputTokens: 6039,
      outputTokens: 931,
    });
  });
});
