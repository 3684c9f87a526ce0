import type { BounceInfo } from '../domain/bounce.ts';
import { MesaError } from '../errors.ts';
import { isTransientStoreError } from '../store/errors.ts';
import type { InboundMail } from '../domain/mail.ts';
import type { DeskPolicy } from '../domain/policy.ts';
import { parseMail } from '../intake/email/parse-mail.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import { analyzeEmail, mailboxFor, type EmailAnalysis, type PipelineContext } from './email-pipeline.ts';
import type { Notices } from './notices.ts';
import type { AgentActions, ReplyAttachment } from './agent-actions.ts';
import type { IncidentActions } from './incident-actions.ts';
import { COMMAND_HELP, parseAgentReply } from '../domain/agent-commands.ts';
import type { TicketLifecycle } from './ticket-lifecycle.ts';
import type { SlaClocks } from './sla-clocks.ts';
import type { TicketOpening } from './ticket-opening.ts';

/**
 * Where a raw message came from; an IMAP origin also advances that mailbox's cursor, and when it
 * names the lease `holder` it read under, commits only while that lease is still held.
 */
export type IntakeOrigin =
  | { kind: 'imap'; mailbox: string; uid: number; uidValidity: number; holder?: string }
  | { kind: 'pipe' | 'drop' | 'retry'; mailbox: string | null };

export type IntakeOutcome =
  | { result: 'ticket_created'; ticketKey: string; acknowledged: boolean }
  | { result: 'follow_up'; ticketKey: string; reopened: boolean; acknowledged: boolean }
  | { result: 'automatic_recorded'; kind: string; ticketKey: string | null }
  | { result: 'bounce_recorded'; ticketKey: string | null; hard: boolean }
  | { result: 'duplicate'; messageId: string }
  | { result: 'quarantined'; quarantineId: number; reason: string }
  | { result: 'agent_reply'; ticketKey: string; relayed: boolean; internal: boolean; commands: string[] }
  | { result: 'agent_rejected'; ticketKey: string | null; reason: string }
  | { result: 'incident_update'; incidentKey: string; told: number; resolved: boolean; internal: boolean; commands: string[] };

export interface EmailIntakeDeps {
  store: Store;
  policy: DeskPolicy;
  pipeline: PipelineContext;
  clocks: SlaClocks;
  notices: Notices;
  lifecycle: TicketLifecycle;
  agents: AgentActions;
  incidentActions: IncidentActions;
  opening: TicketOpening;
  log: Logger;
  /** Called after a commit that queued outbound messages. */
  onOutbox?: () => void;
}

/**
 * The desk's door for email: a raw message in, exactly one committed outcome out.
 *
 * Order of work, and why: the raw source is stored first (content-addressed, so re-storing is
 * free) so that whatever happens next, quarantine can point at it. Parsing is async
 * (mailparser); everything after it runs synchronously inside ONE immediate transaction —
 * dedupe check, analysis, rows, events, outbox and the mailbox cursor — so a crash at any point
 * either leaves no trace or the whole outcome, and a re-read finds the Message-ID and stops.
 */
export class EmailIntake {
  constructor(private readonly deps: EmailIntakeDeps) {}

  get pipelineContext(): PipelineContext {
    return this.deps.pipeline;
  }

  async receive(raw: Buffer, origin: IntakeOrigin, now: Date): Promise<IntakeOutcome> {
    const { outcomes, failure } = await this.receiveMany([{ raw, origin }], now);
    if (failure) throw failure.error;
    return outcomes[0] as IntakeOutcome;
  }

  /**
   * Several messages, in order, committed together in one transaction; when one fails, the
   * batch is redone with each message in its own savepoint, so that failure undoes only its own
   * writes (see `commitStaged`). Group commit matters
   * because a commit (WAL append) costs more than most of a message's analysis; the IMAP poller
   * hands over a fetch batch at a time. Processing stops at the first message that must be
   * retried later (a transient error, or a failure with attempts left): the outcomes of the
   * messages before it are committed and returned, and `failure` says which one stopped and why.
   * `stagedEarlier`, when given, is `stage(items)` started ahead by the caller.
   */
  async receiveMany(items: Array<{ raw: Buffer; origin: IntakeOrigin }>, now: Date, stagedEarlier: Promise<StagedBatch> | null = null): Promise<BatchResult> {
    let staged: StagedBatch;
    try {
      staged = await (stagedEarlier ?? this.stage(items));
    } catch (err) {
      // The raw sources could not be stored (database gone, disk full): nothing written, all of it comes again.
      return { outcomes: [], failure: { index: 0, error: err } };
    }
    return await this.commitStaged(staged, now);
  }

