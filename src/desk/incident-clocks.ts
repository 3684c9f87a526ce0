import { earlier, incidentEscalationDue, incidentNextActionAt, nextIncidentUpdate, type IncidentSnapshot, type LinkedContract } from '../domain/incident-clock.ts';
import type { DeskPolicy, Level, Severity } from '../domain/policy.ts';
import type { TicketRow } from '../domain/ticket.ts';
import type { IncidentClockUpdate, IncidentRow } from '../store/incident-repo.ts';
import type { Store } from '../store/store.ts';
import type { TicketLifecycle } from './ticket-lifecycle.ts';
import type { TicketTerms } from './ticket-terms.ts';

const ms = (d: Date | null): number | null => (d === null ? null : d.getTime());
const at = (t: number | null): Date | null => (t === null ? null : new Date(t));

/**
 * Keeps a major incident's own clock (`domain/incident-clock.ts`) as its tickets join and its
 * customers hear from it: a ticket whose contract is more demanding pulls the next update and
 * the escalation in; a message to every customer restarts the cadence at the pace of the most
 * demanding contract still linked. Every change stores the incident's `next_action_at`, which
 * the incident sweep selects. Runs in the caller's transaction.
 */
export class IncidentClocks {
  constructor(private readonly deps: { store: Store; policy: DeskPolicy; lifecycle: TicketLifecycle; terms: TicketTerms }) {}

  /**
   * The clock fields of an incident opened now with this ETR, whose opening notice reports
   * `linked` tickets. Its update and escalation deadlines come with its first link.
   */
  opening(now: Date, etrAt: number, linked: number): { level: Level; nextDigestAt: number | null; notifiedLinked: number; nextActionAt: number | null } {
    const p = this.deps.policy.incidents;
    const nextDigestAt = p.digestMinutes > 0 ? now.getTime() + p.digestMinutes * 60_000 : null;
    const nextActionAt = ms(incidentNextActionAt({ open: true, level: p.level, etrAt: new Date(etrAt), nextUpdateDueAt: null, nextEscalationDueAt: null, nextDigestAt: at(nextDigestAt) }));
    return { level: p.level, nextDigestAt, notifiedLinked: linked, nextActionAt };
  }

  /**
   * The ticket joins the incident (its ETR the incident's, its own clock stopped), and the
   * incident keeps the pace its contract asks for when that is more demanding than the others'.
   */
  async link(ticket: TicketRow, incident: IncidentRow, now: Date, actor: string, reason: string): Promise<TicketRow> {
    const linked = await this.deps.lifecycle.linkIncident(ticket, incident, now, actor, reason);
    const row = await this.fresh(incident.id);
    const contract = [this.contractOf(linked)];
    const level = row.level as Level;
    await this.save(row, {
      next_update_due_at: ms(earlier(at(row.next_update_due_at), nextIncidentUpdate(contract, now))),
      next_escalation_due_at: ms(earlier(at(row.next_escalation_due_at), incidentEscalationDue(contract, level, new Date(row.level_since ?? row.opened_at)))),
    }, now);
    return linked;
  }

  /** Every linked customer was just told something: the next periodic update, at the most demanding cadence linked. */
  async told(incidentId: number, now: Date): Promise<IncidentRow> {
    const row = await this.fresh(incidentId);
    return await this.save(row, { next_update_due_at: ms(nextIncidentUpdate(await this.contracts(incidentId), now)) }, now);
  }

  /** The next level holds it from now, with the shortest budget a linked contract gives that level. */
  async escalated(incidentId: number, to: Level, now: Date): Promise<IncidentRow> {
    const row = await this.fresh(incidentId);
    return await this.save(row, { level: to, level_since: now.getTime(), next_escalation_due_at: ms(incidentEscalationDue(await this.contracts(incidentId), to, now)) }, now);
  }

  async setEtr(incidentId: number, etrAt: number, now: Date): Promise<IncidentRow> {
    return await this.save(await this.fresh(incidentId), { etr_at: etrAt }, now);
  }

  /** The level heard the linked count: the next digest a period from now. */
  async digested(incidentId: number, linked: number, now: Date): Promise<IncidentRow> {
    const minutes = this.deps.policy.incidents.digestMinutes;
    return await this.save(await this.fresh(incidentId), { digest_linked: linked, next_digest_at: minutes > 0 ? now.getTime() + minutes * 60_000 : null }, now);
  }

  /** Stores the changes and the next action they lead to (also repairs a stale one). */
  async save(row: IncidentRow, changes: IncidentClockUpdate, now: Date): Promise<IncidentRow> {
    const merged = { ...row, ...changes };
    const next = ms(incidentNextActionAt(incidentSnapshot(merged)));
    if (Object.keys(changes).length === 0 && next === row.next_action_at) return row;
    await this.deps.store.incidents.updateClock(row.id, { ...changes, next_action_at: next }, now.getTime());
    return { ...merged, next_action_at: next, updated_at: now.getTime() };
  }

  /** The contracts its open linked tickets run under: its clock keeps the most demanding pace among them. */
  async contracts(incidentId: number): Promise<LinkedContract[]> {
    return (await this.deps.store.incidents.linkedTerms(incidentId)).map((t) => this.contractOf({ severity: t.severity as Severity, terms_json: t.terms_json }));
  }

  private contractOf(t: Pick<TicketRow, 'severity' | 'terms_json'>): LinkedContract {
    return { sev: this.deps.terms.severity(t), clock: this.deps.terms.clock(t) };
  }

  private async fresh(id: number): Promise<IncidentRow> {
    const row = await this.deps.store.incidents.lockedById(id);
    if (!row) throw new Error(`incident ${id} vanished inside its transaction`);
    return row;
  }
}

export function incidentSnapshot(r: IncidentRow): IncidentSnapshot {
  return {
    open: r.state === 'abierto', level: r.level as Level, etrAt: new Date(r.etr_at),
    nextUpdateDueAt: at(r.next_update_due_at), nextEscalationDueAt: at(r.next_escalation_due_at), nextDigestAt: at(r.next_digest_at),
  };
}
