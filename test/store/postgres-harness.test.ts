import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';

const { Client } = pg;

/** Runs one query on a fresh connection and closes it. */
async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The private PostgreSQL cluster the store tests run against: start, databases, crash, restart, cleanup. */
describe('postgres test harness', () => {
  let server: PostgresServer;
  let urls: string[] = [];

  beforeAll(async () => {
    server = await startPostgres();
    urls = [await server.createDatabase(), await server.createDatabase()];
  }, 30_000);
  afterAll(async () => {
    await server?.remove();
  }, 30_000);

  it('creates distinct databases on a loopback port', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    expect(urls[0]).toMatch(new RegExp(`^postgres://mesa@127\\.0\\.0\\.1:${server.port}/mesa_test_\\d+$`));
    expect(new Set(urls).size).toBe(2);
    expect(server.url('other')).toBe(`postgres://mesa@127.0.0.1:${server.port}/other`);
  });

  it('answers queries as the mesa superuser in the database asked for', async () => {
    const url = urls[0]!;
    const r = await query(url, 'SELECT version() AS v, current_database() AS db, current_user AS u');
    expect(r.rows[0].v).toContain('PostgreSQL');
    expect(r.rows[0].db).toBe(url.split('/').pop());
    expect(r.rows[0].u).toBe('mesa');
  }, 30_000);

  it('refuses connections after an immediate stop and takes them again after start on the same port', async () => {
    const url = urls[1]!;
    await query(url, 'CREATE TABLE t (n int); INSERT INTO t VALUES (42)');
    const port = server.port;
    await server.stop('immediate');
    await expect(query(url, 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
    await server.start();
    expect(server.port).toBe(port);
    // Committed data survives the crash: recovery replays the WAL even with fsync off.
    expect((await query(url, 'SELECT n FROM t')).rows).toEqual([{ n: 42 }]);
  }, 30_000);

  it('remove() deletes the cluster directory and may be called twice', async () => {
    const other = await startPostgres();
    const dir = dirname(other.dataDir);
    expect(existsSync(other.dataDir)).toBe(true);
    await other.remove();
    expect(existsSync(dir)).toBe(false);
    await other.remove();
    await expect(query(other.url(), 'SELECT 1')).rejects.toThrow(/ECONNREFUSED/);
  }, 30_000);
});