  /**
   * The part of intake that needs no transaction: the raw sources stored (content-addressed,
   * so storing again is free) and the async MIME parse. A reader can stage its next batch
   * while the previous one commits, so parsing overlaps the commit's waits on the database.
   */
  async stage(items: Array<{ raw: Buffer; origin: IntakeOrigin }>): Promise<StagedBatch> {
    const { store, policy } = this.deps;
    const staged: Staged[] = [];
    const shas = await store.blobs.putMany(items.map((i) => i.raw));
    for (const [i, { raw, origin }] of items.entries()) {
      const rawSha = shas[i] as string;
      try {
        staged.push({ origin, rawSha, mail: await parseMail(raw, policy.desk.messageIdDomain), parseError: null });
      } catch (err) {
        staged.push({ origin, rawSha, mail: null, parseError: err });
      }
    }
    return { staged };
  }

  /** A staged batch, in order, committed together (see `receiveMany`). */
  async commitStaged({ staged }: StagedBatch, now: Date): Promise<BatchResult> {
    const { store, policy, log } = this.deps;
    let outcomes: Array<{ outcome: IntakeOutcome; s: Staged }> = [];
    let warnings: Array<() => void> = [];
    let failure: { index: number; error: unknown } | null = null;
    // First the fast way: the whole batch in one transaction without savepoints (two round trips
    // fewer per message). Should any message fail, that attempt is rolled back whole and the
    // batch runs again the careful way, each message in its own savepoint, so one message's
    // failure undoes only its own writes.
    const attempt = (careful: boolean) => store.transaction(async () => {
      outcomes = [];
      warnings = [];
      failure = null;
      await this.confirmLeases(staged);
      const known = await store.messages.inboundAmong(staged.flatMap((s) => (s.mail ? [s.mail.messageId] : [])));
      const inBatch = new Set<string>();
      const through: string[] = [];
      for (const [index, s] of staged.entries()) {
        if (s.mail === null) { outcomes.push({ outcome: await this.quarantine(s, now, 'parse_failed', s.parseError), s }); continue; }
        const mail = s.mail;
        // Known before the batch, or possibly stored by an earlier message of it (then ask again).
        const duplicate = known.has(mail.messageId) || (inBatch.has(mail.messageId) && await store.messages.inboundExists(mail.messageId));
        inBatch.add(mail.messageId);
        try {
          const one = () => this.commitOne(s, mail, duplicate, now);
          const outcome = careful ? await store.transaction(one) : await one();
          outcomes.push({ outcome, s });
          if (outcome.result !== 'duplicate') through.push(s.rawSha);
        } catch (err) {
          if (!careful) throw new RetryCarefully(err);
          if (isTransient(err)) { failure = { index, error: err }; break; }
          const detail = describeError(err);
          const attempts = await store.intake.recordFailure(s.rawSha, detail, now.getTime());
          if (attempts < policy.intake.maxAttempts) {
            warnings.push(() => log.warn({ event: 'intake.failed', rawSha: s.rawSha, attempts, reason: 'processing_failed', error: detail }, 'fallo al procesar; se reintentará'));
            failure = { index, error: new IntakeRetryLater(`processing_failed: ${detail}`) };
            break;
          }
          outcomes.push({ outcome: await this.quarantine(s, now, 'processing_failed', err), s });
        }
      }
      // The rows the batch appended go in now, not at the commit: should one of them fail, the
      // fast attempt is redone the careful way, where each message's rows go in with its savepoint.
      if (!careful) {
        try { await store.flush(); } catch (err) { throw new RetryCarefully(err); }
      }
      await this.advanceCursors(outcomes.map((o) => o.s.origin), now);
      await store.intake.clearFailures(...through);
    });
    try {
      try {
        await attempt(false);
      } catch (err) {
        if (!(err instanceof RetryCarefully)) throw err;
        await attempt(true);
      }
    } catch (err) {
      // The commit itself failed (disk full, I/O, database gone): nothing was written; all of it comes again.
      return { outcomes: [], failure: { index: 0, error: err } };
    }
    for (const w of warnings) w();
    let queued = false;
    for (const { outcome, s } of outcomes) {
      if (outcome.result === 'quarantined') {
        log.error({ event: 'intake.quarantined', origin: s.origin.kind, mailbox: s.origin.mailbox, rawSha: s.rawSha, quarantineId: outcome.quarantineId, reason: outcome.reason }, 'mensaje en cuarentena');
      } else {
        log.info({ event: 'intake.processed', origin: s.origin.kind, mailbox: s.origin.mailbox, rawSha: s.rawSha, ...outcome }, 'mensaje procesado');
      }
      queued ||= outcome.result === 'ticket_created' || outcome.result === 'follow_up' || outcome.result === 'incident_update' || outcome.result === 'agent_reply';
    }
    if (queued) this.deps.onOutbox?.();
    return { outcomes: outcomes.map((o) => o.outcome), failure };
  }

