import { randomUUID } from 'node:crypto';
import { DEFAULT_RESERVATION_TTL_MS, validateActualAmounts, validateReservationRequests } from './budget-ledger';
import { currentWindow, ROLLING_SLICES, validateBudgetWindow, type WindowInstance } from './budget-window';
import { InvalidMeterOptionsError } from './invalid-meter-options-error';
import { Cluster, Redis, type RedisOptions } from './peer-ioredis';
import { redisConfigurationHint, StoreConfigurationError } from './store-configuration-error';
import { StoreUnavailableError } from './store-unavailable-error';
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
  FOLDABLE_DIMENSIONS,
  FOLDED_KEY,
  type FoldableDimension,
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
  client?: Redis | Cluster;
  /**
   * Redis Cluster seed nodes (an ioredis `Cluster` is created; `url` is then ignored). With a cluster
   * (this option or a `Cluster` as `client`) keys carry hash tags so that every script touches one slot:
   * see docs/scaling.md for the key names and the migration from one Redis.
   */
  nodes?: { host: string; port: number }[];
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
  /**
   * Distinct values kept per UTC day for each of model, user, tenant, feature and route. Those values come
   * from clients (a made-up model name per request, a user header), and each new one adds fields to the
   * aggregates kept `aggregateRetentionMs`; beyond the bound, the day's new values are stored as `(other)`,
   * counted in `UsageReport.folded` and reported to `onFold`. Default 10,000.
   */
  maxDistinctValuesPerDay?: number;
  /** Called once per event and dimension folded into `(other)` (e.g. to count it in a metric). */
  onFold?: (dimension: FoldableDimension) => void;
}

