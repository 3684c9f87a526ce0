import { incidentDueActions, type IncidentSweepAction } from '../domain/incident-clock.ts';
import type { Logger } from '../log.ts';
import type { IncidentRow } from '../store/incident-repo.ts';
import type { Store } from '../store/store.ts';
import type { IncidentActions } from './incident-actions.ts';
import { incidentSnapshot, type IncidentClocks } from './incident-clocks.ts';

export interface IncidentSweepResult {
  incidents: number;
  actions: Record<IncidentSweepAction['kind'], number>;
  /** Customer messages queued (periodic updates and new ETRs). */
  told: number;
}

/**
 * Acts on every open major incident's deadlines that have come (issue 13): periodic updates to
 * every linked customer at the most demanding linked contract's cadence, a new ETR for everyone
 * when it passed, escalation to the next level, the level's digest. The linked tickets have no
 * clock of their own, so this is what keeps them moving.
 *
 * Each incident is handled in its own transaction that locks and re-reads it and re-checks what
 * is due, then moves the deadlines it acted on together with the outbox rows: a re-run, a crash
 * midway or a second instance sweeping at once does each action once. One incident failing is
 * logged and leaves the others to run.
 */
export class IncidentSweep {
  constructor(private readonly deps: { store: Store; clocks: IncidentClocks; actions: IncidentActions; log: Logger; onOutbox?: () => void }) {}

  async run(now: Date): Promise<IncidentSweepResult> {
    const { store, log } = this.deps;
    const result: IncidentSweepResult = { incidents: 0, actions: { escalate: 0, etr_expired: 0, customer_update: 0, digest: 0 }, told: 0 };
    for (const id of await store.incidents.dueIds(now.getTime())) {
      try {
        const done = await store.transaction(async () => await this.sweepIncident(id, now, result));
        if (done.length > 0) result.incidents++;
        for (const a of done) result.actions[a.kind]++;
      } catch (err) {
        log.error({ event: 'incident_sweep.failed', incident: id, error: (err as Error).message }, 'fallo el barrido de un incidente mayor');
      }
    }
    if (result.incidents > 0) {
      this.deps.onOutbox?.();
      log.info({ event: 'incident_sweep.done', ...result }, 'barrido de incidentes mayores');
    }
    return result;
  }

  private async sweepIncident(id: number, now: Date, result: IncidentSweepResult): Promise<IncidentSweepAction[]> {
    const { store, clocks } = this.deps;
    // Locked: an instance sweeping the same incident waits here, then finds its deadlines moved.
    const row = await store.incidents.lockedById(id);
    if (!row || row.next_action_at === null || row.next_action_at > now.getTime()) return [];
    const actions = incidentDueActions(incidentSnapshot(row), now);
    for (const a of actions) result.told += await this.apply(await store.incidents.lockedById(id) as IncidentRow, a, now);
    // Whatever was due is handled; store the next deadline (also repairs a stale next_action_at).
    await clocks.save(await store.incidents.lockedById(id) as IncidentRow, {}, now);
    return actions;
  }

  /** One action; returns the customer messages it queued. */
  private async apply(row: IncidentRow, a: IncidentSweepAction, now: Date): Promise<number> {
    const { actions } = this.deps;
    switch (a.kind) {
      case 'escalate':
        await actions.escalate(row, a.from, a.to, now);
        return 0;
      case 'etr_expired':
        return await actions.reestimate(row, now);
      case 'customer_update':
        return await actions.periodicUpdate(row, now);
      case 'digest':
        await actions.digest(row, now);
        return 0;
    }
  }
}
