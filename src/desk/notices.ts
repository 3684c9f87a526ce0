import { randomBytes } from 'node:crypto';
import type { InboundMail } from '../domain/mail.ts';
import type { DeskPolicy, Level, MailboxPolicy, Person } from '../domain/policy.ts';
import { replyAddress, signToken } from '../domain/reply-token.ts';
import { fitSms, type FittedSms } from '../domain/sms-text.ts';
import { statusUrl } from '../domain/status-link.ts';
import { messageContext, type ContextExtras, type TicketFacts } from '../outbound/message-context.ts';
import { updateCadence } from '../domain/update-cadence.ts';
import type { AttachmentRef, OutgoingEmail } from '../outbound/outgoing-email.ts';
import type { RenderedMessage, TemplateRenderer } from '../outbound/template-renderer.ts';
import type { Store } from '../store/store.ts';
import type { ContactRow, TicketRow } from '../domain/ticket.ts';
import { describeEvent, QUIET_EVENTS } from './event-text.ts';
import type { TicketTerms } from './ticket-terms.ts';

/** The first answer to a contact is not news about the case: it does not stamp the last update. */
function isAcknowledgment(moment: string): boolean {
  return moment === 'ack' || moment === 'ack-after-hours' || moment === 'ack-phone';
}

/** How many References we carry forward; long threads otherwise grow headers without bound. */
const MAX_REFERENCES = 20;
const HISTORY_LINES = 12;

export interface NoticeDeps {
  store: Store; policy: DeskPolicy; renderer: TemplateRenderer; terms: TicketTerms; secret: string; loopValue: string;
  /** Base of the status-page link every customer message carries (MESA_PUBLIC_URL). */
  linkBaseUrl?: string;
}

/** A file already in the blob store (an agent's attachment) to send along with an email. */
export type StoredAttachment = AttachmentRef;

/**
 * Every message the desk sends, rendered from the templates and queued in the outbox inside the
 * caller's transaction. To the customer it goes over the ticket's single channel (email thread or
 * SMS); to a level, to each of its people by email, and by SMS too for severities whose policy
 * says so. Every email carries the subject tag, our Message-ID, thread headers, a signed
 * Reply-To, and the headers that stop other robots from answering it (RFC 3834 Auto-Submitted,
 * Microsoft's X-Auto-Response-Suppress, our loop header).
 */
/**
 * What the caller already read in this transaction about the ticket's customer, so the notice
 * does not read it again: the contact row, and whether its address is suppressed.
 */
export interface KnownCustomer {
  contact: ContactRow;
  /** Whether its address is suppressed; left out, the notice checks. */
  suppressed?: boolean;
}

/**
 * The thread an agents' notice belongs to when it is not the ticket's own: a major incident's
 * (issue 13). Its key signs the reply address, so an answer is an update to the incident.
 */
export interface AgentThread { key: string }

/** How a message to a customer is sent. */
export interface CustomerMessageOptions {
  /** Threads under the customer's own message. */
  inReplyTo?: InboundMail | null;
  extras?: ContextExtras;
  attachments?: StoredAttachment[];
  known?: KnownCustomer;
  /** Not sent before this instant (epoch ms): a fan-out to many customers is paced through the outbox. */
  notBefore?: number | undefined;
}

export class Notices {
  constructor(private readonly deps: NoticeDeps) {}

  /**
   * To the ticket's customer. `inReplyTo` threads under the customer's own message;
   * `attachments` go with an email (an SMS cannot carry them: the caller records that).
   * Returns the outbox id (the first one when a long SMS went out in parts), or null if skipped.
   *
   * Any message but an acknowledgment is the customer's latest news: the ticket's
   * `last_customer_update_at` is stamped — by this call, or with `deferStamp` by the caller, who
   * is about to write the ticket anyway (one UPDATE instead of two on the sweep's hot path).
   */
  async toCustomer(ticket: TicketRow, moment: string, now: Date, opts: CustomerMessageOptions & { deferStamp?: boolean } = {}): Promise<number | null> {
    const id = await this.queueToCustomer(ticket, moment, now, opts);
    if (id !== null && !opts.deferStamp && !isAcknowledgment(moment)) await this.deps.store.tickets.update(ticket.id, { last_customer_update_at: now.getTime() }, now.getTime());
    return id;
  }

