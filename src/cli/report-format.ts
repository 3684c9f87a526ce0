import type { ComplianceReport } from '../desk/compliance-report.ts';
import { compliancePercent, type Outcome } from '../domain/sla-report.ts';
import { table } from './format.ts';

/** "45 min", "2 h 05 min", "26 h": a span of the ticket's clock, for people. */
export function minutesText(m: number | null): string {
  if (m === null) return '—';
  const whole = Math.round(m);
  if (whole < 60) return `${whole} min`;
  const h = Math.floor(whole / 60);
  const rest = whole % 60;
  return rest === 0 ? `${h} h` : `${h} h ${String(rest).padStart(2, '0')} min`;
}

const percentText = (o: Outcome): string => {
  const p = compliancePercent(o);
  return p === null ? '—' : `${p}%`;
};

/** The report as a terminal table: one row per group and severity, then the group's total. */
export function reportTable(r: ComplianceReport): string {
  const head = r.by === 'organisation' ? 'ORGANIZACIÓN' : 'CATEGORÍA';
  const title = `Cumplimiento de SLA por ${r.by === 'organisation' ? 'organización' : 'categoría'}, tickets abiertos del ${r.period.from} al ${r.period.to} (${r.timeZone}); tiempos en el reloj de cada ticket`;
  if (r.rows.length === 0) return `${title}\n\nSin tickets en el periodo.`;
  const outcome = (o: Outcome): string[] => [String(o.met), String(o.breached), String(o.pending), percentText(o), minutesText(o.medianMinutes), minutesText(o.p90Minutes)];
  return `${title}\n\n${table([
    [head, 'SEV', 'TICKETS', '1ªR OK', '1ªR FUERA', '1ªR PEND', '1ªR %', '1ªR MEDIANA', '1ªR P90', 'RES OK', 'RES FUERA', 'RES PEND', 'RES %', 'RES MEDIANA', 'RES P90', 'ESCALAM.'],
    ...r.rows.map((x) => [
      x.severity === null ? `${x.groupName} (total)` : x.groupName, x.severity === null ? 'todas' : String(x.severity), String(x.tickets),
      ...outcome(x.firstResponse), ...outcome(x.resolution), String(x.escalations),
    ]),
  ])}`;
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
export function reportCsv(r: ComplianceReport): string {
  const outcome = (o: Outcome): Array<number | null> => [o.met, o.breached, o.pending, compliancePercent(o), o.medianMinutes, o.p90Minutes];
  const lines = [CSV_COLUMNS.join(',')];
  for (const x of r.rows) {
    lines.push([x.group, x.groupName, x.severity === null ? 'all' : x.severity, x.tickets, ...outcome(x.firstResponse), ...outcome(x.resolution), x.escalations].map(csvField).join(','));
  }
  return lines.join('\n');
}
