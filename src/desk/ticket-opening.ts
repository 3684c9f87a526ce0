import type { Classification } from '../domain/classify.ts';
import type { InboundMail } from '../domain/mail.ts';
import type { ContactRow, TicketRow } from '../domain/ticket.ts';
import type { ContextExtras } from '../outbound/message-context.ts';
import type { Store } from '../store/store.ts';
import type { Notices } from './notices.ts';
import type { SlaClocks } from './sla-clocks.ts';
import type { TicketLifecycle } from './ticket-lifecycle.ts';
import type { TicketTerms } from './ticket-terms.ts';
import { customerChannel } from '../domain/service-terms.ts';
import { significantWords } from '../domain/incident-detection.ts';
import type { IncidentLinking } from './incident-linking.ts';

/** A new ticket as a channel (email, phone, web) describes it; the rest is the same for all. */
export interface Opening {
  channel: 'email' | 'phone' | 'web';
  mailbox: string | null;
  /** The customer's contact; with no id, one the desk did not have, created with the ticket. */
  contact: ContactRow | UnknownContact;
  /** Who opened it, as the events name them: `customer:ana@…`, `caller:+52…`. */
  actor: string;
  subject: string;
  description: string;
  classification: Classification;
  /** Kept with the classification: the channel's own inputs (urgency, menu choice, CallSid…). */
  classificationExtras?: Record<string, unknown>;
  customerChannel: 'email' | 'sms';
  cc: string[];
  /** The closed ticket this one continues (a customer writing after the reopen window). */
  previous?: { ticketId: number; key: string } | null;
  /** The `created` event: what the channel adds to the classification, and the reason shown. */
  created: { data: Record<string, unknown>; reason?: string };
  /** The channel's rows that belong to the new ticket (its message, the call, the form), written right after it. */
  link: (ticket: TicketRow) => Promise<void>;
  /**
   * The acknowledgment: sent with the channel's moment (by default `ack`, or `ack-after-hours`
   * while a business-hours desk is closed), or skipped — with a reason recorded, or none when
   * there is nobody to acknowledge (an abandoned call gets a call-back instead).
   */
  ack: {
    send: true; moment?: string; inReplyTo?: InboundMail;
    /** Whether the customer's address is suppressed, when the caller already read it; else the notice reads it. */
    suppressed?: boolean;
  } | { send: false; reason: string | null };
  /**
   * The major incident the customer said this is (a caller who answered the greeting's offer):
   * joined with this reason instead of detection looking at the words.
   */
  joinIncident?: { id: number; reason: string };
  /** What the level's notice shows besides the rules that classified it. */
  levelNotice: { leadingReasons?: Array<{ rule: string; matched: string[] }>; history?: ContextExtras['history'] };
}

/** An email sender the desk has no contact for (as the intake's read found): created with the ticket. */
export interface UnknownContact { id: null; email: string; name: string; phone: null; organisation: null }

export interface Opened {
  /** The row as inserted (the acknowledgment may since have stamped `last_customer_update_at`). */
  ticket: TicketRow;
  acknowledged: boolean;
}

/**
 * The one way a ticket is opened, whichever door the customer came through: the row with its
 * SLA deadlines and first ETR, the channel's linked rows, the `created` event and the ETR's
 * history, the acknowledgment to the customer and the notice to the level — all inside the
 * caller's transaction.
 */
export class TicketOpening {
  constructor(private readonly deps: { store: Store; clocks: SlaClocks; lifecycle: TicketLifecycle; notices: Notices; terms: TicketTerms; incidents: IncidentLinking }) {}

