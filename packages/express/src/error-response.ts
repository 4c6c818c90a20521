import type { ServerResponse } from 'node:http';

/** Sends an error in OpenAI's shape (`{"error":{"type","code","message","param"}}`), which every SDK surfaces. */
export function sendError(
  res: ServerResponse,
  status: number,
  type: string,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: { type, code, message, param: null } });
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

/**
 * The event appended to a stream the upstream broke off: `event: error` with an `error` object is what both
 * the OpenAI and the Anthropic SDKs raise as an API error, so the client sees a clear failure, not a
 * silently short answer.
 */
export function streamErrorEvent(code: string, message: string): string {
  return `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'api_error', code, message } })}\n\n`;
}
