import { isUtf8 } from 'node:buffer';
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { NormalizedUsage } from '@tokenmeter/core';
import type { NextFunction, Request, Response } from 'express';
import {
  AiCall,
  emptyBuckets,
  estimateUsage,
  identifyProvider,
  isObject,
  maximumAmounts,
  mergeCutUsage,
  type Operation,
  outputTextOf,
  usageFromResponse,
  withStreamUsage,
} from './ai-call';
import {
  applicableBudgets,
  type BudgetHold,
  endBudgetHold,
  notifyBudgetWarnings,
  rejectionResponse,
  reserveForCall,
  unpricedRefusalResponse,
} from './budget-enforcer';
import { sendError, streamErrorEvent } from './error-response';
import { describeError, HELP_BASE, type ProxyConfig, parseProxyOptions } from './meter-config';
import type { Identity, MeteredProxyOptions } from './meter-options';
import { isAnthropicRoute, resolveRoute } from './proxy-routes';
import { SseTap } from './sse-tap';
import { StoreUnavailableError } from './store-unavailable-error';
import type { UsageEvent } from './types';
import { buildRejectedEvent, buildUsageEvent, usageHeaders } from './usage-event';

/** An Express handler that forwards AI API calls upstream and meters them. */
export interface MeteredProxy {
  (req: Request, res: Response, next: NextFunction): void;
  /** Resolves when every event recorded so far has reached the store. */
  flush(): Promise<void>;
  /** Flushes and closes idle upstream connections (the store stays open: it is the app's). */
  close(): Promise<void>;
}

// Hop-by-hop headers belong to one connection and are never forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'expect',
]);

/**
 * An OpenAI-compatible metering pass-through: mount it where the SDK's base URL points
 * (`app.use('/v1', meteredProxy({ upstream }))`). Chat Completions, Responses, Embeddings and Completions
 * go to `upstream`, Anthropic's `/messages` to `anthropicUpstream`. Every path is first brought to its one
 * canonical spelling (see `resolveRoute`); endpoints on the free list are forwarded as they are, endpoints the
 * proxy cannot meter are refused when a budget applies (unless `forwardUnmetered`).
 */
export function meteredProxy(options?: MeteredProxyOptions): MeteredProxy {
  const config = parseProxyOptions(options);
  const agents = {
    http: new http.Agent({ keepAlive: true }),
    https: new https.Agent({ keepAlive: true }),
  };
  const background = new BackgroundResponses(config.backgroundSettleMs);
  const handler = (req: Request, res: Response, next: NextFunction): void => {
    const url = req.url;
    const queryAt = url.indexOf('?');
    const resolved = resolveRoute(req.method, queryAt === -1 ? url : url.slice(0, queryAt));
    if (!resolved.ok) {
      req.resume();
      sendError(res, 400, 'invalid_request_error', resolved.code, resolved.message);
      return;
    }
    const target: ProxyTarget = {
      path: resolved.path,
      query: queryAt === -1 ? '' : url.slice(queryAt),
      // The mount's spelling too: `/V1/chat/completions` must count toward the same route budget as `/v1/…`.
      route: `${req.baseUrl.toLowerCase()}${resolved.path}`,
      label: resolved.label,
    };
    let run: Promise<void>;
    if (resolved.kind === 'metered' && resolved.operation) {
      run = meterCall(config, agents, req, res, resolved.operation, target, background);
    } else if (resolved.kind === 'retrieve' && resolved.id !== undefined && background.has(resolved.id)) {
      run = retrieveResponse(config, agents, req, res, target, background, resolved.id);
    } else if (resolved.kind === 'unmetered') {
      run = unmeteredCall(config, agents, req, res, target);
    } else {
      run = forwardUnmetered(config, agents, req, res, target);
    }
    run.catch((error: unknown) => {
      if (res.headersSent) res.destroy();
      else next(error);
    });
  };
  return Object.assign(handler, {
    flush: () => config.sink.flush(),
    close: async () => {
      background.expireAll();
      await config.sink.flush();
      agents.http.destroy();
      agents.https.destroy();
    },
  });
}

