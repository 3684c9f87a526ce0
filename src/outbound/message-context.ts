import type { SlaClock } from '../domain/business-time.ts';
import type { DeskPolicy, Locale, Severity } from '../domain/policy.ts';
import { formatInstant, formatSpan } from '../domain/time-format.ts';

/**
 * The values every template sees. Built in one place so that every message carries the ETR
 * (DESIGN §2.8) as a Spanish date and as a span, from the same `now` the change was made at.
 */

export interface TicketFacts {
  key: string;
  subject: string;
  severity: Severity;
  type: string;
  category: string;
  level: number;
  state: string;
  etrAt: Date;
  firstResponseDueAt: Date | null;
}

export interface MessageContext {
  desk: { name: string; phone: string; portalUrl: string; mesadeayuda: string; soportetecnico: string };
  ticket: { key: string; subject: string; severity: number; severityName: string; type: string; category: string; level: number; levelName: string; state: string };
  customer: { name: string };
  etr: { date: string; span: string; iso: string };
  firstResponse: { date: string; span: string } | null;
  opensAt: { date: string; span: string } | null;
}

export function messageContext(input: {
  policy: DeskPolicy;
  ticket: TicketFacts;
  customerName: string;
  locale: Locale;
  now: Date;
  businessClock?: SlaClock;
}): MessageContext {
  const { policy, ticket, now, locale } = input;
  const tz = policy.desk.timeZone;
  const when = (d: Date): { date: string; span: string } => ({ date: formatInstant(d, now, tz, locale), span: formatSpan(d, now, locale) });
  const address = (id: string): string => policy.mailboxes.find((m) => m.id === id)?.address ?? '';
  const opening = input.businessClock && !input.businessClock.isOpen(now) ? input.businessClock.nextOpening(now) : null;
  return {
    desk: { name: policy.desk.name, phone: policy.desk.phone, portalUrl: policy.desk.portalUrl, mesadeayuda: address('mesadeayuda'), soportetecnico: address('soportetecnico') },
    ticket: {
      key: ticket.key,
      subject: ticket.subject,
      severity: ticket.severity,
      severityName: policy.severities[ticket.severity].name,
      type: ticket.type,
      category: ticket.category,
      level: ticket.level,
      levelName: policy.levels[ticket.level as 1 | 2 | 3]?.name ?? String(ticket.level),
      state: ticket.state,
    },
    customer: { name: firstName(input.customerName) },
    etr: { ...when(ticket.etrAt), iso: ticket.etrAt.toISOString() },
    firstResponse: ticket.firstResponseDueAt ? when(ticket.firstResponseDueAt) : null,
    opensAt: opening ? when(opening) : null,
  };
}

/** "Pérez López, Juan" and "Juan Pérez" both greet as "Juan". */
function firstName(name: string): string {
  const n = name.replace(/["']/g, '').trim();
  if (!n || n.includes('@')) return '';
  const ordered = n.includes(',') ? (n.split(',')[1] ?? '').trim() : n;
  return ordered.split(/\s+/)[0] ?? '';
}