  private async queueToCustomer(ticket: TicketRow, moment: string, now: Date, opts: CustomerMessageOptions): Promise<number | null> {
    const { store } = this.deps;
    const contact = opts.known?.contact ?? await store.tickets.contact(ticket.contact_id);
    const t = now.getTime();
    const messaging = this.deps.terms.of(ticket).messaging ?? null;
    // A contract that forbids SMS wins over a channel chosen before it applied (a reclassified ticket).
    if (ticket.customer_channel === 'sms' && messaging?.sms !== false) {
      if (!contact?.phone) return await this.skip(ticket, moment, t, 'no_phone');
      return (await this.queueSms(ticket, contact.name, moment, contact.phone, now, opts.extras ?? {}, { toCustomer: true, notBefore: opts.notBefore }))[0] ?? null;
    }
    if (!contact?.email) return await this.skip(ticket, moment, t, 'no_email');
    if (opts.known?.suppressed ?? await store.intake.isSuppressed(contact.email)) return await this.skip(ticket, moment, t, 'suppressed');
    const thread = await this.customerThread(ticket, opts.inReplyTo ?? null);
    const automatic = moment.startsWith('ack') ? 'auto-replied' : 'auto-generated';
    const cc = (messaging?.copy ?? []).filter((a) => a !== contact.email);
    return await this.queueEmail(ticket, contact.name, moment, { address: contact.email, name: contact.name }, now, {
      ...opts.extras, customer: { fullName: contact.name, email: contact.email, phone: contact.phone, ...opts.extras?.customer },
    }, { token: signToken(this.deps.secret, ticket.key, { kind: 'customer' }), ...thread, autoSubmitted: automatic, cc, notBefore: opts.notBefore }, opts.attachments ?? []);
  }

  /**
   * A customer's daily digest (a contract's `digestAt`): one email listing their open cases, each
   * with its state and ETR, instead of an update per case; copied like every customer email.
   * It belongs to no single case (the outbox row has no ticket, and a reply to it is a new
   * conversation unless it names a case); each case records that it went in the digest.
   */
  async digestTo(contact: ContactRow, tickets: TicketRow[], now: Date, copy: string[]): Promise<number | null> {
    const { store, policy, renderer } = this.deps;
    const first = tickets[0];
    if (!first || !contact.email || await store.intake.isSuppressed(contact.email)) return null;
    const t = now.getTime();
    const rendered = renderer.render(policy.desk.locale, 'customer-digest', this.context(first, contact.name, now, {
      customer: { fullName: contact.name, email: contact.email, phone: contact.phone },
      digest: tickets.map((x) => this.factsOf(x)),
    }));
    const mailbox = this.mailboxOf(first);
    const messageId = `resumen.${contact.id}.${t.toString(36)}.${randomBytes(4).toString('hex')}@${policy.desk.messageIdDomain}`;
    const cc = copy.filter((a) => a !== contact.email);
    const email = this.outgoingEmail(mailbox, contact.email, rendered, messageId, { replyTo: mailbox.address, inReplyTo: null, references: [], autoSubmitted: 'auto-generated', cc });
    const outboxId = await store.outbox.enqueue({ ticketId: null, channel: 'email', moment: 'customer-digest', recipient: contact.email, messageId, payload: email }, t);
    for (const x of tickets) {
      await store.tickets.event(x.id, t, 'system', 'message_queued', { moment: 'customer-digest', channel: 'email', to: contact.email, ...(cc.length > 0 ? { cc } : {}), outboxId, messageId, etrAt: x.etr_at, cases: tickets.length });
      await store.tickets.update(x.id, { last_customer_update_at: t }, t);
    }
    return outboxId;
  }

