import type { DeskPolicy, Level } from '../../domain/policy.ts';
import { recordedTerms } from '../../domain/service-terms.ts';
import { updateCadence } from '../../domain/update-cadence.ts';
import { isOpenState, type ContactRow, type TicketRow } from '../../domain/ticket.ts';
import type { TicketMessageRow, TicketSmsRow } from '../../store/ticket-repo.ts';
import { names, dateOf, staffAddresses, smsBody, parseList, channelName, staffRedactor, type When } from './view-basics.ts';

/**
 * The customer's status page: only what a customer may see of a ticket (no internal notes, no
 * notices to levels, no names or addresses of the desk's people), built from rows with `now` as
 * a parameter.
 */

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
  /** How often the customer hears from the desk while the case is open, as agreed (open tickets with a cadence only). */
  updateEvery: string | null;
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
  const open = isOpenState(t.state);
  const redact = staffRedactor(policy, t.assignee);
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
    updateEvery: open ? updateCadence(recordedTerms(t.terms_json, policy.severities), t.severity, policy.businessHours.businessDayMinutes, 'es-MX') : null,
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

