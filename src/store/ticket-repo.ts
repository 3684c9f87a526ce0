import { formatTicketKey } from '../domain/ticket-key.ts';
import type { Level, Severity, TicketType } from '../domain/policy.ts';
import { prepared, type Db } from './database.ts';

export type TicketState = 'nuevo' | 'en_atencion' | 'esperando_cliente' | 'resuelto' | 'cerrado';

/** States of a ticket still in the desk's hands (not resolved, not closed). */
export const OPEN_STATES: readonly TicketState[] = ['nuevo', 'en_atencion', 'esperando_cliente'];

export function isOpenState(state: string): boolean {
  return (OPEN_STATES as readonly string[]).includes(state);
}

/** `OPEN_STATES` as an SQL list: literal, so `state IN (…)` seeks the `tickets_state` index. */
export const OPEN_STATES_SQL = OPEN_STATES.map((s) => `'${s}'`).join(', ');

export interface TicketFilter {
  states?: readonly TicketState[];
  severity?: number;
  level?: number;
  limit: number;
}

export interface TicketRow {
  id: number;
  key: string;
  channel: 'email' | 'phone' | 'web';
  mailbox: string | null;
  contact_id: number;
  subject: string;
  description: string;
  severity: Severity;
  type: TicketType;
  category: string;
  level: Level;
  state: TicketState;
  customer_channel: 'email' | 'sms';
  cc_json: string;
  classification_json: string;
  etr_at: number;
  first_response_due_at: number | null;
  next_escalation_due_at: number | null;
  next_update_due_at: number | null;
  resolution_due_at: number | null;
  reopened_from_id: number | null;
  resolved_at: number | null;
  created_at: number;
  updated_at: number;
  level_since: number;
  warning_due_at: number | null;
  first_responded_at: number | null;
  first_response_breached_at: number | null;
  resolution_breached_at: number | null;
  paused_at: number | null;
  paused_remaining_json: string | null;
  paused_minutes: number;
  last_customer_update_at: number | null;
  resolution_business_minutes: number | null;
  assignee: string | null;
  next_action_at: number | null;
}

/** Columns the desk may change after creation (everything but identity and origin). */
export type TicketUpdate = Partial<Pick<TicketRow,
  'subject' | 'severity' | 'type' | 'category' | 'level' | 'state' | 'customer_channel' | 'etr_at' | 'level_since'
  | 'warning_due_at' | 'first_response_due_at' | 'next_escalation_due_at' | 'next_update_due_at' | 'resolution_due_at'
  | 'first_responded_at' | 'first_response_breached_at' | 'resolution_breached_at' | 'paused_at' | 'paused_remaining_json'
  | 'paused_minutes' | 'last_customer_update_at' | 'resolved_at' | 'resolution_business_minutes' | 'assignee' | 'next_action_at'>>;

const UPDATABLE = new Set<string>(['subject', 'severity', 'type', 'category', 'level', 'state', 'customer_channel', 'etr_at', 'level_since',
  'warning_due_at', 'first_response_due_at', 'next_escalation_due_at', 'next_update_due_at', 'resolution_due_at',
  'first_responded_at', 'first_response_breached_at', 'resolution_breached_at', 'paused_at', 'paused_remaining_json',
  'paused_minutes', 'last_customer_update_at', 'resolved_at', 'resolution_business_minutes', 'assignee', 'next_action_at']);

export interface NewTicket {
  channel: TicketRow['channel'];
  mailbox: string | null;
  contactId: number;
  subject: string;
  description: string;
  severity: Severity;
  type: TicketType;
  category: string;
  level: Level;
  customerChannel: TicketRow['customer_channel'];
  cc: string[];
  classification: unknown;
  etrAt: number;
  warningDueAt: number | null;
  firstResponseDueAt: number | null;
  nextEscalationDueAt: number | null;
  nextUpdateDueAt: number | null;
  resolutionDueAt: number | null;
  nextActionAt: number | null;
  reopenedFromId: number | null;
}