  /** To every person of a level (email; SMS too when the severity asks for it). */
  async toLevel(ticket: TicketRow, level: Level, moment: string, now: Date, extras: ContextExtras = {}, contact?: ContactRow, thread?: AgentThread, timing?: { notBefore: number }): Promise<number[]> {
    // The ticket's escalation matrix says who (DESIGN §5): its own people, a fallback's, or the level's.
    return await this.toPeople(ticket, this.deps.terms.people(ticket, level), moment, now, extras, contact, thread, timing?.notBefore);
  }

  /** To one person (an agent's error notice); on an incident's thread when `thread` names it. */
  async toPerson(ticket: TicketRow, person: Person, moment: string, now: Date, extras: ContextExtras = {}, thread?: AgentThread): Promise<number[]> {
    return await this.toPeople(ticket, [person], moment, now, extras, undefined, thread);
  }

  /** To the "responsables" above level 3. */
  async toResponsables(ticket: TicketRow, moment: string, now: Date, extras: ContextExtras = {}): Promise<number[]> {
    return await this.toPeople(ticket, this.deps.policy.responsables, moment, now, extras);
  }

  /** The ticket's recent history as notices show it. */
  async history(ticket: TicketRow): Promise<ContextExtras['history']> {
    const locale = this.deps.policy.desk.locale;
    return (await this.deps.store.tickets.events(ticket.id))
      .filter((e) => !QUIET_EVENTS.has(e.type))
      .slice(-HISTORY_LINES)
      .map((e) => ({ at: new Date(e.at), text: describeEvent({ ...e, data: JSON.parse(e.data_json) as Record<string, unknown> }, locale) }));
  }

  private async toPeople(ticket: TicketRow, people: Person[], moment: string, now: Date, extras: ContextExtras, known?: ContactRow, thread?: AgentThread, notBefore?: number): Promise<number[]> {
    const { store, policy, renderer } = this.deps;
    const contact = known ?? await store.tickets.contact(ticket.contact_id);
    const customer = { fullName: contact?.name ?? '', email: contact?.email ?? null, phone: contact?.phone ?? null };
    const sms = this.deps.terms.severity(ticket).sms && renderer.hasPart(policy.desk.locale, moment, 'sms');
    const key = thread?.key ?? ticket.key;
    const root = `${key.toLowerCase()}.hilo@${policy.desk.messageIdDomain}`;
    const ids: number[] = [];
    for (const person of people) {
      const x = { ...extras, recipientName: person.name, customer };
      ids.push(await this.queueEmail(ticket, customer.fullName, moment, { address: person.email, name: person.name }, now, x, {
        // Signed for this agent: issue 5 accepts a reply only with this token AND this From.
        token: signToken(this.deps.secret, key, { kind: 'agent', address: person.email }), replyKey: key,
        // A synthetic root keeps every notice about one ticket in one thread in agents' clients.
        inReplyTo: root, references: [root], autoSubmitted: 'auto-generated', ...(notBefore !== undefined ? { notBefore } : {}),
      }));
      if (sms && person.phone) ids.push(...await this.queueSms(ticket, customer.fullName, moment, person.phone, now, x, { toCustomer: false, notBefore }));
    }
    return ids;
  }

  /** An email from the desk: our From, the headers that stop other robots answering it, Cc when given. */
  private outgoingEmail(mailbox: MailboxPolicy, to: string, rendered: RenderedMessage, messageId: string,
    h: { replyTo: string; inReplyTo: string | null; references: string[]; autoSubmitted: string; cc?: string[] }): OutgoingEmail {
    const { policy } = this.deps;
    return {
      from: { name: policy.outbound.fromName, address: mailbox.address },
      to,
      ...(h.cc && h.cc.length > 0 ? { cc: h.cc } : {}),
      replyTo: h.replyTo,
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      messageId,
      inReplyTo: h.inReplyTo,
      references: h.references,
      headers: { 'Auto-Submitted': h.autoSubmitted, 'X-Auto-Response-Suppress': 'All', [policy.desk.loopHeader]: this.deps.loopValue },
    };
  }

