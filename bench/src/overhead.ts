/**
 * Middleware overhead: the same Express app with and without tokenmeter against a fake upstream, all on
 * 127.0.0.1, upstream and apps in child processes, autocannon in this one. With/without runs alternate so
 * drift (thermal, other tenants) hits both sides alike.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import autocannon from 'autocannon';
import { type BenchChild, pinToCpus, startChild } from './child-process';
import { type BenchSection, log, type TargetResult, table } from './report';
import { fixed, integer, median, roundPercentile, sum } from './stats';

/** `BENCH_QUICK=1`: a smoke run of the code paths (fewer, shorter rounds); its numbers are not results. */
export const QUICK = process.env.BENCH_QUICK === '1';
const ROUNDS = QUICK ? 2 : 5;
const THROUGHPUT_SECONDS = QUICK ? 1 : 2;
/**
 * The app under test gets a CPU of its own; the fake upstream and the load generator share the other. Unpinned,
 * the three processes preempt each other and the app's measured cost swings with the scheduler; pinned, its
 * throughput is bound by its own CPU time, so the with/without ratio measures the meter, not the neighbours.
 */
const APP_CPU = 1;
const LOAD_CPU = 0;
let pinned = true;
const CONNECTIONS = 8;
/**
 * Sequential requests per round and side for the latency percentiles. A p99 needs enough samples not to be
 * decided by two or three requests: at 1,000 it is the tenth-slowest, so one more collector pause landing on
 * one side moves it little (at 200 it was the second-slowest, and such a pause decided the verdict).
 */
const LATENCY_REQUESTS = QUICK ? 100 : 1000;
const TTFB_REQUESTS = QUICK ? 100 : 1000;
const STREAM_BYTES = 10 * 1024 * 1024;
/** The second throughput setting: an upstream that answers after a model-like delay, with many callers. */
const MODEL_DELAY_MS = 50;
const MODEL_CONNECTIONS = 64;
const MODEL_ROUNDS = QUICK ? 2 : 3;
const MODEL_SECONDS = QUICK ? 1 : 3;

const MESSAGES = [
  { role: 'system', content: 'You are a concise support assistant for an online bookshop. Answer in two sentences.' },
  { role: 'user', content: 'My order #4411 has not arrived yet; it was due on Monday. What can I do?' },
  {
    role: 'assistant',
    content: 'Sorry about that! Orders can take two extra days; if it is not there by Friday we resend it.',
  },
  { role: 'user', content: 'Can you tell me how the refund works if it never arrives?' },
];
const CHAT_BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: MESSAGES, max_tokens: 200 });
const STREAM_BODY_WITH_USAGE = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: MESSAGES,
  max_tokens: 200,
  stream: true,
  stream_options: { include_usage: true },
});
const STREAM_BODY = JSON.stringify({ model: 'gpt-4o-mini', messages: MESSAGES, max_tokens: 200, stream: true });
const HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-bench' };

interface App {
  name: string;
  child: BenchChild;
  url: string;
  path: string;
  /** Headers the app needs on every request (the Portkey gateway is told the provider and the host). */
  headers?: Record<string, string>;
}

/** A peer that could not start here: its row says why instead of the row disappearing. */
interface Unavailable {
  name: string;
  error: string;
}

/** The Node binary the apps under test run on (the load generator and the upstream stay on this one). */
let appNode = process.execPath;

interface ThroughputRun {
  rps: number;
  requests: number;
  cpuMicros: number;
  errors: number;
}

async function startApp(mode: string, upstream: string, path: string, headers?: Record<string, string>): Promise<App> {
  const child = startChild('./overhead-app.ts', [mode, upstream], {}, ['--expose-gc'], appNode);
  pinned = pinToCpus(child.process.pid, [APP_CPU]) && pinned;
  const ready = (await child.ready) as { port?: number; error?: string };
  if (ready.port === undefined) {
    await child.stop();
    throw new Error(ready.error ?? `${mode} did not start`);
  }
  return { name: mode, child, url: `http://127.0.0.1:${ready.port}`, path, ...(headers ? { headers } : {}) };
}

async function startPeer(
  mode: string,
  upstream: string,
  path: string,
  headers?: Record<string, string>,
): Promise<App | Unavailable> {
  try {
    return await startApp(mode, upstream, path, headers);
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
    log(`overhead: ${mode} cannot run here: ${message}`);
    return { name: mode, error: message };
  }
}