  /**
   * An instance that lost a mailbox's lease (paused past its TTL, cut off from the database)
   * must not commit what it read: the new holder reads the same UIDs from the cursor.
   */
  private async confirmLeases(staged: readonly Staged[]): Promise<void> {
    const held = new Map<string, string>();
    for (const { origin } of staged) if (origin.kind === 'imap' && origin.holder !== undefined) held.set(origin.mailbox, origin.holder);
    for (const [mailbox, holder] of held) {
      if (!(await this.deps.store.leases.confirm(mailbox, holder))) throw new LeaseLost(mailbox);
    }
  }

  /** One parsed message (in its savepoint when careful): dedupe, analyse, write. The cursor moves once per batch. */
  private async commitOne(s: Staged, mail: InboundMail, duplicate: boolean, now: Date): Promise<IntakeOutcome> {
    const { policy } = this.deps;
    if (duplicate) return { result: 'duplicate', messageId: mail.messageId };
    const analysis = await analyzeEmail(mail, mailboxFor(mail, policy, s.origin.mailbox), this.deps.pipeline, now);
    return await this.commit(analysis, s.rawSha, s.origin, now);
  }

  /**
   * A message that cannot be parsed, or failed `maxAttempts` times, is quarantined with its
   * reason (the raw source stays in the blob store) and the cursor moves past it.
   */
  private async quarantine(s: Staged, now: Date, reason: string, err: unknown): Promise<IntakeOutcome> {
    const { store } = this.deps;
    const detail = describeError(err);
    await store.intake.recordFailure(s.rawSha, detail, now.getTime());
    const quarantineId = await store.intake.quarantine({ origin: s.origin.kind, mailbox: s.origin.mailbox, rawSha: s.rawSha, reason, detail }, now.getTime());
    return { result: 'quarantined', quarantineId, reason };
  }

  /**
   * Each mailbox's cursor moves past the last message of the batch that has an outcome: one
   * write per mailbox, in the batch's transaction. The outcomes are always a prefix of the
   * batch (processing stops at the first message to retry), so nothing unprocessed is skipped.
   */
  private async advanceCursors(origins: readonly IntakeOrigin[], now: Date): Promise<void> {
    const last = new Map<string, Extract<IntakeOrigin, { kind: 'imap' }>>();
    for (const o of origins) {
      if (o.kind !== 'imap') continue;
      const seen = last.get(o.mailbox);
      if (!seen || seen.uidValidity !== o.uidValidity || o.uid > seen.uid) last.set(o.mailbox, o);
    }
    for (const o of last.values()) await this.deps.store.intake.advanceCursor(o.mailbox, o.uidValidity, o.uid, now.getTime());
  }

