import type { AgentCommand, ParsedAgentReply } from '../domain/agent-commands.ts';
import type { DeskPolicy, Level, Locale, Person } from '../domain/policy.ts';
import { nextUpdateAfter } from '../domain/sla.ts';
import type { Store } from '../store/store.ts';
import type { TicketRow } from '../domain/ticket.ts';
import type { AgentCommandError } from '../domain/agent-commands.ts';
import type { IncidentActions } from './incident-actions.ts';
import type { Notices, StoredAttachment } from './notices.ts';
import type { TicketLifecycle } from './ticket-lifecycle.ts';
import type { TicketTerms } from './ticket-terms.ts';

/** An attachment of the agent's reply as intake recorded it: `sha256` null when its content was not kept (over the size limit). */
export interface ReplyAttachment { filename: string | null; contentType: string; size: number; sha256: string | null }

/** What happened to the attachments of one reply. */
interface AttachmentRelay {
  /** Still to be sent with the first customer message that carries the agent's words. */
  pending: StoredAttachment[];
  sent: StoredAttachment[];
  /** Not relayed, each with why (Spanish, for the ticket's history). */
  withheld: Array<{ filename: string; size: number; why: string }>;
}

/**
 * An agent's reply, applied (DESIGN §6): the commands at its top, in order, then the public
 * text relayed to the customer over the ticket's single channel — signed by the desk, level 1
 * being the formal contact — unless the reply is an internal note. Its attachments go with that
 * message when the customer's channel is email and intake kept their content; the others are
 * named in the ticket's history so that nobody believes the customer got them. Runs inside the
 * caller's transaction; every command is an event with its author.
 */
export class AgentActions {
  constructor(private readonly deps: { store: Store; policy: DeskPolicy; lifecycle: TicketLifecycle; notices: Notices; terms: TicketTerms; incidents: IncidentActions }) {}

  /**
   * Why a well-formed reply still cannot apply to this ticket (an incident to link that does
   * not exist, a ticket already in another one); checked before anything changes, so either
   * all of a reply applies or none of it.
   */
  async problems(ticket: TicketRow, reply: ParsedAgentReply): Promise<AgentCommandError[]> {
    return await this.deps.incidents.problemsOnTicket(ticket, reply.commands);
  }

  async apply(ticket: TicketRow, person: Person, reply: ParsedAgentReply, now: Date, opts: { attachments?: ReplyAttachment[] } = {}): Promise<{ ticket: TicketRow; relayed: boolean; internal: boolean }> {
    const { store, lifecycle, notices } = this.deps;
    const actor = `agent:${person.email}`;
    const t = now.getTime();
    const internal = reply.commands.some((c) => c.kind === 'note');
    const attachments = opts.attachments ?? [];
    // A note never reaches the customer, and neither do its files.
    const files = internal ? null : this.planAttachments(ticket, attachments);
    const words = reply.publicText.trim();
    // Files alone are an answer too: they go out with a line that says so.
    const text = words || (files && files.pending.length > 0 ? ATTACHMENTS_ONLY_TEXT[this.deps.policy.desk.locale](files.pending.length) : '');
    let row = ticket;
    if (row.state === 'nuevo') row = await lifecycle.save(row, { state: 'en_atencion' }, now);
    let toldCustomer = false;
    for (const cmd of reply.commands) {
      row = await this.command(row, cmd, { person, actor, internal, text, now, files });
      toldCustomer ||= (cmd.kind === 'pending' || cmd.kind === 'resolved') && !internal;
    }
    if (!files) {
      await store.tickets.event(row.id, t, actor, 'internal_note', { length: text.length, ...(attachments.length > 0 ? { attachments: attachments.length } : {}) });
      return { ticket: row, relayed: false, internal: true };
    }
    if (text && !toldCustomer) {
      await notices.toCustomer(row, 'agent-reply', now, { extras: { replyText: text }, attachments: takeAttachments(files) });
      await store.tickets.event(row.id, t, actor, 'agent_reply_relayed', { channel: row.customer_channel, ...attachmentFacts(files) }, withheldNote(files));
      toldCustomer = true;
    } else if (attachments.length > 0) {
      // The words went out with #pendiente or #resuelto (or nothing went out at all): the files'
      // fate is recorded all the same.
      await store.tickets.event(row.id, t, actor, toldCustomer ? 'agent_reply_relayed' : 'agent_attachments_withheld', { channel: row.customer_channel, ...attachmentFacts(files) }, withheldNote(files));
    }
    if (toldCustomer) {
      // A human answered: the first response is met and the update cadence restarts from here.
      const sev = lifecycle.severityOf(row);
      row = await lifecycle.save(await lifecycle.reload(row.id), {
        first_responded_at: row.first_responded_at ?? t,
        next_update_due_at: row.state === 'en_atencion' || row.state === 'nuevo' ? nextUpdateAfter(sev, lifecycle.clockOf(row), now)?.getTime() ?? null : row.next_update_due_at,
      }, now);
    }
    return { ticket: row, relayed: toldCustomer, internal: false };
  }

