import * as core from '@actions/core';

interface HttpError {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined> };
}

const MAX_ATTEMPTS = 5;
const MAX_WAIT_MS = 120_000;

/**
 * Runs one GitHub API call, retrying server errors (5xx) with exponential backoff and rate limits after the
 * wait GitHub asks for (`retry-after`, or `x-ratelimit-reset` when the remaining quota is 0). Other errors
 * (404, a plain 403 for a read-only token) are returned at once: retrying cannot fix them.
 */
export async function withRetry<T>(label: string, call: () => Promise<T>): Promise<T> {
  const base = baseDelayMs();
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const wait = retryDelay(error as HttpError, attempt, base);
      if (wait === undefined || attempt >= MAX_ATTEMPTS) throw error;
      core.info(`${label}: GitHub answered ${(error as HttpError).status ?? 'an error'}; retrying in ${wait} ms`);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

export function retryDelay(error: HttpError, attempt: number, baseMs: number): number | undefined {
  const status = error.status ?? 0;
  const headers = error.response?.headers ?? {};
  const retryAfter = Number(headers['retry-after']);
  const remaining = headers['x-ratelimit-remaining'];
  const reset = Number(headers['x-ratelimit-reset']);
  const rateLimited =
    status === 429 ||
    (status === 403 &&
      (headers['retry-after'] !== undefined ||
        String(remaining) === '0' ||
        /secondary rate limit|rate limit exceeded/i.test(error.message ?? '')));
  if (rateLimited) {
    if (Number.isFinite(retryAfter) && retryAfter >= 0) return Math.min(retryAfter * 1000, MAX_WAIT_MS);
    if (String(remaining) === '0' && Number.isFinite(reset)) {
      return Math.min(Math.max(0, reset * 1000 - Date.now()) + 1000, MAX_WAIT_MS);
    }
    // Secondary rate limits without a header: GitHub asks for at least a minute; back off hard.
    return Math.min(60_000 * attempt, MAX_WAIT_MS);
  }
  if (status >= 500 || status === 0) return Math.min(baseMs * 2 ** (attempt - 1), MAX_WAIT_MS);
  return undefined;
}

function baseDelayMs(): number {
  // A knob for tests of the bundle; real runs back off from one second.
  const configured = Number(process.env.TOKENMETER_RETRY_BASE_MS);
  return Number.isFinite(configured) && configured >= 0 ? configured : 1000;
}
