import type { DeskPolicy } from '../../domain/policy.ts';
import { publicTitle } from '../../domain/incident.ts';
import { formatIncidentKey } from '../../domain/ticket-key.ts';
import type { IncidentRow, IncidentUpdateRow } from '../../store/incident-repo.ts';
import { dateOf, staffRedactor, when, type When } from './view-basics.ts';

/**
 * The public status page's view of a major incident (issue 13): what any visitor may read, with
 * no login — its public title, its state, its ETR and how that moved, and the updates the desk
 * sent to its customers. Never the reports behind it (subjects, customers, organisations), never
 * internal notes or who on the desk wrote what. Pure, `now` a parameter.
 */

export interface PublicIncidentUpdate {
  at: string;
  /** ISO instant, for the feed. */
  iso: string;
  label: string;
  text: string | null;
  etr: string | null;
}

export interface PublicIncidentView {
  key: string;
  title: string;
  open: boolean;
  stateName: string;
  openedAt: string;
  resolvedAt: string | null;
  /** Current ETR while open. */
  etr: When | null;
  etrPast: boolean;
  /** The last public update, newest first in `updates` too. */
  lastUpdate: PublicIncidentUpdate | null;
  etrHistory: Array<{ at: string; etr: string; current: boolean }>;
  updates: PublicIncidentUpdate[];
  /** ISO instant of its latest public change (the feed's `updated`). */
  updatedIso: string;
}

const PUBLIC_KINDS: ReadonlySet<string> = new Set(['opened', 'update', 'etr', 'resolved']);

export function publicIncidentView(policy: DeskPolicy, incident: IncidentRow, updates: readonly IncidentUpdateRow[], now: Date): PublicIncidentView {
  const open = incident.state === 'abierto';
  const redact = staffRedactor(policy);
  // A periodic "still working on it" to the customers is no news for the page.
  const shown = updates.filter((u) => PUBLIC_KINDS.has(u.kind) && !(u.kind === 'update' && u.text === null && u.author === 'system'));
  const list: PublicIncidentUpdate[] = shown.map((u) => ({
    at: dateOf(policy, u.at, now),
    iso: new Date(u.at).toISOString(),
    label: LABELS[u.kind] ?? 'Actualización',
    text: u.text === null ? null : redact(u.text).trim(),
    etr: u.etr_at === null || u.kind === 'resolved' ? null : dateOf(policy, u.etr_at, now),
  }));
  const history: Array<{ at: string; etr: string; current: boolean }> = [];
  let last: number | null = null;
  for (const u of shown) {
    if (u.etr_at === null || u.kind === 'resolved' || u.etr_at === last) continue;
    last = u.etr_at;
    history.push({ at: dateOf(policy, u.at, now), etr: dateOf(policy, u.etr_at, now), current: false });
  }
  const currentEtr = history.at(-1);
  if (currentEtr && open) currentEtr.current = true;
  const newest = shown.at(-1);
  return {
    key: formatIncidentKey(incident.id),
    title: publicTitle(incident),
    open,
    stateName: open ? 'En curso' : 'Resuelto',
    openedAt: dateOf(policy, incident.opened_at, now),
    resolvedAt: incident.resolved_at === null ? null : dateOf(policy, incident.resolved_at, now),
    etr: open ? when(policy, incident.etr_at, now) : null,
    etrPast: open && incident.etr_at <= now.getTime(),
    lastUpdate: [...list].reverse().find((u) => u.text !== null) ?? null,
    etrHistory: history.reverse(),
    updates: list.reverse(),
    updatedIso: new Date(newest?.at ?? incident.opened_at).toISOString(),
  };
}

const LABELS: Record<string, string> = {
  opened: 'Detectamos el problema',
  update: 'Actualización',
  etr: 'Nueva estimación',
  resolved: 'Resuelto',
};