export interface TicketMessageRow {
  id: number; direction: 'in' | 'out'; channel: string; from_address: string | null; to_json: string; subject: string;
  author: string; automatic_kind: string | null; visible_text: string | null; body_text: string | null; created_at: number;
  /** Ours only: the outbox moment and delivery status (null for inbound mail). */
  moment: string | null; delivery_status: string | null;
}

export interface TicketSmsRow { id: number; moment: string; recipient: string; status: string; payload_json: string; created_at: number }

export interface ContactRow { id: number; email: string | null; phone: string | null; name: string; organisation: string | null }

export class TicketRepo {
  /** The sweep's only query (exported so the benchmark can print its plan). */
  static readonly DUE_SQL = 'SELECT id FROM tickets INDEXED BY tickets_next_action WHERE next_action_at IS NOT NULL AND next_action_at <= ? AND id > ? ORDER BY id LIMIT ?';

  private readonly insertStmt;
  private readonly setKeyStmt;
  private readonly eventStmt;
  private readonly etrStmt;
  private readonly contactByEmail;
  private readonly insertContact;
  private readonly updateContactName;
  private readonly dueStmt;
  private readonly historyStmt;

  constructor(private readonly db: Db, private readonly prefix: string) {
    this.insertStmt = db.prepare(`INSERT INTO tickets (channel, mailbox, contact_id, subject, description, severity, type, category, level, state,
      customer_channel, cc_json, classification_json, etr_at, warning_due_at, first_response_due_at, next_escalation_due_at, next_update_due_at, resolution_due_at,
      next_action_at, level_since, reopened_from_id, created_at, updated_at)
      VALUES (@channel, @mailbox, @contactId, @subject, @description, @severity, @type, @category, @level, 'nuevo',
      @customerChannel, @cc, @classification, @etrAt, @warningDueAt, @firstResponseDueAt, @nextEscalationDueAt, @nextUpdateDueAt, @resolutionDueAt,
      @nextActionAt, @now, @reopenedFromId, @now, @now)`);
    this.setKeyStmt = db.prepare('UPDATE tickets SET key = ? WHERE id = ?');
    this.eventStmt = db.prepare('INSERT INTO events (ticket_id, at, actor, type, data_json, reason) VALUES (?, ?, ?, ?, ?, ?)');
    this.etrStmt = db.prepare('INSERT INTO etr_history (ticket_id, at, etr_at, source, reason) VALUES (?, ?, ?, ?, ?)');
    this.contactByEmail = db.prepare('SELECT * FROM contacts WHERE email = ?');
    this.insertContact = db.prepare('INSERT INTO contacts (email, phone, name, created_at) VALUES (?, ?, ?, ?)');
    this.updateContactName = db.prepare(`UPDATE contacts SET name = ? WHERE id = ? AND name = ''`);
    // INDEXED BY: with `id > ?` and ORDER BY id the planner otherwise walks the primary key over
    // every ticket after `id`, which is the whole table; the partial index visits only due rows.
    this.dueStmt = db.prepare(TicketRepo.DUE_SQL);
    this.historyStmt = db.prepare(`SELECT resolution_business_minutes AS m FROM tickets
      WHERE severity = ? AND category = ? AND resolved_at >= ? AND resolution_business_minutes IS NOT NULL ORDER BY resolved_at DESC LIMIT ?`);
  }

  /** Inserts the ticket and gives it its key from the row id (same transaction as the caller). */
  create(t: NewTicket, now: number): { id: number; key: string } {
    const id = Number(this.insertStmt.run({
      ...t,
      cc: JSON.stringify(t.cc),
      classification: JSON.stringify(t.classification),
      now,
    }).lastInsertRowid);
    const key = formatTicketKey(this.prefix, id);
    this.setKeyStmt.run(key, id);
    return { id, key };
  }