/** A request's canonical destination: mount-relative path, the query as sent, the route events carry. */
interface ProxyTarget {
  path: string;
  query: string;
  route: string;
  /** Low-cardinality endpoint name for logs and metrics. */
  label: string;
}

type Agents = { http: http.Agent; https: https.Agent };

interface UpstreamTarget {
  secure: boolean;
  hostname: string;
  port: string;
  /** Path and query string. */
  path: string;
}

/** Where a request goes: string work only, since this runs on every request. */
function upstreamFor(config: ProxyConfig, req: Request, target: ProxyTarget): UpstreamTarget {
  const path = target.path;
  const anthropic = isAnthropicRoute(path, req.headers);
  const base = anthropic ? config.anthropicUpstream : config.upstream;
  // A URL without a path (`https://api.anthropic.com`) has the pathname `/`: joined as it is, calls went to `//v1/…`.
  const basePath = base.pathname === '/' ? '' : base.pathname;
  return {
    secure: base.protocol === 'https:',
    // URL keeps IPv6 hosts in brackets; the http module wants them bare.
    hostname: base.hostname.startsWith('[') ? base.hostname.slice(1, -1) : base.hostname,
    port: base.port,
    path: `${basePath}${anthropic ? '/v1' : ''}${path}${target.query}`,
  };
}

function forwardedHeaders(headers: IncomingHttpHeaders, bodyLength: number | undefined): OutgoingHttpHeaders {
  const result: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    result[name] = value;
  }
  if (bodyLength !== undefined) {
    result['content-length'] = String(bodyLength);
    // tokenmeter reads the response to find its usage: ask for it uncompressed.
    result['accept-encoding'] = 'identity';
  }
  return result;
}

function responseHeaders(upstream: IncomingMessage, dropLength: boolean): OutgoingHttpHeaders {
  const result: OutgoingHttpHeaders = {};
  const headers = upstream.headers;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || (dropLength && name === 'content-length')) continue;
    result[name] = value;
  }
  return result;
}

function sendUpstream(
  agents: Agents,
  target: UpstreamTarget,
  method: string,
  headers: OutgoingHttpHeaders,
  timeoutMs: number,
): http.ClientRequest {
  const secure = target.secure;
  const request = (secure ? https : http).request({
    hostname: target.hostname,
    port: target.port,
    path: target.path,
    method,
    headers,
    agent: secure ? agents.https : agents.http,
  });
  // An inactivity timer of our own rather than the socket's: after the event loop stalled, timers run before
  // pending I/O is read, so the check is made once the I/O phase has run (bytes that arrived in time are not
  // mistaken for silence), and it re-arms itself for the idle time still left.
  let lastActivity = performance.now();
  const touch = () => {
    lastActivity = performance.now();
  };
  request.on('response', (response: IncomingMessage) => {
    touch();
    response.on('data', touch);
  });
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    timer = undefined;
    setImmediate(() => {
      if (request.destroyed) return;
      const idle = performance.now() - lastActivity;
      if (idle < timeoutMs) {
        timer = setTimeout(check, Math.max(1, timeoutMs - idle));
        return;
      }
      timedOut.add(request);
      request.destroy(new UpstreamTimeout());
    });
  };
  timer = setTimeout(check, timeoutMs);
  request.on('close', () => {
    if (timer) clearTimeout(timer);
  });
  return request;
}

/** Upstream requests ended by the inactivity timeout: their response may report the cut before the request does. */
const timedOut = new WeakSet<http.ClientRequest>();

function isTimeout(state: CallState, error: Error | undefined): boolean {
  return error instanceof UpstreamTimeout || (state.upstream !== undefined && timedOut.has(state.upstream));
}

class UpstreamTimeout extends Error {
  readonly code = 'UPSTREAM_TIMEOUT';
}

/**
 * An endpoint the proxy cannot read usage from. Under a budget it is refused (the budget could not see what it
 * spends); otherwise, or with `forwardUnmetered`, it is forwarded, logged once per endpoint and counted.
 */
