import type BetterSqlite3 from 'better-sqlite3';
import { requirePeer } from './peer';

// better-sqlite3's own constructor type cannot be named in a declaration file; this is the part the stores use.
interface DatabaseConstructor {
  new (filename: string, options?: BetterSqlite3.Options): BetterSqlite3.Database;
}

const Database = requirePeer<DatabaseConstructor>('better-sqlite3', '@tokenmeter/express/sqlite');

type Database = BetterSqlite3.Database;
// Carries better-sqlite3's type namespace (Database.Statement) through the re-export.
declare namespace Database {
  export type Statement<
    BindParameters extends unknown[] | Record<string, unknown> = unknown[],
    Result = unknown,
  > = BetterSqlite3.Statement<BindParameters, Result>;
}

export default Database;
