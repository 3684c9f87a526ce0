import { percentile } from './etr.ts';
import type { Severity } from './policy.ts';

/**
 * The compliance report (DESIGN §11): per group (an organisation, or a category) and severity,
 * how many tickets were opened in the period and how their first response and resolution went
 * against the deadlines of their own terms, with median and p90 times measured on the ticket's
 * own clock (its contract's calendar, business or continuous) and the escalations they had.
 *
 * Definitions, applied to each ticket opened in the period:
 * - first response *met*: answered with no breach recorded and not after its deadline;
 *   *breached*: a breach was recorded, or the answer came after the deadline; otherwise pending;
 * - resolution likewise with the resolution deadline (a ticket reopened since counts by its
 *   current state);
 * - times: first response from creation to the first answer, resolution from creation to
 *   resolution minus the time waiting for the customer, both in the ticket's clock's minutes;
 *   over the tickets that have one; the p90 is the nearest-rank percentile (as the ETR's);
 * - escalations: every escalation the tickets had, by the sweep or by an agent.
 */

export interface SlaReportTicket {
  /** The group's id (organisation id, category) or null for tickets with none. */
  group: string | null;
  /** What people read for the group ("Banco del Norte"). */
  groupName: string;
  severity: Severity;
  firstResponse: { dueAt: number | null; at: number | null; breachedAt: number | null; minutes: number | null };
  resolution: { dueAt: number | null; at: number | null; breachedAt: number | null; minutes: number | null };
  escalations: number;
}

export interface Outcome { met: number; breached: number; pending: number; medianMinutes: number | null; p90Minutes: number | null }

export interface SlaReportRow {
  group: string | null;
  groupName: string;
  /** null: every severity of the group (its total row). */
  severity: Severity | null;
  tickets: number;
  firstResponse: Outcome;
  resolution: Outcome;
  escalations: number;
}

type Kind = 'met' | 'breached' | 'pending';

function outcome(o: SlaReportTicket['firstResponse']): Kind {
  if (o.breachedAt !== null || (o.at !== null && o.dueAt !== null && o.at > o.dueAt)) return 'breached';
  return o.at !== null ? 'met' : 'pending';
}

function summarise(tickets: readonly SlaReportTicket[], pick: (t: SlaReportTicket) => SlaReportTicket['firstResponse']): Outcome {
  const out: Outcome = { met: 0, breached: 0, pending: 0, medianMinutes: null, p90Minutes: null };
  const minutes: number[] = [];
  for (const t of tickets) {
    const o = pick(t);
    out[outcome(o)]++;
    if (o.minutes !== null) minutes.push(o.minutes);
  }
  if (minutes.length > 0) {
    out.medianMinutes = percentile(minutes, 50);
    out.p90Minutes = percentile(minutes, 90);
  }
  return out;
}

/**
 * The report's rows: for each group (by name, tickets without a group last) one row per
 * severity present, then the group's total.
 */
export function slaReport(tickets: readonly SlaReportTicket[]): SlaReportRow[] {
  const groups = new Map<string, SlaReportTicket[]>();
  for (const t of tickets) {
    const k = t.group ?? '';
    groups.set(k, [...(groups.get(k) ?? []), t]);
  }
  const ordered = [...groups.values()].sort((a, b) => {
    const [x, y] = [a[0] as SlaReportTicket, b[0] as SlaReportTicket];
    if ((x.group === null) !== (y.group === null)) return x.group === null ? 1 : -1;
    return x.groupName.localeCompare(y.groupName, 'es');
  });
  const rows: SlaReportRow[] = [];
  const row = (of: SlaReportTicket[], severity: Severity | null): SlaReportRow => ({
    group: (of[0] as SlaReportTicket).group, groupName: (of[0] as SlaReportTicket).groupName, severity,
    tickets: of.length,
    firstResponse: summarise(of, (t) => t.firstResponse),
    resolution: summarise(of, (t) => t.resolution),
    escalations: of.reduce((n, t) => n + t.escalations, 0),
  });
  for (const of of ordered) {
    for (const s of [1, 2, 3, 4] as const) {
      const sev = of.filter((t) => t.severity === s);
      if (sev.length > 0) rows.push(row(sev, s));
    }
    rows.push(row(of, null));
  }
  return rows;
}

/** Share met of those decided (met + breached), 0–100, or null when none is decided yet. */
export function compliancePercent(o: Outcome): number | null {
  const decided = o.met + o.breached;
  return decided === 0 ? null : Math.round((o.met / decided) * 1000) / 10;
}
