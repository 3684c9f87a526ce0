import { estimateEtr, type EtrEstimate } from '../domain/etr.ts';
import type { DeskPolicy, Level, Severity } from '../domain/policy.ts';
import { initialDeadlines, levelDeadlines, nextActionAt, nextUpdateAfter, pauseDeadlines, resumeDeadlines, type SlaDeadlines, type SlaSnapshot } from '../domain/sla.ts';
import type { Store } from '../store/store.ts';
import { isOpenState, type NewTicket, type TicketRow, type TicketUpdate } from '../domain/ticket.ts';
import type { Notices } from './notices.ts';
import type { SlaClocks } from './sla-clocks.ts';
import type { TermsHolder, TicketTerms } from './ticket-terms.ts';
import type { ServiceTerms } from '../domain/service-terms.ts';
import { formatIncidentKey } from '../domain/ticket-key.ts';

const DAY_MS = 86_400_000;

/**
 * Ticket changes that move SLA clocks, each keeping the stored deadlines, `next_action_at`, the
 * ETR (with its history) and the events consistent, and queuing the messages the change implies.
 * Runs inside the caller's transaction.
 */
export class TicketLifecycle {
  constructor(private readonly deps: { store: Store; policy: DeskPolicy; clocks: SlaClocks; notices: Notices; terms: TicketTerms }) {}

  /** Deadlines and first ETR for a new ticket under its service terms, ready for `TicketRepo.create`. */
  async initialSla(terms: ServiceTerms, severity: Severity, category: string, now: Date): Promise<Pick<NewTicket, 'etrAt' | 'warningDueAt' | 'firstResponseDueAt' | 'nextEscalationDueAt' | 'nextUpdateDueAt' | 'resolutionDueAt' | 'nextActionAt'> & { etr: EtrEstimate }> {
    const { policy, clocks } = this.deps;
    const sev = terms.severities[severity];
    const clock = clocks.forKind(sev.clock, terms.calendar ?? null);
    const d = initialDeadlines(sev, clock, now, policy.sla);
    const etr = await this.estimate({ severity, category, created_at: now.getTime(), paused_minutes: 0, terms }, now, {});
    const next = nextActionAt({ ...d, state: 'nuevo', level: 1, etrAt: etr.at, firstRespondedAt: null, firstResponseBreachedAt: null, resolutionBreachedAt: null });
    return {
      etr,
      etrAt: etr.at.getTime(),
      warningDueAt: ms(d.warningDueAt), firstResponseDueAt: ms(d.firstResponseDueAt), nextEscalationDueAt: ms(d.nextEscalationDueAt),
      nextUpdateDueAt: ms(d.nextUpdateDueAt), resolutionDueAt: ms(d.resolutionDueAt), nextActionAt: ms(next),
    };
  }

  /** The ETR estimate for a ticket as it stands (history of comparable tickets, or the target). */
  async estimate(t: Pick<TicketRow, 'severity' | 'category' | 'created_at' | 'paused_minutes'> & TermsHolder, now: Date, opts: { escalationBudgetMinutes?: number | null; why?: string }): Promise<EtrEstimate> {
    const { policy, store, terms } = this.deps;
    const since = now.getTime() - policy.etr.windowDays * DAY_MS;
    return estimateEtr({
      severity: terms.severity(t),
      clock: terms.clock(t),
      now,
      createdAt: new Date(t.created_at),
      pausedMinutes: t.paused_minutes,
      history: await store.tickets.resolutionHistory(t.severity, t.category, since),
      ...opts,
    }, policy.etr);
  }

  /**
   * Stores a new ETR with its source and reason; tells the customer when asked to. The stored
   * reason is the desk's own record (it may name the agent); `customerReason`, when given, is
   * what the customer reads instead.
   */
  async changeEtr(ticket: TicketRow, etr: EtrEstimate, now: Date, opts: { actor: string; notifyCustomer: boolean; customerReason?: string | null }): Promise<TicketRow> {
    const previous = ticket.etr_at;
    const updated = await this.save(ticket, await this.recordEtr(ticket, etr, now, opts.actor), now);
    if (!opts.notifyCustomer) return updated;
    const told = await this.deps.notices.toCustomer(updated, 'customer-etr-change', now, { deferStamp: true, extras: { previousEtrAt: new Date(previous), etrReason: opts.customerReason === undefined ? etr.reason : opts.customerReason } });
    // That message is the customer's news: the update cadence restarts from it.
    const sev = this.deps.terms.severity(updated);
    return await this.save(updated, { next_update_due_at: ms(nextUpdateAfter(sev, this.clockOf(updated), now)), ...(told !== null ? { last_customer_update_at: now.getTime() } : {}) }, now);
  }

