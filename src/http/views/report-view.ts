import type { ComplianceReport } from '../../desk/compliance-report.ts';
import type { Outcome, SlaReportRow } from '../../domain/sla-report.ts';
import { minutesText, percentText } from '../../domain/sla-report-text.ts';

/**
 * `/panel/informes`: the compliance report as a table and a bar chart, all server-rendered.
 * The chart is plain SVG drawn by the page template from the geometry computed here (numbers
 * only; every name goes through Handlebars' escaping like any other text), so it needs no
 * script, no CDN and no triple-stash.
 */

const LABEL_WIDTH = 200;
const BAR_AREA = 440;
const PERCENT_WIDTH = 60;
const BAR_HEIGHT = 16;
const BAR_GAP = 4;
const GROUP_GAP = 14;
const TOP = 8;
/** The organisation's name gets a line of its own above its two bars. */
const NAME_HEIGHT = 18;

export interface ChartSegment { x: number; width: number; fill: string; title: string }
export interface ChartBar { y: number; textY: number; label: string; labelX: number; segments: ChartSegment[]; percent: string; percentX: number }
export interface ChartGroup { y: number; textY: number; name: string; bars: ChartBar[] }
export interface ReportChart { width: number; height: number; barHeight: number; groups: ChartGroup[]; gridlines: Array<{ x: number; label: string }>; axisY: number; axisTextY: number }

const FILL = { met: '#1f7a3a', breached: '#b3261e', pending: '#b8c2cc' } as const;

/**
 * One group per organisation (its total over severities), two bars each — first response and
 * resolution — stacked met / breached / pending as shares of the group's tickets, with the
 * share met of those decided at the end of each bar: what a desk manager scans for first.
 */
export function reportChart(rows: readonly SlaReportRow[]): ReportChart {
  const totals = rows.filter((r) => r.severity === null);
  const groups: ChartGroup[] = [];
  let y = TOP;
  for (const r of totals) {
    const bars: ChartBar[] = [];
    const start = y;
    y += NAME_HEIGHT;
    for (const [label, o] of [['1ª respuesta', r.firstResponse], ['Resolución', r.resolution]] as const) {
      bars.push(bar(label, o, r.tickets, y));
      y += BAR_HEIGHT + BAR_GAP;
    }
    groups.push({ y: start, textY: start + NAME_HEIGHT - 5, name: r.groupName, bars });
    y += GROUP_GAP - BAR_GAP;
  }
  const axisY = y;
  return {
    width: LABEL_WIDTH + BAR_AREA + PERCENT_WIDTH,
    height: axisY + 22,
    barHeight: BAR_HEIGHT,
    groups,
    gridlines: [0, 25, 50, 75, 100].map((p) => ({ x: LABEL_WIDTH + (BAR_AREA * p) / 100, label: `${p}%` })),
    axisY,
    axisTextY: axisY + 16,
  };
}

function bar(label: string, o: Outcome, tickets: number, y: number): ChartBar {
  const segments: ChartSegment[] = [];
  let x = LABEL_WIDTH;
  for (const kind of ['met', 'breached', 'pending'] as const) {
    const n = o[kind];
    if (n === 0 || tickets === 0) continue;
    const width = round((BAR_AREA * n) / tickets);
    segments.push({ x: round(x), width, fill: FILL[kind], title: `${label}: ${n} ${KIND_NAMES[kind]}` });
    x += width;
  }
  return { y, textY: y + BAR_HEIGHT - 3, label, labelX: LABEL_WIDTH - 6, segments, percent: percentText(o), percentX: LABEL_WIDTH + BAR_AREA + 6 };
}

const KIND_NAMES = { met: 'en plazo', breached: 'fuera de plazo', pending: 'pendientes' } as const;

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

export interface ReportRowView {
  group: string; severity: string; total: boolean; tickets: number;
  firstResponse: OutcomeView; resolution: OutcomeView; escalations: number;
}
interface OutcomeView { met: number; breached: number; pending: number; percent: string; median: string; p90: string }

const outcomeView = (o: Outcome): OutcomeView => ({
  met: o.met, breached: o.breached, pending: o.pending, percent: percentText(o), median: minutesText(o.medianMinutes), p90: minutesText(o.p90Minutes),
});

export function reportRowsView(r: ComplianceReport): ReportRowView[] {
  return r.rows.map((x) => ({
    group: x.groupName, severity: x.severity === null ? 'Todas' : String(x.severity), total: x.severity === null, tickets: x.tickets,
    firstResponse: outcomeView(x.firstResponse), resolution: outcomeView(x.resolution), escalations: x.escalations,
  }));
}