  private async queueEmail(ticket: TicketRow, customerName: string, moment: string, to: { address: string; name: string }, now: Date, extras: ContextExtras,
    h: { token: string; replyKey?: string; inReplyTo: string | null; references: string[]; autoSubmitted: string; cc?: string[]; notBefore?: number }, attachments: StoredAttachment[] = []): Promise<number> {
    const { store, policy, renderer } = this.deps;
    const mailbox = this.mailboxOf(ticket);
    const rendered = renderer.render(policy.desk.locale, moment, this.context(ticket, customerName, now, extras));
    const messageId = `${ticket.key.toLowerCase()}.${moment}.${now.getTime().toString(36)}.${randomBytes(4).toString('hex')}@${policy.desk.messageIdDomain}`;
    const email: OutgoingEmail = {
      ...this.outgoingEmail(mailbox, to.address, rendered, messageId, { ...h, replyTo: replyAddress(mailbox.address, h.replyKey ?? ticket.key, h.token) }),
      // By reference only (content address, name, type): the sender reads the blob at send time.
      ...(attachments.length > 0 ? { attachments } : {}),
    };
    const t = now.getTime();
    const outboxId = await store.outbox.enqueue({ ticketId: ticket.id, channel: 'email', moment, recipient: to.address, messageId, payload: email, notBefore: h.notBefore }, t);
    const row = {
      ticketId: ticket.id, direction: 'out' as const, channel: 'email' as const, mailbox: mailbox.id, messageId, fromAddress: mailbox.address,
      to: [to.address, ...(h.cc ?? [])], subject: rendered.subject, author: 'system' as const, automaticKind: null, automaticReason: null,
      visibleText: null, bodyText: rendered.text, rawSha256: null,
    };
    if (attachments.length === 0) {
      await store.messages.record(row, t);
    } else {
      const rowId = await store.messages.insert(row, t);
      for (const a of attachments) await store.messages.addAttachment(rowId, a);
    }
    await store.tickets.event(ticket.id, t, 'system', 'message_queued', {
      moment, channel: 'email', to: to.address, ...(h.cc && h.cc.length > 0 ? { cc: h.cc } : {}), outboxId, messageId, etrAt: ticket.etr_at,
      ...(attachments.length > 0 ? { attachments: attachments.map((a) => a.filename ?? a.sha256.slice(0, 12)) } : {}),
    });
    return outboxId;
  }

