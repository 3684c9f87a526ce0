import type { ComplianceReport } from '../desk/compliance-report.ts';
import type { Outcome } from '../domain/sla-report.ts';
import { minutesText, percentText } from '../domain/sla-report-text.ts';
import { table } from './format.ts';


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
