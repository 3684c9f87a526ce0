import Database from 'better-sqlite3';
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SchemaTooNewError, StoreError, type StoreErrorKind } from '../errors.ts';
import type { AppendTable } from '../transaction-scope.ts';
import { failedProbe, type Engine, type SchemaInspection, type WriteProbe } from '../engine.ts';
import type { SqlDialect, SqlValue } from '../sql.ts';
import { MIGRATIONS } from './migrations.ts';

type Db = Database.Database;

interface TxContext { root: { active: boolean }; depth: number }


export const SQLITE_DIALECT: SqlDialect = {
  name: 'sqlite',
  greatest: (a, b) => `max(${a}, ${b})`,
  jsonNumber: (column, member) => `json_extract(${column}, '$.${member}')`,
  // INDEXED BY: with `id > ?` and ORDER BY id the planner otherwise walks the primary key over
  // every ticket after `id`, which is the whole table; the partial index visits only due rows.
  dueTicketsSql: 'SELECT id FROM tickets INDEXED BY tickets_next_action WHERE next_action_at IS NOT NULL AND next_action_at <= ? AND id > ? ORDER BY id LIMIT ?',
  // One writer at a time: nothing to skip.
  skipLocked: '',
  forUpdate: '',
  transactionLock: null,
  nowMs: "CAST(unixepoch('subsec') * 1000 AS INTEGER)",
  nextId: () => null,
};

/** How long the readiness probe waits for another process's write lock before calling the database busy. */
const PROBE_LOCK_WAIT_MS = 1_000;

/**
 * The embedded engine: one better-sqlite3 connection in WAL mode. WAL lets the HTTP views read
 * while intake writes; `synchronous = NORMAL` is durable across process crashes (the kill -9
 * case) and loses at most the last commit on power loss.
 *
 * better-sqlite3 is synchronous and this process has one connection, so an async transaction
 * must own the connection from BEGIN to COMMIT: transactions take a FIFO lock, and a statement
 * from any other async context waits for it (otherwise it would silently join, or be rolled back
 * with, someone else's transaction). Statements inside a transaction's context (tracked with
 * AsyncLocalStorage) run at once; a nested `transaction` is a savepoint.
 */
export class SqliteEngine implements Engine {
  readonly dialect = SQLITE_DIALECT;
  private readonly context = new AsyncLocalStorage<TxContext>();
  private lockTail: Promise<void> = Promise.resolve();
  private locked = false;
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(private readonly db: Db, readonly file: string) {}

  static open(file: string): SqliteEngine {
    try {
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
      const db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      migrate(db);
      return new SqliteEngine(db, file);
    } catch (err) {
      throw mapError(err);
    }
  }

  /**
   * What `mesa doctor` reports about an existing file without changing it: its schema version
   * against ours (pending migrations are reported, not applied) and whether it takes a write.
   */
  static async inspect(file: string): Promise<SchemaInspection> {
    let db: Db | null = null;
    try {
      db = new Database(file, { fileMustExist: true });
      db.pragma('busy_timeout = 2000');
      const version = db.pragma('user_version', { simple: true }) as number;
      const engine = new SqliteEngine(db, file);
      const write = version > MIGRATIONS.length ? null : await engine.probeWrite();
      return { version, known: MIGRATIONS.length, write };
    } catch (err) {
      return { version: null, known: MIGRATIONS.length, write: failedProbe(mapError(err)) };
    } finally {
      db?.close();
    }
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  async all<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.withConnection(() => this.statement(sql).all(...params) as T[]);
  }

