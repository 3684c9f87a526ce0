/**
 * What every repository speaks: parameterised SQL with `?` placeholders, run on whichever
 * connection the caller's context holds (its transaction, or an autocommit statement). Each
 * engine implements it; repositories never see a driver.
 */
export type SqlValue = string | number | bigint | null | Buffer;

export interface SqlExecutor {
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs a statement; returns the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/** The few places the two SQL dialects differ, spelled by each engine. */
export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  /** The larger of two expressions (SQLite's scalar max, PostgreSQL's GREATEST). */
  greatest(a: string, b: string): string;
  /** A JSON object column's numeric member, e.g. `data_json`'s `to`. */
  jsonNumber(column: string, member: string): string;
  /** The sweep's due query (each engine steers its planner its own way). */
  readonly dueTicketsSql: string;
  /** Appended to the outbox claim's inner SELECT: lets instances claim side by side without waiting. */
  readonly skipLocked: string;
  /**
   * Appended to a read that a transaction will act on (a ticket, a call): PostgreSQL locks the
   * row until commit, so two instances deciding about the same row take turns and the second
   * sees what the first wrote. SQLite needs nothing: a write transaction holds the whole file.
   */
  readonly forUpdate: string;
  /**
   * A statement taking a lock named by its one text parameter until the transaction ends, so
   * that instances make one decision at a time (which incident a report joins); null where one
   * writer at a time holds the whole database anyway (SQLite).
   */
  readonly transactionLock: string | null;
  /**
   * The database's clock in epoch milliseconds. Leases use it rather than each instance's own
   * `now`: one clock for every instance, so a host whose clock drifts cannot steal a mailbox.
   */
  readonly nowMs: string;
  /**
   * An expression that takes the next id of `table` ahead of its insert, where the engine can
   * (PostgreSQL's sequence): the row and its id-derived columns then go in with one statement.
   * Null on SQLite, where the id comes from the insert.
   */
  nextId(table: string): string | null;
}

/** `?, ?, ?` for an `IN (…)` list of `n` values; callers skip the query for an empty list. */
export function placeholders(n: number): string {
  if (n < 1) throw new Error('an IN list needs at least one value');
  return Array.from({ length: n }, () => '?').join(', ');
}
