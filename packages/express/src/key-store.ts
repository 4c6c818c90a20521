import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { InvalidMeterOptionsError } from './invalid-meter-options-error';

/**
 * A virtual key as stored: never the key itself, only its SHA-256. `id` is a separate random handle for
 * listing and revoking, so nothing that is shown can be turned back into the key.
 */
export interface VirtualKeyRecord {
  /** Public handle, `vk_` and 16 hex digits. */
  id: string;
  /** SHA-256 of the whole key (`tm_…`), lower-case hex. */
  hash: string;
  /** Who the key's calls are attributed to (user budgets, usage per user). */
  user: string;
  tenant?: string;
  /** Models the key may call: exact names, or a prefix ending in `*` (`gpt-4o*`). Absent: any model. */
  models?: string[];
  /** Budgets of this key alone, shorthands like `5/day` or `100000tokens/month`. Absent: none. */
  budgets?: string[];
  /** A note for people (`ci`, `alice laptop`). */
  name?: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  revokedAt?: number;
}

/**
 * Where virtual keys live: a capability beside `Store`, kept in the same backend (the same SQLite file,
 * the same Redis) but not one of a store's required methods. Methods may answer synchronously or with a promise.
 */
export interface KeyStore {
  /** `memory`, `sqlite` or `redis`. */
  readonly name: string;
  addKey(record: VirtualKeyRecord): void | Promise<void>;
  /** The record whose `hash` this is, revoked or not; undefined when there is none. */
  keyByHash(hash: string): VirtualKeyRecord | undefined | Promise<VirtualKeyRecord | undefined>;
  /** Every key, oldest first. */
  listKeys(): VirtualKeyRecord[] | Promise<VirtualKeyRecord[]>;
  /** Marks the key revoked; false when no key has this id. Revoking twice keeps the first time. */
  revokeKey(id: string, at: number): boolean | Promise<boolean>;
  close(): void | Promise<void>;
}

export function createMemoryKeyStore(): KeyStore {
  const byHash = new Map<string, VirtualKeyRecord>();
  return {
    name: 'memory',
    addKey(record) {
      if (byHash.has(record.hash)) throw new Error('a key with this hash exists already');
      byHash.set(record.hash, { ...record });
    },
    keyByHash(hash) {
      const found = byHash.get(hash);
      return found ? { ...found } : undefined;
    },
    listKeys() {
      return [...byHash.values()].map((record) => ({ ...record }));
    },
    revokeKey(id, at) {
      for (const record of byHash.values()) {
        if (record.id !== id) continue;
        record.revokedAt ??= at;
        return true;
      }
      return false;
    },
    close() {},
  };
}

const KEYS_SCHEMA = `
CREATE TABLE IF NOT EXISTS tokenmeter_keys (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  user TEXT NOT NULL,
  tenant TEXT,
  models TEXT,
  budgets TEXT,
  name TEXT,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);`;

interface KeyRow {
  id: string;
  hash: string;
  user: string;
  tenant: string | null;
  models: string | null;
  budgets: string | null;
  name: string | null;
  created_at: number;
  revoked_at: number | null;
}

function fromRow(row: KeyRow): VirtualKeyRecord {
  return {
    id: row.id,
    hash: row.hash,
    user: row.user,
    ...(row.tenant === null ? {} : { tenant: row.tenant }),
    ...(row.models === null ? {} : { models: JSON.parse(row.models) as string[] }),
    ...(row.budgets === null ? {} : { budgets: JSON.parse(row.budgets) as string[] }),
    ...(row.name === null ? {} : { name: row.name }),
    createdAt: row.created_at,
    ...(row.revoked_at === null ? {} : { revokedAt: row.revoked_at }),
  };
}

