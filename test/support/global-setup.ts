import { reapOrphanClusters } from './postgres.ts';

/**
 * Runs in vitest's main process around the whole suite: private PostgreSQL clusters left by
 * workers that were ended by a signal (see `reapOrphanClusters`) are removed before the run
 * starts and after the last worker is gone.
 */
export default async function setup(): Promise<() => Promise<void>> {
  await reapOrphanClusters();
  return () => reapOrphanClusters({ waitForOwnersMs: 10_000 });
}
