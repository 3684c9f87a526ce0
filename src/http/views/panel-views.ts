import { describeEvent, QUIET_EVENTS } from '../../desk/event-text.ts';
import type { DeskPolicy, Level } from '../../domain/policy.ts';
import { formatInstant } from '../../domain/time-format.ts';
import { updateCadence } from '../../domain/update-cadence.ts';
import { recordedTerms } from '../../domain/service-terms.ts';
import { isOpenState, type ContactRow, type TicketRow } from '../../domain/ticket.ts';
import type { TicketMessageRow, TicketSmsRow } from '../../store/ticket-repo.ts';
import { LOCALE, MINUTE_MS, names, when, dateOf, staffAddresses, smsBody, parseList, channelName, type When } from './view-basics.ts';

/**
 * The agents' panel: the queue's rows with the countdown to the next escalation, and the ticket
 * page with its events and every message, built from rows with `now` as a parameter.
 */

export type CountdownStatus = 'ok' | 'warn' | 'bad' | 'none';

export interface Countdown {
  /** "escala en 25 min", "vencido hace 10 min", "reloj detenido (esperando al cliente)". */
  text: string;
  status: CountdownStatus;
  /** Milliseconds to the next escalation at `now` (null when no clock runs towards one). */
  leftMs: number | null;
  /** A clock runs towards the next escalation (the panel's script may tick it). */
  ticking: boolean;
  warnMs: number;
  /** A first-response or resolution deadline was already missed: the row stays red. */
  breached: boolean;
  dueAt: string | null;
}

type CountdownFields = Pick<TicketRow, 'state' | 'paused_at' | 'next_escalation_due_at' | 'first_response_breached_at' | 'resolution_breached_at'>;

/**
 * Time left to the next escalation: ok, warn within `warnMinutes`, bad once past due or when a
 * first-response or resolution deadline was missed. A paused clock (waiting for the customer)
 * does not count down.
 */
export function escalationCountdown(t: CountdownFields, now: Date, warnMinutes: number, timeZone: string): Countdown {
  const warnMs = warnMinutes * MINUTE_MS;
  const breached = t.first_response_breached_at !== null || t.resolution_breached_at !== null;
  const base = { warnMs, breached, leftMs: null, ticking: false, dueAt: null };
  if (!isOpenState(t.state)) return { ...base, text: 'sin plazos (caso terminado)', status: 'none', breached: false };
  if (t.paused_at !== null || t.state === 'esperando_cliente') return { ...base, text: 'reloj detenido (esperando al cliente)', status: breached ? 'bad' : 'ok' };
  if (t.next_escalation_due_at === null) return { ...base, text: 'sin escalamiento pendiente', status: breached ? 'bad' : 'ok' };
  const leftMs = t.next_escalation_due_at - now.getTime();
  const status: CountdownStatus = breached || leftMs <= 0 ? 'bad' : leftMs <= warnMs ? 'warn' : 'ok';
  return { ...base, leftMs, ticking: true, status, text: countdownText(leftMs), dueAt: formatInstant(new Date(t.next_escalation_due_at), now, timeZone, LOCALE) };
}

/** "escala en 1 h 5 min" / "vencido hace 10 min"; mirrored by panel-countdown.js. */
export function countdownText(leftMs: number): string {
  return leftMs > 0 ? `escala en ${compactDuration(leftMs)}` : `vencido hace ${compactDuration(-leftMs)}`;
}

