import http, { type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake OpenAI / Anthropic / Gemini API on 127.0.0.1 for tests, routing by method and exact path as the providers do. Answers have fixed usage numbers (below)
 * so expected costs can be computed by hand. The `x-fake` request header picks a fault:
 * `no-usage`, `cut` (stream or body broken off halfway, socket destroyed), `status-400`, `status-500`,
 * `malformed` (invalid JSON body), `slow` (streams one chunk, then waits), `hang` (never answers).
 */
export interface FakeUpstream {
  url: string;
  /** Every request received: path, headers and parsed body. */
  requests: Array<{ method: string; path: string; headers: IncomingHttpHeaders; body: Record<string, unknown> }>;
  /** Raw bytes the last response sent (to compare with what a client received through the proxy). */
  lastResponseBytes(): Buffer;
  close(): Promise<void>;
}

export const CHAT_USAGE = {
  prompt_tokens: 20,
  completion_tokens: 5,
  total_tokens: 25,
  prompt_tokens_details: { cached_tokens: 8, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
};
export const RESPONSES_USAGE = {
  input_tokens: 30,
  input_tokens_details: { cached_tokens: 10 },
  output_tokens: 12,
  output_tokens_details: { reasoning_tokens: 4 },
  total_tokens: 42,
};
export const ANTHROPIC_USAGE = {
  input_tokens: 100,
  cache_creation_input_tokens: 50,
  cache_read_input_tokens: 200,
  output_tokens: 30,
  service_tier: 'standard',
};
export const GEMINI_USAGE = {
  promptTokenCount: 40,
  cachedContentTokenCount: 10,
  candidatesTokenCount: 20,
  thoughtsTokenCount: 5,
  totalTokenCount: 65,
};

const CHAT_PIECES = ['Hel', 'lo', ' there', '!'];

export async function startFakeUpstream(): Promise<FakeUpstream> {
  const requests: FakeUpstream['requests'] = [];
  let last: Buffer[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        body = {};
      }
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body });
      last = [];
      const originalWrite = res.write.bind(res);
      const originalEnd = res.end.bind(res);
      res.write = ((chunk: unknown, ...rest: unknown[]) => {
        if (chunk) last.push(Buffer.from(chunk as string));
        return (originalWrite as (...args: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof res.write;
      res.end = ((chunk?: unknown, ...rest: unknown[]) => {
        if (chunk && typeof chunk !== 'function') last.push(Buffer.from(chunk as string));
        return (originalEnd as (...args: unknown[]) => ServerResponse)(chunk, ...rest);
      }) as typeof res.end;
      const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
      route(req.method ?? 'GET', path, query, req.headers, body, res);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    lastResponseBytes: () => Buffer.concat(last),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// The provider APIs route by method and exact path: `/v1//chat/completions` or `/v1/Chat/Completions` is a 404
// there, so it is one here. Bodies of the 404s are the providers' documented error shapes:
// OpenAI `{error:{message,type,param,code}}` (https://platform.openai.com/docs/guides/error-codes),
// Anthropic `{type:"error",error:{type,message}}` (https://docs.anthropic.com/en/api/errors).
type Handler = (
  body: Record<string, unknown>,
  fault: string,
  res: ServerResponse,
  match: RegExpExecArray,
  query: URLSearchParams,
) => void;

const ROUTES: Array<[method: string, path: RegExp, handler: Handler]> = [
  ['POST', /^\/v1\/chat\/completions$/, (body, fault, res) => chat(body, fault, res)],
  ['POST', /^\/v1\/responses$/, (body, fault, res) => responses(body, fault, res)],
  [
    'GET',
    /^\/v1\/responses\/([^/]+)$/,
    (_body, fault, res, match, query) => retrieveResponse(match[1] ?? '', query.get('stream') === 'true', fault, res),
  ],
  ['POST', /^\/v1\/embeddings$/, (body, _fault, res) => embeddings(body, res)],
  ['POST', /^\/v1\/messages$/, (body, fault, res) => messages(body, fault, res)],
  ['GET', /^\/v1\/models$/, (_body, _fault, res) => models(res)],
  ['POST', /^\/v1\/batches$/, (body, _fault, res) => batch(body, res)],
  [
    'POST',
    /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/,
    (_body, fault, res, match) => geminiAnswer(match[1] ?? '', match[2] === 'streamGenerateContent', fault, res),
  ],
];

function route(
  method: string,
  path: string,
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
  body: Record<string, unknown>,
  res: ServerResponse,
): void {
  let found: [Handler, RegExpExecArray] | undefined;
  for (const [routeMethod, pattern, handler] of ROUTES) {
    const match = routeMethod === method ? pattern.exec(path) : null;
    if (match) {
      found = [handler, match];
      break;
    }
  }
  if (!found) {
    notFound(method, path, headers, res);
    return;
  }
  const fault = String(headers['x-fake'] ?? '');
  if (fault === 'hang') return;
  if (fault === 'status-400' || fault === 'status-500') {
    const status = fault === 'status-400' ? 400 : 500;
    const payload = JSON.stringify({
      error: {
        message: `fake ${status}`,
        type: status === 400 ? 'invalid_request_error' : 'server_error',
        param: null,
        code: 'fake',
      },
    });
    res.writeHead(status, { 'content-type': 'application/json', 'x-upstream-marker': 'yes' });
    res.end(payload);
    return;
  }
  if (fault === 'malformed') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"id":"chatcmpl-bad","choices":[{"message":');
    return;
  }
  found[0](body, fault, res, found[1], query);
}

function notFound(method: string, path: string, headers: IncomingHttpHeaders, res: ServerResponse): void {
  const anthropic = headers['anthropic-version'] !== undefined || headers['x-api-key'] !== undefined;
  const payload = anthropic
    ? { type: 'error', error: { type: 'not_found_error', message: `Not Found (${method} ${path})` } }
    : { error: { message: `Invalid URL (${method} ${path})`, type: 'invalid_request_error', param: null, code: null } };
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify(payload));
}

// The Batch object as documented at https://platform.openai.com/docs/api-reference/batch/object (just created).
function batch(body: Record<string, unknown>, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      id: 'batch_abc123',
      object: 'batch',
      endpoint: String(body.endpoint),
      errors: null,
      input_file_id: String(body.input_file_id),
      completion_window: String(body.completion_window),
      status: 'validating',
      output_file_id: null,
      error_file_id: null,
      created_at: 1711471533,
      in_progress_at: null,
      expires_at: null,
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      metadata: null,
    }),
  );
}

function models(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model' }] }));
}

function json(res: ServerResponse, payload: unknown, fault: string): void {
  const text = JSON.stringify(payload);
  if (fault === 'cut') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(text.length) });
    res.write(text.slice(0, Math.floor(text.length / 2)));
    setTimeout(() => res.socket?.destroy(), 20);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_fake' });
  res.end(text);
}

