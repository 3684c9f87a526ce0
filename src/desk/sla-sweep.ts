import { dueActions, type SweepAction } from '../domain/sla.ts';
import type { DeskPolicy } from '../domain/policy.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import type { TicketRow } from '../domain/ticket.ts';
import type { Notices } from './notices.ts';
import { snapshotOf, type TicketLifecycle } from './ticket-lifecycle.ts';

/** Tickets handled per commit, each in its own savepoint. */
const SWEEP_GROUP = 25;

export interface SweepResult { tickets: number; actions: Record<SweepAction['kind'], number> }

/**
 * Acts on every SLA deadline that has come (DESIGN §7): warnings, escalations, breaches,
 * customer updates and expired ETRs.
 *
 * Cost follows what is due, not what is open: the candidates come from the partial index on
 * `next_action_at`. Each ticket is handled in its own savepoint that re-reads the row and
 * re-checks what is due, then moves the deadlines it acted on together with the events and
 * outbox rows; up to `SWEEP_GROUP` tickets share one commit (a commit costs more than most of
 * an escalation). So a sweep re-run, a crash midway (the group's transaction rolls back, the
 * next sweep redoes it) and two overlapping sweeps (the second finds nothing due once the first
 * committed) all do each action exactly once — across instances too, as the re-read locks the
 * row on PostgreSQL. A ticket that fails undoes only its own savepoint: the tickets before it in
 * its group are committed, then the error ends the pass.
 */
export class SlaSweep {
  constructor(private readonly deps: { store: Store; policy: DeskPolicy; lifecycle: TicketLifecycle; notices: Notices; log: Logger; onOutbox?: () => void }) {}

  /**
   * One pass over the tickets due at `now`, in id order (a ticket still due after it was handled
   * waits for the next pass instead of being retried in a loop). Between batches it yields to
   * the event loop, so intake, HTTP and the dispatcher keep running during a large catch-up and
   * another process waiting for the write lock gets its turn.
   */
  async run(now: Date, batch = 100): Promise<SweepResult> {
    const result: SweepResult = { tickets: 0, actions: { first_response_breach: 0, warn: 0, escalate: 0, resolution_breach: 0, customer_update: 0, etr_expired: 0 } };
    const t = now.getTime();
    let after = 0;
    for (;;) {
      const ids = await this.deps.store.tickets.dueIds(t, after, batch);
      if (ids.length === 0) break;
      const { store } = this.deps;
      for (let i = 0; i < ids.length; i += SWEEP_GROUP) {
        let failure: { error: unknown } | null = null;
        const handled = await store.transaction(async () => {
          const out: SweepAction[][] = [];
          for (const id of ids.slice(i, i + SWEEP_GROUP)) {
            try {
              out.push(await store.transaction(async () => await this.sweepTicket(id, now)));
            } catch (error) {
              failure = { error };
              break;
            }
          }
          return out;
        });
        for (const done of handled) {
          if (done.length > 0) result.tickets++;
          for (const a of done) result.actions[a.kind]++;
        }
        if (failure !== null) {
          if (result.tickets > 0) this.deps.onOutbox?.();
          throw (failure as { error: unknown }).error;
        }
      }
      after = ids[ids.length - 1] as number;
      if (result.tickets > 0) this.deps.onOutbox?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (result.tickets > 0) this.deps.log.info({ event: 'sweep.done', ...result }, 'barrido de SLA');
    return result;
  }

  /** One ticket, inside its transaction. Returns the actions carried out. */
  private async sweepTicket(id: number, now: Date): Promise<SweepAction[]> {
    const { lifecycle } = this.deps;
    // Locked: an instance sweeping the same ticket waits here, then finds its deadlines moved.
    let ticket = await this.deps.store.tickets.lockedById(id);
    if (!ticket || ticket.next_action_at === null || ticket.next_action_at > now.getTime()) return [];
    const actions = dueActions(snapshotOf(ticket), now);
    for (const action of actions) ticket = await this.apply(ticket, action, now);
    // Whatever was due is handled; store the next deadline (also repairs a stale next_action_at).
    await lifecycle.save(ticket, {}, now);
    return actions;
  }

  private async apply(ticket: TicketRow, a: SweepAction, now: Date): Promise<TicketRow> {
    const { store, lifecycle, notices, policy } = this.deps;
    const t = now.getTime();
    switch (a.kind) {
      case 'first_response_breach': {
        await store.tickets.event(ticket.id, t, 'system', 'first_response_breached', { dueAt: a.dueAt.getTime() }, 'sin primera respuesta de un agente');
        const updated = await lifecycle.save(ticket, { first_response_breached_at: t }, now);
        const extras = { breach: { kind: 'first_response' as const, dueAt: a.dueAt }, history: await notices.history(updated) };
        await notices.toLevel(updated, updated.level, 'breach-notice', now, extras);
        await notices.toResponsables(updated, 'breach-notice', now, extras);
        return updated;
      }
      case 'warn': {
        await store.tickets.event(ticket.id, t, 'system', 'level_warning', { level: a.level, percent: policy.sla.warnAtPercent, escalatesAt: a.escalatesAt.getTime() });
        const updated = await lifecycle.save(ticket, { warning_due_at: null }, now);
        await notices.toLevel(updated, a.level, 'level-warning', now, { warning: { percent: policy.sla.warnAtPercent, escalatesAt: a.escalatesAt } });
        return updated;
      }
      case 'escalate':
        return await lifecycle.escalate(ticket, a.to, now, `sin resolución dentro del tiempo del nivel ${a.from}`);
      case 'resolution_breach': {
        await store.tickets.event(ticket.id, t, 'system', 'resolution_breached', { dueAt: a.dueAt.getTime(), level: ticket.level }, 'objetivo de resolución vencido');
        const updated = await lifecycle.save(ticket, { resolution_breached_at: t }, now);
        const extras = {
          breach: { kind: 'resolution' as const, dueAt: a.dueAt },
          escalation: { fromLevel: updated.level, toLevel: 4, reason: 'objetivo de resolución vencido' },
          history: await notices.history(updated),
        };
        // Past level 3 there is no one left to escalate to: the "responsables" are told.
        await notices.toResponsables(updated, 'breach-notice', now, extras);
        return updated;
      }
      case 'customer_update': {
        const sev = lifecycle.severityOf(ticket);
        await store.tickets.event(ticket.id, t, 'system', 'customer_update_sent', {});
        const told = await notices.toCustomer(ticket, 'customer-update', now, { deferStamp: true });
        const clock = lifecycle.clockOf(ticket);
        const next = sev.customerUpdateMinutes === null ? null : clock.addBusinessMinutes(now, sev.customerUpdateMinutes).getTime();
        return await lifecycle.save(ticket, { next_update_due_at: next, ...(told !== null ? { last_customer_update_at: t } : {}) }, now);
      }
      case 'etr_expired': {
        // Never show an ETR in the past: estimate again and tell the customer.
        const etr = await lifecycle.estimate(ticket, now, { why: 'el ETR anterior venció sin resolución' });
        return await lifecycle.changeEtr(ticket, etr, now, { actor: 'system', notifyCustomer: true });
      }
    }
  }
}
