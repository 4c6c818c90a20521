import { describe, expect, it } from 'vitest';
import { retryDelay } from '../src/github-retry';

describe('retryDelay', () => {
  it('backs off exponentially on server errors', () => {
    expect(retryDelay({ status: 502 }, 1, 1000)).toBe(1000);
    expect(retryDelay({ status: 503 }, 3, 1000)).toBe(4000);
  });

  it('waits as long as GitHub asks on rate limits', () => {
    expect(retryDelay({ status: 429, response: { headers: { 'retry-after': '7' } } }, 1, 1000)).toBe(7000);
    expect(retryDelay({ status: 403, response: { headers: { 'retry-after': '2' } } }, 1, 1000)).toBe(2000);
    const reset = Math.floor(Date.now() / 1000) + 30;
    const wait = retryDelay(
      { status: 403, response: { headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) } } },
      1,
      1000,
    );
    expect(wait).toBeGreaterThan(25_000);
    expect(wait).toBeLessThanOrEqual(32_000);
    expect(retryDelay({ status: 403, message: 'You have exceeded a secondary rate limit' }, 1, 1000)).toBe(60_000);
  });

  it('never retries what waiting cannot fix, and caps every wait', () => {
    expect(retryDelay({ status: 403, message: 'Resource not accessible by integration' }, 1, 1000)).toBeUndefined();
    expect(retryDelay({ status: 404 }, 1, 1000)).toBeUndefined();
    expect(retryDelay({ status: 422 }, 1, 1000)).toBeUndefined();
    expect(retryDelay({ status: 429, response: { headers: { 'retry-after': '99999' } } }, 1, 1000)).toBe(120_000);
  });
});