/** 45 s → "menos de 1 min", 25 min → "25 min", 65 min → "1 h 5 min", 26 h → "1 d 2 h". */
export function compactDuration(ms: number): string {
  const total = Math.round(Math.abs(ms) / MINUTE_MS);
  if (total < 1) return 'menos de 1 min';
  if (total < 60) return `${total} min`;
  if (total < 24 * 60) {
    const h = Math.floor(total / 60);
    const m = total % 60;
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  const hours = Math.round(total / 60);
  const d = Math.floor(hours / 24);
  const h = hours % 24;
  return h ? `${d} d ${h} h` : `${d} d`;
}

export interface PanelRowView {
  key: string;
  subject: string;
  contactName: string;
  severity: number;
  severityName: string;
  level: number;
  levelName: string;
  state: string;
  stateName: string;
  etr: When;
  countdown: Countdown;
}

export function panelRowView(policy: DeskPolicy, t: TicketRow & { contact_name?: string }, now: Date): PanelRowView {
  const n = names(policy, t, now);
  return {
    key: t.key, subject: t.subject, contactName: t.contact_name ?? '',
    severity: t.severity, severityName: n.severityName, level: t.level, levelName: n.levelName, state: t.state, stateName: n.stateName,
    etr: n.etr, countdown: escalationCountdown(t, now, policy.web.panel.warnMinutes, policy.desk.timeZone),
  };
}

export interface PanelFilters { level?: Level; severity?: 1 | 2 | 3 | 4 }

/** `?nivel=2&severidad=1` → filters; anything else is "all". */
export function parsePanelFilters(query: Record<string, unknown>): PanelFilters {
  const one = (v: unknown): string => (Array.isArray(v) ? String(v[0] ?? '') : typeof v === 'string' ? v : '');
  const f: PanelFilters = {};
  const level = one(query.nivel);
  if (/^[1-3]$/.test(level)) f.level = Number(level) as Level;
  const sev = one(query.severidad);
  if (/^[1-4]$/.test(sev)) f.severity = Number(sev) as 1 | 2 | 3 | 4;
  return f;
}

export interface PanelDeadline { label: string; date: string; span: string; status: CountdownStatus; note: string }

export interface PanelMessage {
  at: string;
  direction: 'in' | 'out';
  directionName: string;
  author: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  channel: string;
  moment: string | null;
  deliveryStatus: string | null;
  internal: boolean;
}

export interface PanelTicketView extends PanelRowView {
  description: string;
  type: string;
  category: string;
  channel: string;
  mailbox: string | null;
  customerChannel: string;
  assignee: string | null;
  open: boolean;
  contact: { name: string; email: string | null; phone: string | null; organisation: string | null };
  /** The service terms recorded on the ticket: organisation, contract, the targets in force, and why. */
  terms: { organisation: string | null; contract: string | null; targets: string; reason: string };
  createdAt: string;
  updatedAt: string;
  levelSince: string;
  deadlines: PanelDeadline[];
  classification: Array<{ rule: string; matched: string }>;
  etrHistory: Array<{ at: string; etr: string; source: string; reason: string }>;
  events: Array<{ at: string; actor: string; text: string; quiet: boolean }>;
  messages: PanelMessage[];
}

export interface PanelTicketInput {
  policy: DeskPolicy;
  ticket: TicketRow;
  contact: ContactRow | undefined;
  etrHistory: Array<{ at: number; etr_at: number; source: string; reason: string }>;
  events: Array<{ at: number; actor: string; type: string; data_json: string; reason: string | null }>;
  messages: TicketMessageRow[];
  sms: TicketSmsRow[];
  now: Date;
}

/** The agents' view of one ticket: everything, internal notes included. */
export function panelTicketView(input: PanelTicketInput): PanelTicketView {
  const { policy, ticket: t, now } = input;
  const row = panelRowView(policy, t, now);
  const open = isOpenState(t.state);
  const staff = staffAddresses(policy);
  const deadline = (label: string, at: number | null, done: { at: number | null; text: string } | null, breachedAt: number | null): PanelDeadline | null => {
    if (at === null) return null;
    const w = when(policy, at, now);
    if (done?.at != null) return { label, ...w, status: 'ok', note: `${done.text} ${dateOf(policy, done.at, now)}` };
    if (breachedAt !== null) return { label, ...w, status: 'bad', note: 'vencido' };
    if (!open) return { label, ...w, status: 'none', note: '' };
    if (t.paused_at !== null) return { label, ...w, status: 'none', note: 'reloj detenido' };
    return { label, ...w, status: at <= now.getTime() ? 'bad' : 'ok', note: at <= now.getTime() ? 'vencido' : '' };
  };
  const deadlines = [
    deadline('Primera respuesta', t.first_response_due_at, { at: t.first_responded_at, text: 'respondida' }, t.first_response_breached_at),
    deadline('Aviso al nivel', t.warning_due_at, null, null),
    deadline('Próximo escalamiento', t.next_escalation_due_at, null, null),
    deadline('Próxima actualización al cliente', t.next_update_due_at, null, null),
    deadline('Resolución', t.resolution_due_at, { at: t.resolved_at, text: 'resuelto' }, t.resolution_breached_at),
  ].filter((d): d is PanelDeadline => d !== null);

  const messages: Array<PanelMessage & { sort: number; id: number }> = input.messages.map((m) => {
    const to = parseList(m.to_json);
    const internal = m.author === 'agent' || to.some((a) => staff.has(a.toLowerCase())) || (m.direction === 'in' && m.author !== 'customer');
    return {
      at: dateOf(policy, m.created_at, now), direction: m.direction, directionName: m.direction === 'in' ? 'Entrante' : 'Saliente',
      author: authorName(m.author), from: m.from_address ?? '', to: to.join(', '), subject: m.subject,
      text: ((m.direction === 'in' ? m.visible_text ?? m.body_text : m.body_text ?? m.visible_text) ?? '').trim(),
      channel: channelName(m.channel), moment: m.moment, deliveryStatus: m.delivery_status, internal, sort: m.created_at, id: m.id,
    };
  });
  for (const s of input.sms) {
    messages.push({
      at: dateOf(policy, s.created_at, now), direction: 'out', directionName: 'Saliente', author: authorName('system'), from: '', to: s.recipient,
      subject: '', text: smsBody(s.payload_json) ?? '', channel: 'SMS', moment: s.moment, deliveryStatus: s.status, internal: false, sort: s.created_at, id: s.id,
    });
  }
  messages.sort((a, b) => a.sort - b.sort || a.id - b.id);

  return {
    ...row,
    description: t.description, type: t.type, category: t.category, channel: channelName(t.channel), mailbox: t.mailbox,
    customerChannel: channelName(t.customer_channel), assignee: t.assignee, open,
    contact: { name: input.contact?.name ?? '', email: input.contact?.email ?? null, phone: input.contact?.phone ?? null, organisation: input.contact?.organisation ?? null },
    terms: termsOf(policy, t),
    createdAt: dateOf(policy, t.created_at, now),
    updatedAt: dateOf(policy, t.updated_at, now),
    levelSince: dateOf(policy, t.level_since, now),
    deadlines,
    classification: classificationOf(t.classification_json),
    etrHistory: input.etrHistory.map((h) => ({ at: dateOf(policy, h.at, now), etr: dateOf(policy, h.etr_at, now), source: h.source, reason: h.reason })).reverse(),
    events: input.events.map((e) => ({
      at: dateOf(policy, e.at, now), actor: e.actor, quiet: QUIET_EVENTS.has(e.type),
      text: eventText({ type: e.type, actor: e.actor, data: parseObject(e.data_json), reason: e.reason }),
    })),
    messages: messages.map(({ sort: _s, id: _i, ...m }) => m),
  };
}

/** describeEvent for the history worth telling; the bookkeeping events get a plain line here. */
function eventText(e: { type: string; actor: string; data: Record<string, unknown>; reason: string | null }): string {
  const d = e.data;
  const s = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
  switch (e.type) {
    case 'message_queued': return `Mensaje «${s(d.moment)}» en cola (${s(d.channel)}) para ${s(d.to)}`;
    case 'message_skipped': return `Mensaje «${s(d.moment)}» no enviado (${s(d.reason)})`;
    case 'ack_skipped': return `Acuse de recibo omitido (${s(d.reason)})`;
    case 'automatic_mail_recorded': return `Correo automático registrado (${s(d.kind)})${e.reason ? ` — ${e.reason}` : ''}`;
    default: return describeEvent(e, LOCALE);
  }
}

function authorName(author: string): string {
  return ({ customer: 'cliente', agent: 'agente', automatic: 'automático', bounce: 'rebote', system: 'Mesa' } as Record<string, string>)[author] ?? author;
}

function classificationOf(json: string): Array<{ rule: string; matched: string }> {
  const c = parseObject(json);
  const reasons = Array.isArray(c.reasons) ? c.reasons as Array<Record<string, unknown>> : [];
  return reasons.map((r) => ({ rule: String(r.rule ?? ''), matched: Array.isArray(r.matched) ? r.matched.map(String).join(', ') : '' }));
}

function parseObject(json: string): Record<string, unknown> {
  try {
    const v = JSON.parse(json) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {};
  } catch {
    return {};
  }
}

/** What the panel says of a ticket's recorded terms (the defaults for a ticket from before them). */
function termsOf(policy: DeskPolicy, t: TicketRow): PanelTicketView['terms'] {
  const terms = recordedTerms(t.terms_json, policy.severities);
  const sev = terms.severities[t.severity];
  // In hours, never days: a business clock's day is not 24 h (compactDuration counts those).
  const minutes = (m: number | null): string => (m === null ? '—' : m % 60 === 0 ? `${m / 60} h` : `${m} min`);
  const hours = sev.clock === 'business' ? 'hábiles' : 'naturales';
  return {
    organisation: terms.organisation?.name ?? null,
    contract: terms.contract ? (terms.contract.until ? `vigente hasta ${terms.contract.until}` : 'vigente') : null,
    targets: `severidad ${t.severity}: primera respuesta ${minutes(sev.firstResponseMinutes)}, resolución ${minutes(sev.resolutionMinutes)} (${hours}), actualización al cliente ${updateCadence(terms, t.severity, policy.businessHours.businessDayMinutes, 'es-MX') ?? 'sin actualizaciones periódicas'}`,
    reason: terms.reason,
  };
}