  event(ticketId: number, at: number, actor: string, type: string, data: unknown = {}, reason: string | null = null): void {
    this.eventStmt.run(ticketId, at, actor, type, JSON.stringify(data), reason);
  }

  recordEtr(ticketId: number, at: number, etrAt: number, source: 'target' | 'history' | 'agent' | 'escalation', reason: string): void {
    this.etrStmt.run(ticketId, at, etrAt, source, reason);
  }

  contactForEmail(email: string, name: string, now: number): ContactRow {
    const existing = this.contactByEmail.get(email.toLowerCase()) as ContactRow | undefined;
    if (existing) {
      if (name && !existing.name) this.updateContactName.run(name, existing.id);
      return existing;
    }
    const id = Number(this.insertContact.run(email.toLowerCase(), null, name, now).lastInsertRowid);
    return { id, email: email.toLowerCase(), phone: null, name, organisation: null };
  }

  contactByPhone(e164: string): ContactRow | undefined {
    return prepared(this.db, 'SELECT * FROM contacts WHERE phone = ?').get(e164) as ContactRow | undefined;
  }

  /** The contact for a phone number (E.164), created on first contact. */
  contactForPhone(e164: string, now: number): ContactRow {
    const existing = this.contactByPhone(e164);
    if (existing) return existing;
    const id = Number(this.insertContact.run(null, e164, '', now).lastInsertRowid);
    return { id, email: null, phone: e164, name: '', organisation: null };
  }

  /** A contact with neither email nor phone (a withheld caller): one row per ticket. */
  anonymousContact(label: string, now: number): ContactRow {
    const id = Number(this.insertContact.run(null, null, label, now).lastInsertRowid);
    return { id, email: null, phone: null, name: label, organisation: null };
  }

  /** The most recent open ticket of a contact, for callers who call again about it. */
  openTicketOf(contactId: number): TicketRow | undefined {
    return prepared(this.db, `SELECT * FROM tickets WHERE contact_id = ? AND state IN (${OPEN_STATES_SQL}) ORDER BY id DESC LIMIT 1`).get(contactId) as TicketRow | undefined;
  }

  byKey(key: string): TicketRow | undefined {
    return prepared(this.db, 'SELECT * FROM tickets WHERE key = ?').get(key.toUpperCase()) as TicketRow | undefined;
  }

  byId(id: number): TicketRow | undefined {
    return prepared(this.db, 'SELECT * FROM tickets WHERE id = ?').get(id) as TicketRow | undefined;
  }

  contact(id: number): ContactRow | undefined {
    return prepared(this.db, 'SELECT * FROM contacts WHERE id = ?').get(id) as ContactRow | undefined;
  }

  /** Changes the given columns (a fixed whitelist) and `updated_at`. */
  update(id: number, changes: TicketUpdate, now: number): void {
    const cols = Object.keys(changes).filter((c) => UPDATABLE.has(c));
    if (cols.length === 0) return;
    const sql = `UPDATE tickets SET ${cols.map((c) => `${c} = @${c}`).join(', ')}, updated_at = @updated_at WHERE id = @id`;
    prepared(this.db, sql).run({ ...Object.fromEntries(cols.map((c) => [c, (changes as Record<string, unknown>)[c] ?? null])), updated_at: now, id });
  }

  /**
   * Open tickets whose next SLA deadline has come, in id order after `afterId` (keyset paging).
   * The partial index on `next_action_at` finds them; only the due ones are sorted.
   */
  dueIds(now: number, afterId: number, limit: number): number[] {
    return (this.dueStmt.all(now, afterId, limit) as Array<{ id: number }>).map((r) => r.id);
  }

  /** Business minutes to resolution of comparable tickets resolved since `since`. */
  resolutionHistory(severity: number, category: string, since: number, limit = 1000): number[] {
    return (this.historyStmt.all(severity, category, since, limit) as Array<{ m: number }>).map((r) => r.m);
  }