  async open(o: Opening, now: Date): Promise<Opened> {
    const { store, clocks, lifecycle, notices } = this.deps;
    const t = now.getTime();
    const c = o.classification;
    // The customer's organisation, its contract and the escalation matrix: recorded on the ticket.
    const terms = this.deps.terms.forNew(o.contact, c.category, now);
    const { etr, ...sla } = await lifecycle.initialSla(terms, c.severity, c.category, now);
    // The contract may agree one channel for every message, or forbid SMS.
    const channel = customerChannel(terms, o.customerChannel, o.contact);
    // A report that could join a major incident keeps its significant words (detection reads them back).
    const words = this.deps.incidents.considers(c.severity) ? significantWords(`${o.subject} ${o.description}`) : [];
    const fields = {
      channel: o.channel, mailbox: o.mailbox, subject: o.subject, description: o.description,
      severity: c.severity, type: c.type, category: c.category, level: c.level,
      customerChannel: channel, cc: o.cc,
      classification: { ...c, ...o.classificationExtras },
      organisation: terms.organisation?.id ?? null,
      terms,
      ...sla,
      reopenedFromId: o.previous?.ticketId ?? null,
      reportWords: words.length > 0 ? words : null,
    };
    const organisation = terms.organisation?.id ?? null;
    const { id, row: inserted } = o.contact.id === null
      ? await store.tickets.createWithContact(fields, { email: o.contact.email, name: o.contact.name, organisation }, t)
      : await store.tickets.create({ ...fields, contactId: o.contact.id }, t);
    if (organisation !== null && o.contact.id !== null && o.contact.organisation !== organisation) await store.tickets.setContactOrganisation(o.contact.id, organisation);
    let ticket = inserted;
    const contact: ContactRow = { ...o.contact, id: ticket.contact_id, organisation: organisation ?? o.contact.organisation };
    await o.link(ticket);
    await store.tickets.event(id, t, o.actor, 'created', {
      channel: o.channel, severity: c.severity, type: c.type, category: c.category, level: c.level, ...o.created.data,
      ...(o.previous ? { previousTicket: o.previous.key } : {}),
    }, o.created.reason ?? `clasificación: severidad ${c.decidedBy.severity}`);
    // Recorded with its reason when anything but the desk's general terms applies.
    if (terms.organisation !== null || terms.matrix !== null) {
      await store.tickets.event(id, t, 'system', 'service_terms', {
        organisation: terms.organisation?.id ?? null, organisationName: terms.organisation?.name ?? null, contract: terms.contract !== null, matrix: terms.matrix?.id ?? null,
      }, terms.reason);
    }
    await store.tickets.recordEtr(id, t, etr.at.getTime(), etr.source, etr.reason);
    if (o.previous) await store.tickets.event(o.previous.ticketId, t, 'system', 'follow_up_ticket_opened', { newTicket: ticket.key }, 'mensaje del cliente después del cierre');
    // A report of a known outage joins its major incident (or completes the burst that opens one).
    const decided = o.joinIncident
      ? await this.deps.incidents.join(ticket, o.joinIncident.id, now, o.joinIncident.reason)
      : await this.deps.incidents.onOpened(ticket, words, now);
    const incident = decided !== null && 'incident' in decided ? decided : null;
    // Alike with recent reports but not a burst yet: its level notice waits a little, and is
    // withdrawn if the burst completes (the incident's one notice replaces it).
    const hold = decided !== null && 'forming' in decided ? this.deps.incidents.holdMs : 0;
    if (incident) ticket = incident.ticket;
    let acknowledged = false;
    if (o.ack.send) {
      const afterHours = terms.severities[c.severity].clock === 'business' && !clocks.calendar(terms.calendar ?? null).isOpen(now);
      // A linked report gets the one answer everyone affected gets: the problem is known, the
      // incident's ETR. Else a channel's own acknowledgment (a call's SMS) only while the
      // customer stays on that channel.
      const moment = incident ? 'ack-incident' : (channel === o.customerChannel ? o.ack.moment : undefined) ?? (afterHours ? 'ack-after-hours' : 'ack');
      const known = { contact, ...(o.ack.suppressed !== undefined ? { suppressed: o.ack.suppressed } : {}) };
      acknowledged = await notices.toCustomer(ticket, moment, now, { inReplyTo: o.ack.inReplyTo ?? null, known, ...(incident ? { extras: { incident: incident.facts } } : {}) }) !== null;
    } else if (o.ack.reason !== null) {
      await store.tickets.event(id, t, 'system', 'ack_skipped', { reason: o.ack.reason });
    }
    if (incident) {
      // The level hears of the incident once, when it opens; never of each report that joins it.
      // On the incident's own thread: an agent's answer to it is an update for every linked customer.
      if (incident.opened) await notices.toLevel(ticket, this.deps.incidents.level, 'agent-incident-opened', now, { incident: incident.facts }, contact, { key: incident.facts.key });
      else await store.tickets.event(id, t, 'system', 'level_notice_skipped', { incident: incident.facts.key }, 'ticket vinculado a un incidente mayor');
      return { ticket, acknowledged };
    }
    await notices.toLevel(ticket, ticket.level, 'agent-new-ticket', now, {
      classification: [...(o.levelNotice.leadingReasons ?? []), ...c.reasons.map((r) => ({ rule: r.rule, matched: r.matched }))],
      ...(o.levelNotice.history ? { history: o.levelNotice.history } : {}),
    }, contact, undefined, hold > 0 ? { notBefore: t + hold } : undefined);
    if (hold > 0) await store.tickets.event(id, t, 'system', 'level_notice_held', { seconds: hold / 1000 }, 'reportes parecidos recientes: puede formarse un incidente mayor');
    return { ticket, acknowledged };
  }
}
