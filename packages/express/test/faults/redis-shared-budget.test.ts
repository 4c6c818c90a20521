import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore } from '../../src/store-redis';
import { type FaultUpstream, post, sharedBudgetBody, sharedBudgetSizing, startFaultUpstream } from './fault-upstream';
import { deleteKeys } from './redis-keys';
import { type Instance, startInstance } from './spawn-instance';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const INSTANCES = 4;
const REQUESTS = 200;
const DAY_UTC = { kind: 'calendar', period: 'day', timeZone: 'UTC' } as const;

describe('four Express processes sharing one Redis budget', { timeout: 120_000 }, () => {
  const prefix = `tokenmeter-faults-${randomBytes(6).toString('hex')}:`;
  let upstream: FaultUpstream;
  let instances: Instance[] = [];
  let perRequest = 0;
  let limit = 0;

  beforeAll(async () => {
    upstream = await startFaultUpstream();
    ({ perRequest, limit } = await sharedBudgetSizing());
    instances = await Promise.all(
      Array.from({ length: INSTANCES }, () =>
        startInstance({
          TM_UPSTREAM: `${upstream.url}/v1`,
          TM_STORE: `redis:${prefix}`,
          TM_BUDGET_TOKENS: String(limit),
          REDIS_URL,
        }),
      ),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await upstream?.close();
    await deleteKeys(REDIS_URL, prefix);
  }, 60_000);

  it('never overspends with 200 concurrent requests, and at least 95 % of the budget is usable', async () => {
    // Request lengths differ only in the digit, which is one token either way: every request costs perRequest.
    const results = await Promise.all(
      Array.from({ length: REQUESTS }, (_, index) =>
        post(`${(instances[index % INSTANCES] as Instance).url}/v1/chat/completions`, sharedBudgetBody(index)),
      ),
    );
    const statuses = results.map((result) => result.status);
    expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([]);
    const served = statuses.filter((status) => status === 200).length;
    const refused = results.filter((result) => result.status === 429);
    for (const rejection of refused) {
      expect(JSON.parse(rejection.body)).toMatchObject({ error: { code: 'budget_exceeded', type: 'budget_exceeded' } });
    }
    const budgetId = String(
      results.find((result) => result.headers['x-tokenmeter-budget-id'])?.headers['x-tokenmeter-budget-id'],
    );

    // Spent (settled) and reserved tokens as Redis holds them once every request has finished.
    const reader = createRedisStore({ url: REDIS_URL, prefix });
    const used = await reader.budgetUsage(budgetId, DAY_UTC, Date.now());
    await reader.close();

    expect(used).toBe(served * perRequest);
    expect(used).toBeLessThanOrEqual(limit);
    expect(used / limit).toBeGreaterThanOrEqual(0.95);
    // 150 reservations fit in the limit at once; every other request was refused, none lost.
    expect(served).toBeGreaterThanOrEqual(150);
    expect(refused.length).toBe(REQUESTS - served);
    expect(upstream.received).toBe(served);
  });
});