async function unmeteredCall(
  config: ProxyConfig,
  agents: Agents,
  req: Request,
  res: Response,
  target: ProxyTarget,
): Promise<void> {
  if (!config.forwardUnmetered && config.budgets.length > 0) {
    const identity = config.identify ? await config.identify(req) : undefined;
    if (applicableBudgets(config.budgets, identity, target.route).length > 0) {
      req.resume();
      observeUnmetered(config, target, 'refused');
      sendError(
        res,
        403,
        'invalid_request_error',
        'unmetered_endpoint',
        `${req.method} ${target.route} is not an endpoint tokenmeter can meter, and a budget applies to this request: ` +
          'it is refused so that spending cannot bypass the budget. Start the proxy with --forward-unmetered ' +
          '(forwardUnmetered: true) to forward such requests anyway.',
      );
      return;
    }
  }
  observeUnmetered(config, target, 'forwarded');
  await forwardUnmetered(config, agents, req, res, target);
}

function observeUnmetered(config: ProxyConfig, target: ProxyTarget, outcome: 'forwarded' | 'refused'): void {
  if (outcome === 'forwarded') {
    const logged = unmeteredLogged.get(config) ?? new Set<string>();
    unmeteredLogged.set(config, logged);
    // Once per endpoint, and a bounded set: made-up paths cannot flood the log or the memory.
    if (!logged.has(target.label) && logged.size < 200) {
      logged.add(target.label);
      try {
        config.logger.warn(
          `tokenmeter [UNMETERED_FORWARD]: ${target.label} is forwarded without metering; its cost is not recorded or budgeted. See ${HELP_BASE}#unmetered-forward`,
        );
      } catch {
        // A broken logger must not break a request.
      }
    }
  }
  try {
    config.metrics?.observeUnmetered?.(target.label, outcome);
  } catch (error) {
    config.warnOnce('EVENT_OBSERVER_FAILED', `a metrics observer threw: ${describeError(error)}.`);
  }
}

const unmeteredLogged = new WeakMap<ProxyConfig, Set<string>>();

/** Free endpoints (model lists, token counting, reading jobs) and allowed unmetered ones go through untouched. */
async function forwardUnmetered(
  config: ProxyConfig,
  agents: Agents,
  req: Request,
  res: Response,
  target: ProxyTarget,
): Promise<void> {
  const upstreamTarget = upstreamFor(config, req, target);
  const headers = forwardedHeaders(req.headers, undefined);
  const parsedBody = bodyAlreadyRead(req);
  if (parsedBody !== undefined) headers['content-length'] = String(parsedBody.length);
  else if (req.headers['content-length'] !== undefined) headers['content-length'] = req.headers['content-length'];
  const upstream = sendUpstream(agents, upstreamTarget, req.method, headers, config.upstreamTimeoutMs);
  upstream.on('response', (response) => {
    res.writeHead(response.statusCode ?? 502, responseHeaders(response, false));
    response.pipe(res);
    response.on('error', () => res.destroy());
  });
  upstream.on('error', (error) => upstreamFailure(res, error));
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  if (parsedBody !== undefined) upstream.end(parsedBody);
  else req.pipe(upstream);
}

function upstreamFailure(res: Response, error: Error): void {
  if (error instanceof UpstreamTimeout) {
    sendError(res, 504, 'upstream_error', 'upstream_timeout', 'The upstream API did not answer in time.');
  } else {
    sendError(
      res,
      502,
      'upstream_error',
      'upstream_unreachable',
      `The upstream API could not be reached (${errorCode(error)}).`,
    );
  }
}

function errorCode(error: Error): string {
  return (error as NodeJS.ErrnoException).code ?? error.name;
}

/** A body another middleware (express.json(), express.raw()) already consumed, re-serialized. */
function bodyAlreadyRead(req: Request): Buffer | undefined {
  const body: unknown = req.body;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string' && req.readableEnded) return Buffer.from(body);
  if (isObject(body) && req.readableEnded) return Buffer.from(JSON.stringify(body));
  return undefined;
}

type BodyResult = { ok: true; body: Buffer } | { ok: false; status: 400 | 413; code: string; message: string };

