import { describeEvent, QUIET_EVENTS } from '../desk/event-text.ts';
import type { DeskPolicy, Level, Locale } from '../domain/policy.ts';
import { formatInstant, formatSpan } from '../domain/time-format.ts';
import { messageContext } from '../outbound/message-context.ts';
import type { ContactRow, TicketMessageRow, TicketRow, TicketSmsRow } from '../store/ticket-repo.ts';

/**
 * What the web pages show of a ticket, built from rows without I/O and with `now` as a
 * parameter: the customer's public view (status page) and the agents' views (panel list and
 * ticket page). State, severity and level names, dates and spans come from `messageContext` and
 * `time-format`, so a page says exactly what the customer's emails say.
 */

/** The pages are Spanish (templates/es-MX/web). */
const LOCALE: Locale = 'es-MX';
const MINUTE_MS = 60_000;
const OPEN_STATES = new Set(['nuevo', 'en_atencion', 'esperando_cliente']);

export interface When { date: string; span: string }

interface Names { stateName: string; severityName: string; levelName: string; etr: When }

function names(policy: DeskPolicy, t: TicketRow, now: Date): Names {
  const ctx = messageContext({
    policy, locale: LOCALE, now, customerName: '',
    ticket: { key: t.key, subject: t.subject, severity: t.severity, type: t.type, category: t.category, level: t.level, state: t.state, etrAt: new Date(t.etr_at), firstResponseDueAt: null },
  });
  return { stateName: ctx.ticket.stateName, severityName: ctx.ticket.severityName, levelName: ctx.ticket.levelName, etr: { date: ctx.etr.date, span: ctx.etr.span } };
}

function when(policy: DeskPolicy, at: number, now: Date): When {
  return { date: formatInstant(new Date(at), now, policy.desk.timeZone, LOCALE), span: formatSpan(new Date(at), now, LOCALE) };
}

function dateOf(policy: DeskPolicy, at: number, now: Date): string {
  return formatInstant(new Date(at), now, policy.desk.timeZone, LOCALE);
}

export function isOpen(state: string): boolean {
  return OPEN_STATES.has(state);
}

// ---------------------------------------------------------------------------------------------
// The customer's status page
// ---------------------------------------------------------------------------------------------

export interface PublicMessage {
  /** `customer`: the customer's own message; `desk`: what Mesa sent to the customer. */
  from: 'customer' | 'desk';
  label: string;
  at: string;
  channel: string;
  subject: string;
  text: string;
}

export interface PublicTicketView {
  key: string;
  subject: string;
  state: string;
  stateName: string;
  open: boolean;
  severity: number;
  severityName: string;
  /** "con el equipo de Operaciones" */
  levelText: string;
  createdAt: string;
  /** Current ETR (open tickets only). */
  etr: When | null;
  /** The ETR has passed and the sweep has not re-estimated it yet. */
  etrPast: boolean;
  resolvedAt: string | null;
  etrHistory: Array<{ at: string; etr: string; reason: string; current: boolean }>;
  messages: PublicMessage[];
}

export interface PublicViewInput {
  policy: DeskPolicy;
  ticket: TicketRow;
  contact: ContactRow | undefined;
  etrHistory: Array<{ at: number; etr_at: number; source: string; reason: string }>;
  messages: TicketMessageRow[];
  /** SMS queued to the customer's phone (phone tickets). */
  sms: TicketSmsRow[];
  /** The ticket's status token: the link to this very page is left out of the messages shown on it. */
  statusToken: string;
  now: Date;
}

/**
 * Only what a customer may see: no agent names or addresses, no internal notes, no notices to
 * the levels, no classification. Messages are the customer's own mail (its visible text) and
 * what the desk sent *to the customer's address or phone*; a message addressed to one of the
 * desk's people is never public, even when that person is also the ticket's contact.
 */
export function publicTicketView(input: PublicViewInput): PublicTicketView {
  const { policy, ticket: t, now } = input;
  const n = names(policy, t, now);
  const open = isOpen(t.state);
  const redact = redactor(policy, t);
  const staff = staffAddresses(policy);
  const email = input.contact?.email?.toLowerCase() ?? null;
  const phone = input.contact?.phone ?? null;
  const customerIsStaff = email !== null && staff.has(email);

  const messages: Array<PublicMessage & { sort: number; id: number }> = [];
  for (const m of input.messages) {
    if (m.direction === 'in' && m.author === 'customer') {
      const own = email !== null && (m.from_address ?? '').toLowerCase() === email;
      messages.push({
        from: 'customer', label: own ? 'Usted' : 'Otro participante del caso', at: dateOf(policy, m.created_at, now), channel: channelName(m.channel),
        subject: m.subject, text: (m.visible_text ?? '').trim(), sort: m.created_at, id: m.id,
      });
    } else if (m.direction === 'out' && m.author === 'system' && email !== null && !customerIsStaff) {
      const to = parseList(m.to_json).map((a) => a.toLowerCase());
      if (!to.includes(email) || to.some((a) => staff.has(a))) continue;
      messages.push({
        from: 'desk', label: policy.desk.name, at: dateOf(policy, m.created_at, now), channel: channelName(m.channel),
        subject: redact(m.subject), text: deskText(m.body_text ?? '', input.statusToken, redact), sort: m.created_at, id: m.id,
      });
    }
  }
  for (const s of input.sms) {
    if (phone === null || s.recipient !== phone.toLowerCase()) continue;
    const body = smsBody(s.payload_json);
    if (body === null) continue;
    messages.push({ from: 'desk', label: policy.desk.name, at: dateOf(policy, s.created_at, now), channel: 'SMS', subject: '', text: deskText(body, input.statusToken, redact), sort: s.created_at, id: s.id });
  }
  messages.sort((a, b) => a.sort - b.sort || (a.from === b.from ? a.id - b.id : a.from === 'customer' ? -1 : 1));

  const history = input.etrHistory.map((h, i) => ({
    at: dateOf(policy, h.at, now), etr: dateOf(policy, h.etr_at, now), reason: publicEtrReason(policy, h, i), current: false,
  }));
  const last = history.at(-1);
  if (last) last.current = true;

  return {
    key: t.key,
    subject: t.subject,
    state: t.state,
    stateName: n.stateName,
    open,
    severity: t.severity,
    severityName: n.severityName,
    levelText: `con el equipo de ${n.levelName}`,
    createdAt: dateOf(policy, t.created_at, now),
    etr: open ? n.etr : null,
    etrPast: open && t.etr_at <= now.getTime(),
    resolvedAt: t.resolved_at !== null && !open ? dateOf(policy, t.resolved_at, now) : null,
    etrHistory: history.reverse(),
    messages: messages.map(({ sort: _s, id: _i, ...m }) => m),
  };
}

