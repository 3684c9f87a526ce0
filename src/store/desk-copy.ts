import type { Store } from './store.ts';
import { DESK_TABLES } from './transfer-repo.ts';

export interface CopyCount { table: string; source: number; target: number }

export interface CopyProgress {
  /** Called once with how many rows and blobs there are to move. */
  start(total: number): void;
  /** Called as rows or blobs land in the target. */
  advance(n: number): void;
}

/** The target already holds a desk: copying into it would mix two desks. */
export class TargetNotEmptyError extends Error {
  constructor(readonly where: string, readonly table: string, readonly rows: number) {
    super(`${where} ya tiene datos (${rows} filas en ${table}); mesa db copy solo escribe en una base vacía`);
    this.name = 'TargetNotEmptyError';
  }
}

const PAGE = 500;

/**
 * Moves a whole desk from one store to another (in practice: SQLite → PostgreSQL when a desk
 * grows to several instances). Blobs first (content-addressed, so a retry re-puts nothing new),
 * then every table, ids as they are, in ONE target transaction: the copy is all there or not at
 * all. Then the counts are read again on both sides; the caller reports any difference.
 *
 * Run it with the desk stopped: rows written to the source meanwhile would not be copied.
 */
export async function copyDesk(from: Store, to: Store, progress: CopyProgress, secrets: Array<{ name: string; value: string }>, now: number): Promise<CopyCount[]> {
  for (const t of DESK_TABLES) {
    const rows = await to.transfer.count(t.name);
    if (rows > 0) throw new TargetNotEmptyError(to.location, t.name, rows);
  }
  const counts = new Map<string, number>();
  for (const t of DESK_TABLES) counts.set(t.name, await from.transfer.count(t.name));
  const blobs: string[] = [];
  for await (const sha of from.blobs.list()) blobs.push(sha);
  progress.start([...counts.values()].reduce((a, b) => a + b, 0) + blobs.length);

  for (const sha of blobs) {
    const stored = await to.blobs.put(await from.blobs.get(sha));
    if (stored !== sha) throw new Error(`el blob ${sha.slice(0, 12)} cambió al leerlo (${stored.slice(0, 12)})`);
    progress.advance(1);
  }

  await to.transaction(async () => {
    for (const t of DESK_TABLES) {
      let after: string | number | null = null;
      for (;;) {
        const rows = await from.transfer.page(t.name, after, PAGE);
        if (rows.length === 0) break;
        await to.transfer.insert(t.name, rows);
        after = (rows[rows.length - 1] as Record<string, string | number>)[t.key] as string | number;
        progress.advance(rows.length);
      }
    }
    await to.transfer.continueIdentities();
    // Reply tokens and status links already sent keep working: the instances sign with the same secret.
    for (const s of secrets) await to.sharedSecrets?.put(s.name, s.value, now);
  });

  const result: CopyCount[] = [];
  for (const t of DESK_TABLES) result.push({ table: t.name, source: await from.transfer.count(t.name), target: await to.transfer.count(t.name) });
  let targetBlobs = 0;
  for (const sha of blobs) if (await to.blobs.has(sha)) targetBlobs++;
  result.push({ table: 'blobs', source: blobs.length, target: targetBlobs });
  return result;
}
