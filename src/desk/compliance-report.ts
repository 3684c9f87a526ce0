import { DateTime } from 'luxon';
import type { DeskPolicy } from '../domain/policy.ts';
import { recordedTerms } from '../domain/service-terms.ts';
import { slaReport, type SlaReportRow, type SlaReportTicket } from '../domain/sla-report.ts';
import type { SlaReportSource } from '../store/report-repo.ts';
import type { Store } from '../store/store.ts';
import type { TicketTerms } from './ticket-terms.ts';

export type ReportGrouping = 'organisation' | 'category';
export const REPORT_GROUPINGS: readonly ReportGrouping[] = ['organisation', 'category'];

/** A period as people name it: first and last day, inclusive, in the desk's time zone. */
export interface ReportPeriod { from: string; to: string }

export interface ComplianceReport {
  period: ReportPeriod;
  by: ReportGrouping;
  timeZone: string;
  rows: SlaReportRow[];
}

/**
 * Why a period cannot be reported on, or null: dates as YYYY-MM-DD, real, in order. `names`
 * are the fields as the asker calls them (the CLI's flags, the panel form's labels).
 */
export function periodProblem(p: { from?: string; to?: string }, names: { from: string; to: string } = { from: '--from', to: '--to' }): string | null {
  for (const [name, v] of [[names.from, p.from], [names.to, p.to]] as const) {
    if (v === undefined) return `falta ${name} (YYYY-MM-DD)`;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || !DateTime.fromISO(v).isValid) return `${name} ${v}: se espera una fecha YYYY-MM-DD`;
  }
  return (p.from as string) > (p.to as string) ? `${names.from} ${p.from} es posterior a ${names.to} ${p.to}` : null;
}

/** The period's instants: from the first day's local midnight to the one after the last day. */
export function periodBounds(p: ReportPeriod, timeZone: string): { from: number; to: number } {
  return {
    from: DateTime.fromISO(p.from, { zone: timeZone }).startOf('day').toMillis(),
    to: DateTime.fromISO(p.to, { zone: timeZone }).plus({ days: 1 }).startOf('day').toMillis(),
  };
}

/**
 * The compliance report for the tickets opened in a period (`domain/sla-report.ts` defines the
 * figures). Read-only. Each ticket is measured under the terms recorded on it — its contract's
 * targets and calendar — so a report on last month says what was agreed then.
 */
export async function complianceReport(deps: { store: Store; policy: DeskPolicy; terms: TicketTerms }, period: ReportPeriod, by: ReportGrouping): Promise<ComplianceReport> {
  const { policy, terms } = deps;
  const zone = policy.desk.timeZone;
  const bounds = periodBounds(period, zone);
  const names = new Map(policy.organisations.map((o) => [o.id, o.name]));
  const tickets = (await deps.store.reports.ticketsOpenedBetween(bounds.from, bounds.to)).map((s): SlaReportTicket => {
    const clock = terms.clock(s);
    const created = new Date(s.created_at);
    const group = by === 'organisation' ? s.organisation : s.category;
    return {
      group,
      groupName: by === 'category' ? s.category : groupNameOf(s, names, policy),
      severity: s.severity,
      firstResponse: {
        dueAt: s.first_response_due_at, at: s.first_responded_at, breachedAt: s.first_response_breached_at,
        minutes: s.first_responded_at === null ? null : round(clock.businessMinutesBetween(created, new Date(s.first_responded_at))),
      },
      resolution: {
        dueAt: s.resolution_due_at, at: s.resolved_at, breachedAt: s.resolution_breached_at,
        minutes: s.resolution_business_minutes === null ? null : round(s.resolution_business_minutes),
      },
      escalations: s.escalations,
    };
  });
  return { period, by, timeZone: zone, rows: slaReport(tickets) };
}

function groupNameOf(s: SlaReportSource, names: Map<string, string>, policy: DeskPolicy): string {
  if (s.organisation === null) return 'Sin organización';
  return recordedTerms(s.terms_json, policy.severities).organisation?.name ?? names.get(s.organisation) ?? s.organisation;
}

/** Minutes to one decimal: a report, not arithmetic. */
function round(m: number): number {
  return Math.round(m * 10) / 10;
}
