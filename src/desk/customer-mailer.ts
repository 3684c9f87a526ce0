import { randomBytes } from 'node:crypto';
import type { InboundMail } from '../domain/mail.ts';
import type { DeskPolicy, MailboxPolicy } from '../domain/policy.ts';
import { replyAddress, signToken } from '../domain/reply-token.ts';
import { messageContext } from '../outbound/message-context.ts';
import type { OutgoingEmail } from '../outbound/outgoing-email.ts';
import type { TemplateRenderer } from '../outbound/template-renderer.ts';
import type { Store } from '../store/store.ts';
import type { TicketRow } from '../store/ticket-repo.ts';
import type { SlaClocks } from './sla-clocks.ts';

/** How many References we carry forward; long threads otherwise grow headers without bound. */
const MAX_REFERENCES = 20;

/**
 * Renders a message to a ticket's customer and queues it in the outbox — inside the caller's
 * transaction. Every email carries the subject tag, our Message-ID, the thread's
 * In-Reply-To/References, a signed Reply-To, and the headers that stop other robots from
 * answering it (RFC 3834 Auto-Submitted, Microsoft's X-Auto-Response-Suppress, our loop header).
 */
export class CustomerMailer {
  constructor(private readonly deps: { store: Store; policy: DeskPolicy; renderer: TemplateRenderer; clocks: SlaClocks; secret: string; loopValue: string }) {}

  queueCustomerEmail(input: { ticket: TicketRow; moment: string; inReplyTo: InboundMail | null; mailbox: MailboxPolicy; now: Date }): number | null {
    const { store, policy, renderer, clocks } = this.deps;
    const { ticket, moment, now } = input;
    const contact = store.tickets.contact(ticket.contact_id);
    if (!contact?.email) return null;
    const locale = policy.desk.locale;
    const ctx = messageContext({
      policy,
      ticket: {
        key: ticket.key, subject: ticket.subject, severity: ticket.severity, type: ticket.type, category: ticket.category,
        level: ticket.level, state: ticket.state, etrAt: new Date(ticket.etr_at),
        firstResponseDueAt: ticket.first_response_due_at === null ? null : new Date(ticket.first_response_due_at),
      },
      customerName: contact.name,
      locale,
      now,
      businessClock: clocks.business,
    });
    const rendered = renderer.render(locale, moment, ctx);
    const messageId = `${ticket.key.toLowerCase()}.${moment}.${now.getTime().toString(36)}.${randomBytes(4).toString('hex')}@${policy.desk.messageIdDomain}`;
    const parent = input.inReplyTo;
    const references = parent ? [...parent.references, parent.messageId].slice(-MAX_REFERENCES) : [];
    const automatic = moment.startsWith('ack') ? 'auto-replied' : 'auto-generated';
    const email: OutgoingEmail = {
      from: { name: policy.outbound.fromName, address: input.mailbox.address },
      to: contact.email,
      replyTo: replyAddress(input.mailbox.address, ticket.key, signToken(this.deps.secret, ticket.key, { kind: 'customer' })),
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      messageId,
      inReplyTo: parent?.messageId ?? null,
      references,
      headers: {
        'Auto-Submitted': automatic,
        'X-Auto-Response-Suppress': 'All',
        [policy.desk.loopHeader]: this.deps.loopValue,
      },
    };
    const t = now.getTime();
    const outboxId = store.outbox.enqueue({ ticketId: ticket.id, channel: 'email', moment, recipient: contact.email, messageId, payload: email }, t);
    store.messages.insert({
      ticketId: ticket.id, direction: 'out', channel: 'email', mailbox: input.mailbox.id, messageId, fromAddress: input.mailbox.address,
      to: [contact.email], subject: rendered.subject, author: 'system', automaticKind: null, automaticReason: null,
      visibleText: null, bodyText: rendered.text, rawSha256: null,
    }, t);
    store.tickets.event(ticket.id, t, 'system', 'message_queued', { moment, channel: 'email', outboxId, messageId, etrAt: ticket.etr_at });
    return outboxId;
  }
}