  private async commit(a: EmailAnalysis, rawSha: string, origin: IntakeOrigin, now: Date): Promise<IntakeOutcome> {
    const { store } = this.deps;
    const t = now.getTime();
    const d = a.decision;
    const base = {
      direction: 'in' as const, channel: 'email' as const, mailbox: a.mailbox.id, messageId: a.mail.messageId,
      fromAddress: a.mail.from?.address ?? null, to: [...a.mail.to, ...a.mail.cc].map((x) => x.address),
      subject: a.mail.subject, visibleText: a.visible.text, bodyText: a.mail.text, rawSha256: rawSha,
    };
    switch (d.kind) {
      case 'quarantine': {
        // No message row: `quarantine retry` must be able to run it again. A re-read while the
        // entry is open finds it by content hash instead.
        const quarantineId = await store.intake.quarantine({ origin: origin.kind, mailbox: a.mailbox.id, rawSha, reason: d.reason, detail: 'message has no usable From address' }, t);
        return { result: 'quarantined', quarantineId, reason: d.reason };
      }
      case 'bounce': {
        const b = d.bounce;
        await this.storeMessage({ ...base, ticketId: d.ticketId, author: 'bounce', automaticKind: 'bounce', automaticReason: a.automatic.reason }, a, t);
        const report = deliveryReportKind(b);
        const bounced = b.originalMessageId ? await store.outbox.byMessageId(b.originalMessageId) : undefined;
        if (bounced && report === 'failed') await store.outbox.markBounced(bounced.id, `${b.status ?? ''} ${b.diagnostic ?? ''}`.trim().slice(0, 500));
        const recipient = b.recipient ?? bounced?.recipient ?? null;
        if (b.hard && recipient && report === 'failed') await store.intake.suppress(recipient, 'hard_bounce', b.status, a.mail.messageId, t);
        // A relayed agent answer that bounced: the people working the ticket must know, since
        // the customer did not get it.
        if (bounced && report === 'failed' && d.ticketId !== null && bounced.moment === 'agent-reply') {
          const ticket = await this.deps.lifecycle.reload(d.ticketId);
          await this.deps.notices.toLevel(ticket, ticket.level, 'agent-delivery-failed', now, {
            rejection: { problems: [], reason: `${b.status ?? ''} ${b.diagnostic ?? ''}`.trim().slice(0, 300) || null, help: '' },
          });
        }
        if (d.ticketId !== null) {
          await store.tickets.event(d.ticketId, t, 'system', `delivery_${report}`, { recipient, status: b.status, hard: b.hard, bouncedMessageId: b.originalMessageId, diagnostic: b.diagnostic?.slice(0, 300) ?? null },
            report === 'failed' ? (b.hard ? 'rebote permanente' : 'rebote temporal') : null);
        }
        return { result: 'bounce_recorded', ticketKey: d.ticketId === null ? null : ((await store.tickets.byId(d.ticketId))?.key ?? null), hard: b.hard };
      }
      case 'record_automatic': {
        await this.storeMessage({ ...base, ticketId: d.ticketId, author: 'automatic', automaticKind: d.verdict.kind, automaticReason: d.verdict.reason }, a, t);
        if (d.ticketId !== null) await store.tickets.event(d.ticketId, t, 'system', 'automatic_mail_recorded', { kind: d.verdict.kind, messageId: a.mail.messageId }, d.verdict.reason);
        return { result: 'automatic_recorded', kind: d.verdict.kind, ticketKey: d.ticketId === null ? null : ((await store.tickets.byId(d.ticketId))?.key ?? null) };
      }
      case 'new_ticket':
        return await this.createTicket(a, base, d, now);
      case 'agent_reply': {
        const { lifecycle, agents, notices, clocks } = this.deps;
        const ticket = await lifecycle.reload(d.ticket.ticketId);
        const attachments = await this.storeMessage({ ...base, ticketId: ticket.id, author: 'agent', automaticKind: null, automaticReason: null }, a, t);
        const parsed = parseAgentReply(a.visible.text, {
          now, timeZone: this.deps.policy.desk.timeZone, addBusinessMinutes: (from, minutes) => clocks.business.addBusinessMinutes(from, minutes),
          categories: knownCategories(this.deps.policy), organisations: this.deps.policy.organisations, ticketPrefix: this.deps.policy.desk.ticketPrefix,
        });
        if (parsed.errors.length === 0) parsed.errors.push(...await agents.problems(ticket, parsed));
        if (parsed.errors.length > 0) {
          // A malformed command changes nothing: the agent is told what was wrong, once.
          await store.tickets.event(ticket.id, t, `agent:${d.person.email}`, 'agent_command_rejected', { errors: parsed.errors });
          await notices.toPerson(ticket, d.person, 'agent-error', now, { rejection: { problems: parsed.errors, reason: null, help: COMMAND_HELP[this.deps.policy.desk.locale] } });
          return { result: 'agent_rejected', ticketKey: ticket.key, reason: 'invalid_command' };
        }
        const applied = await agents.apply(ticket, d.person, parsed, now, { attachments });
        return { result: 'agent_reply', ticketKey: ticket.key, relayed: applied.relayed, internal: applied.internal, commands: parsed.commands.map((c) => c.kind) };
      }
      case 'incident_reply':
        return await this.incidentReply(a, base, d, now);
      case 'agent_rejected': {
        // Recorded, never relayed, nothing changed. The notice goes to the agent concerned, never
        // to a stranger who may be holding a forwarded token.
        await this.storeMessage({ ...base, ticketId: d.ticket?.ticketId ?? null, author: 'system', automaticKind: null, automaticReason: `agent_rejected:${d.reason}` }, a, t);
        if (d.ticket) {
          await store.tickets.event(d.ticket.ticketId, t, `sender:${a.mail.from?.address ?? ''}`, 'agent_reply_rejected', {
            reason: d.reason, agent: d.person?.email ?? null,
            ...(d.reason === 'not_authenticated' && a.authentication && !a.authentication.pass ? { authentication: { result: a.authentication.reason, seen: a.authentication.seen } } : {}),
          });
        }
        if (d.ticket && d.person && d.notify) {
          const reason = d.reason === 'foreign_from'
            ? `un remitente distinto de usted (${a.mail.from?.address ?? '?'}) respondió usando su enlace de respuesta`
            : d.reason === 'not_authenticated'
              ? `no se pudo autenticar el mensaje: nuestro servidor de correo no confirmó (con DKIM ni SPF) que viniera del dominio de su dirección ${a.mail.from?.address ?? ''}. Responda desde su cuenta de correo habitual, no desde otro servicio que envíe en su nombre`
              : 'la respuesta no llegó a su dirección de respuesta firmada (responda directamente al aviso de Mesa, sin cambiar el destinatario)';
          await this.deps.notices.toPerson(await this.deps.lifecycle.reload(d.ticket.ticketId), d.person, 'agent-error', now, { rejection: { problems: [], reason, help: COMMAND_HELP[this.deps.policy.desk.locale] } });
        }
        return { result: 'agent_rejected', ticketKey: d.ticket?.key ?? null, reason: d.reason };
      }
      case 'follow_up': {
        const ticketId = d.ticket.ticketId;
        await this.storeMessage({ ...base, ticketId, author: 'customer', automaticKind: null, automaticReason: null }, a, t);
        await store.tickets.event(ticketId, t, `customer:${a.mail.from?.address ?? ''}`, 'customer_message', { messageId: a.mail.messageId, via: a.thread.ticket ? (a.thread as { via: string }).via : null });
        let ticket = await this.deps.lifecycle.reload(ticketId);
        if (d.reopen) {
          ticket = await this.deps.lifecycle.reopen(ticket, now, 'system', 'respuesta del cliente dentro de la ventana de reapertura');
        } else if (ticket.state === 'esperando_cliente') {
          // The answer the desk was waiting for: the clock runs again.
          ticket = await this.deps.lifecycle.resume(ticket, now, `customer:${a.mail.from?.address ?? ''}`, 'respuesta del cliente');
        } else {
          await store.tickets.touch(ticketId, t);
        }
        // The people working the ticket see the customer's words where they work: their mail.
        await this.deps.notices.toLevel(ticket, ticket.level, 'agent-customer-reply', now, { replyText: a.visible.text || a.mail.text });
        let acknowledged = false;
        if (d.ack.send) {
          ticket = await this.deps.lifecycle.ensureFutureEtr(ticket, now);
          acknowledged = await this.deps.notices.toCustomer(ticket, d.ack.moment, now, { inReplyTo: a.mail }) !== null;
        } else {
          await store.tickets.event(ticketId, t, 'system', 'ack_skipped', { reason: d.ack.reason });
        }
        return { result: 'follow_up', ticketKey: d.ticket.key, reopened: d.reopen, acknowledged };
      }
    }
  }