  /** The ETR's history row and event for a new estimate; returns the ticket change to save with the rest. */
  private async recordEtr(ticket: TicketRow, etr: EtrEstimate, now: Date, actor: string): Promise<TicketUpdate> {
    const { store } = this.deps;
    const t = now.getTime();
    await store.tickets.recordEtr(ticket.id, t, etr.at.getTime(), etr.source, etr.reason);
    await store.tickets.event(ticket.id, t, actor, 'etr_changed', { from: ticket.etr_at, to: etr.at.getTime(), source: etr.source }, etr.reason);
    return { etr_at: etr.at.getTime() };
  }

  /**
   * Moves the ticket to the next level: new budget, ETR re-estimated, everyone told. The
   * notices are rendered from the ticket as it is about to be stored, and the row is written
   * once at the end (level, deadlines, ETR, last update and next update together): this is
   * the sweep's most frequent action, and each UPDATE of a ticket row costs as much as the rest.
   */
  async escalate(ticket: TicketRow, to: Level, now: Date, reason: string, actor = 'system'): Promise<TicketRow> {
    const { policy, store, notices, terms } = this.deps;
    const from = ticket.level;
    const sev = terms.severity(ticket);
    const clock = terms.clock(ticket);
    const t = now.getTime();
    const lv = levelDeadlines(sev, to, clock, now, policy.sla);
    await store.tickets.event(ticket.id, t, actor, 'escalated', { from, to }, reason);
    const changes: TicketUpdate = { level: to, level_since: t, warning_due_at: ms(lv.warningDueAt), next_escalation_due_at: ms(lv.nextEscalationDueAt) };
    const budget = sev.escalateAfterMinutes[to] ?? null;
    const etr = await this.estimate({ ...ticket, ...changes } as TicketRow, now, { escalationBudgetMinutes: budget, why: `escalamiento al nivel ${to}` });
    Object.assign(changes, await this.recordEtr(ticket, etr, now, actor));
    const pending = { ...ticket, ...changes } as TicketRow;
    const extras = { escalation: { fromLevel: from, toLevel: to, reason }, previousEtrAt: new Date(ticket.etr_at), etrReason: etr.reason, history: await notices.history(pending) };
    // Three notices about one customer: their contact row read once.
    const contact = await store.tickets.contact(ticket.contact_id);
    await notices.toLevel(pending, to, 'level-escalation', now, extras, contact);
    await notices.toLevel(pending, from, 'level-escalated-away', now, extras, contact);
    const told = await notices.toCustomer(pending, 'customer-escalation', now, { extras, deferStamp: true, ...(contact ? { known: { contact } } : {}) });
    if (told !== null) changes.last_customer_update_at = t;
    // The escalation notice is the customer's news for now: the update cadence restarts from it.
    changes.next_update_due_at = ms(nextUpdateAfter(sev, clock, now));
    return await this.save(ticket, changes, now);
  }

  /**
   * A new severity means a new clock and new targets: every deadline is recomputed from the
   * moments it counts from (creation, the level's start, the last customer update), the ETR is
   * re-estimated and the customer told.
   */
  async changeSeverity(ticket: TicketRow, severity: Severity, now: Date, actor: string, reason: string, opts: { notifyCustomer?: boolean } = {}): Promise<TicketRow> {
    if (ticket.severity === severity) return ticket;
    await this.deps.store.tickets.event(ticket.id, now.getTime(), actor, 'severity_changed', { from: ticket.severity, to: severity }, reason);
    const updated = await this.save(ticket, { severity, ...this.deadlinesUnder(ticket, severity, this.deps.terms.of(ticket)) }, now);
    const etr = await this.estimate(updated, now, { why: `cambio de severidad ${ticket.severity} → ${severity}` });
    return await this.changeEtr(updated, etr, now, { actor, notifyCustomer: opts.notifyCustomer ?? true });
  }