function readBody(req: Request, limit: number): Promise<BodyResult> {
  const already = bodyAlreadyRead(req);
  if (already !== undefined) {
    return Promise.resolve(already.length > limit ? tooLarge(limit) : { ok: true, body: already });
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve(tooLarge(limit));
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let done = false;
    const finish = (result: BodyResult) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) {
        // Discard the rest so the 413 reaches the client rather than a reset connection.
        req.resume();
        finish(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    // `on`, not `once`: `finish` runs only once anyway, and these listeners die with the request.
    req.on('end', () =>
      finish({ ok: true, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length) }),
    );
    req.on('error', () =>
      finish({ ok: false, status: 400, code: 'request_aborted', message: 'The request body could not be read.' }),
    );
    req.on('close', () =>
      finish({ ok: false, status: 400, code: 'request_aborted', message: 'The request body was cut short.' }),
    );
  });
}

function tooLarge(limit: number): BodyResult {
  return {
    ok: false,
    status: 413,
    code: 'request_too_large',
    message: `The request body is larger than ${limit} bytes (the proxy's maxBodyBytes).`,
  };
}

/** One metered call through the proxy: read, identify, reserve, forward, observe, settle, record. */
async function meterCall(
  config: ProxyConfig,
  agents: Agents,
  req: Request,
  res: Response,
  operation: Operation,
  target: ProxyTarget,
  background: BackgroundResponses,
): Promise<void> {
  const started = performance.now();
  const bodyResult = await readBody(req, config.maxBodyBytes);
  if (!bodyResult.ok) {
    sendError(res, bodyResult.status, 'invalid_request_error', bodyResult.code, bodyResult.message);
    return;
  }
  let parsed: unknown;
  try {
    // toString() would turn invalid UTF-8 into U+FFFD and forward the bytes as if they were valid.
    if (!isUtf8(bodyResult.body)) throw new SyntaxError('invalid UTF-8');
    parsed = JSON.parse(bodyResult.body.toString('utf8'));
  } catch {
    sendError(res, 400, 'invalid_request_error', 'invalid_json', 'The request body is not valid JSON.');
    return;
  }
  if (!isObject(parsed)) {
    sendError(res, 400, 'invalid_request_error', 'invalid_json', 'The request body must be a JSON object.');
    return;
  }
  const call = new AiCall(operation, parsed, bodyResult.body.length);
  const requestId = config.requestId(req);
  const route = target.route;
  const identity: Identity | undefined = config.identify ? await config.identify(req) : undefined;

  let hold: BudgetHold | undefined;
  const applied = config.budgets.length > 0 ? applicableBudgets(config.budgets, identity, route) : [];
  if (applied.length > 0) {
    let result: Awaited<ReturnType<typeof reserveForCall>>;
    try {
      result = await reserveForCall(config, call, applied);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) {
        config.warnOnce('STORE_RESERVE_FAILED', `budget reservation failed: ${describeError(error)}.`);
      }
      sendError(
        res,
        503,
        'service_unavailable',
        'store_unavailable',
        'Budgets cannot be checked right now; retry shortly.',
        {
          'retry-after': '1',
        },
      );
      return;
    }
    if (!result.ok && 'refusal' in result) {
      const { status, headers, body } = unpricedRefusalResponse(result.refusal);
      res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
      const unpriced = { policy: 'refuse' as const };
      const event = buildRejectedEvent(config, { call, requestId, route, identity, unpriced }, started);
      config.sink.record(event, { budgetScope: result.refusal.scope });
      return;
    }
    if (!result.ok) {
      const { headers, body } = rejectionResponse(result.rejection);
      res.writeHead(429, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
      const unpriced = result.unpriced;
      const event = buildRejectedEvent(
        config,
        { call, requestId, route, identity, ...(unpriced ? { unpriced } : {}) },
        started,
      );
      config.sink.record(event, { budgetScope: result.rejection.scope });
      return;
    }
    hold = result.hold;
    notifyBudgetWarnings(config, hold);
  }

  // Streamed Chat Completions only report usage when asked; ask, and hide the answer from clients that did not.
  let body = bodyResult.body;
  const streamOptions = isObject(parsed.stream_options) ? parsed.stream_options : undefined;
  const stripUsageChunk =
    operation === 'chat' && call.streamRequested && config.requestStreamUsage && streamOptions?.include_usage !== true;
  if (stripUsageChunk) {
    body = withStreamUsage(body, parsed);
  }

  const state = new CallState(config, call, requestId, route, identity, hold, started);
  if (operation === 'responses' && parsed.background === true) state.background = background;
  const upstreamTarget = upstreamFor(config, req, target);
  identifyProvider(call, upstreamTarget.hostname, config.resolveModel);
  // Anthropic-shaped calls go to their own upstream; the named provider is the OpenAI-compatible one's.
  if (config.upstreamProvider !== undefined && call.format !== 'anthropic') call.provider = config.upstreamProvider;
  const upstream = sendUpstream(
    agents,
    upstreamTarget,
    'POST',
    forwardedHeaders(req.headers, body.length),
    config.upstreamTimeoutMs,
  );
  state.upstream = upstream;

  res.on('close', () => {
    if (res.writableFinished) return;
    upstream.destroy();
    if (state.deferToBackground()) return;
    void state.finish(res.headersSent ? res.statusCode : 499, 'client_abort');
  });
  upstream.on('error', (error) => {
    if (state.done) return;
    if (state.responseStarted) return; // the response's own handlers deal with a cut stream
    upstreamFailure(res, error);
    void state.finish(res.statusCode, error instanceof UpstreamTimeout ? 'timeout' : 'upstream_error', {
      noTokens: true,
    });
  });
  upstream.on('response', (response) => {
    state.responseStarted = true;
    const status = response.statusCode ?? 502;
    const isStream = /^text\/event-stream/i.test(String(response.headers['content-type'] ?? ''));
    if (status >= 400) {
      // Errors reach the client exactly as the upstream sent them; nothing was generated, so nothing is spent.
      res.writeHead(status, responseHeaders(response, false));
      response.pipe(res);
      response.on('end', () => void state.finish(status, 'upstream_error', { noTokens: true }));
      response.on('error', () => res.destroy());
      return;
    }
    if (isStream) relayStream(config, state, response, res, status, stripUsageChunk);
    else relayJson(config, state, response, res, status);
  });
  upstream.end(body);
}