  /**
   * An agent's reply to a major incident's notice: an update for every linked customer (issue
   * 13). The message is recorded against no ticket (it belongs to the incident); a malformed or
   * inapplicable reply changes nothing and the agent is told why, on the incident's thread.
   */
  private async incidentReply(a: EmailAnalysis, base: Omit<Parameters<Store['messages']['insert']>[0], 'ticketId' | 'author' | 'automaticKind' | 'automaticReason'>, d: Extract<EmailAnalysis['decision'], { kind: 'incident_reply' }>, now: Date): Promise<IntakeOutcome> {
    const { store, policy, clocks, notices, incidentActions, lifecycle } = this.deps;
    const incident = await store.incidents.byId(d.incident.id);
    if (!incident) return { result: 'agent_rejected', ticketKey: d.incident.key, reason: 'unknown_ticket' };
    await this.storeMessage({ ...base, ticketId: null, author: 'agent', automaticKind: null, automaticReason: null }, a, now.getTime());
    const parsed = parseAgentReply(a.visible.text, {
      now, timeZone: policy.desk.timeZone, addBusinessMinutes: (from, minutes) => clocks.business.addBusinessMinutes(from, minutes),
      ticketPrefix: policy.desk.ticketPrefix, target: 'incident',
    });
    if (parsed.errors.length === 0) parsed.errors.push(...await incidentActions.problemsOnIncident(incident, parsed));
    if (parsed.errors.length > 0) {
      await store.incidents.addUpdate(incident.id, { author: `agent:${d.person.email}`, kind: 'note', text: null, etrAt: null, reason: `comandos rechazados: ${parsed.errors.map((e) => e.problem).join(' ').slice(0, 400)}` }, now.getTime());
      // The error goes on the incident's thread, rendered with the ticket that opened it.
      const anchor = await store.incidents.firstLinkedId(incident.id);
      if (anchor !== null) {
        await notices.toPerson(await lifecycle.reload(anchor), d.person, 'agent-error', now, { rejection: { problems: parsed.errors, reason: null, help: COMMAND_HELP[policy.desk.locale] } }, { key: d.incident.key });
      }
      return { result: 'agent_rejected', ticketKey: d.incident.key, reason: 'invalid_command' };
    }
    const applied = await incidentActions.applyOnIncident(incident, d.person, parsed, now);
    return { result: 'incident_update', incidentKey: d.incident.key, told: applied.told, resolved: applied.resolved, internal: applied.internal, commands: parsed.commands.map((c) => c.kind) };
  }

