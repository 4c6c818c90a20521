import { randomUUID } from 'node:crypto';
import type { NormalizedUsage } from '@tokenmeter/core';
import {
  AiCall,
  estimateUsage,
  isObject,
  mergeCutUsage,
  type Operation,
  outputTextOf,
  providerOfHost,
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
import { BufferedResponse } from './buffered-response';
import { describeError, type MeterConfig, parseMeterOptions } from './meter-config';
import { captureRoute, currentMeterContext, type MeterContext } from './meter-context';
import type { MeterOptions } from './meter-options';
import { SseTap } from './sse-tap';
import type { UsageEvent } from './types';
import { buildRejectedEvent, buildUsageEvent } from './usage-event';

type Fetch = typeof globalThis.fetch;

const PATH_OPERATIONS: Array<[string, Operation]> = [
  ['/chat/completions', 'chat'],
  ['/responses', 'responses'],
  ['/embeddings', 'embeddings'],
  ['/completions', 'completions'],
  ['/messages', 'messages'],
];
const GEMINI_PATH = /\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;
const BODY_DECODER = new TextDecoder();

interface DetectedCall {
  call: AiCall;
  /** The request body text, to rewrite when stream usage must be requested. */
  text: string;
  streamed: boolean;
}

/**
 * Wraps a `fetch` so AI API calls made through it are metered: inside a request handled under `meter()`
 * they join that request's context; elsewhere they are recorded with the `options` given here (or not
 * metered at all when none were given). Other requests pass through untouched.
 */
export function instrumentFetch(baseFetch: Fetch = globalThis.fetch, options?: MeterOptions): Fetch {
  if (typeof baseFetch !== 'function') throw new TypeError('instrumentFetch needs a fetch function');
  const fallback = options === undefined ? undefined : parseMeterOptions(options);
  // Not an async function: inside `meter()`'s AsyncLocalStorage context Node 20 runs a hook for every promise,
  // so the wrapper hands back fetch's own promise instead of wrapping it in another.
  const instrumented = (input: Parameters<Fetch>[0], init?: Parameters<Fetch>[1]): Promise<Response> => {
    try {
      const context = currentMeterContext();
      const config = context?.config ?? fallback;
      if (config === undefined) return baseFetch(input, init);
      const detected = detectCall(input, init);
      if (detected === undefined) return baseFetch(input, init);
      return meteredFetch(config, context, baseFetch, detected, input, init);
    } catch (error) {
      // fetch reports every failure as a rejected promise, never as a throw.
      return Promise.reject(error);
    }
  };
  return instrumented as Fetch;
}

function detectCall(input: Parameters<Fetch>[0], init: Parameters<Fetch>[1]): DetectedCall | undefined {
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  if (method !== 'POST') return undefined;
  const body = init?.body;
  const text = typeof body === 'string' ? body : body instanceof Uint8Array ? BODY_DECODER.decode(body) : undefined;
  if (text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  } catch {
    return undefined;
  }
  const path = url.pathname.replace(/\/+$/, '');
  let operation: Operation | undefined;
  let model: string | undefined;
  let streamed = false;
  const gemini = GEMINI_PATH.exec(path);
  if (gemini) {
    operation = 'generate_content';
    model = decodeURIComponent(gemini[1] ?? '');
    streamed = gemini[2] === 'streamGenerateContent';
  } else {
    operation = PATH_OPERATIONS.find(([suffix]) => path.endsWith(suffix))?.[1];
  }
  if (operation === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(parsed)) return undefined;
  const call = new AiCall(operation, parsed, text.length, model);
  call.provider = providerOfHost(url.hostname);
  return { call, text, streamed: streamed || call.streamRequested };
}

async function meteredFetch(
  config: MeterConfig,
  context: MeterContext | undefined,
  baseFetch: Fetch,
  detected: DetectedCall,
  input: Parameters<Fetch>[0],
  init: Parameters<Fetch>[1],
): Promise<Response> {
  const { call } = detected;
  call.provider ??= config.resolveModel(call.model)?.entry.provider;
  const started = performance.now();
  const requestId = context?.requestId ?? randomUUID();
  const route = context ? captureRoute(context) : '(background)';
  const identity = context?.identity;

  const record = (event: UsageEvent) => {
    if (context && !context.ended) context.events.push(event);
    else config.sink.record(event);
  };

  let hold: BudgetHold | undefined;
  const applied = config.budgets.length > 0 ? applicableBudgets(config.budgets, identity, route) : [];
  if (applied.length > 0) {
    const result = await reserveForCall(config, call, applied);
    if (!result.ok && 'refusal' in result) {
      const unpriced = { policy: 'refuse' as const };
      const event = buildRejectedEvent(config, { call, requestId, route, identity, unpriced }, started);
      config.sink.annotate(event, { budgetScope: result.refusal.scope });
      record(event);
      const { status, headers, body } = unpricedRefusalResponse(result.refusal);
      return new Response(body, { status, statusText: 'Forbidden', headers });
    }
    if (!result.ok) {
      const unpriced = result.unpriced;
      const event = buildRejectedEvent(
        config,
        { call, requestId, route, identity, ...(unpriced ? { unpriced } : {}) },
        started,
      );
      config.sink.annotate(event, { budgetScope: result.rejection.scope });
      record(event);
      // An answer, not a thrown error: SDKs turn a thrown fetch error into a retried connection error, while
      // a 429 with `x-should-retry: false` becomes their rate-limit error at once, with this body and headers.
      const { headers, body } = rejectionResponse(result.rejection);
      return new Response(body, {
        status: 429,
        statusText: 'Too Many Requests',
        headers: { ...headers, 'x-should-retry': 'false' },
      });
    }
    hold = result.hold;
    notifyBudgetWarnings(config, hold);
  }

  let done = false;
  const complete = (
    status: number,
    usage: NormalizedUsage | undefined,
    error: UsageEvent['error'] | undefined,
    streamed: boolean,
  ): void => {
    const { event, cost } = buildUsageEvent(config, {
      call,
      requestId,
      route: context ? captureRoute(context) : route,
      identity: context?.identity ?? identity,
      usage,
      ...(hold?.unpriced ? { unpriced: hold.unpriced } : {}),
      status,
      streamed,
      durationMs: performance.now() - started,
      ...(error === undefined ? {} : { error }),
    });
    if (hold && endBudgetHold(config, hold, usage, cost)) event.reservationExceeded = true;
    record(event);
  };
  const failed = (failure: unknown) =>
    config.warnOnce('EVENT_BUILD_FAILED', `a usage event could not be built: ${describeError(failure)}.`);
  // The first end wins. With the usage at hand (reported, or nothing spent) the event is built at once; an
  // estimate may count text, which runs without blocking the loop. Never throws, never rejects.
  const finish = (
    status: number,
    usage: NormalizedUsage | undefined | Promise<NormalizedUsage | undefined>,
    error?: UsageEvent['error'],
    streamed = false,
  ): void => {
    if (done) return;
    done = true;
    if (usage instanceof Promise) {
      usage.then((counted) => complete(status, counted, error, streamed)).catch(failed);
      return;
    }
    try {
      complete(status, usage, error, streamed);
    } catch (failure) {
      failed(failure);
    }
  };

  // Streamed Chat Completions report usage only when asked: ask, and hide the extra chunk from the caller.
  const parsedBody = call.body;
  const streamOptions = isObject(parsedBody.stream_options) ? parsedBody.stream_options : undefined;
  const strip = call.operation === 'chat' && call.streamRequested && streamOptions?.include_usage !== true;
  const requestInit = strip ? { ...init, body: withStreamUsage(detected.text, parsedBody) } : init;

  let response: Response;
  try {
    response = await baseFetch(input, requestInit);
  } catch (error) {
    finish(0, undefined, abortReason(error) ?? 'upstream_error');
    throw error;
  }
  if (!response.ok || response.body === null) {
    finish(
      response.status,
      response.ok ? estimateUsage(call, '') : undefined,
      response.ok ? undefined : 'upstream_error',
    );
    return response;
  }
  const isStream = /^text\/event-stream/i.test(response.headers.get('content-type') ?? '');
  if (!isStream) {
    const init = { status: response.status, statusText: response.statusText, headers: response.headers };
    let bytes: ArrayBuffer;
    try {
      bytes = await response.arrayBuffer();
    } catch (error) {
      finish(response.status, estimateUsage(call, ''), abortReason(error) ?? 'stream_cut');
      // A body cut mid-way reaches the caller as a body that fails to read, as it would have without
      // tokenmeter (not as a rejected fetch, which SDKs would retry).
      const failing = new ReadableStream({
        start(controller) {
          controller.error(error);
        },
      });
      return withUrl(new Response(failing, init), response.url);
    }
    return bufferedJson(response.url, init, bytes, call, finish);
  }
  const tap = new SseTap(call.format, {
    stripUsageChunk: strip,
    ...(call.provider === undefined ? {} : { provider: call.provider }),
  });
  const reader = response.body.getReader();
  const status = response.status;
  const usageOfStream = async (error?: UsageEvent['error']): Promise<NormalizedUsage | undefined> => {
    const reported = tap.usage;
    if (reported === undefined)
      return estimateUsage(call, tap.outputText, tap.accumulator.model, tap.skippedOutputTokens);
    return error === undefined ? reported : mergeCutUsage(call, reported, tap.outputText, tap.skippedOutputTokens);
  };
  const body = new ReadableStream<Uint8Array>({
    // Reads until there is something to hand on: a pull that enqueued nothing would not be called again,
    // and the strip mode holds back partial events.
    async pull(controller) {
      for (;;) {
        let result: Awaited<ReturnType<typeof reader.read>>;
        try {
          result = await reader.read();
        } catch (error) {
          const reason = abortReason(error) ?? 'stream_cut';
          tap.finish();
          finish(status, usageOfStream(reason), reason, true);
          controller.error(error);
          return;
        }
        if (result.done) {
          const rest = tap.finish();
          if (rest !== undefined) controller.enqueue(rest);
          finish(status, usageOfStream(), tap.upstreamError ? 'upstream_error' : undefined, true);
          controller.close();
          return;
        }
        const out = tap.transform(result.value);
        if (out !== undefined) {
          controller.enqueue(out);
          return;
        }
      }
    },
    cancel(reason) {
      tap.finish();
      finish(status, usageOfStream('client_abort'), 'client_abort', true);
      return reader.cancel(reason);
    },
  });
  // The Response constructor copies the headers it is given: a copy of our own is only needed to edit them.
  let headers = response.headers;
  if (strip) {
    headers = new Headers(headers);
    headers.delete('content-length');
  }
  return withUrl(
    new Response(body, { status: response.status, statusText: response.statusText, headers }),
    response.url,
  );
}

/** A constructed Response has an empty `url`; SDKs read it in error messages. */
function withUrl(response: Response, url: string): Response {
  Object.defineProperty(response, 'url', { value: url });
  return response;
}

/**
 * A JSON answer is small and every SDK reads it whole at once: it was read here, once, and the caller gets the
 * bytes as a `BufferedResponse`. Cheaper than re-streaming it through a wrapper stream (webstreams cost a
 * promise per chunk), and the call is recorded even when the app never reads the body.
 */
function bufferedJson(
  url: string,
  init: { status: number; statusText: string; headers: Headers },
  bytes: ArrayBuffer,
  call: AiCall,
  finish: (status: number, usage: NormalizedUsage | undefined | Promise<NormalizedUsage | undefined>) => void,
): Response {
  const parsed = parseJson(bytes);
  const json = parsed?.value;
  finish(init.status, usageFromResponse(call, json) ?? estimateUsage(call, outputTextOf(call, json)));
  // The caller's `json()` gets the object parsed here: the event took what it needs from it already.
  return new BufferedResponse(bytes, init, url, parsed);
}

/** The body parsed as JSON, or undefined when it is not JSON (the caller's `json()` then throws as it would). */
function parseJson(bytes: ArrayBuffer): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(Buffer.from(bytes).toString('utf8')) };
  } catch {
    return undefined;
  }
}

function abortReason(error: unknown): UsageEvent['error'] | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === 'TimeoutError') return 'timeout';
  if (error.name === 'AbortError') return 'client_abort';
  return undefined;
}
