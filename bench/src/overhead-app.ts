/**
 * Child process: the same Express app with or without tokenmeter, in front of the fake upstream.
 *   proxy-bare      a plain pass-through (what a team runs before adding tokenmeter)
 *   proxy-parse     a pass-through that buffers both bodies and parses both as JSON, and nothing else: the
 *                   least any metering proxy must do, to show what that part costs
 *   proxy-metered   `meteredProxy()` (memory store, default options)
 *   proxy-budget    `meteredProxy()` with a global USD budget (reserve before, settle after: counts the prompt)
 *   app-bare        a route that calls the upstream with `fetch` and returns its answer
 *   app-metered     the same route under `meter()` with an instrumented `fetch`
 *   app-context     the plain route inside an AsyncLocalStorage context per request, and nothing of tokenmeter:
 *                   the share of the in-app cost that is Node's context tracking, which `meter()` needs
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { warmUpEncoders } from '@tokenmeter/core';
import { createMemoryStore, instrumentFetch, meter, meteredProxy } from '@tokenmeter/express';
import express, { type Request, type Response } from 'express';
import { serveParent } from './child-process';

const [mode, upstream] = process.argv.slice(2);
if (!mode || !upstream) throw new Error('usage: overhead-app.ts MODE UPSTREAM_URL');

const app = express();
app.disable('x-powered-by');
const store = createMemoryStore();
let recorded = 0;
const onEvent = () => {
  recorded++;
};
// A real deployment loads the encoders at startup; the benchmark measures steady state.
warmUpEncoders(['o200k_base']);

const agent = new http.Agent({ keepAlive: true });
const target = new URL(upstream);

function bareProxy(req: Request, res: Response): void {
  const forward = http.request(
    {
      hostname: target.hostname,
      port: target.port,
      path: `${target.pathname}${req.url}`,
      method: req.method,
      headers: { ...req.headers, host: target.host },
      agent,
    },
    (response) => {
      res.writeHead(response.statusCode ?? 502, response.headers);
      response.pipe(res);
    },
  );
  forward.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(forward);
}

/** Buffers the request, parses it, forwards it; buffers the answer, parses it, sends it. No metering. */
function parsingProxy(req: Request, res: Response): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const parsed = JSON.parse(body.toString('utf8')) as { model?: unknown };
    if (typeof parsed.model !== 'string') throw new Error('the benchmark request names no model');
    const forward = http.request(
      {
        hostname: target.hostname,
        port: target.port,
        path: `${target.pathname}${req.url}`,
        method: req.method,
        headers: { ...req.headers, host: target.host, 'content-length': String(body.length) },
        agent,
      },
      (response) => {
        const parts: Buffer[] = [];
        response.on('data', (chunk: Buffer) => parts.push(chunk));
        response.on('end', () => {
          const answer = Buffer.concat(parts);
          const json = JSON.parse(answer.toString('utf8')) as { usage?: unknown };
          if (json.usage === undefined) throw new Error('the fake upstream reported no usage');
          res.writeHead(response.statusCode ?? 502, { ...response.headers, 'content-length': String(answer.length) });
          res.end(answer);
        });
      },
    );
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    forward.end(body);
  });
}

if (mode === 'proxy-bare') {
  app.use('/v1', bareProxy);
} else if (mode === 'proxy-parse') {
  app.use('/v1', parsingProxy);
} else if (mode === 'proxy-metered') {
  app.use('/v1', meteredProxy({ upstream, store, onEvent }));
} else if (mode === 'proxy-budget') {
  app.use('/v1', meteredProxy({ upstream, store, onEvent, budgets: { scope: 'global', limit: '1000000' } }));
} else if (mode === 'app-bare' || mode === 'app-metered' || mode === 'app-context') {
  const call = mode === 'app-metered' ? instrumentFetch(globalThis.fetch) : globalThis.fetch;
  if (mode === 'app-metered') app.use(meter({ store, onEvent }));
  if (mode === 'app-context') {
    const context = new AsyncLocalStorage<{ startedAt: number }>();
    app.use((_req, _res, next) => context.run({ startedAt: performance.now() }, next));
  }
  app.post('/chat', express.json(), async (req, res, next) => {
    try {
      const response = await call(`${upstream}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
        body: JSON.stringify(req.body),
      });
      const answer = (await response.json()) as { choices: Array<{ message: { content: string } }> };
      res.json({ reply: answer.choices[0]?.message.content ?? '' });
    } catch (error) {
      next(error);
    }
  });
} else {
  throw new Error(`unknown mode ${mode}`);
}

let sampler: NodeJS.Timeout | undefined;
let peak = { rss: 0, liveHeap: 0 };
let samples = 0;

/**
 * The heap still in use after a full collection: what the process holds on to. Peak `heapUsed` without a
 * collection mostly measures when the collector last ran (a 10 MB stream leaves megabytes of garbage behind,
 * with or without tokenmeter); live heap during the stream is what must stay flat. Needs `--expose-gc`.
 */
function liveHeap(): number {
  if (typeof global.gc !== 'function') throw new Error('overhead-app.ts must run with --expose-gc');
  global.gc();
  return process.memoryUsage().heapUsed;
}

serveParent({
  cpu: () => process.cpuUsage(),
  events: () => recorded,
  memoryStart: () => {
    const before = { rss: process.memoryUsage().rss, liveHeap: liveHeap() };
    peak = { ...before };
    samples = 0;
    sampler = setInterval(() => {
      samples++;
      peak.rss = Math.max(peak.rss, process.memoryUsage().rss);
      peak.liveHeap = Math.max(peak.liveHeap, liveHeap());
    }, 20);
    return before;
  },
  memoryStop: () => {
    clearInterval(sampler);
    return { peakRss: Math.max(peak.rss, process.memoryUsage().rss), peakLiveHeap: peak.liveHeap, samples };
  },
});

const server = app.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
server.keepAliveTimeout = 60_000;
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