  private async createTicket(a: EmailAnalysis, base: Omit<Parameters<Store['messages']['insert']>[0], 'ticketId' | 'author' | 'automaticKind' | 'automaticReason'>, d: Extract<EmailAnalysis['decision'], { kind: 'new_ticket' }>, now: Date): Promise<IntakeOutcome> {
    const { store, policy, opening } = this.deps;
    const t = now.getTime();
    const from = a.mail.from as NonNullable<InboundMail['from']>;
    // The pipeline read the sender's contact; one the desk does not have yet is created with the
    // ticket (one statement on PostgreSQL). A known contact without a name takes the sender's.
    const known = a.facts.contact;
    const contact = known === null ? { id: null, email: from.address.toLowerCase(), name: from.name, phone: null, organisation: null }
      : known.name === '' && from.name !== '' ? await store.tickets.contactForEmail(from.address, from.name, t) : known;
    const ours = new Set(policy.mailboxes.map((m) => m.address));
    const { ticket, acknowledged } = await opening.open({
      channel: 'email', mailbox: a.mailbox.id, contact, actor: `customer:${from.address}`,
      subject: a.mail.subject || '(sin asunto)',
      description: a.visible.text || a.mail.text,
      classification: a.classification,
      customerChannel: 'email',
      cc: [...a.mail.to, ...a.mail.cc].map((x) => x.address).filter((x) => !ours.has(x.replace(/\+[^@]*@/, '@')) && x !== from.address),
      previous: d.previous,
      created: {
        data: {
          mailbox: a.mailbox.id, messageId: a.mail.messageId,
          ...(a.thread.ticket === null && a.thread.ignoredSubjectTag ? { ignoredSubjectTag: a.thread.ignoredSubjectTag } : {}),
        },
      },
      link: async (row) => { await this.storeMessage({ ...base, ticketId: row.id, author: 'customer', automaticKind: null, automaticReason: null }, a, t); },
      // The pipeline read the sender's suppression in this transaction: an ack is only decided for an unsuppressed sender.
      ack: d.ack.send ? { send: true, inReplyTo: a.mail, suppressed: false } : { send: false, reason: d.ack.reason },
      levelNotice: d.previous ? { history: [{ at: now, text: `Continúa el ticket ${d.previous.key}` }] } : {},
    }, now);
    return { result: 'ticket_created', ticketKey: ticket.key, acknowledged };
  }

