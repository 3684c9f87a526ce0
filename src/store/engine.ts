import type { StoreErrorKind } from './errors.ts';
import type { SqlDialect, SqlExecutor } from './sql.ts';

export type WriteProbe = { ok: true } | { ok: false; kind: StoreErrorKind | 'closed'; message: string; engineCode: string | null };

/**
 * What the Store needs of an engine: SQL on the caller's context (its transaction, or an
 * autocommit statement), ambient transactions with savepoints for nesting, a write probe for
 * readiness, and close.
 */
export interface Engine extends SqlExecutor {
  readonly dialect: SqlDialect;
  readonly isOpen: boolean;
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  probeWrite(): Promise<WriteProbe>;
  /** The schema version the database is at, and how many migrations this Mesa knows. */
  schemaVersion(): Promise<{ current: number; known: number }>;
  /** Where the data is, for logs and the CLI (never a password). */
  readonly location: string;
  close(): Promise<void>;
}
