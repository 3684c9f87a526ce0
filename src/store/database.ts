import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS } from './migrations.ts';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the SQLite file in WAL mode and brings its schema up to date.
 * WAL lets the HTTP views read while intake writes; `synchronous = NORMAL` is durable across
 * process crashes (the kill -9 case) and loses at most the last commit on power loss.
 */
export function openDatabase(file: string): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this Mesa (${MIGRATIONS.length})`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

const statementCache = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * A prepared statement, compiled once per connection and SQL text. Preparing on every call cost
 * measurable CPU on the ingest path; better-sqlite3 statements are reusable as long as none is
 * left mid-iteration (we never use `iterate()`).
 */
export function prepared(db: Db, sql: string): Database.Statement {
  let byText = statementCache.get(db);
  if (!byText) { byText = new Map(); statementCache.set(db, byText); }
  let stmt = byText.get(sql);
  if (!stmt) { stmt = db.prepare(sql); byText.set(sql, stmt); }
  return stmt;
}