export interface RedisStore extends Store {
  readonly name: 'redis';
  readonly client: Redis | Cluster;
  recordEvents(events: UsageEvent[]): Promise<void>;
  reserve(requests: BudgetReservationRequest[], now: number): Promise<ReserveResult>;
  settle(reservationId: string, actualAmounts: number[], now: number): Promise<void>;
  release(reservationId: string, now: number): Promise<void>;
  budgetUsage(budgetId: string, window: BudgetWindow, now: number): Promise<number>;
  query(query: UsageQuery): Promise<UsageReport>;
  dailySeries(query: Omit<UsageQuery, 'groupBy'>): Promise<DailyUsage[]>;
  /** Sends every buffered event; resolves when Redis has applied them (rejects if it could not). */
  flush(): Promise<void>;
  /**
   * Connects and checks what no retry can fix — password, ACL, database index, Lua scripting — rejecting with
   * `StoreConfigurationError` (`STORE_MISCONFIGURED`); an unreachable server is `StoreUnavailableError`. Call
   * it at startup: `startProxy()` does.
   */
  connect(): Promise<void>;
  /** Writes one short-lived key (`<prefix>probe`): the failure policy's proof that Redis takes writes again. */
  probe(): Promise<void>;
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
    -- item.p: the position among the call's budgets when a cluster splits one call into several records.
    local actual = tonumber(ARGV[2 + (item.p or i)] or item.a)
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
 * of buckets (in a cluster KEYS[3] = KEYS[2]: the index is another slot, the caller adds the bucket to it),
 * KEYS[4] the bucket's fold counts, KEYS[5..9] the day's sets of distinct model, user, tenant,
 * feature and route values. ARGV: id TTL, bucket start, bucket expiry (ms from now), dimensions (JSON), the
 * distinct-value bound, the sets' expiry, the five values ('' for none), then metric/increment pairs. A value
 * new to a full set is stored as (other) and counted. Returns 0 for a duplicate, else 1 + 2 × the fold mask.
 */
/** KEYS of the record script: event, aggregate, bucket index, fold counts, five distinct-value sets. */
const RECORD_KEYS = 9;
const RECORD_SCRIPT = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
local suffix = ARGV[4]
local limit = tonumber(ARGV[5])
local names = { 'model', 'user', 'tenant', 'feature', 'route' }
local positions = { 1, 3, 4, 5, 6 }
local bits = { 1, 2, 4, 8, 16 }
local decoded = nil
local mask = 0
for d = 1, 5 do
  local value = ARGV[6 + d]
  local seen = KEYS[4 + d]
  if value ~= '' and redis.call('SISMEMBER', seen, value) == 0 then
    if redis.call('SCARD', seen) < limit then
      redis.call('SADD', seen, value)
      redis.call('PEXPIRE', seen, ARGV[6])
    else
      decoded = decoded or cjson.decode(suffix)
      decoded[positions[d]] = '${FOLDED_KEY}'
      redis.call('HINCRBY', KEYS[4], names[d], 1)
      redis.call('PEXPIRE', KEYS[4], ARGV[3])
      mask = mask + bits[d]
    end
  end
end
if decoded then suffix = cjson.encode(decoded) end
for i = 12, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[i] .. '|' .. suffix, ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if KEYS[3] ~= KEYS[2] then redis.call('ZADD', KEYS[3], ARGV[2], ARGV[2]) end
return 1 + 2 * mask
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
  const maxDistinctValuesPerDay = options.maxDistinctValuesPerDay ?? 10_000;
  if (!Number.isSafeInteger(maxDistinctValuesPerDay) || maxDistinctValuesPerDay < 1) {
    throw new InvalidMeterOptionsError('maxDistinctValuesPerDay', 'expected a whole number ≥ 1');
  }
  const onFold = options.onFold;
  const owned = options.client === undefined;
  const clientOptions: RedisOptions = {
    // Fail fast instead of queueing while disconnected: the failure policy needs an answer now, and a
    // command replayed after a reconnect could reserve budget nobody will settle.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(commandTimeoutMs, 1000),
  };
  const client: Redis | Cluster =
    options.client ??
    (options.nodes
      ? new Cluster(options.nodes, {
          enableOfflineQueue: false,
          redisOptions: clientOptions,
          slotsRefreshTimeout: Math.max(commandTimeoutMs, 1000),
        })
      : new Redis(options.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', clientOptions));
  // In a cluster a script may only touch keys of one slot, and a pipeline only keys of one node: the keys of
  // one budget share the hash tag `{b:<budget>}`, those of one aggregate bucket `{a:<bucket>}`. One Redis
  // keeps the untagged names, so an existing deployment's keys stay readable.
  const cluster = (client as Cluster).isCluster === true;
  /**
   * A refusal no retry will fix (authentication, database index, ACL), remembered from the client's events:
   * ioredis reports them only there and then keeps reconnecting — or, for a bad database index, carries on
   * in database 0 — so without this every command would wait for a vague timeout or hit the wrong data.
   */
  let configurationError: StoreConfigurationError | undefined;
  // An unhandled 'error' event would crash the process; failures surface through the commands instead.
  const onError = (error: Error) => {
    const hint = redisConfigurationHint(error.message);
    if (hint) configurationError = new StoreConfigurationError('redis', error.message, hint, { cause: error });
  };
  client.on('error', onError);
  const onReady = () => {
    // A good password after a fix on the server heals; a wrong database index does not (it was skipped).
    if (configurationError && !/DB index|invalid DB/i.test(configurationError.reason)) configurationError = undefined;
  };
  client.on('ready', onReady);
  client.defineCommand('tokenmeterReserve', { lua: RESERVE_SCRIPT });
  client.defineCommand('tokenmeterSettle', { lua: SETTLE_SCRIPT, numberOfKeys: 1 });
  client.defineCommand('tokenmeterRecord', { lua: RECORD_SCRIPT, numberOfKeys: RECORD_KEYS });
  const scripted = client as unknown as Cluster & ScriptedRedis;
  const bucketsKey = `${prefix}agg-buckets`;

  let batch: PendingBatch = { events: [], waiters: [] };
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const unfinished = new Set<Promise<Error | undefined>>();
  let closed = false;

  let connecting: Promise<void> | undefined;

  /** Waits for the connection (up to the command timeout) since commands are not queued while offline. */
  function ready(): Promise<void> {
    if (configurationError) return Promise.reject(configurationError);
    if (client.status === 'ready') return Promise.resolve();
    if (client.status === 'end') return Promise.reject(new Error('the Redis connection is closed'));
    if (client.status === 'wait') client.connect().catch(() => {});
    // Every caller waiting during an outage shares one listener and one timer.
    connecting ??= new Promise<void>((resolve, reject) => {
      const finish = (error?: Error) => {
        clearTimeout(timeout);
        client.off('ready', onConnected);
        client.off('error', onRefused);
        connecting = undefined;
        if (error) reject(error);
        else resolve();
      };
      const timeout = setTimeout(
        () => finish(new Error(`Redis not ready after ${commandTimeoutMs} ms (status ${client.status})`)),
        commandTimeoutMs,
      );
      // 'ready' comes after the AUTH and SELECT replies, so a refusal among them is known by then.
      const onConnected = () => finish(configurationError);
      const onRefused = () => {
        if (configurationError) finish(configurationError);
      };
      client.on('ready', onConnected);
      client.on('error', onRefused);
    });
    return connecting;
  }

  /** A command's own refusal (ACL, unknown command) is a configuration error too. */
  function classified(error: unknown): unknown {
    if (error instanceof StoreConfigurationError || !(error instanceof Error)) return error;
    const hint = redisConfigurationHint(error.message);
    return hint ? new StoreConfigurationError('redis', error.message, hint, { cause: error }) : error;
  }

  const spendKey = (budgetId: string, instance: WindowInstance) =>
    cluster ? `${prefix}{b:${budgetId}}:spend:${instance.key}` : `${prefix}spend:${budgetId}:${instance.key}`;
  const reservedKey = (budgetId: string, instance: WindowInstance) =>
    cluster ? `${prefix}{b:${budgetId}}:reserved:${instance.key}` : `${prefix}reserved:${budgetId}:${instance.key}`;
  const reservationKey = (id: string) => `${prefix}reservation:${id}`;
  const budgetReservationKey = (budgetId: string, id: string) => `${prefix}{b:${budgetId}}:reservation:${id}`;
  const eventKey = (bucket: number, id: string) =>
    cluster ? `${prefix}{a:${bucket}}:event:${id}` : `${prefix}event:${id}`;
  const aggregateKey = (bucket: number | string) => (cluster ? `${prefix}{a:${bucket}}:agg` : `${prefix}agg:${bucket}`);

  /**
   * A cluster reserves budget by budget, each in its slot, in the order of the call; when one does not fit,
   * those already held are released. Budgets are never overspent; a concurrent call may see the short-lived
   * hold of a call that is then refused. The reservation id names the budgets so settle finds the records.
   */
  async function reserveInCluster(requests: BudgetReservationRequest[], now: number): Promise<ReserveResult> {
    const id = randomUUID();
    const groups = new Map<string, number[]>();
    requests.forEach((request, index) => {
      const positions = groups.get(request.budgetId) ?? [];
      positions.push(index);
      groups.set(request.budgetId, positions);
    });
    const budgetIds = [...groups.keys()];
    const reservationId = `${id}~${Buffer.from(JSON.stringify(budgetIds)).toString('base64url')}`;
    const remaining: number[] = new Array(requests.length).fill(0);
    const held: string[] = [];
    const releaseHeld = () =>
      Promise.allSettled(held.map((key) => scripted.tokenmeterSettle(key, now, '0'))).then(() => undefined);
    try {
      for (const [budgetId, positions] of groups) {
        const recordKey = budgetReservationKey(budgetId, id);
        const reply = await reserveScript(
          positions.map((position) => requests[position]!),
          positions.map((position) => position + 1),
          id,
          recordKey,
          now,
        );
        if (Number(reply[0]) !== 1) {
          await releaseHeld();
          const failed = requests[positions[Number(reply[1]) - 1]!]!;
          return {
            ok: false,
            budgetId: failed.budgetId,
            limit: failed.limit,
            used: Number(reply[2]),
            retryAfterMs: Number(reply[3]),
          };
        }
        held.push(recordKey);
        positions.forEach((position, local) => {
          remaining[position] = Number(reply[local + 1]);
        });
      }
    } catch (error) {
      await releaseHeld();
      throw error;
    }
    return { ok: true, reservationId, remaining };
  }

  /** Settles or releases every record of a reservation; `true` when the id is a cluster reservation id. */
  async function settleInCluster(reservationId: string, now: number, args: (string | number)[]): Promise<boolean> {
    const separator = reservationId.indexOf('~');
    if (!cluster || separator < 0) return false;
    const id = reservationId.slice(0, separator);
    let budgetIds: unknown;
    try {
      budgetIds = JSON.parse(Buffer.from(reservationId.slice(separator + 1), 'base64url').toString('utf8'));
    } catch {
      return true;
    }
    if (!Array.isArray(budgetIds)) return true;
    await Promise.all(
      budgetIds.map((budgetId) => scripted.tokenmeterSettle(budgetReservationKey(String(budgetId), id), now, ...args)),
    );
    return true;
  }

  async function reserve(requests: BudgetReservationRequest[], now: number): Promise<ReserveResult> {
    validateReservationRequests(requests);
    await ready();
    if (cluster) return reserveInCluster(requests, now);
    const reservationId = randomUUID();
    const reply = await reserveScript(requests, undefined, reservationId, reservationKey(reservationId), now);
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

  /** Runs the reserve script; `positions` (1-based, in the whole call) when a cluster splits the call. */
  function reserveScript(
    requests: BudgetReservationRequest[],
    positions: number[] | undefined,
    reservationId: string,
    recordKey: string,
    now: number,
  ): Promise<ScriptReply> {
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
        ...(positions ? { p: positions[index] } : {}),
      });
    });
    keys.push(recordKey);
    return scripted.tokenmeterReserve(
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
    const day = Math.floor(bucket / 86_400_000);
    // The sets only decide what is new during their day (and for events that arrive a little late); a
    // backfilled day keeps its set an hour after its last event.
    const seenTtl = Math.max(3_600_000, (day + 2) * 86_400_000 - Date.now());
    return [
      eventKey(bucket, event.id),
      aggregateKey(bucket),
      // In a cluster the index lives in another slot: send() adds the bucket to it before the events.
      cluster ? aggregateKey(bucket) : bucketsKey,
      // Fold counts and distinct-value sets: per day on one Redis; in a cluster they must share the bucket's
      // slot, so there the bound holds per 15-minute bucket instead of per day.
      cluster ? `${prefix}{a:${bucket}}:folds` : `${prefix}folds:${bucket}`,
      ...FOLDABLE_DIMENSIONS.map((dimension) =>
        cluster ? `${prefix}{a:${bucket}}:seen:${dimension}` : `${prefix}seen:${day}:${dimension}`,
      ),
      eventIdTtlMs,
      bucket,
      bucketTtl,
      dimensions,
      maxDistinctValuesPerDay,
      seenTtl,
      ...FOLDABLE_DIMENSIONS.map((dimension) => event[dimension] ?? ''),
      ...pairs,
    ];
  }

