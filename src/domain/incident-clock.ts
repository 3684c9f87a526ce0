import type { SlaClock } from './business-time.ts';
import type { Level, SeverityPolicy } from './policy.ts';

/**
 * A major incident's own clock (issue 13). Its linked tickets have none: the incident updates
 * their customers, escalates and re-estimates for all of them at once. It keeps pace with the
 * most demanding linked contract — the shortest update cadence and level budget any linked
 * ticket's terms ask for, each counted on that ticket's own clock (24×7 or business hours).
 * Like a ticket it stores each deadline and `next_action_at`, the earliest, which the sweep
 * selects. Pure.
 */

/** One linked ticket's terms as the incident's clock reads them. */
export interface LinkedContract {
  sev: SeverityPolicy;
  clock: SlaClock;
}

export interface IncidentDeadlines {
  /** The next periodic update to every linked customer; null: no linked contract asks for one. */
  nextUpdateDueAt: Date | null;
  /** When the level holding it has had it for the shortest linked budget; null at level 3. */
  nextEscalationDueAt: Date | null;
  /** The next digest to the level (its linked count); null: digests off. */
  nextDigestAt: Date | null;
}

export interface IncidentSnapshot extends IncidentDeadlines {
  open: boolean;
  level: Level;
  etrAt: Date;
}

export type IncidentSweepAction =
  | { kind: 'escalate'; from: Level; to: Level }
  | { kind: 'etr_expired'; etrAt: Date }
  | { kind: 'customer_update' }
  | { kind: 'digest' };

/** The earlier of two instants; null only when both are. */
export function earlier(a: Date | null, b: Date | null): Date | null {
  if (a === null) return b;
  if (b === null) return a;
  return a.getTime() <= b.getTime() ? a : b;
}

/** The next update after a message to every linked customer at `at`: the earliest any contract asks for. */
export function nextIncidentUpdate(contracts: readonly LinkedContract[], at: Date): Date | null {
  let next: Date | null = null;
  for (const { sev, clock } of contracts) {
    if (sev.customerUpdateMinutes !== null) next = earlier(next, clock.addBusinessMinutes(at, sev.customerUpdateMinutes));
  }
  return next;
}

/** When `level`, holding the incident since `since`, has used the shortest budget a linked contract gives it. */
export function incidentEscalationDue(contracts: readonly LinkedContract[], level: Level, since: Date): Date | null {
  let due: Date | null = null;
  for (const { sev, clock } of contracts) {
    const budget = sev.escalateAfterMinutes[level];
    if (budget !== undefined) due = earlier(due, clock.addBusinessMinutes(since, budget));
  }
  return due;
}

/** The earliest pending deadline of an open incident (its ETR included: never shown past), or null. */
export function incidentNextActionAt(s: IncidentSnapshot): Date | null {
  if (!s.open) return null;
  let next: Date | null = s.etrAt;
  next = earlier(next, s.nextUpdateDueAt);
  next = earlier(next, s.level < 3 ? s.nextEscalationDueAt : null);
  return earlier(next, s.nextDigestAt);
}

/**
 * What is due for an incident at `now`, in the order it is carried out. As for a ticket, an
 * expired ETR is estimated again and told to everyone, which stands for the periodic update due
 * in the same pass; an escalation tells the next level, and the digest the current one.
 */
export function incidentDueActions(s: IncidentSnapshot, now: Date): IncidentSweepAction[] {
  if (!s.open) return [];
  const due = (d: Date | null): d is Date => d !== null && d.getTime() <= now.getTime();
  const out: IncidentSweepAction[] = [];
  if (s.level < 3 && due(s.nextEscalationDueAt)) out.push({ kind: 'escalate', from: s.level, to: (s.level + 1) as Level });
  if (due(s.etrAt)) out.push({ kind: 'etr_expired', etrAt: s.etrAt });
  else if (due(s.nextUpdateDueAt)) out.push({ kind: 'customer_update' });
  if (due(s.nextDigestAt)) out.push({ kind: 'digest' });
  return out;
}