  /** Which attachments can go to the customer: kept content, and an email channel to carry them. */
  private planAttachments(ticket: TicketRow, attachments: ReplyAttachment[]): AttachmentRelay {
    const plan: AttachmentRelay = { pending: [], sent: [], withheld: [] };
    const limit = this.deps.policy.intake.attachmentMaxBytes;
    for (const a of attachments) {
      const name = a.filename ?? 'sin nombre';
      if (a.sha256 === null) plan.withheld.push({ filename: name, size: a.size, why: `excede el tamaño máximo de ${humanSize(limit)} (${humanSize(a.size)}); su contenido no se guardó` });
      else if (ticket.customer_channel !== 'email') plan.withheld.push({ filename: name, size: a.size, why: 'el cliente recibe mensajes por SMS' });
      else plan.pending.push({ sha256: a.sha256, filename: a.filename, contentType: a.contentType, size: a.size });
    }
    return plan;
  }

  private async command(row: TicketRow, cmd: AgentCommand, c: { person: Person; actor: string; internal: boolean; text: string; now: Date; files: AttachmentRelay | null }): Promise<TicketRow> {
    const { store, lifecycle, notices } = this.deps;
    const t = c.now.getTime();
    switch (cmd.kind) {
      case 'note':
        return row;
      case 'severity':
        // With a public text the relayed reply carries the new ETR: no separate notice.
        return await lifecycle.changeSeverity(row, cmd.severity, c.now, c.actor, `#severidad ${cmd.severity}`, { notifyCustomer: !c.internal && !c.text });
      case 'etr':
        return await lifecycle.changeEtr(row, { at: cmd.at, source: 'agent', baseMinutes: 0, reason: `fijado por ${c.person.name} (#etr ${cmd.text})` }, c.now, {
          actor: c.actor, notifyCustomer: !c.internal && !c.text,
          // The customer never learns who on the desk set it (DESIGN §2: level 1 is their contact).
          customerReason: `revisada por nuestro equipo de ${this.deps.policy.levels[row.level].name}`,
        });
      case 'escalate': {
        const to = (cmd.level ?? Math.min(3, row.level + 1)) as Level;
        if (to <= row.level) {
          await store.tickets.event(row.id, t, c.actor, 'escalation_ignored', { level: row.level, requested: to }, 'el ticket ya está en ese nivel o uno superior');
          return row;
        }
        return await lifecycle.escalate(row, to, c.now, `escalado por ${c.person.name}`, c.actor);
      }
      case 'assign':
        await store.tickets.event(row.id, t, c.actor, 'assigned', { to: cmd.who });
        return await lifecycle.save(row, { assignee: cmd.who }, c.now);
      case 'pending': {
        const paused = await lifecycle.pause(row, c.now, c.actor, 'se pidió información al cliente');
        if (!c.internal) await notices.toCustomer(paused, 'customer-request-info', c.now, { extras: { replyText: c.text }, attachments: takeAttachments(c.files) });
        return paused;
      }
      case 'resolved': {
        const resolved = await lifecycle.resolve(row, c.now, c.actor);
        if (!c.internal) await notices.toCustomer(resolved, 'customer-resolved', c.now, { extras: { replyText: c.text }, attachments: takeAttachments(c.files) });
        return resolved;
      }
      case 'close':
        await store.tickets.event(row.id, t, c.actor, 'closed', { from: row.state });
        return await lifecycle.save(row.state === 'resuelto' ? row : await lifecycle.resolve(row, c.now, c.actor), { state: 'cerrado' }, c.now);
      case 'reopen':
        return row.state === 'resuelto' || row.state === 'cerrado' ? await lifecycle.reopen(row, c.now, c.actor, 'reabierto por un agente') : row;
      case 'major_incident':
        return await this.deps.incidents.declare(row, c.person, c.now);
      case 'link':
        // With words for the customer (or a note) the relayed reply is the message: no separate one.
        return await this.deps.incidents.linkTicket(row, cmd.keys[0] as string, c.person, c.now, { tellCustomer: !c.internal && !c.text });
      case 'unlink':
        return await this.deps.incidents.unlinkTicket(row, c.person, c.now);
      case 'title':
        // The parser refuses #titulo outside an incident's thread.
        return row;
      case 'category':
      case 'organisation': {
        const contact = await store.tickets.contact(row.contact_id);
        const category = cmd.kind === 'category' ? cmd.category : row.category;
        const terms = this.deps.terms.again(row, { email: contact?.email ?? null, phone: contact?.phone ?? null }, category, c.now,
          cmd.kind === 'organisation' ? { id: cmd.organisation, by: `indicación de ${c.person.name}` } : undefined);
        const command = cmd.kind === 'category' ? `#categoria ${cmd.category}` : `#organizacion ${cmd.organisation ?? 'ninguna'}`;
        return await lifecycle.changeTerms(row, { terms, category }, c.now, c.actor, `${command} por ${c.person.name}`);
      }
    }
  }
}

