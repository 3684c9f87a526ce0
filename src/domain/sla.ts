import type { SlaClock } from './business-time.ts';
import type { SeverityPolicy } from './policy.ts';

/**
 * SLA deadlines and the first ETR of a new ticket, on its severity's clock. Stored as columns so
 * the escalation sweep selects what is due through an index instead of recomputing.
 */

export interface Deadlines {
  firstResponseDueAt: Date;
  nextEscalationDueAt: Date | null;
  nextUpdateDueAt: Date | null;
  resolutionDueAt: Date;
}

export function initialDeadlines(sev: SeverityPolicy, clock: SlaClock, now: Date): Deadlines {
  const after = (minutes: number): Date => clock.addBusinessMinutes(now, minutes);
  const level1 = sev.escalateAfterMinutes[1];
  return {
    firstResponseDueAt: after(sev.firstResponseMinutes),
    nextEscalationDueAt: level1 === undefined ? null : after(level1),
    nextUpdateDueAt: sev.customerUpdateMinutes === null ? null : after(sev.customerUpdateMinutes),
    resolutionDueAt: after(sev.resolutionMinutes),
  };
}

export interface EtrEstimate {
  at: Date;
  source: 'target' | 'history' | 'agent' | 'escalation';
  reason: string;
}

/**
 * The ETR before anything is known about the case: the severity's resolution target on its
 * clock. (The history-based estimator of DESIGN §7 refines this once enough tickets exist.)
 */
export function targetEtr(sev: SeverityPolicy, clock: SlaClock, now: Date): EtrEstimate {
  const kind = sev.clock === 'business' ? 'business minutes' : 'minutes';
  return {
    at: clock.addBusinessMinutes(now, sev.resolutionMinutes),
    source: 'target',
    reason: `severity ${sev.id} (${sev.name}) resolution target: ${sev.resolutionMinutes} ${kind}`,
  };
}