/**
 * What one call has seen so far, and the single place it ends: exactly one event is recorded and the
 * reservation is settled or released exactly once, however the call ends.
 */
interface FinishOptions {
  /** Nothing was generated: no usage, the reservation is released. */
  noTokens?: boolean;
  /** The usage to record instead of what was seen. */
  usage?: NormalizedUsage;
  /** Settle the budget at the reserved (maximum) amount rather than at the usage's cost. */
  settleAtReserved?: boolean;
}

class CallState {
  done = false;
  /** Set for `background: true` Responses calls: where the call waits for its result to be retrieved. */
  background: BackgroundResponses | undefined;
  /** Handed to `background` to wait for its result: the request's own ending no longer finishes it. */
  deferred = false;
  responseStarted = false;
  upstream: http.ClientRequest | undefined;
  tap: SseTap | undefined;
  /** Non-streamed upstream body once fully read. */
  json: unknown;
  jsonRead = false;

  constructor(
    readonly config: ProxyConfig,
    readonly call: AiCall,
    readonly requestId: string,
    readonly route: string,
    readonly identity: Identity | undefined,
    readonly hold: BudgetHold | undefined,
    readonly started: number,
  ) {}

  /**
   * A background call whose stream ended, broke or was abandoned before its usage arrived goes on running
   * upstream: it waits for its result like a queued one rather than being booked at what was seen (a client
   * could otherwise cut the stream at once and fetch the whole answer later for the price of its prompt).
   */
  deferToBackground(): boolean {
    if (this.deferred) return true;
    const id = this.tap?.responseId;
    if (this.done || !this.background || id === undefined || this.tap?.usage !== undefined) return false;
    this.deferred = true;
    this.background.hold(id, this);
    return true;
  }

  /**
   * Builds the event for how the call ended, settles the budget and hands the event to the sink. The first
   * call wins (synchronously); counting, when the usage must be estimated, runs without blocking the loop.
   * Never rejects: a failure is logged once and the reservation is left to expire.
   */
  finish(status: number, error?: UsageEvent['error'], options: FinishOptions = {}): Promise<UsageEvent | undefined> {
    const result = this.finishNow(status, error, options);
    return result instanceof Promise ? result : Promise.resolve(result);
  }

