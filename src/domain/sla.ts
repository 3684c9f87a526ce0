import type { SlaClock } from './business-time.ts';
import type { Level, SeverityPolicy } from './policy.ts';

/**
 * SLA deadlines as data (DESIGN §7). A ticket stores each deadline as a column and
 * `next_action_at`, the earliest of them, which the sweep selects through an index: the sweep's
 * cost follows the number of due tickets, never the number of open ones. This module computes
 * the deadlines and, for a ticket the sweep picked up, which actions are due. Pure.
 */

export interface SlaSettings {
  /** Share of a level's budget at which the level is warned (80). */
  warnAtPercent: number;
}

/** The SLA columns of a ticket, as instants. */
export interface SlaDeadlines {
  warningDueAt: Date | null;
  nextEscalationDueAt: Date | null;
  nextUpdateDueAt: Date | null;
  firstResponseDueAt: Date | null;
  resolutionDueAt: Date | null;
}

export interface SlaSnapshot extends SlaDeadlines {
  state: string;
  level: Level;
  etrAt: Date;
  firstRespondedAt: Date | null;
  firstResponseBreachedAt: Date | null;
  resolutionBreachedAt: Date | null;
  /**
   * Linked to a major incident: the ticket has no clock of its own (the incident's drives it),
   * so nothing falls due for it; its deadlines stay recorded for the compliance report.
   */
  linkedToIncident?: boolean;
}

export const OPEN_STATES: readonly string[] = ['nuevo', 'en_atencion'];

/** Deadlines of a brand-new ticket. */
export function initialDeadlines(sev: SeverityPolicy, clock: SlaClock, now: Date, settings: SlaSettings): SlaDeadlines {
  return {
    ...levelDeadlines(sev, 1, clock, now, settings),
    nextUpdateDueAt: sev.customerUpdateMinutes === null ? null : clock.addBusinessMinutes(now, sev.customerUpdateMinutes),
    firstResponseDueAt: clock.addBusinessMinutes(now, sev.firstResponseMinutes),
    resolutionDueAt: clock.addBusinessMinutes(now, sev.resolutionMinutes),
  };
}

/**
 * The current level's warning (at `warnAtPercent` of its budget) and escalation (at 100 %),
 * counted from when the level took the ticket. Level 3 has no budget of its own: past it, the
 * resolution target is what is breached.
 */
export function levelDeadlines(sev: SeverityPolicy, level: Level, clock: SlaClock, since: Date, settings: SlaSettings): Pick<SlaDeadlines, 'warningDueAt' | 'nextEscalationDueAt'> {
  const budget = sev.escalateAfterMinutes[level];
  if (budget === undefined) return { warningDueAt: null, nextEscalationDueAt: null };
  return {
    warningDueAt: clock.addBusinessMinutes(since, (budget * settings.warnAtPercent) / 100),
    nextEscalationDueAt: clock.addBusinessMinutes(since, budget),
  };
}

/** The next customer update after a message to the customer at `at` (null: only on change). */
export function nextUpdateAfter(sev: SeverityPolicy, clock: SlaClock, at: Date): Date | null {
  return sev.customerUpdateMinutes === null ? null : clock.addBusinessMinutes(at, sev.customerUpdateMinutes);
}

/** The earliest pending deadline (including the ETR, which must never be shown past), or null. */
export function nextActionAt(t: SlaSnapshot): Date | null {
  if (!OPEN_STATES.includes(t.state) || t.linkedToIncident) return null;
  const candidates = [
    t.warningDueAt,
    t.nextEscalationDueAt,
    t.nextUpdateDueAt,
    t.firstRespondedAt === null && t.firstResponseBreachedAt === null ? t.firstResponseDueAt : null,
    t.resolutionBreachedAt === null ? t.resolutionDueAt : null,
    t.etrAt,
  ].filter((d): d is Date => d !== null);
  if (candidates.length === 0) return null;
  return new Date(Math.min(...candidates.map((d) => d.getTime())));
}

export type SweepAction =
  | { kind: 'first_response_breach'; dueAt: Date }
  | { kind: 'warn'; level: Level; escalatesAt: Date }
  | { kind: 'escalate'; from: Level; to: Level }
  | { kind: 'resolution_breach'; dueAt: Date }
  | { kind: 'customer_update' }
  | { kind: 'etr_expired'; etrAt: Date };

/**
 * What is due for a ticket at `now`, in the order it is carried out. A warning that falls due
 * together with its escalation (Mesa was down, or the sweep was late) is dropped: the level is
 * told it has been escalated instead. A customer update due in the same pass as an escalation is
 * dropped too, since the escalation notice tells the customer the news and the ETR.
 */
export function dueActions(t: SlaSnapshot, now: Date): SweepAction[] {
  if (!OPEN_STATES.includes(t.state) || t.linkedToIncident) return [];
  const due = (d: Date | null): d is Date => d !== null && d.getTime() <= now.getTime();
  const out: SweepAction[] = [];
  if (t.firstRespondedAt === null && t.firstResponseBreachedAt === null && due(t.firstResponseDueAt)) {
    out.push({ kind: 'first_response_breach', dueAt: t.firstResponseDueAt });
  }
  const escalating = due(t.nextEscalationDueAt) && t.level < 3;
  if (escalating) out.push({ kind: 'escalate', from: t.level, to: (t.level + 1) as Level });
  else if (due(t.warningDueAt) && t.nextEscalationDueAt !== null) out.push({ kind: 'warn', level: t.level, escalatesAt: t.nextEscalationDueAt });
  if (t.resolutionBreachedAt === null && due(t.resolutionDueAt)) out.push({ kind: 'resolution_breach', dueAt: t.resolutionDueAt });
  if (due(t.etrAt) && !escalating) out.push({ kind: 'etr_expired', etrAt: t.etrAt });
  if (due(t.nextUpdateDueAt) && !escalating && !due(t.etrAt)) out.push({ kind: 'customer_update' });
  return out;
}

/** Remaining business minutes of each running deadline, kept while the clock is paused. */
export function pauseDeadlines(d: SlaDeadlines, clock: SlaClock, now: Date): Record<keyof SlaDeadlines, number | null> {
  const left = (x: Date | null): number | null => (x === null ? null : Math.max(0, clock.businessMinutesBetween(now, x)));
  return {
    warningDueAt: left(d.warningDueAt),
    nextEscalationDueAt: left(d.nextEscalationDueAt),
    nextUpdateDueAt: left(d.nextUpdateDueAt),
    firstResponseDueAt: left(d.firstResponseDueAt),
    resolutionDueAt: left(d.resolutionDueAt),
  };
}

/** The deadlines again when the clock restarts, each shifted by the time spent paused. */
export function resumeDeadlines(remaining: Record<keyof SlaDeadlines, number | null>, clock: SlaClock, now: Date): SlaDeadlines {
  const at = (m: number | null): Date | null => (m === null ? null : clock.addBusinessMinutes(now, m));
  return {
    warningDueAt: at(remaining.warningDueAt),
    nextEscalationDueAt: at(remaining.nextEscalationDueAt),
    nextUpdateDueAt: at(remaining.nextUpdateDueAt),
    firstResponseDueAt: at(remaining.firstResponseDueAt),
    resolutionDueAt: at(remaining.resolutionDueAt),
  };
}
