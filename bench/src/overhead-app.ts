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
 * The floor and the peers (each with what a user would pick instead of tokenmeter):
 *   proxy-raw       a bare `node:http` server piping to the upstream, no Express: the floor of any proxy
 *   proxy-portkey   the Portkey AI gateway (@portkey-ai/gateway, open source) routing to the fake upstream
 *   sdk-bare        a route calling the upstream with the `openai` SDK
 *   sdk-metered     the same under `meter()` with `wrapOpenAI`
 *   sdk-openllmetry the same with OpenLLMetry's OpenAI instrumentation (@traceloop/instrumentation-openai)
 *   sdk-langfuse    the same with Langfuse's `observeOpenAI` (@langfuse/openai)
 *   sdk-openinference the same with OpenInference's OpenAI instrumentation (@arizeai/openinference-instrumentation-openai)
 * The OpenTelemetry-based peers export to a no-op exporter behind a batch processor, with Node's
 * AsyncLocalStorage context manager, as an app that ships spans would run them. A peer that cannot start sends
 * `{ error }` instead of its port, and the benchmark prints that error in its row.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { warmUpEncoders } from '@tokenmeter/core';
import { createMemoryStore, instrumentFetch, meter, meteredProxy, wrapOpenAI } from '@tokenmeter/express';
import express, { type Request, type Response } from 'express';
import { serveParent } from './child-process';

const [mode, upstream] = process.argv.slice(2);
if (!mode || !upstream) throw new Error('usage: overhead-app.ts MODE UPSTREAM_URL');

const app = express();
app.disable('x-powered-by');
const store = createMemoryStore();
let recorded = 0;
let flushSpans = async (): Promise<void> => {};
const onEvent = () => {
  recorded++;
};
// A real deployment loads the encoders at startup; the benchmark measures steady state.
warmUpEncoders(['o200k_base']);

const agent = new http.Agent({ keepAlive: true });
const target = new URL(upstream);

function bareProxy(req: Request, res: Response): void {
  pipeTo(`${target.pathname}${req.url}`, req, res);
}

function pipeTo(path: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const forward = http.request(
    {
      hostname: target.hostname,
      port: target.port,
      path,
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

/** Starts the peer or tokenmeter setup of an `sdk-*` or `proxy-portkey` mode; throws when it cannot run here. */
async function setUpPeer(): Promise<http.Server | undefined> {
  if (mode === 'proxy-raw') {
    // No framework at all: the request path is the upstream's (both under /v1).
    return http.createServer((req, res) => pipeTo(req.url ?? '/', req, res));
  }
  if (mode === 'proxy-portkey') {
    await startPortkey();
    return undefined;
  }
  if (!mode?.startsWith('sdk-')) return undefined;
  const { default: OpenAI } = await import('openai');
  if (mode !== 'sdk-bare' && mode !== 'sdk-metered') await startTracing(OpenAI);
  let client = new OpenAI({ apiKey: 'sk-bench', baseURL: upstream, maxRetries: 0 });
  if (mode === 'sdk-metered') {
    app.use(meter({ store, onEvent }));
    client = wrapOpenAI(client);
  } else if (mode === 'sdk-langfuse') {
    const { observeOpenAI } = await import('@langfuse/openai');
    client = observeOpenAI(client);
  } else if (mode !== 'sdk-bare' && mode !== 'sdk-openllmetry' && mode !== 'sdk-openinference') {
    throw new Error(`unknown mode ${mode}`);
  }
  app.post('/chat', express.json(), async (req, res, next) => {
    try {
      const answer = await client.chat.completions.create(req.body);
      res.json({ reply: answer.choices[0]?.message.content ?? '' });
    } catch (error) {
      next(error);
    }
  });
  return undefined;
}

/**
 * The Portkey gateway as its `npx @portkey-ai/gateway` command runs it, in this process so that its CPU is
 * measured: its bundle takes `--port=` and listens on every interface, so the listen is held to 127.0.0.1.
 * TRUSTED_CUSTOM_HOSTS lets it route to the fake upstream on loopback (it refuses private hosts otherwise).
 */
async function startPortkey(): Promise<void> {
  const port = await freePort();
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
    if (args[0] === port && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
    return (listen as (...rest: unknown[]) => net.Server).apply(this, args);
  } as typeof listen;
  process.env.TRUSTED_CUSTOM_HOSTS = '127.0.0.1';
  process.argv.push(`--port=${port}`, '--headless');
  // Its banner clears the terminal and draws a spinner: not in the benchmark's output.
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  console.clear = () => {};
  const log = console.log;
  console.log = () => {};
  // @ts-expect-error: the package ships a bundled script without type declarations.
  await import('@portkey-ai/gateway/build/start-server.js');
  process.stdout.write = write;
  console.log = log;
  portkeyPort = port;
}

let portkeyPort: number | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** An OpenTelemetry tracer provider whose spans are batched and dropped, and the peer's instrumentation on it. */
async function startTracing(OpenAI: typeof import('openai').default): Promise<void> {
  const { context, trace } = await import('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  // Spans are counted, not kept: the count shows the instrumentation ran (a peer that traced nothing would
  // look free).
  const noopExporter = {
    export: (spans: unknown[], done: (result: { code: number }) => void) => {
      recorded += spans.length;
      done({ code: 0 });
    },
    shutdown: async () => {},
  };
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(noopExporter)] });
  flushSpans = () => provider.forceFlush();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  if (mode === 'sdk-openllmetry') {
    const { OpenAIInstrumentation } = await import('@traceloop/instrumentation-openai');
    const instrumentation = new OpenAIInstrumentation();
    instrumentation.setTracerProvider(provider);
    instrumentation.manuallyInstrument(OpenAI as never);
  } else if (mode === 'sdk-openinference') {
    const { OpenAIInstrumentation } = await import('@arizeai/openinference-instrumentation-openai');
    const instrumentation = new OpenAIInstrumentation({ tracerProvider: provider });
    instrumentation.manuallyInstrument(OpenAI as never);
  }
}

let server: http.Server | undefined;
try {
  server = await setUpPeer();
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.send?.({ error: `${mode}: ${message.split('\n')[0]}` }, () => process.exit(0));
  await new Promise(() => {});
}

if (server !== undefined || portkeyPort !== undefined || mode.startsWith('sdk-')) {
  // Set up by setUpPeer.
} else if (mode === 'proxy-bare') {
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
  events: async () => {
    await flushSpans();
    return recorded;
  },
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

if (portkeyPort !== undefined) {
  process.send?.({ port: portkeyPort });
  process.on('SIGTERM', () => process.exit(0));
} else {
  const listening = server ?? http.createServer(app);
  listening.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (listening.address() as AddressInfo).port });
  });
  listening.keepAliveTimeout = 60_000;
  process.on('SIGTERM', () => {
    listening.closeAllConnections();
    listening.close(() => process.exit(0));
  });
}