  /**
   * `finish()`, synchronous when the usage is at hand (reported, or no tokens spent): the common case then
   * builds and hands on its event without a chain of promises. A promise only when tokens must be counted.
   */
  finishNow(
    status: number,
    error?: UsageEvent['error'],
    options: FinishOptions = {},
  ): UsageEvent | undefined | Promise<UsageEvent | undefined> {
    if (this.done) return undefined;
    this.done = true;
    const failed = (failure: unknown) => {
      this.config.warnOnce('EVENT_BUILD_FAILED', `a usage event could not be built: ${describeError(failure)}.`);
      return undefined;
    };
    try {
      const usage = options.noTokens ? undefined : (options.usage ?? this.usage(error));
      const atReserved = options.settleAtReserved === true;
      if (usage instanceof Promise) {
        return usage.then((counted) => this.complete(status, error, counted, atReserved)).catch(failed);
      }
      return this.complete(status, error, usage, atReserved);
    } catch (failure) {
      return failed(failure);
    }
  }

  private usage(
    error: UsageEvent['error'] | undefined,
  ): NormalizedUsage | undefined | Promise<NormalizedUsage | undefined> {
    const { call, tap } = this;
    if (tap) {
      const reported = tap.usage;
      if (reported === undefined) {
        return estimateUsage(call, tap.outputText, tap.accumulator.model, tap.skippedOutputTokens);
      }
      return error === undefined ? reported : mergeCutUsage(call, reported, tap.outputText, tap.skippedOutputTokens);
    }
    if (this.jsonRead) {
      return usageFromResponse(call, this.json) ?? estimateUsage(call, outputTextOf(call, this.json));
    }
    return estimateUsage(call, '');
  }

  private complete(
    status: number,
    error: UsageEvent['error'] | undefined,
    usage: NormalizedUsage | undefined,
    settleAtReserved: boolean,
  ): UsageEvent {
    const { config, call } = this;
    const { event, cost } = buildUsageEvent(config, {
      call,
      requestId: this.requestId,
      route: this.route,
      identity: this.identity,
      usage,
      ...(this.hold?.unpriced ? { unpriced: this.hold.unpriced } : {}),
      status,
      streamed: this.tap !== undefined,
      durationMs: performance.now() - this.started,
      ...(error === undefined ? {} : { error }),
    });
    if (this.hold && settleAtReserved) {
      // No amounts: every store keeps the reserved amount, the most the call could have cost.
      Promise.resolve()
        .then(() => config.store.settle((this.hold as BudgetHold).reservationId, [], Date.now()))
        .catch((failure: unknown) =>
          config.warnOnce(
            'STORE_SETTLE_FAILED',
            `a budget reservation could not be settled: ${describeError(failure)}.`,
          ),
        );
    } else if (this.hold && endBudgetHold(config, this.hold, usage, cost)) {
      event.reservationExceeded = true;
    }
    config.sink.record(event);
    return event;
  }
}

function relayStream(
  config: ProxyConfig,
  state: CallState,
  response: IncomingMessage,
  res: Response,
  status: number,
  stripUsageChunk: boolean,
): void {
  const tap = new SseTap(state.call.format, {
    stripUsageChunk,
    ...(state.call.provider === undefined ? {} : { provider: state.call.provider }),
  });
  state.tap = tap;
  const headers = responseHeaders(response, stripUsageChunk);
  if (config.headers && state.hold) Object.assign(headers, state.hold.headers);
  res.writeHead(status, headers);
  res.flushHeaders();
  let ended = false;
  response.on('data', (chunk: Buffer) => {
    const out = tap.transform(chunk);
    if (out !== undefined && !res.write(out)) response.pause();
  });
  res.on('drain', () => response.resume());
  response.on('end', () => {
    ended = true;
    const rest = tap.finish();
    if (rest !== undefined) res.write(rest);
    res.end();
    if (state.deferToBackground()) return;
    void state.finish(status, tap.upstreamError ? 'upstream_error' : undefined);
  });
  const cut = (error?: Error) => {
    if (ended || state.done) return;
    ended = true;
    tap.finish();
    const reason = isTimeout(state, error) ? 'timeout' : 'stream_cut';
    if (!res.writableEnded && !res.destroyed) {
      if (tap.atEventBoundary) {
        res.end(
          streamErrorEvent(
            reason,
            reason === 'timeout'
              ? 'The upstream API stopped sending before the answer was complete (timeout).'
              : 'The upstream API closed the stream before the answer was complete.',
          ),
        );
      } else {
        res.destroy();
      }
    }
    if (state.deferToBackground()) return;
    void state.finish(status, reason);
  };
  response.on('error', cut);
  response.on('close', () => cut());
  state.upstream?.on('error', cut);
}

