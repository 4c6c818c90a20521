import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ChatMessage, countChatTokens, countTokens, warmUpEncoders } from '@tokenmeter/core';
import { replyFor } from './fake-replies';

/**
 * An offline stand-in for an OpenAI-compatible Chat Completions API on 127.0.0.1, so the demo runs with no
 * key and no network. Usage numbers are real counts of the request and the reply with the model's
 * tokenizer; streaming follows the API (usage only with `stream_options.include_usage`, in one last chunk
 * with `choices: []`); a prefix seen before is reported as cached tokens.
 */
export interface FakeModel {
  /** Base URL with `/v1`, for the `openai` SDK's `baseURL`. */
  url: string;
  /** Requests answered so far. */
  readonly requests: number;
  close(): Promise<void>;
}

export interface FakeModelOptions {
  port?: number;
  /** Pause between streamed chunks in ms. Default 12: a reply of a few hundred tokens streams in ~1–2 s. */
  chunkDelayMs?: number;
}

// OpenAI caches prompt prefixes in 128-token steps from 1,024 tokens on; the demo's system prompts are
// shorter, so the fake starts at 128 to show cached tokens on the dashboard.
const CACHE_STEP = 128;
const CACHE_TTL_MS = 5 * 60_000;

interface ChatRequest {
  model?: unknown;
  messages?: unknown;
  stream?: unknown;
  stream_options?: { include_usage?: unknown } | null;
  max_tokens?: unknown;
  max_completion_tokens?: unknown;
}

export async function startFakeModel(options: FakeModelOptions = {}): Promise<FakeModel> {
  const chunkDelayMs = options.chunkDelayMs ?? 12;
  // The tokenizer's cold start (~0.5 s per encoding) is paid here, not by the first request.
  warmUpEncoders(['o200k_base']);
  const prefixCache = new Map<string, number>();
  let requests = 0;

  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) sendError(response, 500, 'server_error', 'The fake model failed.');
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.method === 'GET' && url.pathname === '/v1/models') {
      return sendJson(response, 200, {
        object: 'list',
        data: REASONING_MODELS.concat(CHAT_MODELS).map((id) => ({ id, object: 'model', owned_by: 'tokenmeter-demo' })),
      });
    }
    if (request.method !== 'POST' || url.pathname !== '/v1/chat/completions') {
      return sendError(response, 404, 'invalid_request_error', `Unknown endpoint ${request.method} ${url.pathname}`);
    }
    let body: ChatRequest;
    try {
      body = JSON.parse(await readBody(request)) as ChatRequest;
    } catch {
      return sendError(response, 400, 'invalid_request_error', 'The body is not valid JSON.');
    }
    if (typeof body.model !== 'string' || !Array.isArray(body.messages) || body.messages.length === 0) {
      return sendError(response, 400, 'invalid_request_error', 'model and messages are required.');
    }
    requests += 1;
    const model = body.model;
    const messages = body.messages as ChatMessage[];
    const promptTokens = countChatTokens(messages, model).tokens;
    const cachedTokens = cachedPrefixTokens(messages, model);
    const maxTokens = numberOr(body.max_completion_tokens, numberOr(body.max_tokens, 4096));
    const reply = truncateToTokens(replyFor(messages), model, maxTokens);
    const visibleTokens = countTokens(reply.text, model).tokens;
    // Reasoning models think before they answer: hidden tokens billed as output, included in completion_tokens.
    const reasoningTokens = isReasoningModel(model) ? Math.min(maxTokens, 2 * visibleTokens + 64) : 0;
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: visibleTokens + reasoningTokens,
      total_tokens: promptTokens + visibleTokens + reasoningTokens,
      prompt_tokens_details: { cached_tokens: cachedTokens, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: reasoningTokens,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    };
    const id = `chatcmpl-demo${requests.toString(36)}${Date.now().toString(36)}`;
    const created = Math.floor(Date.now() / 1000);
    const finishReason = reply.truncated ? 'length' : 'stop';

    if (body.stream !== true) {
      return sendJson(response, 200, {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: reply.text, refusal: null },
            logprobs: null,
            finish_reason: finishReason,
          },
        ],
        usage,
        service_tier: 'default',
        system_fingerprint: 'fp_tokenmeter_demo',
      });
    }

    const includeUsage = body.stream_options?.include_usage === true;
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const base = { id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_tokenmeter_demo' };
    const write = (payload: unknown) => !response.destroyed && response.write(`data: ${JSON.stringify(payload)}\n\n`);
    const withUsage = (chunk: Record<string, unknown>) => (includeUsage ? { ...chunk, usage: null } : chunk);
    write(
      withUsage({
        ...base,
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
      }),
    );
    for (const piece of splitForStreaming(reply.text)) {
      if (response.destroyed) return;
      await delay(chunkDelayMs);
      write(
        withUsage({ ...base, choices: [{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }] }),
      );
    }
    write(withUsage({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }] }));
    if (includeUsage) write({ ...base, choices: [], usage });
    if (!response.destroyed) response.end('data: [DONE]\n\n');
  }

  /** The longest earlier-seen message prefix, in whole cache steps, as OpenAI reports `cached_tokens`. */
  function cachedPrefixTokens(messages: ChatMessage[], model: string): number {
    const now = Date.now();
    let cached = 0;
    for (let length = 1; length <= messages.length; length++) {
      const prefix = messages.slice(0, length);
      const key = createHash('sha256').update(model).update(JSON.stringify(prefix)).digest('hex');
      const seenAt = prefixCache.get(key);
      // The last message is the new turn: only what precedes it can have been cached.
      if (length < messages.length && seenAt !== undefined && now - seenAt < CACHE_TTL_MS) {
        const tokens = countChatTokens(prefix, model).tokens;
        cached = Math.floor(tokens / CACHE_STEP) * CACHE_STEP;
      }
      prefixCache.set(key, now);
    }
    if (prefixCache.size > 10_000) prefixCache.clear();
    return cached;
  }

  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const REASONING_MODELS = ['o4-mini', 'o3-mini', 'o3'];
const CHAT_MODELS = ['gpt-4o-mini', 'gpt-4.1-mini', 'gpt-4.1', 'gpt-4o'];

function isReasoningModel(model: string): boolean {
  return /^(o\d|gpt-5)/.test(model);
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fallback;
}

function truncateToTokens(text: string, model: string, maxTokens: number): { text: string; truncated: boolean } {
  if (countTokens(text, model).tokens <= maxTokens) return { text, truncated: false };
  const words = text.split(' ');
  let low = 0;
  let high = words.length;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (countTokens(words.slice(0, middle).join(' '), model).tokens <= maxTokens) low = middle;
    else high = middle;
  }
  return { text: words.slice(0, low).join(' '), truncated: true };
}

/** Pieces of two or three words, like a model's token stream seen through the network. */
function splitForStreaming(text: string): string[] {
  const pieces: string[] = [];
  const words = text.match(/\S+\s*/g) ?? [];
  for (let index = 0; index < words.length; index += 3) pieces.push(words.slice(index, index + 3).join(''));
  return pieces;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(response: ServerResponse, status: number, payload: unknown) {
  const text = JSON.stringify(payload);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function sendError(response: ServerResponse, status: number, type: string, message: string) {
  sendJson(response, status, { error: { message, type, param: null, code: null } });
}