/** Writes SSE events one by one with a pause so they cross the network as separate chunks. */
function sse(res: ServerResponse, events: string[], fault: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const cutAt = fault === 'cut' ? Math.floor(events.length / 2) : fault === 'slow' ? 1 : events.length;
  let index = 0;
  const next = () => {
    if (res.destroyed) return;
    if (index >= cutAt) {
      if (fault === 'cut') {
        // Half an event, then the connection dies: the worst place for a stream to break.
        res.write('data: {"id":"half');
        setTimeout(() => res.socket?.destroy(), 20);
      } else if (fault !== 'slow') {
        res.end();
      }
      return;
    }
    res.write(events[index] as string);
    index += 1;
    setTimeout(next, 2);
  };
  next();
}

function chat(body: Record<string, unknown>, fault: string, res: ServerResponse): void {
  const model = body.model === 'gpt-4o-mini' ? 'gpt-4o-mini-2024-07-18' : String(body.model);
  const base = { id: 'chatcmpl-1', object: 'chat.completion', created: 1700000000, model, system_fingerprint: 'fp_1' };
  if (body.stream !== true) {
    const payload: Record<string, unknown> = {
      ...base,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: CHAT_PIECES.join(''), refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
    };
    if (fault !== 'no-usage') payload.usage = CHAT_USAGE;
    json(res, payload, fault);
    return;
  }
  const includeUsage =
    fault !== 'no-usage' &&
    typeof body.stream_options === 'object' &&
    (body.stream_options as { include_usage?: boolean } | null)?.include_usage === true;
  const chunk = { ...base, object: 'chat.completion.chunk' };
  // OpenAI's exact layout: compact JSON, `"usage":null` last on every chunk when usage was requested.
  const withUsage = (value: Record<string, unknown>) => (includeUsage ? { ...value, usage: null } : value);
  const events = [
    withUsage({
      ...chunk,
      choices: [
        { index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null },
      ],
    }),
    ...CHAT_PIECES.map((piece) =>
      withUsage({ ...chunk, choices: [{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }] }),
    ),
    withUsage({ ...chunk, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] }),
  ].map((value) => `data: ${JSON.stringify(value)}\n\n`);
  if (includeUsage) events.push(`data: ${JSON.stringify({ ...chunk, choices: [], usage: CHAT_USAGE })}\n\n`);
  events.push('data: [DONE]\n\n');
  sse(res, events, fault);
}