/** Virtual keys in a table of the SQLite file the events are in (its own connection). */
export function createSqliteKeyStore(options: { path: string }): KeyStore {
  const db = new Database(options.path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(KEYS_SCHEMA);
  const insert = db.prepare(
    'INSERT INTO tokenmeter_keys (id, hash, user, tenant, models, budgets, name, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const byHash = db.prepare<[string], KeyRow>('SELECT * FROM tokenmeter_keys WHERE hash = ?');
  const all = db.prepare<[], KeyRow>('SELECT * FROM tokenmeter_keys ORDER BY created_at, id');
  const revoke = db.prepare('UPDATE tokenmeter_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?');
  return {
    name: 'sqlite',
    addKey(record) {
      insert.run(
        record.id,
        record.hash,
        record.user,
        record.tenant ?? null,
        record.models ? JSON.stringify(record.models) : null,
        record.budgets ? JSON.stringify(record.budgets) : null,
        record.name ?? null,
        record.createdAt,
        record.revokedAt ?? null,
      );
    },
    keyByHash(hash) {
      const row = byHash.get(hash);
      return row ? fromRow(row) : undefined;
    },
    listKeys() {
      return all.all().map(fromRow);
    },
    revokeKey(id, at) {
      return revoke.run(at, id).changes > 0;
    },
    close() {
      db.close();
    },
  };
}

export interface RedisKeyStoreOptions {
  /** Default `process.env.REDIS_URL`, else `redis://127.0.0.1:6379`. */
  url?: string;
  /** Key prefix, as the event store's. Default `tokenmeter:`; the keys live in the hash `<prefix>vkeys`. */
  prefix?: string;
  /** Default 1000 ms. */
  commandTimeoutMs?: number;
}

/** Virtual keys in one Redis hash, `<prefix>vkeys`: field = key hash, value = the record as JSON. */
export function createRedisKeyStore(options: RedisKeyStoreOptions = {}): KeyStore {
  const prefix = options.prefix ?? 'tokenmeter:';
  const commandTimeout = options.commandTimeoutMs ?? 1000;
  const client = new Redis(options.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
    // A key check that cannot reach Redis fails now (the request gets an error) rather than queueing.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout,
    connectTimeout: Math.max(commandTimeout, 1000),
    lazyConnect: true,
  });
  client.on('error', () => {});
  const hashKey = `${prefix}vkeys`;
  let connecting: Promise<void> | undefined;
  const ready = () => {
    if (client.status === 'ready') return Promise.resolve();
    connecting ??= client.connect().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };
  const all = async () => {
    await ready();
    const values = await client.hvals(hashKey);
    return values
      .map((value) => JSON.parse(value) as VirtualKeyRecord)
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  };
  return {
    name: 'redis',
    async addKey(record) {
      await ready();
      const added = await client.hsetnx(hashKey, record.hash, JSON.stringify(record));
      if (added !== 1) throw new Error('a key with this hash exists already');
    },
    async keyByHash(hash) {
      await ready();
      const value = await client.hget(hashKey, hash);
      return value === null ? undefined : (JSON.parse(value) as VirtualKeyRecord);
    },
    listKeys: all,
    async revokeKey(id, at) {
      const record = (await all()).find((candidate) => candidate.id === id);
      if (!record) return false;
      record.revokedAt ??= at;
      await client.hset(hashKey, record.hash, JSON.stringify(record));
      return true;
    },
    async close() {
      if (client.status === 'wait' || client.status === 'end') {
        client.disconnect();
        return;
      }
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/** Opens the key store that lives beside a store spec: `memory`, `sqlite:FILE`, `redis://…`. */
export function keyStoreFromSpec(spec: string, options: { prefix?: string } = {}): KeyStore {
  if (spec === 'memory') return createMemoryKeyStore();
  if (spec.startsWith('sqlite:') && spec.length > 'sqlite:'.length) {
    return createSqliteKeyStore({ path: spec.slice('sqlite:'.length) });
  }
  if (spec.startsWith('redis://') || spec.startsWith('rediss://')) {
    return createRedisKeyStore({ url: spec, ...(options.prefix ? { prefix: options.prefix } : {}) });
  }
  throw new InvalidMeterOptionsError(
    'store',
    `unknown store ${JSON.stringify(spec)}; expected memory, sqlite:FILE or redis://…`,
  );
}
