import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import type { AppendTable } from '../transaction-scope.ts';
import { failedProbe, type Engine, type SchemaInspection, type WriteProbe } from '../engine.ts';
import { SchemaTooNewError, StoreError, type StoreErrorKind } from '../errors.ts';
import type { SqlDialect, SqlValue } from '../sql.ts';
import { PG_MIGRATIONS } from './migrations.ts';

const { Pool, types } = pg;

export const POSTGRES_DIALECT: SqlDialect = {
  name: 'postgres',
  greatest: (a, b) => `GREATEST(${a}, ${b})`,
  jsonNumber: (column, member) => `((${column})::jsonb ->> '${member}')::integer`,
  // The partial index on (next_action_at, id) serves this as it is.
  dueTicketsSql: 'SELECT id FROM tickets WHERE next_action_at IS NOT NULL AND next_action_at <= ? AND id > ? ORDER BY id LIMIT ?',
  skipLocked: 'FOR UPDATE SKIP LOCKED',
  forUpdate: 'FOR UPDATE',
  transactionLock: 'SELECT pg_advisory_xact_lock(hashtext(?)) AS locked',
  // clock_timestamp(), not now(): now() is frozen at the start of the transaction.
  nowMs: '(extract(epoch FROM clock_timestamp()) * 1000)::bigint',
  nextId: (table) => `nextval(pg_get_serial_sequence('${table}', 'id'))`,
};

/** Any fixed number: instances starting together take this lock to migrate one at a time. */
const MIGRATION_LOCK = 0x6d657361; // "mesa"

/**
 * BIGINT (epoch milliseconds, ids, counts) as JS numbers: every value we store fits in 2^53,
 * and rows must look the same from both engines. NUMERIC too (sums), for the same reason.
 */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === 20 || oid === 1700) return (v: string) => Number(v);
    return types.getTypeParser(oid, format as 'text');
  }) as typeof types.getTypeParser,
};

interface TxContext { client: pg.PoolClient; root: { active: boolean }; depth: number }

/**
 * The shared engine: a node-postgres pool. A transaction holds one pooled client from BEGIN to
 * COMMIT; statements made in its async context (AsyncLocalStorage) go to that client, others
 * to the pool as autocommit statements. A nested `transaction` is a savepoint.
 */
export class PostgresEngine implements Engine {
  readonly dialect = POSTGRES_DIALECT;
  private readonly context = new AsyncLocalStorage<TxContext>();
  private readonly converted = new Map<string, Statement>();
  private readonly arrayInserts = new Map<AppendTable, string>();
  private closed = false;

  private constructor(private readonly pool: pg.Pool, readonly target: { host: string; port: number; database: string }) {}

  /** Connects, checks the server and brings the schema up to date (one instance at a time). */
  static async open(url: string, opts: { poolSize?: number } = {}): Promise<PostgresEngine> {
    const target = describeUrl(url);
    const pool = new Pool({ connectionString: url, max: opts.poolSize ?? 10, types: TYPES, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000 });
    // An idle client that loses its connection emits here; without a listener it would crash the process.
    pool.on('error', () => {});
    const engine = new PostgresEngine(pool, target);
    try {
      await engine.migrate();
    } catch (err) {
      await pool.end().catch(() => undefined);
      const e = mapError(err);
      if (e instanceof SchemaTooNewError) throw e;
      // Name where it tried and why, never the password: the operator's first question.
      const where = `PostgreSQL en ${target.host}:${target.port}, base ${target.database}`;
      const cause = (e as Error).message || (e as { code?: string }).code || String(e);
      throw new StoreError(e instanceof StoreError ? e.kind : 'unavailable', `no se pudo abrir ${where}: ${cause}`, e instanceof StoreError ? e.engineCode : null, { cause: err });
    }
    return engine;
  }