  touch(id: number, now: number): void {
    prepared(this.db, 'UPDATE tickets SET updated_at = ? WHERE id = ?').run(now, id);
  }

  /** Newest tickets matching the filter (for `mesa tickets list`). */
  list(filter: TicketFilter): Array<TicketRow & { contact_email: string | null; contact_name: string }> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: filter.limit };
    if (filter.states && filter.states.length > 0) {
      where.push(`t.state IN (SELECT value FROM json_each(@states))`);
      params.states = JSON.stringify(filter.states);
    }
    if (filter.severity !== undefined) { where.push('t.severity = @severity'); params.severity = filter.severity; }
    if (filter.level !== undefined) { where.push('t.level = @level'); params.level = filter.level; }
    return prepared(this.db, `SELECT t.*, c.email AS contact_email, c.name AS contact_name FROM tickets t JOIN contacts c ON c.id = t.contact_id
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY t.id DESC LIMIT @limit`).all(params) as never;
  }

  events(ticketId: number): Array<{ id: number; at: number; actor: string; type: string; data_json: string; reason: string | null }> {
    return prepared(this.db, 'SELECT * FROM events WHERE ticket_id = ? ORDER BY id').all(ticketId) as never;
  }

  etrHistory(ticketId: number): Array<{ at: number; etr_at: number; source: string; reason: string }> {
    return prepared(this.db, 'SELECT at, etr_at, source, reason FROM etr_history WHERE ticket_id = ? ORDER BY id').all(ticketId) as never;
  }

  /**
   * Open tickets for the agents' queue (issue 6), most urgent first: the soonest next escalation
   * (a paused clock or none pending sorts last), then severity. `state IN (…)` seeks the
   * `tickets_state` index; only the open tickets are sorted.
   */
  listOpen(filter: { level?: Level; severity?: Severity; limit?: number } = {}): Array<TicketRow & { contact_name: string }> {
    const params: Record<string, unknown> = { limit: filter.limit ?? 500 };
    let where = '';
    if (filter.level !== undefined) { where += ' AND t.level = @level'; params.level = filter.level; }
    if (filter.severity !== undefined) { where += ' AND t.severity = @severity'; params.severity = filter.severity; }
    return prepared(this.db, `SELECT t.*, c.name AS contact_name FROM tickets t JOIN contacts c ON c.id = t.contact_id
      WHERE t.state IN (${OPEN_STATES_SQL})${where}
      ORDER BY (t.paused_at IS NOT NULL OR t.next_escalation_due_at IS NULL), t.next_escalation_due_at, t.severity, t.id LIMIT @limit`).all(params) as Array<TicketRow & { contact_name: string }>;
  }

  /** Every message of a ticket with its recipients, full text and (for ours) outbox moment and status. */
  messagesOf(ticketId: number): TicketMessageRow[] {
    return prepared(this.db, `SELECT m.id, m.direction, m.channel, m.from_address, m.to_json, m.subject, m.author, m.automatic_kind,
      m.visible_text, m.body_text, m.created_at, o.moment, o.status AS delivery_status
      FROM messages m LEFT JOIN outbox o ON o.message_id = m.message_id WHERE m.ticket_id = ? ORDER BY m.id`).all(ticketId) as TicketMessageRow[];
  }

  /** SMS the desk queued for a ticket to one phone number (the `outbox_recipient` index finds them). */
  smsTo(ticketId: number, phone: string): TicketSmsRow[] {
    return prepared(this.db, `SELECT id, moment, recipient, status, payload_json, created_at FROM outbox
      WHERE recipient = ? AND ticket_id = ? AND channel = 'sms' ORDER BY id`).all(phone.toLowerCase(), ticketId) as TicketSmsRow[];
  }

  count(): number {
    return (prepared(this.db, 'SELECT count(*) AS n FROM tickets').get() as { n: number }).n;
  }
}