function relayJson(
  config: ProxyConfig,
  state: CallState,
  response: IncomingMessage,
  res: Response,
  status: number,
): void {
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  response.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    length += chunk.length;
  });
  response.on('end', () => {
    ended = true;
    const body = Buffer.concat(chunks, length);
    try {
      state.json = JSON.parse(body.toString('utf8'));
    } catch {
      // Malformed upstream JSON is passed through as it is; the call is recorded from the counted prompt.
      state.json = undefined;
    }
    state.jsonRead = true;
    const headers = responseHeaders(response, true);
    headers['content-length'] = String(length);
    const pendingId = state.background && !state.done ? unfinishedResponseId(state.json) : undefined;
    if (pendingId !== undefined && state.background) {
      // Queued in the background: the usage comes with the result. The reservation waits for it.
      state.deferred = true;
      state.background.hold(pendingId, state);
      if (config.headers && state.hold) Object.assign(headers, state.hold.headers);
      if (res.destroyed) return;
      res.writeHead(status, headers);
      res.end(body);
      return;
    }
    // The cost headers need the event; with reported usage it is built synchronously, here.
    const respond = (event: UsageEvent | undefined) => {
      if (config.headers && event) {
        Object.assign(headers, usageHeaders(event));
        if (state.hold) Object.assign(headers, state.hold.headers);
      }
      if (res.destroyed) return;
      res.writeHead(status, headers);
      res.end(body);
    };
    const event = state.finishNow(status);
    if (event instanceof Promise) void event.then(respond);
    else respond(event);
  });
  const cut = (error?: Error) => {
    if (ended || state.done) return;
    ended = true;
    const timeout = isTimeout(state, error);
    sendError(
      res,
      timeout ? 504 : 502,
      'upstream_error',
      timeout ? 'upstream_timeout' : 'upstream_reset',
      timeout ? 'The upstream API did not answer in time.' : 'The upstream API closed the connection mid-response.',
    );
    void state.finish(res.statusCode, timeout ? 'timeout' : 'stream_cut');
  };
  response.on('error', cut);
  response.on('close', () => cut());
  state.upstream?.on('error', cut);
}

/** Statuses after which a Responses API response changes no more (https://platform.openai.com/docs/api-reference/responses/object). */
const FINAL_STATUSES = new Set(['completed', 'failed', 'incomplete', 'cancelled']);

/** The id of a response that is still queued or running, from its JSON. */
function unfinishedResponseId(body: unknown): string | undefined {
  if (!isObject(body) || typeof body.id !== 'string' || body.id === '') return undefined;
  return typeof body.status === 'string' && !FINAL_STATUSES.has(body.status) ? body.id : undefined;
}

function finishedResponse(body: unknown): boolean {
  return isObject(body) && typeof body.status === 'string' && FINAL_STATUSES.has(body.status);
}

// Pending calls keep their request in memory until settled: bound how many can wait.
const MAX_PENDING_BACKGROUND = 10_000;

/**
 * `background: true` Responses calls waiting for their result, by response id. The reservation made when the
 * call was created (at its maximum) is settled at the reported usage when the finished response is retrieved
 * (`GET /responses/{id}`, plain or streamed, or a cancel). One never retrieved within `ttlMs` is settled at the
 * reserved maximum and recorded as estimated with `error: 'not_retrieved'`: its cost is unknown, never zero.
 */
class BackgroundResponses {
  private readonly pending = new Map<string, { state: CallState; timer: NodeJS.Timeout }>();

  constructor(private readonly ttlMs: number) {}

  has(id: string): boolean {
    return this.pending.has(id);
  }

