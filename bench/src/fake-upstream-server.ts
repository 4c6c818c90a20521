/**
 * Child process: a fake OpenAI Chat Completions API on 127.0.0.1 for the overhead benchmark. Every answer
 * reports usage (as the real API does), so the meter never has to count the completion itself.
 * `x-bench-stream-bytes: N` streams about N bytes of content (the memory test); `x-bench-delay-ms: N` answers a
 * non-streamed request after N ms, as a model API does after its generation time.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const COMPLETION = {
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_764_000_000,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'The answer is 42. It is the answer a benchmark deserves.' },
      finish_reason: 'stop',
    },
  ],
  usage: {
    prompt_tokens: 120,
    completion_tokens: 14,
    total_tokens: 134,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  },
};
const JSON_BODY = Buffer.from(JSON.stringify(COMPLETION));
const PIECES = ['The', ' answer', ' is', ' 42', '.'];

function chunk(content: string | undefined, usage: unknown, finish: string | null = null): string {
  const data = {
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created: 1_764_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: usage ? [] : [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }],
    usage: usage ?? null,
  };
  return `data: ${JSON.stringify(data)}\n\n`;
}

const STREAM_USAGE = { prompt_tokens: 120, completion_tokens: 5, total_tokens: 125 };

function stream(res: http.ServerResponse, bytes: number, includeUsage: boolean): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  if (bytes <= 0) {
    for (const piece of PIECES) res.write(chunk(piece, undefined));
    res.write(chunk(undefined, undefined, 'stop'));
    if (includeUsage) res.write(chunk(undefined, STREAM_USAGE));
    res.end('data: [DONE]\n\n');
    return;
  }
  // About 4 KB per event; the loop respects backpressure so the upstream itself stays flat.
  const piece = 'lorem ipsum '.repeat(340);
  const event = chunk(piece, undefined);
  let sent = 0;
  let events = 0;
  const pump = () => {
    while (sent < bytes) {
      sent += event.length;
      events++;
      if (!res.write(event)) {
        res.once('drain', pump);
        return;
      }
    }
    res.write(chunk(undefined, undefined, 'stop'));
    if (includeUsage) {
      res.write(
        chunk(undefined, { prompt_tokens: 120, completion_tokens: events * 680, total_tokens: 120 + events * 680 }),
      );
    }
    res.end('data: [DONE]\n\n');
  };
  pump();
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (data: Buffer) => chunks.push(data));
  req.on('end', () => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"not found"}}');
      return;
    }
    let body: { stream?: boolean; stream_options?: { include_usage?: boolean } } = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"invalid json"}}');
      return;
    }
    if (body.stream) {
      stream(res, Number(req.headers['x-bench-stream-bytes'] ?? 0), body.stream_options?.include_usage === true);
      return;
    }
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(JSON_BODY.length) });
      res.end(JSON_BODY);
    };
    const delay = Number(req.headers['x-bench-delay-ms'] ?? 0);
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