async function throughput(
  app: App,
  seconds: number,
  load: { connections: number; headers: Record<string, string> } = { connections: CONNECTIONS, headers: HEADERS },
): Promise<ThroughputRun> {
  const before = await app.child.ask<NodeJS.CpuUsage>('cpu');
  const result = await autocannon({
    url: `${app.url}${app.path}`,
    method: 'POST',
    headers: { ...load.headers, ...app.headers },
    body: CHAT_BODY,
    connections: load.connections,
    duration: seconds,
  });
  const after = await app.child.ask<NodeJS.CpuUsage>('cpu');
  const cpu = after.user - before.user + (after.system - before.system);
  const requests = result.requests.total;
  return {
    rps: requests / seconds,
    requests,
    cpuMicros: cpu / Math.max(1, requests),
    errors: result.errors + result.non2xx + result.timeouts,
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

/** One request on a kept-alive connection; resolves with ms to the first body byte and to the end. */
function timedRequest(
  url: string,
  body: string,
  extraHeaders: Record<string, string> = {},
): Promise<{ firstByte: number; total: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstByte = -1;
    let bytes = 0;
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { ...HEADERS, ...extraHeaders, 'content-length': String(Buffer.byteLength(body)) },
      },
      (response) => {
        response.on('data', (chunk: Buffer) => {
          if (firstByte < 0) firstByte = performance.now() - started;
          bytes += chunk.length;
        });
        response.on('end', () => {
          if (response.statusCode !== 200) reject(new Error(`${url}: HTTP ${response.statusCode}`));
          else resolve({ firstByte, total: performance.now() - started, bytes });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

async function sequential(app: App, count: number, body: string, pick: 'total' | 'firstByte'): Promise<number[]> {
  const values: number[] = [];
  for (let index = 0; index < count; index++) {
    const timing = await timedRequest(`${app.url}${app.path}`, body, app.headers);
    values.push(timing[pick]);
  }
  return values;
}

interface PairResult {
  bare: ThroughputRun[];
  metered: ThroughputRun[];
  /** Sequential request latencies, one array per round. */
  latencyBare: number[][];
  latencyMetered: number[][];
}

/** Without, with on even rounds; with, without on odd ones: drift during a run hits both sides alike. */
function alternating(round: number, bare: App, metered: App): Array<[App, 'bare' | 'metered']> {
  return round % 2 === 0
    ? [
        [bare, 'bare'],
        [metered, 'metered'],
      ]
    : [
        [metered, 'metered'],
        [bare, 'bare'],
      ];
}

async function comparePair(description: string, bare: App, metered: App, latencyBody: string): Promise<PairResult> {
  log(`overhead: ${description}`);
  // Warm-up: JIT, connection pools, encoders.
  await throughput(bare, 1);
  await throughput(metered, 1);
  await sequential(bare, 100, latencyBody, 'total');
  await sequential(metered, 100, latencyBody, 'total');
  const result: PairResult = { bare: [], metered: [], latencyBare: [], latencyMetered: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order = alternating(round, bare, metered);
    for (const [app, side] of order) {
      const run = await throughput(app, THROUGHPUT_SECONDS);
      result[side].push(run);
      log(`  ${app.name} round ${round + 1}: ${integer(run.rps)} req/s, ${fixed(run.cpuMicros, 0)} µs CPU/request`);
    }
    for (const [app, side] of order) {
      const values = await sequential(app, LATENCY_REQUESTS, latencyBody, 'total');
      (side === 'bare' ? result.latencyBare : result.latencyMetered).push(values);
    }
  }
  return result;
}

function pairRows(label: string, pair: PairResult): { rows: Array<Array<string | number>>; summary: PairSummary } {
  const rpsBare = median(pair.bare.map((run) => run.rps));
  const rpsMetered = median(pair.metered.map((run) => run.rps));
  const cpuBare = median(pair.bare.map((run) => run.cpuMicros));
  const cpuMetered = median(pair.metered.map((run) => run.cpuMicros));
  const p50Bare = roundPercentile(pair.latencyBare, 50);
  const p50Metered = roundPercentile(pair.latencyMetered, 50);
  const p99Bare = roundPercentile(pair.latencyBare, 99);
  const p99Metered = roundPercentile(pair.latencyMetered, 99);
  const errors = sum(pair.bare.map((run) => run.errors)) + sum(pair.metered.map((run) => run.errors));
  // Rounds alternate, so round i of each side ran under the same conditions: their difference is one sample
  // of the added CPU, and the spread of those samples is the noise this run's verdict stands in.
  const roundDifferences = pair.metered.map((run, index) => run.cpuMicros - (pair.bare[index]?.cpuMicros ?? 0));
  const summary: PairSummary = {
    ratio: rpsMetered / rpsBare,
    cpuBare,
    cpuMetered,
    addedP50: p50Metered - p50Bare,
    addedP99: p99Metered - p99Bare,
    addedCpu: cpuMetered - cpuBare,
    errors,
  };
  return {
    rows: [
      [
        label,
        integer(rpsBare),
        integer(rpsMetered),
        fixed(summary.ratio, 3),
        `${fixed(p50Bare, 3)} → ${fixed(p50Metered, 3)} (${signed(summary.addedP50, 3)})`,
        `${fixed(p99Bare, 3)} → ${fixed(p99Metered, 3)} (${signed(summary.addedP99, 3)})`,
        `${fixed(cpuBare, 0)} → ${fixed(cpuMetered, 0)} (${signed(summary.addedCpu)}; rounds ${signed(Math.min(...roundDifferences))} to ${signed(Math.max(...roundDifferences))})`,
        errors,
      ],
    ],
    summary,
  };
}

/** A difference with its sign: `+59`, `−0.183`. */
function signed(value: number, digits = 0): string {
  return `${value < 0 ? '−' : '+'}${fixed(Math.abs(value), digits)}`;
}

interface PairSummary {
  ratio: number;
  cpuBare: number;
  cpuMetered: number;
  addedP50: number;
  addedP99: number;
  addedCpu: number;
  errors: number;
}

async function streamMemory(
  app: App,
): Promise<{ rssGrowthMb: number; heapGrowthMb: number; bytes: number; samples: number }> {
  await timedRequest(`${app.url}${app.path}`, STREAM_BODY_WITH_USAGE, { 'x-bench-stream-bytes': String(1024 * 1024) });
  const start = await app.child.ask<{ rss: number; liveHeap: number }>('memoryStart');
  let bytes = 0;
  for (let index = 0; index < 2; index++) {
    const timing = await timedRequest(`${app.url}${app.path}`, STREAM_BODY_WITH_USAGE, {
      'x-bench-stream-bytes': String(STREAM_BYTES),
    });
    bytes += timing.bytes;
  }
  const end = await app.child.ask<{ peakRss: number; peakLiveHeap: number; samples: number }>('memoryStop');
  return {
    samples: end.samples,
    rssGrowthMb: (end.peakRss - start.rss) / 1024 ** 2,
    heapGrowthMb: (end.peakLiveHeap - start.liveHeap) / 1024 ** 2,
    bytes: bytes / 2,
  };
}

/** The in-app peers: each instruments the same `openai` client call as `wrapOpenAI`. */
const SDK_PEERS = [
  { mode: 'sdk-openllmetry', label: 'OpenLLMetry (`@traceloop/instrumentation-openai`)' },
  { mode: 'sdk-langfuse', label: 'Langfuse (`@langfuse/openai` `observeOpenAI`)' },
  { mode: 'sdk-openinference', label: 'OpenInference (`@arizeai/openinference-instrumentation-openai`)' },
];

/** What each peer does with a call besides timing it: the question a user picking one asks (read from each package's documentation). */
const PEER_FACTS = [
  ['tokenmeter', 'yes, in process (exact decimal, from its catalog)', 'yes (reserve before, settle after)'],
  ['raw `http` pipe', 'no', 'no'],
  [
    'Portkey AI gateway (open source)',
    'no (cost is in the hosted Portkey app)',
    'no (budget limits are a hosted/enterprise feature)',
  ],
  ['OpenLLMetry', 'no: token counts as span attributes', 'no'],
  ['Langfuse', 'not in process: the Langfuse server prices the usage it receives', 'no'],
  ['OpenInference', 'not in process: token counts as span attributes, priced by a backend (Phoenix)', 'no'],
];

/** Runs the overhead section with the apps under test on `node` (another runtime's binary); default: this one. */
export async function overheadBenchmark(node: string = process.execPath): Promise<BenchSection> {
  appNode = node;
  const nodeVersion =
    node === process.execPath
      ? process.versions.node
      : execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  const nodeMajor = Number(nodeVersion.split('.')[0]);
  log(`overhead: apps under test on Node ${nodeVersion}`);
  const upstreamChild = startChild('./fake-upstream-server.ts');
  pinned = pinToCpus(upstreamChild.process.pid, [LOAD_CPU]) && pinToCpus(process.pid, [LOAD_CPU]);
  const { port } = (await upstreamChild.ready) as { port: number };
  const upstream = `http://127.0.0.1:${port}/v1`;
  const apps: App[] = [];
  try {
    const proxyBare = await startApp('proxy-bare', upstream, '/v1/chat/completions');
    const proxyMetered = await startApp('proxy-metered', upstream, '/v1/chat/completions');
    const proxyBudget = await startApp('proxy-budget', upstream, '/v1/chat/completions');
    const appBare = await startApp('app-bare', upstream, '/chat');
    const appMetered = await startApp('app-metered', upstream, '/chat');
    const appContext = await startApp('app-context', upstream, '/chat');
    const proxyParse = await startApp('proxy-parse', upstream, '/v1/chat/completions');
    // A second, identical pass-through: what "added" reads when nothing was added (the noise floor).
    const proxyBareAgain = await startApp('proxy-bare', upstream, '/v1/chat/completions');
    apps.push(proxyBare, proxyMetered, proxyBudget, appBare, appMetered, appContext, proxyParse, proxyBareAgain);
    const proxyRaw = await startApp('proxy-raw', upstream, '/v1/chat/completions');
    const sdkBare = await startApp('sdk-bare', upstream, '/chat');
    const sdkMetered = await startApp('sdk-metered', upstream, '/chat');
    apps.push(proxyRaw, sdkBare, sdkMetered);
    const portkey = await startPeer('proxy-portkey', upstream, '/v1/chat/completions', {
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': upstream,
    });
    const sdkPeers = [];
    for (const peer of SDK_PEERS) sdkPeers.push({ ...peer, app: await startPeer(peer.mode, upstream, '/chat') });
    for (const peer of [portkey, ...sdkPeers.map((entry) => entry.app)]) if ('child' in peer) apps.push(peer);

    const proxyPair = await comparePair('metered proxy vs plain pass-through', proxyBare, proxyMetered, CHAT_BODY);
    const budgetPair = await comparePair(
      'metered proxy with a budget vs plain pass-through',
      proxyBare,
      proxyBudget,
      CHAT_BODY,
    );
    const appPair = await comparePair(
      'in-app meter() + instrumented fetch vs plain fetch',
      appBare,
      appMetered,
      CHAT_BODY,
    );
    const contextPair = await comparePair(
      'plain route in an AsyncLocalStorage context (no tokenmeter) vs plain route',
      appBare,
      appContext,
      CHAT_BODY,
    );
    const appOverContextPair = await comparePair(
      'in-app meter() + instrumented fetch vs plain route in an AsyncLocalStorage context',
      appContext,
      appMetered,
      CHAT_BODY,
    );
    const parsePair = await comparePair(
      'buffering and parsing proxy (no metering) vs plain pass-through',
      proxyBare,
      proxyParse,
      CHAT_BODY,
    );
    const noisePair = await comparePair(
      'plain pass-through vs an identical second one (noise floor)',
      proxyBare,
      proxyBareAgain,
      CHAT_BODY,
    );
    const floorPair = await comparePair(
      'metered proxy vs raw http pipe (the floor)',
      proxyRaw,
      proxyMetered,
      CHAT_BODY,
    );
    const budgetOverProxyPair = await comparePair(
      'metered proxy with a budget vs without',
      proxyMetered,
      proxyBudget,
      CHAT_BODY,
    );
    const portkeyPair =
      'child' in portkey
        ? await comparePair('Portkey gateway vs raw http pipe', proxyRaw, portkey, CHAT_BODY)
        : portkey;
    const sdkPair = await comparePair(
      'in-app meter() + wrapOpenAI vs the plain openai SDK',
      sdkBare,
      sdkMetered,
      CHAT_BODY,
    );
    const peerPairs = [];
    for (const peer of sdkPeers) {
      peerPairs.push({
        ...peer,
        pair:
          'child' in peer.app
            ? await comparePair(`${peer.mode} vs the plain openai SDK`, sdkBare, peer.app, CHAT_BODY)
            : peer.app,
      });
    }

    log(`overhead: metered proxy vs raw http pipe, upstream answering after ${MODEL_DELAY_MS} ms`);
    const modelLoad = {
      connections: MODEL_CONNECTIONS,
      headers: { ...HEADERS, 'x-bench-delay-ms': String(MODEL_DELAY_MS) },
    };
    const modelRuns: Record<'bare' | 'metered', ThroughputRun[]> = { bare: [], metered: [] };
    for (let round = 0; round < MODEL_ROUNDS; round++) {
      for (const [app, side] of alternating(round, proxyRaw, proxyMetered)) {
        modelRuns[side].push(await throughput(app, MODEL_SECONDS, modelLoad));
      }
    }
    const modelRps = (side: 'bare' | 'metered') => median(modelRuns[side].map((run) => run.rps));
    const modelCpu = (side: 'bare' | 'metered') => median(modelRuns[side].map((run) => run.cpuMicros));
    const modelErrors = sum([...modelRuns.bare, ...modelRuns.metered].map((run) => run.errors));

    log('overhead: streaming time to first byte');
    const ttfb: Record<'bare' | 'metered' | 'bareStrip' | 'meteredStrip', number[][]> = {
      bare: [],
      metered: [],
      bareStrip: [],
      meteredStrip: [],
    };
    await sequential(proxyRaw, 50, STREAM_BODY, 'firstByte');
    await sequential(proxyMetered, 50, STREAM_BODY, 'firstByte');
    for (let round = 0; round < ROUNDS; round++) {
      for (const [app, side] of alternating(round, proxyRaw, proxyMetered)) {
        ttfb[side].push(await sequential(app, TTFB_REQUESTS, STREAM_BODY_WITH_USAGE, 'firstByte'));
        ttfb[side === 'bare' ? 'bareStrip' : 'meteredStrip'].push(
          await sequential(app, TTFB_REQUESTS, STREAM_BODY, 'firstByte'),
        );
      }
    }

    log('overhead: memory while 10 MB streams pass through');
    const memoryBare = await streamMemory(proxyBare);
    const memoryMetered = await streamMemory(proxyMetered);

    // Every metered request must have produced exactly one event: a meter that skips work is not measured.
    const proxyEvents = await proxyMetered.child.ask<number>('events');
    const appEvents = await appMetered.child.ask<number>('events');
    const proxyRequests =
      sum(proxyPair.metered.map((run) => run.requests)) +
      sum(modelRuns.metered.map((run) => run.requests)) +
      proxyPair.latencyMetered.flat().length +
      100 +
      50 +
      // The metered proxy is also the "with" side against the raw pipe and the "without" side of the budget pair.
      sum(floorPair.metered.map((run) => run.requests)) +
      floorPair.latencyMetered.flat().length +
      sum(budgetOverProxyPair.bare.map((run) => run.requests)) +
      budgetOverProxyPair.latencyBare.flat().length +
      200;
    const appRequests = [appPair, appOverContextPair].reduce(
      (total, pair) => total + sum(pair.metered.map((run) => run.requests)) + pair.latencyMetered.flat().length + 100,
      0,
    );

    const proxy = pairRows('metered proxy', proxyPair);
    const budget = pairRows('metered proxy + global budget', budgetPair);
    const inApp = pairRows('in-app `meter()` + instrumented fetch', appPair);
    const contextOnly = pairRows(
      'for reference: plain route in an AsyncLocalStorage context, no tokenmeter',
      contextPair,
    );
    const inAppOverContext = pairRows(
      "for reference: in-app `meter()` vs the plain route in an AsyncLocalStorage context (tokenmeter beyond Node's share)",
      appOverContextPair,
    );
    const parseOnly = pairRows(
      'for reference: proxy that buffers and parses both bodies as JSON, no tokenmeter',
      parsePair,
    );
    const noiseFloor = pairRows('for reference: a second, identical plain pass-through (noise floor)', noisePair);
    const floor = pairRows('metered proxy vs a raw `http` pipe (no Express: the floor of any proxy)', floorPair);
    const budgetOverProxy = pairRows(
      'metered proxy + global budget vs the metered proxy without one',
      budgetOverProxyPair,
    );
    const unavailableRow = (label: string, peer: Unavailable) => [
      label,
      `could not run here: ${peer.error.replaceAll('|', '\\|')}`,
      '',
      '',
      '',
      '',
      '',
      '',
    ];
    const portkeyRows =
      'error' in portkeyPair
        ? [unavailableRow('peer: Portkey AI gateway vs a raw `http` pipe', portkeyPair)]
        : pairRows('peer: Portkey AI gateway (`@portkey-ai/gateway`) vs a raw `http` pipe', portkeyPair).rows;
    const sdk = pairRows('in-app `meter()` + `wrapOpenAI` vs the plain `openai` SDK', sdkPair);
    const peerSummaries = peerPairs.map((peer) =>
      'error' in peer.pair
        ? {
            ...peer,
            rows: [unavailableRow(`peer: ${peer.label} vs the plain \`openai\` SDK`, peer.pair)],
            summary: undefined,
          }
        : { ...peer, ...pairRows(`peer: ${peer.label} vs the plain \`openai\` SDK`, peer.pair) },
    );
    const sdkEvents: string[] = [];
    for (const app of [sdkMetered, ...sdkPeers.map((peer) => peer.app)]) {
      if ('child' in app) sdkEvents.push(`${app.name} ${integer(await app.child.ask<number>('events'))}`);
    }
    const openllmetry = peerSummaries.find((peer) => peer.mode === 'sdk-openllmetry')?.summary;
    const cpuLimit = nodeMajor >= 24 ? 1.5 : 2.5;
    const floorCpuRatio = floor.summary.cpuMetered / floor.summary.cpuBare;
    const budgetCpuRatio = budgetOverProxy.summary.cpuMetered / budgetOverProxy.summary.cpuBare;
    const modelRatio = modelRps('metered') / modelRps('bare');

    const ttfbP99Added = roundPercentile(ttfb.metered, 99) - roundPercentile(ttfb.bare, 99);
    const ttfbStripP99Added = roundPercentile(ttfb.meteredStrip, 99) - roundPercentile(ttfb.bareStrip, 99);
    const ttfbRow = (label: string, bare: number[][], metered: number[][]) => [
      label,
      `${fixed(roundPercentile(bare, 50), 3)} → ${fixed(roundPercentile(metered, 50), 3)}`,
      `${fixed(roundPercentile(bare, 99), 3)} → ${fixed(roundPercentile(metered, 99), 3)} (${signed(roundPercentile(metered, 99) - roundPercentile(bare, 99), 3)})`,
    ];

    const markdown = [
      pinned
        ? `Fake upstream, app and load generator are three processes on 127.0.0.1; the app runs alone on CPU ${APP_CPU}, the upstream and the load generator share CPU ${LOAD_CPU} (\`taskset\`), so the app's throughput is bound by its own CPU time. Throughput:`
        : 'Fake upstream, app and load generator are three processes on 127.0.0.1, not pinned to CPUs (taskset unavailable or one CPU), so they compete for the same cores. Throughput:',
      `autocannon, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${THROUGHPUT_SECONDS} s per side (median shown).`,
      `Latency: ${ROUNDS} × ${LATENCY_REQUESTS} sequential requests per side on a kept-alive connection (timed with`,
      '`performance.now()`, sub-millisecond; autocannon histograms are whole milliseconds); p50 and p99 are taken per',
      "round and the median over rounds is shown (one stall of the shared machine moves one round, not the result). CPU: the app process's",
      '`process.cpuUsage()` delta over a throughput run ÷ requests served. The upstream reports usage in every answer.',
      '',
      table(
        ['setup', 'req/s without', 'req/s with', 'ratio', 'p50 ms', 'p99 ms', 'CPU µs/request', 'errors'],
        [
          ...proxy.rows,
          ...budget.rows,
          ...inApp.rows,
          ...contextOnly.rows,
          ...inAppOverContext.rows,
          ...parseOnly.rows,
          ...noiseFloor.rows,
          ...floor.rows,
          ...budgetOverProxy.rows,
          ...portkeyRows,
          ...sdk.rows,
          ...peerSummaries.flatMap((peer) => peer.rows),
        ],
      ),
      '',
      `CPU per call against the floor: the metered proxy ${fixed(floorCpuRatio, 2)}× the raw pipe's; with a budget ${fixed(budgetCpuRatio, 2)}× the proxy without one.` +
        (openllmetry
          ? ` In-app added CPU per call: tokenmeter ${signed(sdk.summary.addedCpu)} µs, OpenLLMetry ${signed(openllmetry.addedCpu)} µs.`
          : ''),
      '',
      `The peers run on the same fake upstream and the same Express app, alternating with their plain side. The OpenTelemetry-based ones export to a no-op exporter behind a batch processor; spans (and tokenmeter's events) counted: ${sdkEvents.join(', ')}. What each does with a call besides timing it:`,
      '',
      table(['', 'computes cost', 'enforces budgets'], PEER_FACTS),
      '',
      'CPU per request: the median over rounds, and the lowest and highest difference of one round with its alternating partner.',
      '',
      "The reference rows are not targets. The AsyncLocalStorage row is Node's share of the in-app cost: `meter()` finds the request of each AI call through an AsyncLocalStorage context, and on Node " +
        `${nodeMajor} entering one makes every promise the request creates (\`fetch\` makes dozens) run a hook. ` +
        'The in-app row against such a context is what `meter()` adds in an app that already runs one (OpenTelemetry and many loggers do). ' +
        'The parsing proxy does what any metering proxy must at least do (read both bodies whole and parse them): the difference between it and the metered proxy is tokenmeter. ' +
        'The identical pass-through shows how far apart two runs of the same code land here: differences of that size mean nothing.',
      '',
      `With an upstream that answers after ${MODEL_DELAY_MS} ms (a fast model; real calls take 0.3–30 s) and ${MODEL_CONNECTIONS} connections, ${MODEL_ROUNDS} alternating rounds of ${MODEL_SECONDS} s per side, the proxy is no longer CPU-bound and throughput is the upstream's:`,
      '',
      table(
        ['setup', 'req/s without', 'req/s with', 'ratio', 'CPU µs/request', 'errors'],
        [
          [
            `metered proxy vs raw \`http\` pipe, upstream answering in ${MODEL_DELAY_MS} ms`,
            integer(modelRps('bare')),
            integer(modelRps('metered')),
            fixed(modelRps('metered') / modelRps('bare'), 3),
            `${fixed(modelCpu('bare'), 0)} → ${fixed(modelCpu('metered'), 0)} (${signed(modelCpu('metered') - modelCpu('bare'))})`,
            modelErrors,
          ],
        ],
      ),
      '',
      `Events recorded: metered proxy ${integer(proxyEvents)} for ${integer(proxyRequests)} measured requests (plus warm-up runs); in-app ${integer(appEvents)} for ${integer(appRequests)}.`,
      '',
      `Streaming (Chat Completions, 5 content chunks, ${ROUNDS} × ${TTFB_REQUESTS} sequential streams per side): time to first body byte, ms (percentiles per round, median over rounds).`,
      '',
      table(
        ['client', 'p50 raw pipe → metered', 'p99 raw pipe → metered'],
        [
          ttfbRow('asks for usage (`stream_options.include_usage`): pass-through', ttfb.bare, ttfb.metered),
          ttfbRow('does not ask: tokenmeter asks and strips the usage chunk', ttfb.bareStrip, ttfb.meteredStrip),
        ],
      ),
      '',
      `Memory of the app process while two ${integer(memoryMetered.bytes / 1024 / 1024)} MB streams pass through (peak − before): live heap is \`heapUsed\` right after a full collection, sampled every 20 ms (what the process holds on to; garbage awaiting collection is not counted), RSS sampled alongside.`,
      '',
      table(
        ['setup', 'RSS growth MB', 'live heap growth MB', 'samples'],
        [
          [
            'plain pass-through',
            fixed(memoryBare.rssGrowthMb, 1),
            fixed(memoryBare.heapGrowthMb, 2),
            memoryBare.samples,
          ],
          [
            'metered proxy',
            fixed(memoryMetered.rssGrowthMb, 1),
            fixed(memoryMetered.heapGrowthMb, 2),
            memoryMetered.samples,
          ],
        ],
      ),
    ].join('\n');

    const targets: TargetResult[] = [
      {
        name: 'metered proxy req/s ratio',
        target: '≥ 0.95',
        measured: fixed(proxy.summary.ratio, 3),
        met: proxy.summary.ratio >= 0.95,
      },
      {
        name: 'in-app meter req/s ratio',
        target: '≥ 0.95',
        measured: fixed(inApp.summary.ratio, 3),
        met: inApp.summary.ratio >= 0.95,
      },
      {
        name: 'metered proxy added p99 latency',
        target: '≤ 1 ms',
        measured: `${signed(proxy.summary.addedP99, 3)} ms`,
        met: proxy.summary.addedP99 <= 1,
      },
      {
        name: 'in-app meter added p99 latency',
        target: '≤ 1 ms',
        measured: `${signed(inApp.summary.addedP99, 3)} ms`,
        met: inApp.summary.addedP99 <= 1,
      },
      {
        name: 'metered proxy CPU per request (added)',
        target: '≤ 50 µs',
        measured: `${signed(proxy.summary.addedCpu)} µs`,
        met: proxy.summary.addedCpu <= 50,
      },
      {
        name: 'in-app meter CPU per request (added)',
        target: '≤ 50 µs',
        measured: `${signed(inApp.summary.addedCpu)} µs`,
        met: inApp.summary.addedCpu <= 50,
      },
      {
        name: 'streaming TTFB p99 vs raw pipe (pass-through)',
        target: '≤ +0.5 ms',
        measured: `${signed(ttfbP99Added, 3)} ms`,
        met: ttfbP99Added <= 0.5,
      },
      {
        name: 'streaming TTFB p99 vs raw pipe (usage chunk stripped)',
        target: '≤ +0.5 ms',
        measured: `${signed(ttfbStripP99Added, 3)} ms`,
        met: ttfbStripP99Added <= 0.5,
      },
      {
        name: 'metered proxy CPU per call vs raw pipe',
        target: `≤ ${cpuLimit}×`,
        measured: `${fixed(floorCpuRatio, 2)}× (${fixed(floor.summary.cpuBare, 0)} → ${fixed(floor.summary.cpuMetered, 0)} µs)`,
        met: floorCpuRatio <= cpuLimit,
      },
      {
        name: 'metered proxy + budget CPU per call vs without',
        target: '≤ 1.3×',
        measured: `${fixed(budgetCpuRatio, 2)}×`,
        met: budgetCpuRatio <= 1.3,
      },
      {
        name: `metered proxy req/s vs raw pipe, upstream ${MODEL_DELAY_MS} ms, ${MODEL_CONNECTIONS} connections`,
        target: '≥ 0.99×',
        measured: `${fixed(modelRatio, 3)}×`,
        met: modelRatio >= 0.99,
      },
      {
        name: 'in-app meter() + wrapOpenAI added CPU vs OpenLLMetry',
        target: 'below',
        measured: openllmetry
          ? `${signed(sdk.summary.addedCpu)} vs ${signed(openllmetry.addedCpu)} µs`
          : 'OpenLLMetry could not run (see its row)',
        met: openllmetry !== undefined && sdk.summary.addedCpu < openllmetry.addedCpu,
      },
      {
        name: 'memory while 10 MB streams pass through (live heap growth)',
        target: 'flat: ≤ pass-through + 1 MB',
        measured: `${fixed(memoryMetered.heapGrowthMb, 2)} MB (pass-through: ${fixed(memoryBare.heapGrowthMb, 2)} MB; RSS ${fixed(memoryMetered.rssGrowthMb, 1)} vs ${fixed(memoryBare.rssGrowthMb, 1)} MB)`,
        met: memoryMetered.heapGrowthMb <= memoryBare.heapGrowthMb + 1,
      },
    ];
    return {
      title: `Middleware overhead (Node ${nodeVersion})`,
      markdown,
      targets: targets.map((target) => ({ ...target, name: `${target.name} [Node ${nodeMajor}]` })),
    };
  } finally {
    await Promise.all(apps.map((app) => app.child.stop()));
    await upstreamChild.stop();
    agent.destroy();
    // The benchmarks that follow (stores, PR check) get every CPU back.
    pinToCpus(
      process.pid,
      os.cpus().map((_, index) => index),
    );
  }
}
