import http, { type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { countChatTokens } from '@tokenmeter/core';

/**
 * A fake Chat Completions API on 127.0.0.1 for the fault tests. Usage is reported honestly: the prompt's
 * tokens as tokenmeter counts them (OpenAI's cookbook formula) and `max_tokens` output tokens, so a
 * budget reservation equals the settled amount. The `x-fault` header picks a failure:
 *   reset-before-response  the socket is destroyed before any byte
 *   reset-mid-stream       two content chunks, then the socket is destroyed
 *   hang                   never answers
 *   hang-mid-stream        one content chunk, then silence
 *   big-stream             `x-chunks` chunks of 1 KB content, then usage
 *   raw                    answers 200 with the base64 `x-body` header as body and `x-content-type`
 */
export interface FaultUpstream {
  url: string;
  /** Requests received, by fault. */
  received: number;
  close(): Promise<void>;
}

export const CONTENT = ['Hello', ' there', ', friend', '!'];

function chunk(model: string, delta: Record<string, unknown> | undefined, usage?: unknown): string {
  return `data: ${JSON.stringify({
    id: 'chatcmpl-fault',
    object: 'chat.completion.chunk',
    created: 1_764_000_000,
    model,
    choices: delta === undefined ? [] : [{ index: 0, delta, finish_reason: null }],
    usage: usage ?? null,
  })}\n\n`;
}

export async function startFaultUpstream(): Promise<FaultUpstream> {
  const sockets = new Set<Socket>();
  const state = { received: 0 };
  const server: Server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (data: Buffer) => chunks.push(data));
    req.on('end', () => {
      state.received++;
      let body: {
        model?: string;
        messages?: Array<{ role: string; content: string }>;
        max_tokens?: number;
        stream?: boolean;
        stream_options?: { include_usage?: boolean };
      } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"invalid json","type":"invalid_request_error"}}');
        return;
      }
      const fault = String(req.headers['x-fault'] ?? '');
      if (fault === 'raw') {
        // The answer the test dictates, byte for byte (hostile usage, broken SSE framing, invalid UTF-8).
        const raw = Buffer.from(String(req.headers['x-body'] ?? ''), 'base64');
        res.writeHead(200, { 'content-type': String(req.headers['x-content-type'] ?? 'application/json') });
        res.end(raw);
        return;
      }
      const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
      let promptTokens: number;
      try {
        promptTokens = countChatTokens(body.messages ?? [], model).tokens;
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"invalid messages","type":"invalid_request_error"}}');
        return;
      }
      const maxTokens = body.max_tokens ?? 16;
      if (typeof maxTokens !== 'number' || !Number.isSafeInteger(maxTokens) || maxTokens < 0) {
        // As the real API does: hostile bodies (fast-check writes {"valueOf":…} here) get a 400, not a crash.
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"invalid max_tokens","type":"invalid_request_error"}}');
        return;
      }
      const completionTokens = maxTokens;
      const usage = {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      };
      if (fault === 'reset-before-response') {
        req.socket.destroy();
        return;
      }
      if (fault === 'hang') return;
      if (!body.stream) {
        const answer = JSON.stringify({
          id: 'chatcmpl-fault',
          object: 'chat.completion',
          created: 1_764_000_000,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: CONTENT.join('') }, finish_reason: 'stop' }],
          usage,
        });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(answer)) });
        res.end(answer);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.flushHeaders();
      if (fault === 'reset-mid-stream') {
        res.write(chunk(model, { role: 'assistant', content: CONTENT[0] }));
        res.write(chunk(model, { content: CONTENT[1] }));
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      if (fault === 'hang-mid-stream') {
        res.write(chunk(model, { role: 'assistant', content: CONTENT[0] }));
        return;
      }
      const pieces =
        fault === 'big-stream'
          ? Array.from({ length: Number(req.headers['x-chunks'] ?? 100) }, (_, index) => `${index} ${'x'.repeat(1000)}`)
          : CONTENT;
      const write = (index: number): void => {
        for (let at = index; at < pieces.length; at++) {
          if (!res.write(chunk(model, { content: pieces[at] }))) {
            res.once('drain', () => write(at + 1));
            return;
          }
        }
        if (body.stream_options?.include_usage) res.write(chunk(model, undefined, usage));
        res.end('data: [DONE]\n\n');
      };
      write(0);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get received() {
      return state.received;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A chat request body; the fault upstream reports its counted prompt + max_tokens as the usage. */
export function chatBody(index: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a fault-tolerance test.' },
      { role: 'user', content: `Request number ${index % 10}, please answer briefly.` },
    ],
    max_tokens: 10,
    ...extra,
  });
}

/**
 * The request the shared-budget tests send: output large next to the prompt, as in real calls, so the prompt's
 * framing headroom in the reservation is a few percent.
 */
export function sharedBudgetBody(index: number): string {
  return chatBody(index, { max_tokens: 1000 });
}

/**
 * Sizes for the shared-budget tests: what one request costs (the upstream reports the counted prompt + max_tokens)
 * and a limit with room for 150.5 reservations (the proxy reserves the prompt's bound + max_tokens, a little more),
 * so 150 fit at once while 200 are sent at once; settled calls free the rest of their reservation.
 */
export async function sharedBudgetSizing(): Promise<{ perRequest: number; limit: number }> {
  const { countChatTokens, promptTokenBound } = await import('@tokenmeter/core');
  const body = JSON.parse(sharedBudgetBody(0)) as {
    messages: Array<{ role: string; content: string }>;
    max_tokens: number;
  };
  const perRequest = countChatTokens(body.messages, 'gpt-4o-mini').tokens + body.max_tokens;
  const reservation = promptTokenBound(body, 'openai', 'gpt-4o-mini').tokens + body.max_tokens;
  return { perRequest, limit: Math.floor(reservation * 150.5) };
}

/** POSTs to the proxy and reads the whole answer; never rejects (a network failure is status 0). */
export function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        // A fresh connection each time: no kept-alive socket outlives the test.
        agent: false,
        headers: {
          'content-type': 'application/json',
          authorization: 'Bearer sk-test',
          'content-length': String(Buffer.byteLength(body)),
          ...headers,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (data: Buffer) => chunks.push(data));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: response.headers,
          }),
        );
        response.on('error', () =>
          resolve({ status: 0, body: Buffer.concat(chunks).toString('utf8'), headers: response.headers }),
        );
      },
    );
    request.on('error', () => resolve({ status: 0, body: '', headers: {} }));
    request.end(body);
  });
}