  hold(id: string, state: CallState): void {
    // The prompt is not counted here: most results are retrieved with their usage, and only an expiry needs it.
    this.expire(id);
    if (this.pending.size >= MAX_PENDING_BACKGROUND) {
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.expire(oldest);
    }
    const timer = setTimeout(() => this.expire(id), this.ttlMs);
    timer.unref();
    this.pending.set(id, { state, timer });
  }

  /** The call waiting for `id`, handed out once. */
  take(id: string): CallState | undefined {
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    return entry.state;
  }

  expireAll(): void {
    for (const id of [...this.pending.keys()]) this.expire(id);
  }

  private expire(id: string): void {
    const state = this.take(id);
    if (!state) return;
    const { call, config } = state;
    const amounts = maximumAmounts(call, config.catalog, config.resolveModel(call.model), config.maxOutputTokens);
    // Recorded as the reservation was made: the bounded prompt and the most output it allowed.
    const input = amounts.inputTokens ?? call.promptTokens().tokens;
    void state.finish(200, 'not_retrieved', {
      usage: {
        ...emptyBuckets(),
        inputTokens: input,
        outputTokens: Math.max(0, amounts.tokens - input),
        estimated: true,
        format: call.format,
      },
      settleAtReserved: true,
    });
  }
}

/**
 * A retrieval of a background response started through this proxy: forwarded as it is, and read on the way.
 * A finished response (JSON, or a stream that reaches `response.completed` / `.incomplete` / `.failed`) settles
 * the waiting call; one still running leaves it waiting.
 */
async function retrieveResponse(
  config: ProxyConfig,
  agents: Agents,
  req: Request,
  res: Response,
  target: ProxyTarget,
  background: BackgroundResponses,
  id: string,
): Promise<void> {
  const headers = forwardedHeaders(req.headers, undefined);
  // tokenmeter reads the response to find its usage: ask for it uncompressed.
  headers['accept-encoding'] = 'identity';
  const parsedBody = bodyAlreadyRead(req);
  if (parsedBody !== undefined) headers['content-length'] = String(parsedBody.length);
  else if (req.headers['content-length'] !== undefined) headers['content-length'] = req.headers['content-length'];
  const upstream = sendUpstream(
    agents,
    upstreamFor(config, req, target),
    req.method,
    headers,
    config.upstreamTimeoutMs,
  );
  upstream.on('response', (response) => {
    const status = response.statusCode ?? 502;
    const isStream = /^text\/event-stream/i.test(String(response.headers['content-type'] ?? ''));
    response.on('error', () => res.destroy());
    if (status >= 300) {
      res.writeHead(status, responseHeaders(response, false));
      response.pipe(res);
      return;
    }
    if (isStream) {
      const tap = new SseTap('openai-responses');
      res.writeHead(status, responseHeaders(response, false));
      res.flushHeaders();
      response.on('data', (chunk: Buffer) => {
        const out = tap.transform(chunk);
        if (out !== undefined && !res.write(out)) response.pause();
      });
      res.on('drain', () => response.resume());
      response.on('end', () => {
        const rest = tap.finish();
        if (rest !== undefined) res.write(rest);
        res.end();
        if (tap.usage === undefined) return;
        const state = background.take(id);
        if (!state) return;
        state.tap = tap;
        void state.finish(200);
      });
      return;
    }
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => {
      const body = Buffer.concat(chunks);
      const out = responseHeaders(response, true);
      out['content-length'] = String(body.length);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        parsed = undefined;
      }
      const state = finishedResponse(parsed) ? background.take(id) : undefined;
      if (state) {
        // A call created as a stream and collected as JSON: the usage is in this body, not the old stream.
        state.tap = undefined;
        state.json = parsed;
        state.jsonRead = true;
        const event = state.finishNow(200);
        if (config.headers && event !== undefined && !(event instanceof Promise)) {
          Object.assign(out, usageHeaders(event));
        }
      }
      if (res.destroyed) return;
      res.writeHead(status, out);
      res.end(body);
    });
  });
  upstream.on('error', (error) => upstreamFailure(res, error));
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  if (parsedBody !== undefined) upstream.end(parsedBody);
  else req.pipe(upstream);
}
