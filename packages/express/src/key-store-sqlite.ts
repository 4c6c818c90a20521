import type { KeyStore, VirtualKeyRecord } from './key-store';
import Database from './peer-better-sqlite3';

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
