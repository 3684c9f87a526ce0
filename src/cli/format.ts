import type { DeskPolicy } from '../domain/policy.ts';
import { formatInstant } from '../domain/time-format.ts';

/** Readable timestamps for operators, in the desk's zone. */
export function when(ms: number | null, policy: DeskPolicy, now: Date): string {
  if (ms === null) return '—';
  return formatInstant(new Date(ms), now, policy.desk.timeZone, policy.desk.locale);
}

/** A fixed-width table for terminals. */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}
