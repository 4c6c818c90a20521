import type { KeyStore, VirtualKeyRecord } from './key-store';
import { Redis } from './peer-ioredis';

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
