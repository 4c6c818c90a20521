import type { IncomingHttpHeaders } from 'node:http';
import type { Operation } from './ai-call';

/**
 * What the proxy does with a request, decided on its canonical path (relative to where the proxy is mounted):
 * - `metered`: an AI call tokenmeter reads usage from (budgets reserve, events record);
 * - `retrieve`: a stored Responses API response (`GET /responses/{id}`, `POST /responses/{id}/cancel`), where a
 *   background response started through the proxy is settled;
 * - `free`: an endpoint known to cost nothing (model lists, token counting, reading and cancelling jobs);
 * - `unmetered`: everything else. Batches, file uploads, images, audio, fine-tuning, realtime, vector stores and any
 *   path the proxy does not know may spend money it cannot see: refused under a budget unless `forwardUnmetered`.
 */
export type RouteKind = 'metered' | 'retrieve' | 'free' | 'unmetered';

export type ResolvedRoute =
  | {
      ok: true;
      kind: RouteKind;
      /** The canonical path forwarded upstream and recorded: lower-case endpoint names, ids as sent. */
      path: string;
      operation?: Operation;
      /** The response id of a `retrieve` route. */
      id?: string;
      /** Low-cardinality name for logs and metrics, e.g. `POST /images` (ids never appear in it). */
      label: string;
    }
  | { ok: false; code: 'invalid_path'; message: string };

interface RouteSpec {
  method: string;
  /** Literal segments, `:id` for a path parameter. */
  segments: string[];
  kind: RouteKind;
  operation?: Operation;
}

const route = (method: string, path: string, kind: RouteKind, operation?: Operation): RouteSpec => ({
  method,
  segments: path.split('/').slice(1),
  kind,
  ...(operation ? { operation } : {}),
});

/**
 * The allow-list. OpenAI paths follow https://platform.openai.com/docs/api-reference, Anthropic's
 * https://docs.anthropic.com/en/api (both relative to `/v1`). Only what is listed as `free` costs nothing;
 * creating a batch, uploading a file or generating an image is not listed and so is `unmetered`.
 */
const ROUTES: RouteSpec[] = [
  route('POST', '/chat/completions', 'metered', 'chat'),
  route('POST', '/responses', 'metered', 'responses'),
  route('POST', '/embeddings', 'metered', 'embeddings'),
  route('POST', '/completions', 'metered', 'completions'),
  route('POST', '/messages', 'metered', 'messages'),

  route('GET', '/responses/:id', 'retrieve'),
  route('POST', '/responses/:id/cancel', 'retrieve'),

  route('GET', '/models', 'free'),
  route('GET', '/models/:id', 'free'),
  route('POST', '/moderations', 'free'),
  route('POST', '/responses/input_tokens', 'free'),
  route('POST', '/messages/count_tokens', 'free'),
  route('GET', '/responses/:id/input_items', 'free'),
  route('DELETE', '/responses/:id', 'free'),
  route('GET', '/chat/completions', 'free'),
  route('GET', '/chat/completions/:id', 'free'),
  route('POST', '/chat/completions/:id', 'free'),
  route('DELETE', '/chat/completions/:id', 'free'),
  route('GET', '/chat/completions/:id/messages', 'free'),
  route('GET', '/files', 'free'),
  route('GET', '/files/:id', 'free'),
  route('GET', '/files/:id/content', 'free'),
  route('DELETE', '/files/:id', 'free'),
  route('GET', '/batches', 'free'),
  route('GET', '/batches/:id', 'free'),
  route('POST', '/batches/:id/cancel', 'free'),
  route('GET', '/messages/batches', 'free'),
  route('GET', '/messages/batches/:id', 'free'),
  route('GET', '/messages/batches/:id/results', 'free'),
  route('POST', '/messages/batches/:id/cancel', 'free'),
  route('DELETE', '/messages/batches/:id', 'free'),
];

/**
 * Whether a request goes to Anthropic: its canonical path is the Messages API, or it carries Anthropic's version
 * header. One rule for routing and for choosing which provider key to send, so no spelling sends one provider's
 * key to the other.
 */
export function isAnthropicRoute(canonicalPath: string, headers: IncomingHttpHeaders): boolean {
  return (
    canonicalPath === '/messages' ||
    canonicalPath.startsWith('/messages/') ||
    headers['anthropic-version'] !== undefined
  );
}

// Unreserved characters (RFC 3986 §2.3) mean the same percent-encoded or not; front ends decode them. The dot is
// unreserved too, but an encoded dot segment is refused rather than guessed at.
const UNRESERVED = /^[A-Za-z0-9_~-]$/;

/**
 * The one canonical spelling of a mount-relative path, and what it is. Dot segments are resolved, empty segments
 * (`//`, a trailing slash) dropped, percent-encoded unreserved characters decoded, endpoint names matched without
 * regard to case. Encoded slashes, backslashes and encoded dots are refused: upstreams and the front ends before
 * them disagree on what they mean, and a proxy that guesses differently from its upstream can be walked around.
 */
export function resolveRoute(method: string, rawPath: string): ResolvedRoute {
  if (/%(2f|5c|2e)/i.test(rawPath) || rawPath.includes('\\')) {
    return {
      ok: false,
      code: 'invalid_path',
      message: 'The path contains an encoded slash, backslash or dot (%2F, %5C, %2E, \\), which the proxy refuses.',
    };
  }
  const segments: string[] = [];
  for (const raw of rawPath.split('/')) {
    const segment = raw.includes('%') ? decodeUnreserved(raw) : raw;
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.length === 0) {
        return { ok: false, code: 'invalid_path', message: 'The path climbs above the proxy with "..".' };
      }
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  const upper = method.toUpperCase();
  for (const spec of ROUTES) {
    if (spec.method !== upper || spec.segments.length !== segments.length) continue;
    let id: string | undefined;
    const canonical: string[] = [];
    let matched = true;
    for (let index = 0; index < segments.length; index += 1) {
      const literal = spec.segments[index] as string;
      const segment = segments[index] as string;
      if (literal === ':id') {
        id = segment;
        canonical.push(segment);
      } else if (literal === segment.toLowerCase()) {
        canonical.push(literal);
      } else {
        matched = false;
        break;
      }
    }
    if (!matched) continue;
    const path = `/${canonical.join('/')}`;
    return {
      ok: true,
      kind: spec.kind,
      path,
      label: `${upper} /${spec.segments.join('/')}`,
      ...(spec.operation ? { operation: spec.operation } : {}),
      ...(id === undefined ? {} : { id }),
    };
  }
  return {
    ok: true,
    kind: 'unmetered',
    path: `/${segments.join('/')}`,
    // Only the first segment: later ones are often ids, and labels must stay few.
    label: `${upper} /${labelSegment(segments[0] ?? '')}`,
  };
}

function decodeUnreserved(segment: string): string {
  return segment.replace(/%([0-9A-Fa-f]{2})/g, (encoded, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : encoded.toUpperCase();
  });
}

function labelSegment(segment: string): string {
  const lower = segment.toLowerCase();
  return /^[a-z0-9_.-]{1,40}$/.test(lower) ? lower : '*';
}
