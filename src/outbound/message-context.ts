import type { SlaClock } from '../domain/business-time.ts';
import type { DeskPolicy, Level, Locale, Severity } from '../domain/policy.ts';
import { formatInstant, formatSpan } from '../domain/time-format.ts';

/**
 * The values every template sees. Built in one place so that every message carries the ETR
 * (DESIGN §2.8) as a Spanish date and as a span, from the same `now` the change was made at.
 * Each moment's extra facts (an escalation, a warning, a breach, an ETR change) come in
 * optional sections; templates test them with `{{#if escalation}}` and the like.
 */

export interface TicketFacts {
  key: string;
  subject: string;
  description?: string;
  severity: Severity;
  type: string;
  category: string;
  level: number;
  state: string;
  channel?: string;
  createdAt?: Date;
  etrAt: Date;
  firstResponseDueAt: Date | null;
  nextEscalationDueAt?: Date | null;
  resolutionDueAt?: Date | null;
  assignee?: string | null;
  /** The customer's status page (signed link); absent in internal notices' previews. */
  statusUrl?: string | null;
  /** The agreed update cadence in words ("cada 2 horas"), from the ticket's terms; null: none. */
  updateEvery?: string | null;
}

export interface When { date: string; span: string }

export interface MessageContext {
  desk: { name: string; phone: string; portalUrl: string; mesadeayuda: string; soportetecnico: string };
  ticket: {
    key: string; subject: string; description: string; severity: number; severityName: string; type: string; category: string;
    level: number; levelName: string; state: string; stateName: string; channel: string; assignee: string | null; createdAt: When | null;
    statusUrl: string | null; updateEvery: string | null;
  };
  /** A daily digest's cases (the ticket itself when the message is about one case). */
  digest: Array<{ key: string; subject: string; stateName: string; severity: number; severityName: string; etr: When; statusUrl: string | null }>;
  customer: { name: string; fullName: string; email: string | null; phone: string | null };
  /** Who the message is addressed to (an agent or level for internal notices). */
  recipient: { name: string };
  etr: When & { iso: string; reason: string | null };
  /** The ETR before this change (ETR-change and escalation messages). */
  previousEtr: When | null;
  firstResponse: When | null;
  deadlines: { escalation: When | null; resolution: When | null };
  opensAt: When | null;
  /** Escalation: from → to level (to = 4 means past level 3: the "responsables"). */
  escalation: { fromLevel: number; fromLevelName: string; toLevel: number; toLevelName: string; reason: string } | null;
  /** Warning at a share of the level's budget. */
  warning: { percent: number; escalatesAt: When } | null;
  /** A missed deadline. */
  breach: { kind: 'first_response' | 'resolution'; kindName: string; dueAt: When } | null;
  /** Recent history, oldest first, for notices to levels. */
  history: Array<{ date: string; text: string }>;
  /** Rules that classified the ticket (agent notices). */
  classification: Array<{ rule: string; matched: string }>;
  /** An agent's public reply relayed to the customer (signed by the desk, never by the agent). */
  reply: { text: string } | null;
  /** Why an agent's reply was refused, and the valid commands (error replies to agents). */
  rejection: { problems: Array<{ line: string; problem: string }>; reason: string | null; help: string } | null;
  /** The major incident (see `ContextExtras.incident`). */
  incident: { key: string; title: string; publicTitle: string; category: string; linked: number; joined: number | null; words: string; reason: string; etrHistory: Array<{ date: string; etr: string }> } | null;
}

export interface ContextExtras {
  recipientName?: string;
  customer?: { fullName?: string; email?: string | null; phone?: string | null };
  previousEtrAt?: Date | null;
  etrReason?: string | null;
  escalation?: { fromLevel: number; toLevel: number; reason: string } | null;
  warning?: { percent: number; escalatesAt: Date } | null;
  breach?: { kind: 'first_response' | 'resolution'; dueAt: Date } | null;
  history?: Array<{ at: Date; text: string }>;
  classification?: Array<{ rule: string; matched: string[] }>;
  replyText?: string | null;
  rejection?: { problems: Array<{ line: string; problem: string }>; reason: string | null; help: string } | null;
  /** The cases of a daily digest; absent, the message's own ticket. */
  digest?: TicketFacts[];
  /** The major incident the ticket is linked to (its acknowledgment, the level's notice). */
  incident?: IncidentFacts | null;
}

export interface IncidentFacts {
  key: string;
  /** Internal: the subject of the report that opened it (a customer's words; agents only). */
  title: string;
  /** What customers read: an agent's `#titulo`, or a neutral one. */
  publicTitle: string;
  category: string;
  /** Tickets linked to it so far. */
  linked: number;
  /** Tickets that joined since the level last heard (its digest). */
  joined?: number;
  /** The words its reports share. */
  words: readonly string[];
  reason: string;
  /** How its ETR changed, oldest first (the updates to its customers carry it). */
  etrHistory?: ReadonlyArray<{ at: Date; etrAt: Date }>;
}

/** A ticket state as customers read it ("en atención"). */
export function stateName(state: string, locale: Locale): string {
  return STATE_NAMES[locale][state] ?? state;
}

/** A level's name from the policy; 4 (past level 3) is the "responsables". */
export function levelName(policy: DeskPolicy, level: number, locale: Locale): string {
  return level >= 1 && level <= 3 ? policy.levels[level as Level].name : locale === 'en' ? 'Management' : 'Responsables';
}

