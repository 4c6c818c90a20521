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