  /**
   * New service terms for an open ticket (an agent changed its category or organisation): the
   * terms and category recorded, every deadline recomputed under them as for a severity change,
   * the ETR re-estimated, and the change explained in the history.
   */
  async changeTerms(ticket: TicketRow, next: { terms: ServiceTerms; category: string }, now: Date, actor: string, reason: string, opts: { notifyCustomer?: boolean } = {}): Promise<TicketRow> {
    const before = this.deps.terms.of(ticket);
    await this.deps.store.tickets.event(ticket.id, now.getTime(), actor, 'service_terms_changed', {
      category: { from: ticket.category, to: next.category },
      organisation: { from: before.organisation?.id ?? null, to: next.terms.organisation?.id ?? null },
      organisationName: next.terms.organisation?.name ?? null, contract: next.terms.contract !== null,
      matrix: { from: before.matrix?.id ?? null, to: next.terms.matrix?.id ?? null },
    }, `${reason}: ${next.terms.reason}`);
    const updated = await this.save(ticket, {
      category: next.category, organisation: next.terms.organisation?.id ?? null, terms_json: JSON.stringify(next.terms),
      ...this.deadlinesUnder(ticket, ticket.severity, next.terms),
    }, now);
    const etr = await this.estimate(updated, now, { why: 'nuevos términos de servicio' });
    return await this.changeEtr(updated, etr, now, { actor, notifyCustomer: opts.notifyCustomer ?? false });
  }

  /**
   * Every deadline of a ticket recomputed for a severity under some terms, each from the moment
   * it counts from (creation, the level's start, the last customer update).
   */
  private deadlinesUnder(ticket: TicketRow, severity: Severity, terms: ServiceTerms): TicketUpdate {
    const sev = terms.severities[severity];
    const clock = this.deps.clocks.forKind(sev.clock, terms.calendar ?? null);
    const created = new Date(ticket.created_at);
    // Time already paused is added back so that waiting for the customer stays excluded.
    const from = (d: Date, minutes: number): number => clock.addBusinessMinutes(d, minutes + ticket.paused_minutes).getTime();
    const lv = levelDeadlines(sev, ticket.level, clock, new Date(ticket.level_since), this.deps.policy.sla);
    return {
      first_response_due_at: ticket.first_responded_at === null ? from(created, sev.firstResponseMinutes) : ticket.first_response_due_at,
      resolution_due_at: from(created, sev.resolutionMinutes),
      warning_due_at: ticket.warning_due_at === null && ticket.next_escalation_due_at !== null ? null : ms(lv.warningDueAt),
      next_escalation_due_at: ms(lv.nextEscalationDueAt),
      next_update_due_at: ms(nextUpdateAfter(sev, clock, new Date(ticket.last_customer_update_at ?? ticket.created_at))),
    };
  }

  /**
   * Called before a message is rendered outside the sweep: an ETR that passed since the last
   * sweep is re-estimated first, so no message ever shows a date in the past.
   */
  async ensureFutureEtr(ticket: TicketRow, now: Date): Promise<TicketRow> {
    if (ticket.etr_at > now.getTime() || !isOpenState(ticket.state)) return ticket;
    return await this.changeEtr(ticket, await this.estimate(ticket, now, { why: 'el ETR anterior venció sin resolución' }), now, { actor: 'system', notifyCustomer: false });
  }

  /** The clock stops while the desk waits for the customer (`esperando_cliente`). */
  async pause(ticket: TicketRow, now: Date, actor: string, reason: string | null = null): Promise<TicketRow> {
    if (ticket.paused_at !== null) return ticket;
    const clock = this.deps.terms.clock(ticket);
    // The ETR is kept as "minutes left" too: the customer's wait is not the desk's delay.
    const remaining = { ...pauseDeadlines(deadlinesOf(ticket), clock, now), etr: Math.max(0, clock.businessMinutesBetween(now, new Date(ticket.etr_at))) };
    await this.deps.store.tickets.event(ticket.id, now.getTime(), actor, 'paused', {}, reason);
    return await this.save(ticket, { state: 'esperando_cliente', paused_at: now.getTime(), paused_remaining_json: JSON.stringify(remaining) }, now);
  }

