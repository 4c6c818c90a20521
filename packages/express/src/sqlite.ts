// `@tokenmeter/express/sqlite`: the one entry that loads better-sqlite3 (an optional peer dependency).
export { createSqliteKeyStore } from './key-store-sqlite';
export type { SqliteStore, SqliteStoreOptions } from './store-sqlite';
export { createSqliteStore } from './store-sqlite';