/** The line relayed when an agent answered with files and no words. */
const ATTACHMENTS_ONLY_TEXT: Record<Locale, (n: number) => string> = {
  'es-MX': (n) => (n === 1 ? 'Le compartimos el archivo adjunto.' : 'Le compartimos los archivos adjuntos.'),
  en: (n) => (n === 1 ? 'Please find the attached file.' : 'Please find the attached files.'),
};

/** The attachments still to send, once: the first customer message with the agent's words takes them. */
function takeAttachments(files: AttachmentRelay | null): StoredAttachment[] {
  if (!files || files.pending.length === 0) return [];
  const out = files.pending;
  files.sent.push(...out);
  files.pending = [];
  return out;
}

function attachmentFacts(files: AttachmentRelay): Record<string, unknown> {
  if (files.sent.length + files.pending.length + files.withheld.length === 0) return {};
  return {
    attachments: files.sent.map((a) => a.filename ?? a.sha256.slice(0, 12)),
    attachmentsNotRelayed: [...files.withheld, ...files.pending.map((a) => ({ filename: a.filename ?? a.sha256.slice(0, 12), size: a.size, why: 'no salió ningún mensaje al cliente' }))],
  };
}

/** For the history the agents read: which files the customer did NOT get, and why. */
function withheldNote(files: AttachmentRelay): string | null {
  const missing = [...files.withheld, ...files.pending.map((a) => ({ filename: a.filename ?? 'sin nombre', why: 'no salió ningún mensaje al cliente' }))];
  if (missing.length === 0) return null;
  return `no se enviaron al cliente: ${missing.map((m) => `${m.filename} (${m.why})`).join('; ')}`;
}

function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1_048_576) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}