  async function send(current: PendingBatch): Promise<Error | undefined> {
    try {
      await ready();
      if (cluster) {
        await sendToCluster(current.events);
        for (const waiter of current.waiters) waiter.resolve();
        return undefined;
      }
      const pipeline = client.pipeline() as unknown as ScriptedPipeline;
      for (const event of current.events) pipeline.tokenmeterRecord(...recordArguments(event));
      const results = (await pipeline.exec()) ?? [];
      const failure = results.find(([error]) => error !== null);
      if (failure) throw failure[0];
      if (results.length !== current.events.length) throw new Error('Redis pipeline answered incompletely');
      if (onFold) reportFolds(results);
      for (const waiter of current.waiters) waiter.resolve();
      return undefined;
    } catch (error) {
      // The whole batch fails together; retrying it is safe since applied events are skipped by id.
      for (const waiter of current.waiters) waiter.reject(error);
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  function reportFolds(results: [Error | null, unknown][]): void {
    for (const [, reply] of results) {
      const mask = Math.floor(Number(reply) / 2);
      if (mask === 0) continue;
      FOLDABLE_DIMENSIONS.forEach((dimension, index) => {
        if (mask & (1 << index)) {
          try {
            onFold?.(dimension);
          } catch {
            // An observer's failure must not fail the write that has already been applied.
          }
        }
      });
    }
  }

  /**
   * A cluster pipeline may only hold keys of one node, so events go as separate commands (ioredis writes
   * them without waiting for each answer). Buckets are indexed first: an indexed bucket that stays empty
   * reads as nothing, an event in an unindexed bucket would be missed by queries.
   */
  async function sendToCluster(events: UsageEvent[]): Promise<void> {
    const calls = events.map(recordArguments);
    const buckets = [...new Set(calls.map((call) => Number(call[RECORD_KEYS + 1])))];
    await client.zadd(bucketsKey, ...buckets.flatMap((bucket) => [bucket, bucket]));
    const outcomes = await Promise.allSettled(calls.map((call) => scripted.tokenmeterRecord(...call)));
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
    if (onFold) {
      reportFolds(outcomes.map((outcome) => [null, (outcome as PromiseFulfilledResult<unknown>).value]));
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
    const folded: Partial<Record<FoldableDimension, number>> = {};
    const chunkSize = 500;
    for (let offset = 0; offset < buckets.length; offset += chunkSize) {
      const chunk = buckets.slice(offset, offset + chunkSize);
      let replies: [Error | null, unknown][];
      if (cluster) {
        // Buckets live on different nodes, which one pipeline cannot span; a bucket's two hashes share its slot.
        const perBucket = await Promise.all(
          chunk.map(async (bucket) => {
            const [fields, folds] = await Promise.all([
              client.hgetall(aggregateKey(bucket)),
              client.hgetall(`${prefix}{a:${bucket}}:folds`),
            ]);
            return [
              [null, fields],
              [null, folds],
            ] as [Error | null, unknown][];
          }),
        );
        replies = perBucket.flat();
      } else {
        const pipeline = client.pipeline();
        for (const bucket of chunk) pipeline.hgetall(aggregateKey(bucket)).hgetall(`${prefix}folds:${bucket}`);
        replies = (await pipeline.exec()) ?? [];
      }
      const results = replies.filter((_, index) => index % 2 === 0);
      replies.forEach(([error, fields], index) => {
        if (index % 2 === 0) return;
        if (error) throw error;
        for (const [dimension, count] of Object.entries(fields as Record<string, string>)) {
          if ((FOLDABLE_DIMENSIONS as readonly string[]).includes(dimension)) {
            folded[dimension as FoldableDimension] = (folded[dimension as FoldableDimension] ?? 0) + Number(count);
          }
        }
      });
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
    const report = builder.build();
    return Object.keys(folded).length > 0 ? { ...report, folded } : report;
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
      if (await settleInCluster(reservationId, now, ['1', ...actualAmounts])) return;
      await scripted.tokenmeterSettle(reservationKey(reservationId), now, '1', ...actualAmounts);
    },
    async release(reservationId: string, now: number) {
      await ready();
      if (await settleInCluster(reservationId, now, ['0'])) return;
      await scripted.tokenmeterSettle(reservationKey(reservationId), now, '0');
    },
    budgetUsage,
    query: readAggregates,
    async dailySeries(query: Omit<UsageQuery, 'groupBy'>): Promise<DailyUsage[]> {
      return dailySeriesFromReport(await readAggregates({ ...query, groupBy: 'day' }));
    },
    flush,
    async connect() {
      await ready().catch((error: unknown) => {
        throw error instanceof StoreConfigurationError ? error : new StoreUnavailableError('redis', { cause: error });
      });
      try {
        // Loading the scripts proves scripting works and that this user may use it; the database index is
        // checked from the server's side since ioredis goes on in database 0 when SELECT fails.
        for (const script of [RESERVE_SCRIPT, SETTLE_SCRIPT, RECORD_SCRIPT]) await client.script('LOAD', script);
        const wanted = cluster ? 0 : ((client as Redis).options.db ?? 0);
        if (wanted !== 0) {
          const info = String(await client.call('CLIENT', 'INFO'));
          const db = /\bdb=(\d+)/.exec(info)?.[1];
          if (db !== undefined && Number(db) !== wanted) {
            throw new StoreConfigurationError(
              'redis',
              `connected to database ${db} instead of ${wanted}`,
              'the database number in the Redis URL does not exist on this server',
            );
          }
        }
      } catch (error) {
        const refusal = classified(error);
        throw refusal instanceof StoreConfigurationError
          ? refusal
          : new StoreUnavailableError('redis', { cause: error });
      }
      if (configurationError) throw configurationError;
    },
    async probe() {
      await ready();
      await client.set(`${prefix}probe`, String(Date.now()), 'PX', 60_000);
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await flush();
      } finally {
        client.off('error', onError);
        client.off('ready', onReady);
        if (owned) {
          await client.quit().catch(() => client.disconnect());
        }
      }
    },
  };
  return store;
}
