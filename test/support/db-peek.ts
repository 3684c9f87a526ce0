import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

type Param = string | number | null;

/**
 * Tests look at rows the product has no reason to expose (the outbox's payloads, raw event
 * data) with plain SQL, through a connection of their own, so nothing here can change the desk
 * or hold its lock: a read-only SQLite connection per look, or a PostgreSQL client when the
 * test Mesa runs there (`?` placeholders either way; counts come back as numbers).
 */
export interface Peek {
  all<T = Record<string, unknown>>(sql: string, ...params: Param[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, ...params: Param[]): Promise<T | undefined>;
}

export function peek(t: { dataDir: string; databaseUrl?: string | null }): Peek {
  const all = t.databaseUrl ? postgresAll(t.databaseUrl) : sqliteAll(join(t.dataDir, 'mesa.db'));
  return {
    all: all as Peek['all'],
    async get<T>(sql: string, ...params: Param[]) { return (await all(sql, ...params))[0] as T | undefined; },
  };
}

function sqliteAll(file: string) {
  return async (sql: string, ...params: Param[]): Promise<unknown[]> => {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try { return db.prepare(sql).all(...params); } finally { db.close(); }
  };
}

function postgresAll(url: string) {
  return async (sql: string, ...params: Param[]): Promise<unknown[]> => {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    const client = new pg.Client({ connectionString: url, types: { getTypeParser: (oid: number, format?: string) => (oid === 20 || oid === 1700 ? Number : pg.types.getTypeParser(oid, format as 'text')) } as never });
    client.on('error', () => {}); // a server stopped by the test: the query fails, the process stays
    await client.connect();
    try { return (await client.query(text, params)).rows; } finally { await client.end(); }
  };
}

/** Deletes a stored blob behind the desk's back (a disk or table cleaned by hand), for failure tests. */
export async function removeBlob(t: { dataDir: string; databaseUrl?: string | null }, sha: string): Promise<void> {
  if (t.databaseUrl) {
    const client = new pg.Client({ connectionString: t.databaseUrl });
    await client.connect();
    try { await client.query('DELETE FROM blobs WHERE sha256 = $1', [sha]); } finally { await client.end(); }
    return;
  }
  rmSync(join(t.dataDir, 'blobs', sha.slice(0, 2), sha));
}
