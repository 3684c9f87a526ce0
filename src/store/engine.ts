import { StoreError, type StoreErrorKind } from './errors.ts';
import type { AppendTable } from './transaction-scope.ts';
import type { SqlDialect, SqlExecutor, SqlValue } from './sql.ts';

export type WriteProbe = { ok: true } | { ok: false; kind: StoreErrorKind | 'closed'; message: string; engineCode: string | null };

/** What `mesa doctor` learns of a database without changing it. */
export interface SchemaInspection {
  /** The database's schema version; null when it could not be read. */
  version: number | null;
  /** How many migrations this Mesa knows. */
  known: number;
  /** null when not probed (a schema newer than ours). */
  write: WriteProbe | null;
}

/** A failed write probe from an engine's error (already mapped to the store's kinds where it could be). */
export function failedProbe(err: unknown, prefix = ''): WriteProbe {
  const message = `${prefix}${(err as Error).message ?? String(err)}`;
  if (err instanceof StoreError) return { ok: false, kind: err.kind, message, engineCode: err.engineCode };
  return { ok: false, kind: 'unavailable', message, engineCode: (err as { code?: string }).code ?? null };
}

/**
 * What the Store needs of an engine: SQL on the caller's context (its transaction, or an
 * autocommit statement), ambient transactions with savepoints for nesting, a write probe for
 * readiness, and close.
 */
export interface Engine extends SqlExecutor {
  readonly dialect: SqlDialect;
  readonly isOpen: boolean;
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Inserts rows into an append-only table, in order, on the caller's context (see TransactionScope). */
  insertRows(table: AppendTable, rows: readonly SqlValue[][]): Promise<void>;
  probeWrite(): Promise<WriteProbe>;
  /** The schema version the database is at, and how many migrations this Mesa knows. */
  schemaVersion(): Promise<{ current: number; known: number }>;
  /** Where the data is, for logs and the CLI (never a password). */
  readonly location: string;
  close(): Promise<void>;
}
