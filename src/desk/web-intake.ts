import { classify, type Classification } from '../domain/classify.ts';
import type { DeskPolicy } from '../domain/policy.ts';
import { subjectFromDescription, urgencyChoice, type PortalSubmission, type UrgencyChoice } from '../domain/portal-form.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import type { TicketRow } from '../domain/ticket.ts';
import { AUTO_REPLY_MOMENTS } from './email-pipeline.ts';
import type { TicketLifecycle } from './ticket-lifecycle.ts';
import type { TicketOpening } from './ticket-opening.ts';

/** One accepted portal form: the checked fields, the nonce of its form-start token, the file. */
export interface WebSubmission extends PortalSubmission {
  /** From the signed form-start token: names the submission (idempotency). */
  nonce: string;
  /** `content` is null when the file was over the size limit: it is recorded without it. */
  attachment: { filename: string | null; contentType: string; size: number; content: Buffer | null } | null;
}

export interface WebSubmitResult {
  ticket: TicketRow;
  /** False when this form had already made its ticket (a refresh or a double click). */
  created: boolean;
  /** Whether the acknowledgment email was queued (not for a repeat, a suppressed address, or over the rate limit). */
  acknowledged: boolean;
  classification: Classification | null;
}

export interface WebIntakeDeps {
  store: Store;
  policy: DeskPolicy;
  lifecycle: TicketLifecycle;
  opening: TicketOpening;
  log: Logger;
  /** Called after a commit that queued outbound messages. */
  onOutbox?: () => void;
}

/** The classification "mailbox" of web tickets: rules may name it in their `mailboxes`. */
export const WEB_MAILBOX_ID = 'web';

/**
 * The desk's door for the web portal: one accepted form, one transaction — contact, classified
 * ticket, the customer's message and attachment, events, the acknowledgment to the customer and
 * the notice to the level, all through the outbox. Keyed by the form's nonce: the same form
 * posted twice returns the ticket it made the first time.
 */
export class WebIntake {
  constructor(private readonly deps: WebIntakeDeps) {}

  /** The ticket an earlier POST of this form made, if any (read-only). */
  async ticketOfSubmission(nonce: string): Promise<TicketRow | undefined> {
    const id = await this.deps.store.web.submissionTicket(nonce);
    return id === undefined ? undefined : await this.deps.store.tickets.byId(id);
  }

  async submit(form: WebSubmission, now: Date): Promise<WebSubmitResult> {
    const { store, policy, log } = this.deps;
    const choice = urgencyChoice(form.urgency);
    if (!choice) throw new Error(`unknown urgency ${form.urgency}`);
    // Outside the transaction, like email: a content-addressed file write; an orphan is harmless.
    const att = form.attachment;
    const keep = att !== null && att.content !== null && att.size <= policy.intake.attachmentMaxBytes;
    const sha = keep ? await store.blobs.put(att.content as Buffer) : null;
    const result = await store.transaction(async (): Promise<WebSubmitResult> => {
      const earlier = await store.web.submissionTicket(form.nonce);
      if (earlier !== undefined) return { ticket: await this.deps.lifecycle.reload(earlier), created: false, acknowledged: false, classification: null };
      return await this.create(form, choice, sha, now);
    });
    if (result.created) {
      log.info({ event: 'web.ticket_created', ticketKey: result.ticket.key, severity: result.ticket.severity, urgency: form.urgency, acknowledged: result.acknowledged, attachment: att ? (sha ? 'stored' : 'over_limit') : 'none' }, 'ticket creado desde el portal');
      this.deps.onOutbox?.();
    } else {
      log.info({ event: 'web.submission_repeated', ticketKey: result.ticket.key }, 'formulario enviado de nuevo: mismo ticket');
    }
    return result;
  }

  private async create(form: WebSubmission, choice: UrgencyChoice, sha: string | null, now: Date): Promise<WebSubmitResult> {
    const { store, policy, lifecycle } = this.deps;
    const t = now.getTime();
    const contact = await store.tickets.contactForEmail(form.email, form.name, t);
    if (form.phone && !contact.phone) await store.web.fillContactPhone(contact.id, form.phone);
    // The customer's urgency is one input: the starting point where no rule decides, and for an
    // outage a floor the rules can only raise (classify's channel hint).
    const c = classify({
      subject: '', text: form.description,
      mailbox: { id: WEB_MAILBOX_ID, defaultSeverity: choice.defaults.severity, defaultType: choice.defaults.type, defaultCategory: choice.defaults.category },
      ...(choice.severityHint ? { severityHint: { severity: choice.severityHint, reason: `formulario web: ${choice.label.toLowerCase()}` } } : {}),
    }, policy.classification.rules, policy.classification.minimumScore);
    const subject = subjectFromDescription(form.description);
    // The same gates as an email acknowledgment: a suppressed address is skipped by the notices,
    // and automatic replies to one address are rate-limited (the form could otherwise make us
    // mail anyone, any number of times).
    const facts = await store.intake.senderFacts({
      sender: form.email, agent: null, autoReplyMoments: AUTO_REPLY_MOMENTS,
      since: t - policy.outbound.autoReplyLimit.windowMinutes * 60_000, ticketId: null, bouncedMessageId: null,
    });
    const { ticket, acknowledged } = await this.deps.opening.open({
      channel: 'web', mailbox: null, contact, actor: `customer:${form.email}`, subject, description: form.description,
      classification: c, classificationExtras: { urgency: choice.value },
      customerChannel: 'email', cc: [],
      created: { data: { urgency: choice.value, ...(form.attachment ? { attachment: { stored: sha !== null, size: form.attachment.size } } : {}) } },
      link: async (row) => {
        await store.web.recordSubmission(form.nonce, row.id, t);
        const message = {
          ticketId: row.id, direction: 'in' as const, channel: 'web' as const, mailbox: null, messageId: `web.${form.nonce}@${policy.desk.messageIdDomain}`,
          fromAddress: form.email, to: [], subject, author: 'customer' as const, automaticKind: null, automaticReason: null,
          visibleText: form.description, bodyText: form.description, rawSha256: null,
        };
        if (!form.attachment) return store.messages.record(message, t);
        const rowId = await store.messages.insert(message, t);
        await store.messages.addAttachment(rowId, { filename: form.attachment.filename, contentType: form.attachment.contentType, size: form.attachment.size, sha256: sha });
      },
      ack: facts.recentAutoReplies >= policy.outbound.autoReplyLimit.count ? { send: false, reason: 'rate_limited' } : { send: true, suppressed: facts.suppressed },
      // The agents see the customer's own view of urgency beside the rules that fired.
      levelNotice: { leadingReasons: [{ rule: 'urgencia del cliente (formulario web)', matched: [choice.label] }] },
    }, now);
    return { ticket: await lifecycle.reload(ticket.id), created: true, acknowledged, classification: c };
  }
}