  /**
   * What `mesa doctor` reports without changing anything: reachable, the server's version, the
   * schema version against ours (pending migrations reported, not applied), a write accepted.
   */
  static async inspect(url: string): Promise<SchemaInspection & { serverVersion: number | null }> {
    const target = describeUrl(url);
    const client = new pg.Client({ connectionString: url, types: TYPES, connectionTimeoutMillis: 5_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      const serverVersion = Number((await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0]?.v ?? 0);
      const table = (await client.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations')::text AS t`)).rows[0]?.t ?? null;
      const version = table === null ? 0 : Number((await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0);
      await client.query('BEGIN');
      await client.query('SELECT pg_current_xact_id()');
      await client.query('ROLLBACK');
      return { serverVersion, version, known: PG_MIGRATIONS.length, write: { ok: true } };
    } catch (err) {
      return { serverVersion: null, version: null, known: PG_MIGRATIONS.length, write: failedProbe(mapError(err), `PostgreSQL en ${target.host}:${target.port}, base ${target.database}: `) };
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get location(): string {
    return postgresLocation(this.target);
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return (await this.query(sql, params)).rows as T[];
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.query(sql, params)).rows[0] as T | undefined;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.query(sql, params)).rowCount ?? 0;
  }

  /**
   * Any number of rows in one statement whose text never changes (so it is prepared once):
   * each column travels as one array parameter and `unnest` turns the arrays back into rows.
   */
  async insertRows(table: AppendTable, rows: readonly SqlValue[][]): Promise<void> {
    if (rows.length === 0) return;
    let sql = this.arrayInserts.get(table);
    if (sql === undefined) {
      sql = `INSERT INTO ${table.name} (${table.columns.join(', ')}) SELECT * FROM unnest(${table.pgTypes.map((t) => `?::${t}[]`).join(', ')})`;
      this.arrayInserts.set(table, sql);
    }
    const columns = table.columns.map((_, i) => rows.map((r) => withoutNul(r[i] ?? null)));
    await this.query(sql, columns as unknown as SqlValue[]);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const ctx = this.current();
    if (ctx) return this.savepoint(ctx, fn);
    const client = await this.connect();
    const root = { active: true };
    let broken = false;
    try {
      await client.query('BEGIN');
      let result: T;
      try {
        result = await this.context.run({ client, root, depth: 0 }, fn);
      } catch (err) {
        await client.query('ROLLBACK').catch(() => { broken = true; });
        throw err;
      }
      await client.query('COMMIT');
      return result;
    } catch (err) {
      throw mapError(err);
    } finally {
      root.active = false;
      client.release(broken);
    }
  }

  /** Whether the server takes a write now: a transaction id is assigned, then rolled back. */
  async probeWrite(): Promise<WriteProbe> {
    if (this.closed) return { ok: false, kind: 'closed', message: 'la base de datos está cerrada', engineCode: null };
    try {
      await this.transaction(async () => { await this.get('SELECT pg_current_xact_id() AS x'); throw ROLLBACK; });
      return { ok: true };
    } catch (err) {
      if (err === ROLLBACK) return { ok: true };
      return failedProbe(mapError(err));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /** The schema version the database is at, and how many migrations this Mesa knows. */
  async schemaVersion(): Promise<{ current: number; known: number }> {
    const row = await this.get<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
    return { current: Number(row?.v ?? 0), known: PG_MIGRATIONS.length };
  }

  private async migrate(): Promise<void> {
    const client = await this.connect();
    try {
      // A session lock, held across the migrations' own transactions: a second instance waits
      // here, then finds the schema current.
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
        const current = Number((await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0);
        if (current > PG_MIGRATIONS.length) throw new SchemaTooNewError(current, PG_MIGRATIONS.length);
        for (let v = current; v < PG_MIGRATIONS.length; v++) {
          await client.query('BEGIN');
          try {
            await client.query(PG_MIGRATIONS[v] as string);
            await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [v + 1, Date.now()]);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK');
            throw err;
          }
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } finally {
      client.release();
    }
  }

  private current(): TxContext | undefined {
    const ctx = this.context.getStore();
    return ctx?.root.active ? ctx : undefined;
  }

  private async savepoint<T>(parent: TxContext, fn: () => Promise<T>): Promise<T> {
    const depth = parent.depth + 1;
    const name = `sp${depth}`;
    await this.onClient(parent.client, `SAVEPOINT ${name}`, []);
    try {
      const result = await this.context.run({ ...parent, depth }, fn);
      await this.onClient(parent.client, `RELEASE SAVEPOINT ${name}`, []);
      return result;
    } catch (err) {
      await this.onClient(parent.client, `ROLLBACK TO SAVEPOINT ${name}`, []);
      throw err;
    }
  }

  private async query(sql: string, rawParams: readonly SqlValue[]): Promise<pg.QueryResult> {
    const ctx = this.current();
    const statement = this.convert(sql);
    const values = rawParams.map(withoutNul) as unknown[];
    if (ctx) return this.onClient(ctx.client, statement, values);
    try {
      return await this.pool.query(statement.name === '' ? { text: statement.text, values } : { ...statement, values });
    } catch (err) {
      throw mapError(err);
    }
  }

  private async onClient(client: pg.PoolClient, statement: string | Statement, values: readonly unknown[]): Promise<pg.QueryResult> {
    try {
      if (typeof statement === 'string') return await client.query(statement, values as unknown[]);
      return await client.query(statement.name === '' ? { text: statement.text, values: values as unknown[] } : { ...statement, values: values as unknown[] });
    } catch (err) {
      throw mapError(err);
    }
  }

  private async connect(): Promise<pg.PoolClient> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw mapError(err);
    }
    // A checked-out client whose connection drops (the server stopped mid-transaction) emits
    // 'error'; unheard, that would end the process. The query in flight fails on its own, and
    // the client is discarded when released (`release(broken)`).
    if (!listening.has(client)) {
      listening.add(client);
      client.on('error', () => {});
    }
    return client;
  }

  /**
   * `?` placeholders (the repositories' dialect-neutral spelling) to `$1, $2, …`, outside quotes,
   * and a name: node-postgres prepares a named statement once per connection, so the server
   * parses and plans each of the desk's statements once instead of at every message.
   */
  private convert(sql: string): Statement {
    let statement = this.converted.get(sql);
    if (statement === undefined) {
      let n = 0;
      let quoted = false;
      let text = '';
      for (const ch of sql) {
        if (ch === "'") quoted = !quoted;
        text += ch === '?' && !quoted ? `$${++n}` : ch;
      }
      // Past a few thousand distinct texts (long IN lists of every length) stop naming: each
      // named statement costs memory on every connection.
      statement = this.converted.size < MAX_PREPARED ? { name: `mesa_${this.converted.size + 1}`, text } : { name: '', text };
      if (statement.name !== '') this.converted.set(sql, statement);
    }
    return statement;
  }
}

const ROLLBACK = Symbol('rollback');

const MAX_PREPARED = 2_000;

/** A statement as node-postgres prepares it: by name, once per connection. */
interface Statement { name: string; text: string }

/** Pooled clients already given an 'error' listener (the pool hands the same ones out again). */
const listening = new WeakSet<pg.PoolClient>();

/**
 * PostgreSQL's text cannot hold U+0000, which broken mail does carry; SQLite stores it. The
 * character is replaced (U+FFFD), as a mail reader shows it, rather than losing the message.
 */
function withoutNul(v: SqlValue): SqlValue {
  return typeof v === 'string' && v.includes('\u0000') ? v.replaceAll('\u0000', '\uFFFD') : v;
}

/** `PostgreSQL host:port/database`, for logs, the CLI and the doctor (never the password). */
export function postgresLocation(t: { host: string; port: number; database: string }): string {
  return `PostgreSQL ${t.host}:${t.port}/${t.database}`;
}

/** Host, port and database of a URL, for messages (never the password). */
export function describeUrl(url: string): { host: string; port: number; database: string } {
  const u = new URL(url);
  return { host: u.hostname || 'localhost', port: Number(u.port || 5432), database: decodeURIComponent(u.pathname.replace(/^\//, '')) || u.username || 'postgres' };
}

const BUSY = new Set(['40001', '40P01', '55P03', '57014']);
const NETWORK = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)$/;

/** PostgreSQL's SQLSTATEs and socket errors turned into the store's kinds; anything else passes as it is. */
export function mapError(err: unknown): unknown {
  if (err instanceof StoreError || err instanceof SchemaTooNewError) return err;
  const e = err as { code?: unknown; message?: string };
  const code = typeof e.code === 'string' ? e.code : null;
  const message = e.message ?? String(err);
  let kind: StoreErrorKind | null = null;
  if (code === '23505') kind = 'conflict';
  else if (code !== null && BUSY.has(code)) kind = 'busy';
  else if (code !== null && (NETWORK.test(code) || /^(08|57P|53)/.test(code) || code === '3D000' || code === '28P01' || code === '28000')) kind = 'unavailable';
  else if (/Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(message)) kind = 'unavailable';
  return kind === null ? err : new StoreError(kind, message, code, { cause: err });
}