  /** The clock runs again; the time paused is recorded and every deadline shifts by it. */
  async resume(ticket: TicketRow, now: Date, actor: string, reason: string | null = null): Promise<TicketRow> {
    if (ticket.paused_at === null) return ticket;
    const clock = this.deps.terms.clock(ticket);
    const remaining = JSON.parse(ticket.paused_remaining_json ?? '{}') as Parameters<typeof resumeDeadlines>[0] & { etr?: number };
    const d = resumeDeadlines(remaining, clock, now);
    const pausedFor = clock.businessMinutesBetween(new Date(ticket.paused_at), now);
    const t = now.getTime();
    await this.deps.store.tickets.event(ticket.id, t, actor, 'resumed', { pausedMinutes: pausedFor }, reason);
    const updated = await this.save(ticket, {
      state: 'en_atencion', paused_at: null, paused_remaining_json: null, paused_minutes: ticket.paused_minutes + pausedFor,
      warning_due_at: ms(d.warningDueAt), next_escalation_due_at: ms(d.nextEscalationDueAt), next_update_due_at: ms(d.nextUpdateDueAt),
      first_response_due_at: ms(d.firstResponseDueAt), resolution_due_at: ms(d.resolutionDueAt),
    }, now);
    const etrAt = clock.addBusinessMinutes(now, Math.max(1, remaining.etr ?? 0));
    if (etrAt.getTime() === updated.etr_at) return updated;
    return await this.changeEtr(updated, { at: etrAt, source: 'target', baseMinutes: 0, reason: `se reanuda tras esperar al cliente ${Math.round(pausedFor)} min; el ETR se recorre lo mismo` }, now, { actor, notifyCustomer: false });
  }

  /** Resolved: the clock stops for good and the resolution time feeds future ETR estimates. */
  async resolve(ticket: TicketRow, now: Date, actor: string, reason: string | null = null): Promise<TicketRow> {
    const clock = this.deps.terms.clock(ticket);
    const paused = ticket.paused_at === null ? 0 : clock.businessMinutesBetween(new Date(ticket.paused_at), now);
    const minutes = Math.max(0, clock.businessMinutesBetween(new Date(ticket.created_at), now) - ticket.paused_minutes - paused);
    await this.deps.store.tickets.event(ticket.id, now.getTime(), actor, 'resolved', { businessMinutes: minutes }, reason);
    return await this.save(ticket, {
      state: 'resuelto', resolved_at: now.getTime(), resolution_business_minutes: minutes, paused_at: null, paused_remaining_json: null,
      paused_minutes: ticket.paused_minutes + paused,
      // A resolution answers the customer: it counts as the first response if none came before.
      first_responded_at: ticket.first_responded_at ?? now.getTime(),
    }, now);
  }

  /** A customer reply to a resolved ticket inside the reopen window: the clocks start again. */
  async reopen(ticket: TicketRow, now: Date, actor: string, reason: string): Promise<TicketRow> {
    const { policy, store, terms } = this.deps;
    const sev = terms.severity(ticket);
    const clock = terms.clock(ticket);
    const t = now.getTime();
    const lv = levelDeadlines(sev, ticket.level, clock, now, policy.sla);
    await store.tickets.event(ticket.id, t, actor, 'reopened', { from: ticket.state, to: 'en_atencion' }, reason);
    // A case that still fails after its incident was resolved is the customer's own again.
    if (ticket.incident_id !== null) await store.tickets.event(ticket.id, t, actor, 'incident_unlinked', { incident: formatIncidentKey(ticket.incident_id) }, 'reabierto');
    const updated = await this.save(ticket, {
      incident_id: null,
      state: 'en_atencion', resolved_at: null, resolution_business_minutes: null, level_since: t,
      warning_due_at: ms(lv.warningDueAt), next_escalation_due_at: ms(lv.nextEscalationDueAt),
      next_update_due_at: ms(nextUpdateAfter(sev, clock, now)),
      resolution_due_at: clock.addBusinessMinutes(now, sev.resolutionMinutes).getTime(), resolution_breached_at: null,
    }, now);
    return await this.changeEtr(updated, await this.estimate(updated, now, { why: 'reapertura' }), now, { actor, notifyCustomer: false });
  }

