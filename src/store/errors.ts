/**
 * The store's own failure kinds, so no caller knows an engine's error codes:
 *
 * - `busy`: the database is there but could not take the work now (a lock held past the wait,
 *   a serialization failure); trying again later is right.
 * - `conflict`: a unique constraint refused a row (someone else wrote it first).
 * - `unavailable`: the database cannot be reached or written (connection refused or lost, disk
 *   full, I/O error, read-only file); intake must stop marking work done until it is back.
 */
export type StoreErrorKind = 'busy' | 'conflict' | 'unavailable';

export class StoreError extends Error {
  constructor(readonly kind: StoreErrorKind, message: string, readonly engineCode: string | null, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}

export function isStoreError(err: unknown, ...kinds: StoreErrorKind[]): err is StoreError {
  return err instanceof StoreError && (kinds.length === 0 || kinds.includes(err.kind));
}

/** Refusal to start: the database's schema is newer than this Mesa knows (both engines). */
export class SchemaTooNewError extends Error {
  constructor(readonly found: number, readonly known: number) {
    super(`el esquema de la base de datos (versión ${found}) es más nuevo que esta versión de Mesa (conoce hasta la ${known}); actualice Mesa antes de iniciarla`);
    this.name = 'SchemaTooNewError';
  }
}

/** Busy and unavailable are the environment's fault, not the work's: it is offered again. */
export function isTransientStoreError(err: unknown): boolean {
  return isStoreError(err, 'busy', 'unavailable');
}
