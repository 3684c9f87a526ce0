import { publicTitle } from '../../domain/incident.ts';
import type { DeskPolicy } from '../../domain/policy.ts';
import { formatIncidentKey } from '../../domain/ticket-key.ts';
import type { IncidentRow, IncidentUpdateRow } from '../../store/incident-repo.ts';
import { dateOf, when, type When } from './view-basics.ts';

/** One major incident as the agents' panel lists it (issue 13). Pure, `now` a parameter. */
export interface PanelIncidentView {
  key: string;
  open: boolean;
  stateName: string;
  /** What customers read, and the report that opened it (agents only). */
  publicTitle: string;
  title: string;
  category: string;
  organisation: string | null;
  level: number;
  levelName: string;
  linked: number;
  linkedOpen: number;
  etr: When | null;
  etrPast: boolean;
  nextUpdate: When | null;
  openedAt: string;
  openedBy: string;
  resolvedAt: string | null;
  lastUpdate: { at: string; text: string } | null;
}

export function panelIncidentView(policy: DeskPolicy, i: IncidentRow, counts: { linked: number; linkedOpen: number }, updates: readonly IncidentUpdateRow[], now: Date): PanelIncidentView {
  const open = i.state === 'abierto';
  const level = Math.min(3, Math.max(1, i.level)) as 1 | 2 | 3;
  const last = [...updates].reverse().find((u) => u.kind !== 'linked' && u.kind !== 'unlinked');
  return {
    key: formatIncidentKey(i.id),
    open,
    stateName: open ? 'Abierto' : 'Resuelto',
    publicTitle: publicTitle(i),
    title: i.title,
    category: i.category,
    organisation: i.organisation,
    level,
    levelName: policy.levels[level].name,
    ...counts,
    etr: open ? when(policy, i.etr_at, now) : null,
    etrPast: open && i.etr_at <= now.getTime(),
    nextUpdate: open && i.next_update_due_at !== null ? when(policy, i.next_update_due_at, now) : null,
    openedAt: dateOf(policy, i.opened_at, now),
    openedBy: i.opened_by === 'system' ? 'detección automática' : i.opened_by.replace(/^agent:/, ''),
    resolvedAt: i.resolved_at === null ? null : dateOf(policy, i.resolved_at, now),
    lastUpdate: last ? { at: dateOf(policy, last.at, now), text: describeUpdate(last) } : null,
  };
}

const KIND_NAMES: Record<string, string> = {
  opened: 'Abierto', update: 'Aviso a los clientes', etr: 'Nuevo ETR', note: 'Nota interna', resolved: 'Resuelto',
};

function describeUpdate(u: IncidentUpdateRow): string {
  const name = u.kind === 'update' && u.author === 'system' ? 'Aviso periódico a los clientes' : KIND_NAMES[u.kind] ?? u.kind;
  const to = u.recipients > 0 ? ` (${u.recipients} clientes)` : '';
  return u.text ? `${name}${to}: ${u.text.length > 160 ? `${u.text.slice(0, 157)}…` : u.text}` : `${name}${to}`;
}