  /**
   * Applies changes and recomputes `next_action_at` from the result; returns the row as stored.
   * Nothing to change and `next_action_at` already right: no write at all.
   */
  /**
   * The ticket joins a major incident (issue 13): its ETR becomes the incident's and its own
   * clock stops (`SlaSnapshot.linkedToIncident`). Nothing is sent: the caller says what to whom.
   */
  async linkIncident(ticket: TicketRow, incident: { id: number; etr_at: number }, now: Date, actor: string, reason: string): Promise<TicketRow> {
    const { store } = this.deps;
    const t = now.getTime();
    const key = formatIncidentKey(incident.id);
    await store.tickets.event(ticket.id, t, actor, 'incident_linked', { incident: key }, reason);
    if (incident.etr_at !== ticket.etr_at) await store.tickets.recordEtr(ticket.id, t, incident.etr_at, 'target', `ETR del incidente ${key}`);
    return await this.save(ticket, { incident_id: incident.id, etr_at: incident.etr_at }, now);
  }

  /**
   * The ticket leaves its incident (a false grouping undone): its own clock runs again, the
   * level's deadlines counted from now — the time it spent linked was the incident's — while the
   * resolution deadline, the customer's, stays where it was. It keeps the incident's ETR.
   */
  async unlinkIncident(ticket: TicketRow, now: Date, actor: string, reason: string): Promise<TicketRow> {
    if (ticket.incident_id === null) return ticket;
    const { policy, store, terms } = this.deps;
    const sev = terms.severity(ticket);
    const clock = terms.clock(ticket);
    await store.tickets.event(ticket.id, now.getTime(), actor, 'incident_unlinked', { incident: formatIncidentKey(ticket.incident_id) }, reason);
    if (!isOpenState(ticket.state) || ticket.state === 'esperando_cliente') return await this.save(ticket, { incident_id: null }, now);
    const lv = levelDeadlines(sev, ticket.level, clock, now, policy.sla);
    return await this.save(ticket, {
      incident_id: null, level_since: now.getTime(), warning_due_at: ms(lv.warningDueAt), next_escalation_due_at: ms(lv.nextEscalationDueAt),
      next_update_due_at: ms(nextUpdateAfter(sev, clock, now)),
    }, now);
  }

  async save(ticket: TicketRow, changes: TicketUpdate, now: Date): Promise<TicketRow> {
    const merged = { ...ticket, ...changes } as TicketRow;
    const next = nextActionAt(snapshotOf(merged));
    const nextAction = ms(next);
    if (Object.keys(changes).length === 0 && nextAction === ticket.next_action_at) return ticket;
    await this.deps.store.tickets.update(ticket.id, { ...changes, next_action_at: nextAction }, now.getTime());
    // The row as it now stands, without reading it back: the update wrote exactly these values.
    return { ...merged, next_action_at: nextAction, updated_at: now.getTime() };
  }

  /** The targets of the ticket's severity under its service terms. */
  severityOf(ticket: Pick<TicketRow, 'severity' | 'terms_json'>) {
    return this.deps.terms.severity(ticket);
  }

  clockOf(ticket: Pick<TicketRow, 'severity' | 'terms_json'>) {
    return this.deps.terms.clock(ticket);
  }

  /** The ticket as it stands, locked for the rest of the transaction (see SqlDialect.forUpdate). */
  async reload(id: number): Promise<TicketRow> {
    const row = await this.deps.store.tickets.lockedById(id);
    if (!row) throw new Error(`ticket ${id} vanished inside its transaction`);
    return row;
  }
}

export function snapshotOf(t: TicketRow): SlaSnapshot {
  const d = (x: number | null): Date | null => (x === null ? null : new Date(x));
  return {
    ...deadlinesOf(t), state: t.state, level: t.level, etrAt: new Date(t.etr_at),
    firstRespondedAt: d(t.first_responded_at), firstResponseBreachedAt: d(t.first_response_breached_at), resolutionBreachedAt: d(t.resolution_breached_at),
    linkedToIncident: t.incident_id !== null && t.incident_id !== undefined,
  };
}

function deadlinesOf(t: TicketRow): SlaDeadlines {
  const d = (x: number | null): Date | null => (x === null ? null : new Date(x));
  return { warningDueAt: d(t.warning_due_at), nextEscalationDueAt: d(t.next_escalation_due_at), nextUpdateDueAt: d(t.next_update_due_at), firstResponseDueAt: d(t.first_response_due_at), resolutionDueAt: d(t.resolution_due_at) };
}

function ms(d: Date | null): number | null {
  return d === null ? null : d.getTime();
}