  /**
   * The message row and its attachments (content kept up to the configured size); returns the
   * attachments as recorded, `sha256` null where the content was not kept.
   */
  private async storeMessage(m: Parameters<Store['messages']['insert']>[0], a: EmailAnalysis, t: number): Promise<ReplyAttachment[]> {
    const { store, policy } = this.deps;
    const files = a.mail.attachments.filter((att) => !att.related);
    if (files.length === 0) {
      await store.messages.record(m, t);
      return [];
    }
    const rowId = await store.messages.insert(m, t);
    const recorded: ReplyAttachment[] = [];
    for (const att of files) {
      const keep = att.size <= policy.intake.attachmentMaxBytes;
      const row = { filename: att.filename, contentType: att.contentType, size: att.size, sha256: keep ? await store.blobs.put(att.content) : null };
      await store.messages.addAttachment(rowId, row);
      recorded.push(row);
    }
    return recorded;
  }
}

/**
 * Not every delivery status notification is a failure: RFC 3464 reports also say "delivered"
 * (2.x.x) or "delayed, still trying" (4.x.x), and ARF abuse reports (RFC 5965) complain about a
 * message that was delivered. Only a failure marks our message bounced.
 */
function deliveryReportKind(b: BounceInfo): 'failed' | 'delayed' | 'succeeded' | 'complaint' {
  if (b.status?.startsWith('2')) return 'succeeded';
  if (b.status?.startsWith('4')) return 'delayed';
  if (b.status === null && b.diagnostic?.startsWith('feedback-type')) return 'complaint';
  return 'failed';
}

interface Staged { origin: IntakeOrigin; rawSha: string; mail: InboundMail | null; parseError: unknown }

/** Messages stored and parsed, ready to commit (opaque outside intake). */
export interface StagedBatch { readonly staged: readonly Staged[] }

export interface BatchResult { outcomes: IntakeOutcome[]; failure: { index: number; error: unknown } | null }

/** Thrown when a message failed but should be offered again later (not yet quarantined). */
export class IntakeRetryLater extends MesaError {
  constructor(message: string) {
    super('MESA_INTAKE_RETRY', message);
  }
}

/** Internal: a message failed in the fast attempt; the batch is redone with savepoints. */
class RetryCarefully extends Error {
  constructor(readonly original: unknown) {
    super('retry the batch with savepoints');
  }
}

/** The mailbox's lease is no longer this instance's: nothing of the batch is committed. */
export class LeaseLost extends IntakeRetryLater {
  constructor(readonly mailbox: string) {
    super(`el buzón ${mailbox} lo lee ahora otra instancia`);
  }
}

/**
 * A busy or unreachable database and file-system trouble (`EIO`, `ENOSPC`…) are the
 * environment's fault, not the message's: it is offered again, never quarantined for them.
 */
function isTransient(err: unknown): boolean {
  if (isTransientStoreError(err)) return true;
  return /^E[A-Z]+$/.test((err as { code?: string }).code ?? '');
}

function describeError(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string; engineCode?: string | null };
  return `${e.engineCode ?? e.code ?? e.name ?? 'Error'}: ${(e.message ?? String(err)).split('\n')[0]?.slice(0, 300)}`;
}

/** Every category the desk's config names (rules, mailboxes, matrices), for `#categoria`. */
function knownCategories(policy: DeskPolicy): string[] {
  return [...new Set([
    ...policy.classification.rules.flatMap((r) => (r.set.category ? [r.set.category] : [])),
    ...policy.mailboxes.map((m) => m.defaultCategory),
    ...policy.matrices.flatMap((m) => (m.category ? [m.category] : [])),
  ])];
}