  async get<T>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.withConnection(() => this.statement(sql).get(...params) as T | undefined);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.withConnection(() => this.statement(sql).run(...params).changes);
  }

  /** In-process, one prepared single-row insert per row costs no more than a multi-row one. */
  async insertRows(table: AppendTable, rows: readonly SqlValue[][]): Promise<void> {
    const sql = `INSERT INTO ${table.name} (${table.columns.join(', ')}) VALUES (${table.columns.map(() => '?').join(', ')})`;
    await this.withConnection(() => {
      const statement = this.statement(sql);
      for (const r of rows) statement.run(...r);
    });
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const ctx = this.current();
    if (ctx) return this.savepoint(ctx, fn);
    const release = await this.acquire();
    const root = { active: true };
    try {
      this.exec('BEGIN IMMEDIATE');
      let result: T;
      try {
        result = await this.context.run({ root, depth: 0 }, fn);
      } catch (err) {
        if (this.db.inTransaction) this.exec('ROLLBACK');
        throw err;
      }
      this.exec('COMMIT');
      return result;
    } finally {
      root.active = false;
      release();
    }
  }

  /**
   * Whether the database can be written now: takes the write lock and rolls back at once,
   * waiting at most a second for another process's lock (never our own: it queues behind them).
   */
  async probeWrite(): Promise<WriteProbe> {
    if (!this.db.open) return { ok: false, kind: 'closed', message: 'la base de datos está cerrada', engineCode: null };
    if (this.current()) return { ok: true };
    const release = await this.acquire();
    const previous = this.db.pragma('busy_timeout', { simple: true }) as number;
    try {
      this.db.pragma(`busy_timeout = ${Math.min(previous, PROBE_LOCK_WAIT_MS)}`);
      this.db.exec('BEGIN IMMEDIATE');
      this.db.exec('ROLLBACK');
      return { ok: true };
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      return failedProbe(mapError(err));
    } finally {
      this.db.pragma(`busy_timeout = ${previous}`);
      release();
    }
  }

  async close(): Promise<void> {
    const release = await this.acquire();
    try {
      if (this.db.open) this.db.close();
    } finally {
      release();
    }
  }

  get location(): string {
    return `SQLite ${this.file}`;
  }

  async schemaVersion(): Promise<{ current: number; known: number }> {
    return { current: this.db.pragma('user_version', { simple: true }) as number, known: MIGRATIONS.length };
  }

  /**
   * The transaction this async context runs in, if it is still open. A timer or promise chain
   * started inside a transaction inherits its context after the commit: it must not count.
   */
  private current(): TxContext | undefined {
    const ctx = this.context.getStore();
    return ctx?.root.active ? ctx : undefined;
  }

  private async savepoint<T>(parent: TxContext, fn: () => Promise<T>): Promise<T> {
    const depth = parent.depth + 1;
    const name = `sp${depth}`;
    this.exec(`SAVEPOINT ${name}`);
    try {
      const result = await this.context.run({ root: parent.root, depth }, fn);
      this.exec(`RELEASE ${name}`);
      return result;
    } catch (err) {
      if (this.db.inTransaction) {
        this.exec(`ROLLBACK TO ${name}`);
        this.exec(`RELEASE ${name}`);
      }
      throw err;
    }
  }

  /** Runs `work` on the connection: at once inside our transaction or when nobody holds it. */
  private async withConnection<T>(work: () => T): Promise<T> {
    if (this.current() || !this.locked) return this.attempt(work);
    const release = await this.acquire();
    try {
      return this.attempt(work);
    } finally {
      release();
    }
  }

  private attempt<T>(work: () => T): T {
    try {
      return work();
    } catch (err) {
      throw mapError(err);
    }
  }

  private exec(sql: string): void {
    this.attempt(() => this.db.exec(sql));
  }

  /**
   * A prepared statement, compiled once per SQL text. Preparing on every call cost measurable
   * CPU on the ingest path; statements are reusable as long as none is left mid-iteration (we
   * never use `iterate()`).
   */
  private statement(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) { stmt = this.db.prepare(sql); this.statements.set(sql, stmt); }
    return stmt;
  }

  private async acquire(): Promise<() => void> {
    const previous = this.lockTail;
    let release!: () => void;
    this.lockTail = new Promise<void>((resolve) => { release = resolve; });
    await previous;
    this.locked = true;
    return () => {
      this.locked = false;
      release();
    };
  }
}

/** Brings the file's schema up to date; refuses a schema newer than this Mesa knows. */
function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new SchemaTooNewError(current, MIGRATIONS.length);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

const BUSY = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_RECOVERY', 'SQLITE_LOCKED_SHAREDCACHE']);
const CONFLICT = new Set(['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);

/** SQLite's error codes turned into the store's kinds; anything else (a bug, a CHECK) passes as it is. */
function mapError(err: unknown): unknown {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return err;
  const kind: StoreErrorKind | null = BUSY.has(code) ? 'busy'
    : CONFLICT.has(code) ? 'conflict'
      : /^SQLITE_(IOERR|FULL|CANTOPEN|READONLY|CORRUPT|NOTADB|PROTOCOL)/.test(code) ? 'unavailable'
        : null;
  return kind === null ? err : new StoreError(kind, (err as Error).message, code, { cause: err });
}