/**
 * The customer reads why the estimate moved, in their words: the stored reasons are the desk's
 * (percentiles, minutes, and for `#etr` the agent's name), so they are never shown as such.
 */
export function publicEtrReason(policy: DeskPolicy, h: { source: string; reason: string }, index: number): string {
  if (index === 0) {
    return h.source === 'history' ? 'Estimación inicial, según el tiempo de casos similares' : 'Estimación inicial, según el tiempo objetivo de su severidad';
  }
  const reason = h.reason.trim();
  switch (h.source) {
    case 'agent':
      return 'Ajustada por el equipo que atiende su caso';
    case 'escalation': {
      const m = /^escalamiento al nivel ([1-3])\b/.exec(reason);
      const level = m ? Number(m[1]) as Level : null;
      return level ? `Recalculada al pasar su caso al equipo de ${policy.levels[level].name}` : 'Recalculada al pasar su caso a otro equipo';
    }
    default:
      if (reason.startsWith('cambio de severidad')) return 'Recalculada por un cambio de severidad';
      if (reason.startsWith('se reanuda')) return 'Recalculada al recibir su respuesta';
      if (reason.startsWith('reapertura')) return 'Recalculada al reabrir su caso';
      if (reason.startsWith('el ETR anterior venció')) return 'Recalculada: la estimación anterior se cumplió sin resolver el caso';
      return 'Estimación actualizada';
  }
}

/** Every address of the desk's people (levels and responsables), lower-cased. */
function staffAddresses(policy: DeskPolicy): Set<string> {
  return new Set(people(policy).map((p) => p.email.toLowerCase()));
}

function people(policy: DeskPolicy): Array<{ name: string; email: string }> {
  return [...[1, 2, 3].flatMap((l) => policy.levels[l as Level].people), ...policy.responsables];
}

/**
 * Defence in depth for texts the desk sent: the names and addresses of the desk's people (and
 * the ticket's assignee) are replaced, whichever template let them through.
 */
function redactor(policy: DeskPolicy, t: TicketRow): (text: string) => string {
  const pairs: Array<[RegExp, string]> = [];
  const add = (needle: string, by: string): void => {
    const s = needle.trim();
    if (s.length < 3) return;
    const escaped = s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
    pairs.push([new RegExp(`(?<![\\p{L}\\p{N}@._%+-])${escaped}(?![\\p{L}\\p{N}])`, 'giu'), by]);
  };
  // Addresses before names: "Ana Uno <ana@x>" loses both.
  for (const p of people(policy)) add(p.email, '[correo del equipo]');
  for (const p of people(policy)) add(p.name, 'el equipo de soporte');
  if (t.assignee) add(t.assignee, 'el equipo de soporte');
  return (text) => pairs.reduce((acc, [re, by]) => acc.replace(re, by), text);
}

/**
 * The body of a message the desk sent, as the status page shows it: without the signature
 * (RFC 3676 "-- " line) and without the link to this very page.
 */
function deskText(body: string, statusToken: string, redact: (s: string) => string): string {
  let text = body.replace(/\r\n?/g, '\n');
  const sig = text.search(/^-- ?$/m);
  if (sig >= 0) text = text.slice(0, sig);
  const link = new RegExp(`\\S*${statusToken.replace(/[^a-z0-9]/gi, '')}\\S*`, 'gi');
  const lines = text.split('\n');
  const kept: string[] = [];
  for (const line of lines) {
    if (!statusToken || !link.test(line)) { kept.push(line); continue; }
    link.lastIndex = 0;
    if (line.replace(link, '').trim() === '') {
      // A line that is only the link goes, and its lead-in ("Consulte … en:") with it.
      if ((kept.at(-1) ?? '').trim().endsWith(':')) kept.pop();
    } else {
      kept.push(line.replace(link, 'esta página'));
    }
    link.lastIndex = 0;
  }
  return redact(kept.join('\n')).replace(/\n{3,}/g, '\n\n').trim();
}

function smsBody(payloadJson: string): string | null {
  try {
    const p = JSON.parse(payloadJson) as { body?: unknown };
    return typeof p.body === 'string' ? p.body : null;
  } catch {
    return null;
  }
}

function parseList(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

function channelName(channel: string): string {
  return ({ email: 'correo', sms: 'SMS', phone: 'teléfono', web: 'portal' } as Record<string, string>)[channel] ?? channel;
}

// ---------------------------------------------------------------------------------------------
// The agents' panel
// ---------------------------------------------------------------------------------------------

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
  if (!isOpen(t.state)) return { ...base, text: 'sin plazos (caso terminado)', status: 'none', breached: false };
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
  const open = isOpen(t.state);
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