  /**
   * One SMS, or several when a long text has to be split. A customer's SMS that carries an
   * agent's words and runs over the configured number of segments is fitted
   * (`domain/sms-text.ts`): the words are cut at a word boundary, the template around them kept
   * when that leaves them room, and the text ends with the link to the status page (which shows
   * the whole message and the ETR); with no link it goes out as numbered parts "(1/3) …", one
   * outbox row each (they may arrive in any order, hence the numbers).
   *
   * Only the agent's words are unbounded. The rest is the desk's own template text, sized by
   * the desk (`mesa templates preview --part sms`), and cutting it could drop what a message
   * exists for — an acknowledgment's ETR — so a template-only SMS goes out whole. Agents'
   * notices are never fitted: they point to the email that carries the details.
   */
  private async queueSms(ticket: TicketRow, customerName: string, moment: string, phone: string, now: Date, extras: ContextExtras, opts: { toCustomer: boolean; notBefore?: number | undefined }): Promise<number[]> {
    const { store, policy, renderer } = this.deps;
    const context = this.context(ticket, customerName, now, extras);
    const rendered = renderer.render(policy.desk.locale, moment, context);
    if (rendered.sms === null) throw new Error(`template ${moment} has no sms.hbs`);
    // The renderer collapses whitespace in SMS; the agent's words appear there collapsed too.
    const reply = extras.replyText?.replace(/\s+/g, ' ').trim() ?? '';
    const at = reply ? rendered.sms.indexOf(reply) : -1;
    const fitted: FittedSms = opts.toCustomer && at >= 0
      ? fitSms(rendered.sms, { maxSegments: policy.outbound.smsMaxSegments, statusUrl: context.ticket.statusUrl, shrinkable: { start: at, end: at + reply.length } })
      : { kind: 'as_is', parts: [rendered.sms] };
    const t = now.getTime();
    const base = `${ticket.key.toLowerCase()}.${moment}.${t.toString(36)}.${randomBytes(4).toString('hex')}`;
    const n = fitted.parts.length;
    const ids: number[] = [];
    for (const [i, body] of fitted.parts.entries()) {
      const ref = n > 1 ? `${base}.${i + 1}` : base;
      const outboxId = await store.outbox.enqueue({ ticketId: ticket.id, channel: 'sms', moment, recipient: phone, messageId: null, payload: { to: phone, body, ref }, notBefore: opts.notBefore }, t);
      await store.tickets.event(ticket.id, t, 'system', 'message_queued', {
        moment, channel: 'sms', to: phone, outboxId, etrAt: ticket.etr_at,
        ...(fitted.kind === 'as_is' ? {} : { fitted: fitted.kind, part: i + 1, parts: n }),
      });
      ids.push(outboxId);
    }
    return ids;
  }

  private async skip(ticket: TicketRow, moment: string, t: number, reason: string): Promise<null> {
    await this.deps.store.tickets.event(ticket.id, t, 'system', 'message_skipped', { moment, reason });
    return null;
  }

  /** The template context; the caller has read the contact already, so it passes the name. */
  private context(ticket: TicketRow, customerName: string, now: Date, extras: ContextExtras): ReturnType<typeof messageContext> {
    const { policy } = this.deps;
    return messageContext({
      policy,
      ticket: this.factsOf(ticket),
      customerName,
      locale: policy.desk.locale,
      now,
      businessClock: this.deps.terms.businessCalendar(ticket),
      extras,
    });
  }

  /** A ticket as templates see it. */
  private factsOf(ticket: TicketRow): TicketFacts {
    const { policy, terms } = this.deps;
    const d = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));
    return {
      key: ticket.key, subject: ticket.subject, description: ticket.description, severity: ticket.severity, type: ticket.type,
      category: ticket.category, level: ticket.level, state: ticket.state, channel: ticket.channel, createdAt: new Date(ticket.created_at),
      etrAt: new Date(ticket.etr_at), firstResponseDueAt: d(ticket.first_response_due_at), nextEscalationDueAt: d(ticket.next_escalation_due_at),
      resolutionDueAt: d(ticket.resolution_due_at), assignee: ticket.assignee,
      statusUrl: this.deps.linkBaseUrl ? statusUrl(this.deps.linkBaseUrl, this.deps.secret, ticket.key) : null,
      updateEvery: updateCadence(terms.of(ticket), ticket.severity, policy.businessHours.businessDayMinutes, policy.desk.locale),
    };
  }

  private mailboxOf(ticket: TicketRow): MailboxPolicy {
    const { policy } = this.deps;
    return policy.mailboxes.find((m) => m.id === ticket.mailbox) ?? (policy.mailboxes[0] as MailboxPolicy);
  }

  /** The customer's thread: under their message when answering one, else under the last one. */
  private async customerThread(ticket: TicketRow, parent: InboundMail | null): Promise<{ inReplyTo: string | null; references: string[] }> {
    if (parent) return { inReplyTo: parent.messageId, references: [...parent.references, parent.messageId].slice(-MAX_REFERENCES) };
    const ids = await this.deps.store.messages.customerThreadIds(ticket.id);
    return { inReplyTo: ids.at(-1) ?? null, references: ids.slice(-MAX_REFERENCES) };
  }
}