const STATE_NAMES: Record<Locale, Record<string, string>> = {
  'es-MX': { nuevo: 'nuevo', en_atencion: 'en atención', esperando_cliente: 'esperando su respuesta', resuelto: 'resuelto', cerrado: 'cerrado' },
  en: { nuevo: 'new', en_atencion: 'in progress', esperando_cliente: 'waiting for your reply', resuelto: 'resolved', cerrado: 'closed' },
};

const BREACH_NAMES: Record<Locale, Record<'first_response' | 'resolution', string>> = {
  'es-MX': { first_response: 'primera respuesta', resolution: 'resolución' },
  en: { first_response: 'first response', resolution: 'resolution' },
};

export function messageContext(input: {
  policy: DeskPolicy;
  ticket: TicketFacts;
  customerName: string;
  locale: Locale;
  now: Date;
  businessClock?: SlaClock;
  extras?: ContextExtras;
}): MessageContext {
  const { policy, ticket, now, locale } = input;
  const x = input.extras ?? {};
  const tz = policy.desk.timeZone;
  const when = (d: Date): When => ({ date: formatInstant(d, now, tz, locale), span: formatSpan(d, now, locale) });
  const maybe = (d: Date | null | undefined): When | null => (d ? when(d) : null);
  const address = (id: string): string => policy.mailboxes.find((m) => m.id === id)?.address ?? '';
  const levelNameOf = (n: number): string => levelName(policy, n, locale);
  // A message about one ticket lists just it, with the ETR already formatted (the hot path).
  const etrWhen = when(ticket.etrAt);
  const digestOf = (list: readonly TicketFacts[]): MessageContext['digest'] => list.map((d) => ({
    key: d.key, subject: d.subject, stateName: stateName(d.state, locale), severity: d.severity,
    severityName: policy.severities[d.severity].name, etr: d === ticket ? etrWhen : when(d.etrAt), statusUrl: d.statusUrl ?? null,
  }));
  const opening = input.businessClock && !input.businessClock.isOpen(now) ? input.businessClock.nextOpening(now) : null;
  return {
    desk: { name: policy.desk.name, phone: policy.desk.phone, portalUrl: policy.desk.portalUrl, mesadeayuda: address('mesadeayuda'), soportetecnico: address('soportetecnico') },
    ticket: {
      key: ticket.key,
      subject: ticket.subject,
      description: ticket.description ?? '',
      severity: ticket.severity,
      severityName: policy.severities[ticket.severity].name,
      type: ticket.type,
      category: ticket.category,
      level: ticket.level,
      levelName: levelNameOf(ticket.level),
      state: ticket.state,
      stateName: stateName(ticket.state, locale),
      channel: ticket.channel ?? 'email',
      assignee: ticket.assignee ?? null,
      createdAt: maybe(ticket.createdAt),
      statusUrl: ticket.statusUrl ?? null,
      updateEvery: ticket.updateEvery ?? null,
    },
    digest: digestOf(x.digest ?? [ticket]),
    customer: { name: firstName(input.customerName), fullName: x.customer?.fullName ?? input.customerName, email: x.customer?.email ?? null, phone: x.customer?.phone ?? null },
    recipient: { name: x.recipientName ?? '' },
    etr: { ...etrWhen, iso: ticket.etrAt.toISOString(), reason: x.etrReason ?? null },
    previousEtr: maybe(x.previousEtrAt),
    firstResponse: maybe(ticket.firstResponseDueAt),
    deadlines: { escalation: maybe(ticket.nextEscalationDueAt), resolution: maybe(ticket.resolutionDueAt) },
    opensAt: opening ? when(opening) : null,
    escalation: x.escalation
      ? { ...x.escalation, fromLevelName: levelNameOf(x.escalation.fromLevel), toLevelName: levelNameOf(x.escalation.toLevel) }
      : null,
    warning: x.warning ? { percent: x.warning.percent, escalatesAt: when(x.warning.escalatesAt) } : null,
    breach: x.breach ? { kind: x.breach.kind, kindName: BREACH_NAMES[locale][x.breach.kind], dueAt: when(x.breach.dueAt) } : null,
    history: (x.history ?? []).map((h) => ({ date: formatInstant(h.at, now, tz, locale), text: h.text })),
    classification: (x.classification ?? []).map((c) => ({ rule: c.rule, matched: c.matched.join(', ') })),
    reply: x.replyText ? { text: x.replyText } : null,
    rejection: x.rejection ?? null,
    incident: x.incident ? { key: x.incident.key, title: x.incident.title, publicTitle: x.incident.publicTitle, category: x.incident.category, linked: x.incident.linked, joined: x.incident.joined ?? null, words: x.incident.words.join(', '), reason: x.incident.reason,
      etrHistory: (x.incident.etrHistory ?? []).map((h) => ({ date: formatInstant(h.at, now, tz, locale), etr: formatInstant(h.etrAt, now, tz, locale) })) } : null,
  };
}

/** "Pérez López, Juan" and "Juan Pérez" both greet as "Juan". */
function firstName(name: string): string {
  const n = name.replace(/["']/g, '').trim();
  if (!n || n.includes('@')) return '';
  const ordered = n.includes(',') ? (n.split(',')[1] ?? '').trim() : n;
  return ordered.split(/\s+/)[0] ?? '';
}
