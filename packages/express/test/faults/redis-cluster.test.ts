import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidMeterOptionsError } from '../../src/invalid-meter-options-error';
import { storeFromSpec } from '../../src/proxy-server';
import { createRedisStore, type RedisStore } from '../../src/store-redis';
import { checkStoreContract, DAY_UTC, usageEvent } from '../../src/store-test-support';
import type { Store } from '../../src/types';
import { type FaultUpstream, post, sharedBudgetBody, sharedBudgetSizing, startFaultUpstream } from './fault-upstream';
import { keysPerNode, type LocalCluster, startLocalCluster } from './redis-cluster';
import { type Instance, startInstance } from './spawn-instance';

const run = promisify(execFile);

describe('the Redis store on a local 3-primary Redis Cluster', { timeout: 120_000 }, () => {
  let cluster: LocalCluster;
  const stores: Store[] = [];

  beforeAll(async () => {
    cluster = await startLocalCluster(3);
  }, 60_000);

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close?.()));
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  function open(prefix = `tm-${randomBytes(4).toString('hex')}:`): RedisStore {
    const store = createRedisStore({ nodes: cluster.nodes, prefix });
    stores.push(store);
    return store;
  }

  /** The node (its port) that serves a key's slot, as the cluster itself answers. */
  async function nodeOf(store: RedisStore, key: string): Promise<string> {
    const client = store.client as Cluster;
    // The store's commands wait for the cluster to be ready; a bare command does not.
    await store.budgetUsage('warm-up', DAY_UTC, Date.now());
    const slot = Number(await client.cluster('KEYSLOT', key));
    return String(client.slots[slot]?.[0]);
  }

  it('meets the store contract', async () => {
    await checkStoreContract(open());
  });

  it('keeps the keys of one budget and of one bucket in one slot, spreads budgets over the nodes', async () => {
    const prefix = `tm-${randomBytes(4).toString('hex')}:`;
    const store = open(prefix);
    await checkStoreContract(store);
    for (let index = 0; index < 24; index++) {
      expect(
        await store.reserve([{ budgetId: `team-${index}`, window: DAY_UTC, limit: 10, amount: 1 }], Date.now()),
      ).toMatchObject({ ok: true });
    }
    const perNode = await keysPerNode(cluster, prefix);
    const nodesByTag = new Map<string, Set<number>>();
    for (const [port, keys] of perNode) {
      for (const key of keys) {
        const rest = key.slice(prefix.length);
        if (rest === 'agg-buckets') continue;
        // Every other key carries a hash tag: `{b:<budget>}` or `{a:<bucket>}`.
        const tag = /^\{([ab]:[^}]*)\}:/.exec(rest)?.[1];
        expect(tag, key).toBeDefined();
        const nodes = nodesByTag.get(tag as string) ?? new Set();
        nodes.add(port);
        nodesByTag.set(tag as string, nodes);
      }
    }
    for (const nodes of nodesByTag.values()) expect(nodes.size).toBe(1);
    // 24 budgets over 3 primaries: every primary holds some (a budget lands on each with p = 1/3).
    const budgetNodes = new Set(
      [...perNode].filter(([, keys]) => keys.some((key) => key.includes('{b:team-'))).map(([port]) => port),
    );
    expect(budgetNodes.size).toBe(3);
    // Nothing grows forever except the index of aggregate buckets.
    const client = store.client as Cluster;
    const withoutTtl: string[] = [];
    for (const keys of perNode.values()) {
      for (const key of keys) if ((await client.pttl(key)) < 0) withoutTtl.push(key.slice(prefix.length));
    }
    expect(withoutTtl).toEqual(['agg-buckets']);
  });

  it('reserves across budgets on different nodes all or nothing, and settles each part', async () => {
    const store = open();
    const now = Date.parse('2026-03-10T12:00:00Z');
    // Two budgets whose keys live on different primaries, so one script cannot hold both.
    const first = 'tenant:alpha';
    let second = '';
    for (let index = 0; index < 100 && second === ''; index++) {
      const candidate = `user:${index}`;
      if ((await nodeOf(store, `x{b:${candidate}}`)) !== (await nodeOf(store, `x{b:${first}}`))) second = candidate;
    }
    expect(second).not.toBe('');
    const budget = (budgetId: string, limit: number, amount: number) => ({ budgetId, window: DAY_UTC, limit, amount });

    const held = await store.reserve([budget(first, 100, 60), budget(second, 100, 40)], now);
    expect(held).toMatchObject({ ok: true, remaining: [40, 60] });
    // The first budget fits (60 + 10 ≤ 1000), the second does not (40 + 70 > 100): the 10 is released again.
    const refused = await store.reserve([budget(first, 1000, 10), budget(second, 100, 70)], now);
    expect(refused).toEqual({ ok: false, budgetId: second, limit: 100, used: 40, retryAfterMs: 12 * 3_600_000 });
    expect(await store.budgetUsage(first, DAY_UTC, now)).toBe(60);
    expect(await store.budgetUsage(second, DAY_UTC, now)).toBe(40);

    // Actual amounts go to their own budget even though each lives in its own record.
    if (!held.ok) throw new Error('unreachable');
    await store.settle(held.reservationId, [25, 15], now + 1000);
    expect(await store.budgetUsage(first, DAY_UTC, now + 1000)).toBe(25);
    expect(await store.budgetUsage(second, DAY_UTC, now + 1000)).toBe(15);
    // A second settle of the same reservation books nothing.
    await store.settle(held.reservationId, [25, 15], now + 1000);
    expect(await store.budgetUsage(first, DAY_UTC, now + 1000)).toBe(25);

    const again = await store.reserve([budget(second, 100, 30), budget(first, 100, 30), budget(second, 100, 5)], now);
    expect(again).toMatchObject({ ok: true, remaining: [55, 45, 50] });
    if (!again.ok) throw new Error('unreachable');
    await store.release(again.reservationId, now + 2000);
    expect(await store.budgetUsage(first, DAY_UTC, now + 2000)).toBe(25);
    expect(await store.budgetUsage(second, DAY_UTC, now + 2000)).toBe(15);
  });

  it('releases the budgets already held when a later one fails (its primary stops answering)', async () => {
    const store = createRedisStore({
      nodes: cluster.nodes,
      prefix: `tm-${randomBytes(4).toString('hex')}:`,
      commandTimeoutMs: 300,
    });
    stores.push(store);
    const first = 'tenant:paused-test';
    let second = '';
    for (let index = 0; index < 100 && second === ''; index++) {
      const candidate = `user:p${index}`;
      if ((await nodeOf(store, `x{b:${candidate}}`)) !== (await nodeOf(store, `x{b:${first}}`))) second = candidate;
    }
    const pausedPort = (await nodeOf(store, `x{b:${second}}`)).split(':')[1] as string;
    // Scripts on the second budget's primary wait 1.5 s: longer than the 300 ms command timeout.
    await run('redis-cli', ['-p', pausedPort, 'CLIENT', 'PAUSE', '1500', 'WRITE']);
    const now = Date.now();
    await expect(
      store.reserve(
        [
          { budgetId: first, window: DAY_UTC, limit: 100, amount: 60 },
          { budgetId: second, window: DAY_UTC, limit: 100, amount: 60 },
        ],
        now,
      ),
    ).rejects.toThrow(/timed out/);
    // The first budget, on a primary that answers, holds nothing of the failed call.
    expect(await store.budgetUsage(first, DAY_UTC, now)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1600));
  });

  it('never overspends nor leaks holds when 200 concurrent calls over two budgets race from four stores', async () => {
    const prefix = `tm-${randomBytes(4).toString('hex')}:`;
    const instances = [open(prefix), open(prefix), open(prefix), open(prefix)];
    const now = Date.parse('2026-03-10T12:00:00Z');
    // Both budgets bind: the tenant fits ⌊1000 / 7⌋ = 142 calls, each user ⌊105 / 7⌋ = 15 (150 in all), so
    // calls are refused on the first budget and, after the tenant was held, on the second (which releases it).
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, index) => {
        const store = instances[index % 4] as RedisStore;
        const result = await store.reserve(
          [
            { budgetId: 'tenant:acme', window: DAY_UTC, limit: 1000, amount: 7 },
            { budgetId: `user:${index % 10}`, window: DAY_UTC, limit: 105, amount: 7 },
          ],
          now,
        );
        if (result.ok) await store.settle(result.reservationId, [7, 7], now);
        return result;
      }),
    );
    const granted = results.filter((result) => result.ok).length;
    const refusedBy = new Set(results.flatMap((result) => (result.ok ? [] : [result.budgetId.split(':')[0]])));
    expect(refusedBy).toEqual(new Set(['tenant', 'user']));
    const tenant = await instances[0]!.budgetUsage('tenant:acme', DAY_UTC, now);
    let users = 0;
    for (let user = 0; user < 10; user += 1) {
      const used = await instances[1]!.budgetUsage(`user:${user}`, DAY_UTC, now);
      expect(used).toBeLessThanOrEqual(105);
      users += used;
    }
    // Every granted call is booked on both budgets and nothing else is held: refused calls left no trace.
    expect(tenant).toBeLessThanOrEqual(1000);
    expect(tenant).toBe(granted * 7);
    expect(users).toBe(granted * 7);
    // A hold released a moment later may refuse a call that would have fit, but not most of them.
    expect(granted).toBeGreaterThan(120);
  });

  it('records events of buckets on several nodes and reads them back exactly', async () => {
    const store = open();
    const start = Date.parse('2026-03-10T00:00:00Z');
    // 40 buckets of 15 minutes, 5 events each; each event costs $0.00045 (see usageEvent).
    const events = Array.from({ length: 200 }, (_, index) =>
      usageEvent({ timestamp: start + Math.floor(index / 5) * 15 * 60_000, user: `u${index % 3}` }),
    );
    await store.recordEvents(events);
    await store.recordEvents(events.slice(0, 50)); // duplicates are dropped by id
    await store.flush();
    const report = await store.query({ from: start, to: start + 86_400_000, groupBy: 'user' });
    expect(report.totals).toMatchObject({ requests: 200, inputTokens: 200_000, outputTokens: 100_000, cost: '0.09' });
    expect(report.groups.map((group) => [group.key, group.requests])).toEqual([
      ['u0', 67],
      ['u1', 67],
      ['u2', 66],
    ]);
  });

  it('opens from the redis-cluster:// spelling and rejects a malformed one', async () => {
    const store = storeFromSpec(`redis-cluster://${cluster.spec}`);
    stores.push(store);
    const prefix = `tm-${randomBytes(4).toString('hex')}`;
    const result = await store.reserve(
      [{ budgetId: `${prefix}-spec`, window: DAY_UTC, limit: 5, amount: 5 }],
      Date.now(),
    );
    expect(result).toMatchObject({ ok: true, remaining: [0] });
    expect(() => storeFromSpec('redis-cluster://127.0.0.1')).toThrow(InvalidMeterOptionsError);
  });

  describe('four Express processes sharing one budget on the cluster', () => {
    const prefix = `tm-faults-${randomBytes(6).toString('hex')}:`;
    let upstream: FaultUpstream;
    let instances: Instance[] = [];

    afterAll(async () => {
      await Promise.all(instances.map((instance) => instance.stop()));
      await upstream?.close();
    }, 60_000);

    it('never overspends with 200 concurrent requests, and at least 95 % of the budget is usable', async () => {
      upstream = await startFaultUpstream();
      const { perRequest, limit } = await sharedBudgetSizing();
      instances = await Promise.all(
        Array.from({ length: 4 }, () =>
          startInstance({
            TM_UPSTREAM: `${upstream.url}/v1`,
            TM_STORE: `redis:${prefix}`,
            TM_BUDGET_TOKENS: String(limit),
            REDIS_CLUSTER_NODES: cluster.spec,
            // This test is about correctness across processes, not latency: on a loaded shared machine a
            // 1 s command timeout answers 503 (and leaves a timed-out reservation held) now and then.
            TM_COMMAND_TIMEOUT_MS: '10000',
          }),
        ),
      );
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, index) =>
          post(`${(instances[index % 4] as Instance).url}/v1/chat/completions`, sharedBudgetBody(index)),
        ),
      );
      const statuses = results.map((result) => result.status);
      expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([]);
      const served = statuses.filter((status) => status === 200).length;
      const budgetId = String(
        results.find((result) => result.headers['x-tokenmeter-budget-id'])?.headers['x-tokenmeter-budget-id'],
      );
      const used = await open(prefix).budgetUsage(budgetId, DAY_UTC, Date.now());
      expect(used).toBe(served * perRequest);
      expect(used).toBeLessThanOrEqual(limit);
      expect(used / limit).toBeGreaterThanOrEqual(0.95);
      expect(served).toBeGreaterThanOrEqual(150);
      expect(upstream.received).toBe(served);
    }, 120_000);
  });
});
