import { randomUUID } from 'node:crypto';
import { DEFAULT_RESERVATION_TTL_MS, validateActualAmounts, validateReservationRequests } from './budget-ledger';
import { currentWindow, ROLLING_SLICES, validateBudgetWindow, type WindowInstance } from './budget-window';
import { Redis, type RedisOptions } from './peer-ioredis';
import type {
  BudgetReservationRequest,
  BudgetWindow,
  DailyUsage,
  ReserveResult,
  Store,
  UsageEvent,
  UsageQuery,
  UsageReport,
} from './types';
import {
  AGGREGATE_BUCKET_MS,
  dailySeriesFromReport,
  type EventDimensions,
  eventCostAtto,
  joinAtto,
  matchesFilter,
  normalizeQuery,
  ReportBuilder,
  splitAtto,
  TotalsAccumulator,
  validateEvent,
} from './usage-aggregate';

export interface RedisStoreOptions {
  /** Connection URL. Default `process.env.REDIS_URL`, else `redis://127.0.0.1:6379`. Ignored when `client` is given. */
  url?: string;
  /**
   * An ioredis client you manage (it is not closed by `close()`). For fail-closed budgets, give it
   * `enableOfflineQueue: false`, `maxRetriesPerRequest: 0` and a `commandTimeout`, as the store does for
   * the clients it creates.
   */
  client?: Redis;
  /** Prefix of every key. Default `tokenmeter:`. */
  prefix?: string;
  /** A command that has not answered after this long fails (the failure policy then decides). Default 1000 ms. */
  commandTimeoutMs?: number;
  /** Events are sent at most this long after they were recorded. Default 5 ms. */
  batchIntervalMs?: number;
  /** A batch this large is sent at once. Default 200. */
  batchSize?: number;
  /** How long an unsettled reservation holds budget. Default 15 minutes. */
  reservationTtlMs?: number;
  /** How long an event id is remembered to drop duplicates. Default 7 days. */
  eventIdTtlMs?: number;
  /** How long per-15-minute usage aggregates are kept. Default 400 days. */
  aggregateRetentionMs?: number;
}

