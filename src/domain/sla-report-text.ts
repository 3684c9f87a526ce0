import { compliancePercent, type Outcome, type SlaReportRow } from './sla-report.ts';

/** The compliance report as text that every shell shares (CLI, panel): CSV, spans. */

/** "45 min", "2 h 05 min", "26 h": a span of the ticket's clock, for people. */
export function minutesText(m: number | null): string {
  if (m === null) return '—';
  const whole = Math.round(m);
  if (whole < 60) return `${whole} min`;
  const h = Math.floor(whole / 60);
  const rest = whole % 60;
  return rest === 0 ? `${h} h` : `${h} h ${String(rest).padStart(2, '0')} min`;
}

/** "66.7%", or "—" while nothing is decided yet. */
export function percentText(o: Outcome): string {
  const p = compliancePercent(o);
  return p === null ? '—' : `${p}%`;
}

const CSV_COLUMNS = ['group', 'group_name', 'severity', 'tickets',
  'first_response_met', 'first_response_breached', 'first_response_pending', 'first_response_met_percent', 'first_response_median_minutes', 'first_response_p90_minutes',
  'resolution_met', 'resolution_breached', 'resolution_pending', 'resolution_met_percent', 'resolution_median_minutes', 'resolution_p90_minutes', 'escalations'];

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
function csvField(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The report as CSV, one line per row (minutes as numbers, severity `all` on a group's total row). */
export function reportCsv(r: { rows: readonly SlaReportRow[] }): string {
  const outcome = (o: Outcome): Array<number | null> => [o.met, o.breached, o.pending, compliancePercent(o), o.medianMinutes, o.p90Minutes];
  const lines = [CSV_COLUMNS.join(',')];
  for (const x of r.rows) {
    lines.push([x.group, x.groupName, x.severity === null ? 'all' : x.severity, x.tickets, ...outcome(x.firstResponse), ...outcome(x.resolution), x.escalations].map(csvField).join(','));
  }
  return lines.join('\n');
}
