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

/**
 * One client per database, kept between looks: a test that peeks after every simulated minute
 * would otherwise open thousands of connections (each a server process). A client whose server
 * went away (a test stopping PostgreSQL) is dropped, and the next look connects again.
 */
const clients = new Map<string, Promise<pg.Client>>();

function postgresAll(url: string) {
  return async (sql: string, ...params: Param[]): Promise<unknown[]> => {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    const client = await connected(url);
    try {
      return (await client.query(text, params)).rows;
    } catch (err) {
      if (!(err as { code?: string }).code) forget(url, client); // not an SQL error: the connection is gone
      throw err;
    }
  };
}

function connected(url: string): Promise<pg.Client> {
  let c = clients.get(url);
  if (!c) {
    const client = new pg.Client({ connectionString: url, types: { getTypeParser: (oid: number, format?: string) => (oid === 20 || oid === 1700 ? Number : pg.types.getTypeParser(oid, format as 'text')) } as never });
    client.on('error', () => forget(url, client)); // a server stopped by the test: the query fails, the process stays
    client.on('end', () => forget(url, client));
    c = client.connect().then(() => {
      // Never what keeps a test process alive.
      (client as unknown as { connection?: { stream?: { unref?: () => void } } }).connection?.stream?.unref?.();
      return client;
    }, (err: unknown) => { clients.delete(url); throw err; });
    clients.set(url, c);
  }
  return c;
}

function forget(url: string, client: pg.Client): void {
  void clients.get(url)?.then((current) => {
    if (current === client) clients.delete(url);
  }, () => undefined);
  void client.end().catch(() => undefined);
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