function responseObject(model: string, fault: string) {
  return {
    id: 'resp_1',
    object: 'response',
    created_at: 1700000000,
    status: 'completed',
    model,
    output: [
      {
        type: 'message',
        id: 'msg_1',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Hi there!', annotations: [] }],
      },
    ],
    usage: fault === 'no-usage' ? null : RESPONSES_USAGE,
  };
}

function responseEvents(response: ReturnType<typeof responseObject>): string[] {
  return [
    {
      type: 'response.created',
      sequence_number: 0,
      response: { ...response, status: 'in_progress', output: [], usage: null },
    },
    {
      type: 'response.output_text.delta',
      sequence_number: 1,
      item_id: 'msg_1',
      output_index: 0,
      content_index: 0,
      delta: 'Hi',
    },
    {
      type: 'response.output_text.delta',
      sequence_number: 2,
      item_id: 'msg_1',
      output_index: 0,
      content_index: 0,
      delta: ' there!',
    },
    { type: 'response.completed', sequence_number: 3, response },
  ].map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
}

/**
 * Background responses (https://platform.openai.com/docs/guides/background): created `queued` with no usage; the
 * first plain retrieval finds them `in_progress`, later ones (and a streamed retrieval) `completed` with usage.
 */
const backgroundJobs = new Map<string, { model: string; polls: number }>();
let backgroundCount = 0;

function responses(body: Record<string, unknown>, fault: string, res: ServerResponse): void {
  let response = responseObject(String(body.model), fault);
  if (body.background === true) {
    backgroundCount += 1;
    const id = `resp_bg_${backgroundCount}`;
    backgroundJobs.set(id, { model: String(body.model), polls: 0 });
    response = { ...response, id };
    if (body.stream !== true) {
      json(res, { ...response, status: 'queued', background: true, output: [], usage: null }, fault);
      return;
    }
  }
  if (body.stream !== true) {
    json(res, response, fault);
    return;
  }
  sse(res, responseEvents(response), fault);
}

function retrieveResponse(id: string, stream: boolean, fault: string, res: ServerResponse): void {
  const job = backgroundJobs.get(id);
  if (!job) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        error: {
          message: `Response with id '${id}' not found.`,
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      }),
    );
    return;
  }
  const finished = job.polls > 0 || stream;
  job.polls += 1;
  const response = { ...responseObject(job.model, fault), id, background: true };
  if (stream) {
    sse(res, responseEvents(response), fault);
    return;
  }
  json(res, finished ? response : { ...response, status: 'in_progress', output: [], usage: null }, fault);
}

function embeddings(body: Record<string, unknown>, res: ServerResponse): void {
  const vector = new Float32Array([0.25, -0.5]);
  const embedding = body.encoding_format === 'base64' ? Buffer.from(vector.buffer).toString('base64') : [0.25, -0.5];
  json(
    res,
    {
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding }],
      model: String(body.model),
      usage: { prompt_tokens: 8, total_tokens: 8 },
    },
    '',
  );
}

function messages(body: Record<string, unknown>, fault: string, res: ServerResponse): void {
  const model = String(body.model);
  const usage = fault === 'no-usage' ? undefined : ANTHROPIC_USAGE;
  if (body.stream !== true) {
    json(
      res,
      {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text: 'Hello from Claude!' }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        ...(usage ? { usage } : {}),
      },
      fault,
    );
    return;
  }
  const events: Array<Record<string, unknown>> = [
    {
      type: 'message_start',
      message: {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...ANTHROPIC_USAGE, output_tokens: 1 },
      },
    },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'ping' },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' from Claude!' } },
    { type: 'content_block_stop', index: 0 },
    // Cumulative counters: the final value, not an increment.
    { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 30 } },
    { type: 'message_stop' },
  ];
  sse(
    res,
    events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`),
    fault,
  );
}

function geminiAnswer(model: string, streamed: boolean, fault: string, res: ServerResponse): void {
  const candidate = (text: string, finish: boolean) => ({
    content: { parts: [{ text }], role: 'model' },
    ...(finish ? { finishReason: 'STOP' } : {}),
    index: 0,
  });
  if (!streamed) {
    json(
      res,
      { candidates: [candidate('Hi from Gemini', true)], usageMetadata: GEMINI_USAGE, modelVersion: model },
      fault,
    );
    return;
  }
  const events = [
    {
      candidates: [candidate('Hi from', false)],
      usageMetadata: { promptTokenCount: 40, totalTokenCount: 40 },
      modelVersion: model,
    },
    { candidates: [candidate(' Gemini', true)], usageMetadata: GEMINI_USAGE, modelVersion: model },
  ].map((event) => `data: ${JSON.stringify(event)}\r\n\r\n`);
  sse(res, events, fault);
}