export interface RedisStore extends Store {
  readonly name: 'redis';
  readonly client: Redis;
  recordEvents(events: UsageEvent[]): Promise<void>;
  reserve(requests: BudgetReservationRequest[], now: number): Promise<ReserveResult>;
  settle(reservationId: string, actualAmounts: number[], now: number): Promise<void>;
  release(reservationId: string, now: number): Promise<void>;
  budgetUsage(budgetId: string, window: BudgetWindow, now: number): Promise<number>;
  query(query: UsageQuery): Promise<UsageReport>;
  dailySeries(query: Omit<UsageQuery, 'groupBy'>): Promise<DailyUsage[]>;
  /** Sends every buffered event; resolves when Redis has applied them (rejects if it could not). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Grace a calendar counter outlives its window, for settles that arrive after the window ended. */
const CALENDAR_GRACE_MS = 3_600_000;

/**
 * Reserve across all budgets of one call, all or nothing. Per budget: KEYS[2i−1] is its spend hash
 * (slice → amount; calendar windows use slice 0) and KEYS[2i] its reservation sorted set (member
 * `id#position#amount`, score = expiry). The last key is the reservation record that settle reads.
 */
const RESERVE_SCRIPT = `
local now = tonumber(ARGV[1])
local reservationId = ARGV[2]
local expiresAt = tonumber(ARGV[3])
local recordTtl = tonumber(ARGV[4])
local n = tonumber(ARGV[5])
local record = ARGV[6]
local perBudget = 6
local pending = {}
local remaining = {}
for i = 1, n do
  local base = 6 + (i - 1) * perBudget
  local kind = ARGV[base + 1]
  local limit = tonumber(ARGV[base + 2])
  local amount = tonumber(ARGV[base + 3])
  local firstLive = tonumber(ARGV[base + 4])
  local calendarRetry = tonumber(ARGV[base + 5])
  local sliceMs = tonumber(ARGV[base + 6])
  local spendKey = KEYS[2 * i - 1]
  local reservedKey = KEYS[2 * i]
  local spent = 0
  local slices = {}
  local fields = redis.call('HGETALL', spendKey)
  for j = 1, #fields, 2 do
    local slice = tonumber(fields[j])
    local value = tonumber(fields[j + 1])
    if slice < firstLive then
      redis.call('HDEL', spendKey, fields[j])
    else
      spent = spent + value
      slices[#slices + 1] = { slice, value }
    end
  end
  redis.call('ZREMRANGEBYSCORE', reservedKey, '-inf', now)
  local reserved = 0
  for _, member in ipairs(redis.call('ZRANGE', reservedKey, 0, -1)) do
    reserved = reserved + tonumber(string.match(member, '#(%d+)$'))
  end
  local used = spent + reserved + (pending[spendKey] or 0)
  if used + amount > limit then
    local retry = calendarRetry
    if kind == 'r' then
      table.sort(slices, function(a, b) return a[1] < b[1] end)
      local excess = used + amount - limit
      local last = now
      for _, entry in ipairs(slices) do
        if entry[2] ~= 0 then
          last = (entry[1] + ${ROLLING_SLICES}) * sliceMs
          excess = excess - entry[2]
          if excess <= 0 then break end
        end
      end
      retry = math.max(1, last - now)
    end
    return { 0, i, string.format('%d', used), string.format('%d', retry) }
  end
  pending[spendKey] = (pending[spendKey] or 0) + amount
  remaining[i] = string.format('%d', limit - used - amount)
end
for i = 1, n do
  local amount = tonumber(ARGV[6 + (i - 1) * perBudget + 3])
  local reservedKey = KEYS[2 * i]
  redis.call('ZADD', reservedKey, expiresAt, reservationId .. '#' .. i .. '#' .. string.format('%d', amount))
  redis.call('PEXPIRE', reservedKey, recordTtl)
end
redis.call('SET', KEYS[2 * n + 1], record, 'PX', recordTtl)
local reply = { 1 }
for i = 1, n do reply[i + 1] = remaining[i] end
return reply
`;

/**
 * Settle (ARGV[2] = '1') or release (ARGV[2] = '0') a reservation: remove its members and book the actual
 * amounts. Rolling spend lands in the slice of `now`; calendar spend in the window it was reserved in.
 */
const SETTLE_SCRIPT = `
local record = redis.call('GET', KEYS[1])
if not record then return 0 end
redis.call('DEL', KEYS[1])
local now = tonumber(ARGV[1])
local settle = ARGV[2] == '1'
local items = cjson.decode(record)
for i, item in ipairs(items) do
  redis.call('ZREM', item.r, item.m)
  if settle then
    local actual = tonumber(ARGV[2 + i] or item.a)
    if actual > 0 then
      if item.k == 'r' then
        local slice = math.floor(now / item.l)
        redis.call('HINCRBY', item.s, string.format('%d', slice), string.format('%d', actual))
        redis.call('PEXPIRE', item.s, string.format('%d', item.d + item.l))
      else
        redis.call('HINCRBY', item.s, '0', string.format('%d', actual))
        redis.call('PEXPIRE', item.s, string.format('%d', math.max(1, item.e - now) + ${CALENDAR_GRACE_MS}))
      end
    end
  end
end
return 1
`;

/**
 * Record one event once: KEYS[1] its id marker, KEYS[2] the hash of its 15-minute bucket, KEYS[3] the index
 * of buckets. ARGV: id TTL, bucket start, bucket expiry (ms from now), dimensions, then metric/increment pairs.
 */
const RECORD_SCRIPT = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
local suffix = ARGV[4]
for i = 5, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[i] .. '|' .. suffix, ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[2])
return 1
`;

type ScriptReply = (string | number)[];

interface ScriptedRedis {
  tokenmeterReserve(...args: (string | number)[]): Promise<ScriptReply>;
  tokenmeterSettle(...args: (string | number)[]): Promise<number>;
  tokenmeterRecord(...args: (string | number)[]): Promise<number>;
}

interface ScriptedPipeline {
  tokenmeterRecord(...args: (string | number)[]): unknown;
  exec(): Promise<[Error | null, unknown][] | null>;
}

/** Aggregate hash fields: metric code → how to add it to a group's totals. */
const METRICS = {
  n: 'requests',
  i: 'inputTokens',
  c: 'cachedInputTokens',
  w: 'cacheWriteTokens',
  o: 'outputTokens',
  r: 'reasoningTokens',
  u: 'unpricedRequests',
  e: 'estimatedRequests',
  j: 'rejectedRequests',
} as const;

interface PendingBatch {
  events: UsageEvent[];
  waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

/**
 * The store for several app instances: budgets and usage aggregates live in Redis and every instance sees
 * the same numbers.
 *
 * - Budgets: one Lua script reserves across all the budgets of a call (all or nothing), so instances
 *   reserving concurrently never overspend; settle and release are scripts too. Calendar windows are a
 *   counter per window key (expiring after the window); rolling windows a hash of 60 slices.
 * - Events: batched into pipelines of one script call per event; the script sets the event id with
 *   `SET NX PX` and adds the event to its 15-minute aggregate only if the id was new (idempotent by id).
 * - Aggregates: a hash per 15-minute bucket, one field per metric and group (model, provider, user,
 *   tenant, feature, route). Cost is exact: whole nano-dollars and the atto-dollar remainder are two
 *   integer fields (`HINCRBY`, 64-bit), recombined as a bigint when read: totals over millions of events
 *   equal the sum of the event costs to the atto-dollar.
 * - Queries read the buckets in range, so `from` / `to` count whole 15-minute buckets (a bucket counts
 *   when its start is in [from rounded down to 15 minutes, to)); day and hour groups are exact in every
 *   time zone. Raw events are not kept in Redis.
 */
export function createRedisStore(options: RedisStoreOptions = {}): RedisStore {
  const prefix = options.prefix ?? 'tokenmeter:';
  const commandTimeoutMs = options.commandTimeoutMs ?? 1000;
  const batchIntervalMs = options.batchIntervalMs ?? 5;
  const batchSize = options.batchSize ?? 200;
  const reservationTtlMs = options.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS;
  const eventIdTtlMs = options.eventIdTtlMs ?? 7 * 86_400_000;
  const aggregateRetentionMs = options.aggregateRetentionMs ?? 400 * 86_400_000;
  const owned = options.client === undefined;
  const clientOptions: RedisOptions = {
    // Fail fast instead of queueing while disconnected: the failure policy needs an answer now, and a
    // command replayed after a reconnect could reserve budget nobody will settle.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(commandTimeoutMs, 1000),
  };
  const client =
    options.client ?? new Redis(options.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', clientOptions);
  // An unhandled 'error' event would crash the process; failures surface through the commands instead.
  const onError = () => {};
  client.on('error', onError);
  client.defineCommand('tokenmeterReserve', { lua: RESERVE_SCRIPT });
  client.defineCommand('tokenmeterSettle', { lua: SETTLE_SCRIPT, numberOfKeys: 1 });
  client.defineCommand('tokenmeterRecord', { lua: RECORD_SCRIPT, numberOfKeys: 3 });
  const scripted = client as unknown as Redis & ScriptedRedis;
  const bucketsKey = `${prefix}agg-buckets`;

  let batch: PendingBatch = { events: [], waiters: [] };
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const unfinished = new Set<Promise<Error | undefined>>();
  let closed = false;

  let connecting: Promise<void> | undefined;

  /** Waits for the connection (up to the command timeout) since commands are not queued while offline. */
  function ready(): Promise<void> {
    if (client.status === 'ready') return Promise.resolve();
    if (client.status === 'end') return Promise.reject(new Error('the Redis connection is closed'));
    if (client.status === 'wait') client.connect().catch(() => {});
    // Every caller waiting during an outage shares one listener and one timer.
    connecting ??= new Promise<void>((resolve, reject) => {
      const timeout = setTimeout(() => {
        client.off('ready', onReady);
        connecting = undefined;
        reject(new Error(`Redis not ready after ${commandTimeoutMs} ms (status ${client.status})`));
      }, commandTimeoutMs);
      const onReady = () => {
        clearTimeout(timeout);
        connecting = undefined;
        resolve();
      };
      client.once('ready', onReady);
    });
    return connecting;
  }

  const spendKey = (budgetId: string, instance: WindowInstance) => `${prefix}spend:${budgetId}:${instance.key}`;
  const reservedKey = (budgetId: string, instance: WindowInstance) => `${prefix}reserved:${budgetId}:${instance.key}`;
  const reservationKey = (id: string) => `${prefix}reservation:${id}`;

  async function reserve(requests: BudgetReservationRequest[], now: number): Promise<ReserveResult> {
    validateReservationRequests(requests);
    const reservationId = randomUUID();
    const keys: string[] = [];
    const budgetArguments: (string | number)[] = [];
    const record: unknown[] = [];
    requests.forEach((request, index) => {
      const instance = currentWindow(request.window, now);
      const spend = spendKey(request.budgetId, instance);
      const reserved = reservedKey(request.budgetId, instance);
      keys.push(spend, reserved);
      const rolling = instance.kind === 'rolling';
      budgetArguments.push(
        rolling ? 'r' : 'c',
        request.limit,
        request.amount,
        rolling ? instance.firstLiveSlice : 0,
        rolling ? 0 : Math.max(0, instance.end - now),
        rolling ? instance.sliceMs : 0,
      );
      record.push({
        s: spend,
        r: reserved,
        m: `${reservationId}#${index + 1}#${request.amount}`,
        k: rolling ? 'r' : 'c',
        a: request.amount,
        e: rolling ? 0 : instance.end,
        l: rolling ? instance.sliceMs : 0,
        d: rolling ? (request.window as { durationMs: number }).durationMs : 0,
      });
    });
    keys.push(reservationKey(reservationId));
    await ready();
    const reply = await scripted.tokenmeterReserve(
      keys.length,
      ...keys,
      now,
      reservationId,
      now + reservationTtlMs,
      2 * reservationTtlMs,
      requests.length,
      JSON.stringify(record),
      ...budgetArguments,
    );
    if (Number(reply[0]) === 1) {
      return { ok: true, reservationId, remaining: reply.slice(1).map(Number) };
    }
    const failed = requests[Number(reply[1]) - 1]!;
    return {
      ok: false,
      budgetId: failed.budgetId,
      limit: failed.limit,
      used: Number(reply[2]),
      retryAfterMs: Number(reply[3]),
    };
  }

  async function budgetUsage(budgetId: string, window: BudgetWindow, now: number): Promise<number> {
    validateBudgetWindow(window);
    const instance = currentWindow(window, now);
    await ready();
    const [slices, members] = await Promise.all([
      client.hgetall(spendKey(budgetId, instance)),
      client.zrangebyscore(reservedKey(budgetId, instance), `(${now}`, '+inf'),
    ]);
    let used = 0;
    const firstLive = instance.kind === 'rolling' ? instance.firstLiveSlice : 0;
    for (const [slice, amount] of Object.entries(slices)) if (Number(slice) >= firstLive) used += Number(amount);
    for (const member of members) used += Number(member.slice(member.lastIndexOf('#') + 1));
    return used;
  }

  function recordArguments(event: UsageEvent): (string | number)[] {
    const bucket = Math.floor(event.timestamp / AGGREGATE_BUCKET_MS) * AGGREGATE_BUCKET_MS;
    const dimensions = JSON.stringify([
      event.model,
      event.provider,
      event.user ?? null,
      event.tenant ?? null,
      event.feature ?? null,
      event.route,
    ]);
    const { nano, remainder } = splitAtto(eventCostAtto(event));
    const increments: [string, number | bigint][] = [
      ['n', 1],
      ['i', event.inputTokens],
      ['c', event.cachedInputTokens],
      ['w', event.cacheWrite5mTokens + event.cacheWrite1hTokens],
      ['o', event.outputTokens],
      ['r', event.reasoningTokens],
      ['cn', nano],
      ['ca', remainder],
      ['u', event.priced ? 0 : 1],
      ['e', event.estimated ? 1 : 0],
      ['j', event.rejected ? 1 : 0],
    ];
    const pairs: string[] = [];
    for (const [metric, value] of increments) {
      // Zero increments would only add fields; requests (`n`) always exists so a group is never empty.
      if (metric === 'n' || (value !== 0 && value !== 0n)) pairs.push(metric, String(value));
    }
    const bucketTtl = Math.max(1, bucket + aggregateRetentionMs - Date.now());
    return [
      `${prefix}event:${event.id}`,
      `${prefix}agg:${bucket}`,
      bucketsKey,
      eventIdTtlMs,
      bucket,
      bucketTtl,
      dimensions,
      ...pairs,
    ];
  }

  async function send(current: PendingBatch): Promise<Error | undefined> {
    try {
      await ready();
      const pipeline = client.pipeline() as unknown as ScriptedPipeline;
      for (const event of current.events) pipeline.tokenmeterRecord(...recordArguments(event));
      const results = (await pipeline.exec()) ?? [];
      const failure = results.find(([error]) => error !== null);
      if (failure) throw failure[0];
      if (results.length !== current.events.length) throw new Error('Redis pipeline answered incompletely');
      for (const waiter of current.waiters) waiter.resolve();
      return undefined;
    } catch (error) {
      // The whole batch fails together; retrying it is safe since applied events are skipped by id.
      for (const waiter of current.waiters) waiter.reject(error);
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  function sendBatch(): void {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (batch.events.length === 0) return;
    const current = batch;
    batch = { events: [], waiters: [] };
    // Batches go out one after another so a flush() waits for everything recorded before it.
    const outcome = inFlight.then(() => send(current));
    inFlight = outcome.then(() => undefined);
    unfinished.add(outcome);
    void outcome.then(() => unfinished.delete(outcome));
  }

  /** Sends what is buffered and waits for every unfinished batch; rejects with the first failure. */
  async function flush(): Promise<void> {
    sendBatch();
    const outcomes = await Promise.all([...unfinished]);
    const failure = outcomes.find((outcome) => outcome !== undefined);
    if (failure) throw failure;
  }

  async function readAggregates(query: UsageQuery): Promise<UsageReport> {
    const normalized = normalizeQuery(query);
    const fromBucket = Math.floor(normalized.from / AGGREGATE_BUCKET_MS) * AGGREGATE_BUCKET_MS;
    await ready();
    const buckets = await client.zrangebyscore(bucketsKey, fromBucket, `(${normalized.to}`);
    const builder = new ReportBuilder(normalized);
    const chunkSize = 500;
    for (let offset = 0; offset < buckets.length; offset += chunkSize) {
      const chunk = buckets.slice(offset, offset + chunkSize);
      const pipeline = client.pipeline();
      for (const bucket of chunk) pipeline.hgetall(`${prefix}agg:${bucket}`);
      const results = (await pipeline.exec()) ?? [];
      results.forEach(([error, fields], index) => {
        if (error) throw error;
        const instant = Number(chunk[index]);
        const groups = new Map<
          string,
          { dimensions: EventDimensions; sums: TotalsAccumulator; nano: bigint; atto: bigint }
        >();
        for (const [field, value] of Object.entries(fields as Record<string, string>)) {
          const separator = field.indexOf('|');
          const metric = field.slice(0, separator);
          const encoded = field.slice(separator + 1);
          let group = groups.get(encoded);
          if (!group) {
            const [model, provider, user, tenant, feature, route] = JSON.parse(encoded) as (string | null)[];
            group = {
              dimensions: {
                model: model ?? '',
                provider: provider ?? '',
                user,
                tenant,
                feature,
                route: route ?? '',
              },
              sums: new TotalsAccumulator(),
              nano: 0n,
              atto: 0n,
            };
            groups.set(encoded, group);
          }
          if (metric === 'cn') group.nano += BigInt(value);
          else if (metric === 'ca') group.atto += BigInt(value);
          else {
            const name = METRICS[metric as keyof typeof METRICS];
            if (name) group.sums[name] += Number(value);
          }
        }
        for (const group of groups.values()) {
          if (!matchesFilter(group.dimensions, normalized.filter)) continue;
          group.sums.costAtto = joinAtto(group.nano, group.atto);
          builder.addAggregate(group.dimensions, instant, group.sums);
        }
      });
    }
    return builder.build();
  }

  const store: RedisStore = {
    name: 'redis',
    client,
    recordEvents(events: UsageEvent[]): Promise<void> {
      if (closed) return Promise.reject(new Error('the Redis store is closed'));
      try {
        events.forEach(validateEvent);
      } catch (error) {
        return Promise.reject(error);
      }
      if (events.length === 0) return Promise.resolve();
      const target = batch;
      for (const event of events) target.events.push({ ...event });
      const written = new Promise<void>((resolve, reject) => target.waiters.push({ resolve, reject }));
      if (target.events.length >= batchSize) sendBatch();
      else if (!timer) timer = setTimeout(sendBatch, batchIntervalMs);
      return written;
    },
    reserve,
    async settle(reservationId: string, actualAmounts: number[], now: number) {
      validateActualAmounts(actualAmounts);
      await ready();
      await scripted.tokenmeterSettle(reservationKey(reservationId), now, '1', ...actualAmounts);
    },
    async release(reservationId: string, now: number) {
      await ready();
      await scripted.tokenmeterSettle(reservationKey(reservationId), now, '0');
    },
    budgetUsage,
    query: readAggregates,
    async dailySeries(query: Omit<UsageQuery, 'groupBy'>): Promise<DailyUsage[]> {
      return dailySeriesFromReport(await readAggregates({ ...query, groupBy: 'day' }));
    },
    flush,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await flush();
      } finally {
        client.off('error', onError);
        if (owned) {
          await client.quit().catch(() => client.disconnect());
        }
      }
    },
  };
  return store;
}
