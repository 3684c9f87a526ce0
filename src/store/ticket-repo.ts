import { formatTicketKey } from '../domain/ticket-key.ts';
import type { Level, Severity } from '../domain/policy.ts';
import { OPEN_STATES, UPDATABLE_TICKET_COLUMNS, type ContactRow, type EtrSource, type NewContact, type NewTicket, type TicketRow, type TicketState, type TicketUpdate } from '../domain/ticket.ts';
import { ETR_HISTORY_TABLE, EVENTS_TABLE, type TransactionScope } from './transaction-scope.ts';
import { placeholders, type SqlDialect, type SqlValue } from './sql.ts';

/** `OPEN_STATES` as an SQL list: literal, so `state IN (…)` seeks the `tickets_state` index. */
export const OPEN_STATES_SQL = OPEN_STATES.map((s) => `'${s}'`).join(', ');

const UPDATABLE = new Set<string>(UPDATABLE_TICKET_COLUMNS);

export interface TicketFilter {
  states?: readonly TicketState[];
  severity?: number;
  level?: number;
  limit: number;
}

export interface TicketMessageRow {
  id: number; direction: 'in' | 'out'; channel: string; from_address: string | null; to_json: string; subject: string;
  author: string; automatic_kind: string | null; visible_text: string | null; body_text: string | null; created_at: number;
  /** Ours only: the outbox moment and delivery status (null for inbound mail). */
  moment: string | null; delivery_status: string | null;
}

export interface TicketSmsRow { id: number; moment: string; recipient: string; status: string; payload_json: string; created_at: number }

export interface EventRow { id: number; at: number; actor: string; type: string; data_json: string; reason: string | null }

export interface EtrRow { at: number; etr_at: number; source: string; reason: string }

const TICKET_COLUMNS = `channel, mailbox, contact_id, subject, description, severity, type, category, level, state,
  customer_channel, cc_json, classification_json, etr_at, warning_due_at, first_response_due_at, next_escalation_due_at, next_update_due_at, resolution_due_at,
  next_action_at, level_since, reopened_from_id, created_at, updated_at, organisation, terms_json, report_words`;
const TICKET_VALUES = `?, ?, ?, ?, ?, ?, ?, ?, ?, 'nuevo', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`;
/** The same, with the contact (third column) taken from the `c` of a WITH that inserted it. */
const TICKET_VALUES_NEW_CONTACT = TICKET_VALUES.replace(/^\?, \?, \?/, '?, ?, (SELECT id FROM c)');
const CONTACT_UPSERT = `INSERT INTO contacts (email, phone, name, created_at, organisation) VALUES (?, NULL, ?, ?, ?)
      ON CONFLICT (email) DO UPDATE SET name = CASE WHEN contacts.name = '' THEN excluded.name ELSE contacts.name END,
        organisation = COALESCE(excluded.organisation, contacts.organisation)`;
const INSERT_TICKET = `INSERT INTO tickets (${TICKET_COLUMNS}) VALUES (${TICKET_VALUES}) RETURNING id`;

export class TicketRepo {
  /** The single-statement insert, on an engine that hands out ids ahead (see SqlDialect.nextId). */
  private readonly insertWithKey: string | null;
  /** The same, inserting the customer's contact in the same statement. */
  private readonly insertWithContact: string | null;

  constructor(private readonly sql: TransactionScope, private readonly dialect: SqlDialect, private readonly prefix: string) {
    const next = dialect.nextId('tickets');
    this.insertWithKey = next === null ? null : `WITH n AS (SELECT ${next} AS id)
      INSERT INTO tickets (id, key, ${TICKET_COLUMNS})
      VALUES ((SELECT id FROM n), ? || '-' || (SELECT CASE WHEN id < 1000000 THEN lpad(id::text, 6, '0') ELSE id::text END FROM n), ${TICKET_VALUES})
      RETURNING *`;
    this.insertWithContact = next === null ? null : `WITH c AS (${CONTACT_UPSERT} RETURNING id), n AS (SELECT ${next} AS id)
      INSERT INTO tickets (id, key, ${TICKET_COLUMNS})
      VALUES ((SELECT id FROM n), ? || '-' || (SELECT CASE WHEN id < 1000000 THEN lpad(id::text, 6, '0') ELSE id::text END FROM n), ${TICKET_VALUES_NEW_CONTACT})
      RETURNING *`;
  }

  /**
   * Inserts the ticket and gives it its key from the row id (same transaction as the caller).
   * Returns the row as stored: a new row is the transaction's own, nobody else can change it
   * before the commit, so callers need not read it again.
   */
  async create(t: NewTicket, now: number): Promise<{ id: number; key: string; row: TicketRow }> {
    if (this.insertWithKey !== null) {
      // One round trip: the id from the sequence, the key made from it in SQL the way
      // formatTicketKey makes it (zero-padded to six digits, longer numbers as they are).
      const stored = await this.sql.get<TicketRow>(this.insertWithKey, [this.prefix, ...this.values(t, now)]) as TicketRow;
      return { id: stored.id, key: stored.key, row: stored };
    }
    const row = await this.sql.get<{ id: number }>(INSERT_TICKET, this.values(t, now));
    const id = Number((row as { id: number }).id);
    const key = formatTicketKey(this.prefix, id);
    const stored = await this.sql.get<TicketRow>('UPDATE tickets SET key = ? WHERE id = ? RETURNING *', [key, id]) as TicketRow;
    return { id, key, row: stored };
  }

  /**
   * A ticket for a customer the desk had no contact for when it read (`NewContact`): the contact
   * is created with it — in the ticket's own statement where the engine allows, a round trip
   * fewer per new customer. Should the contact appear meanwhile (another instance), the upsert
   * finds it, as `contactForEmail` would.
   */
  async createWithContact(t: Omit<NewTicket, 'contactId'>, c: NewContact, now: number): Promise<{ id: number; key: string; row: TicketRow }> {
    if (this.insertWithContact === null) {
      const contact = await this.contactForEmail(c.email, c.name, now);
      if (c.organisation !== null && contact.organisation !== c.organisation) await this.setContactOrganisation(contact.id, c.organisation);
      return await this.create({ ...t, contactId: contact.id }, now);
    }
    const values = this.values({ ...t, contactId: 0 }, now);
    values.splice(2, 1);
    const stored = await this.sql.get<TicketRow>(this.insertWithContact, [c.email.toLowerCase(), c.name, now, c.organisation, this.prefix, ...values]) as TicketRow;
    return { id: stored.id, key: stored.key, row: stored };
  }

  private values(t: NewTicket, now: number): SqlValue[] {
    return [
      t.channel, t.mailbox, t.contactId, t.subject, t.description, t.severity, t.type, t.category, t.level,
      t.customerChannel, JSON.stringify(t.cc), JSON.stringify(t.classification), t.etrAt, t.warningDueAt, t.firstResponseDueAt,
      t.nextEscalationDueAt, t.nextUpdateDueAt, t.resolutionDueAt, t.nextActionAt, now, t.reopenedFromId, now, now,
      t.organisation, t.terms === null ? null : JSON.stringify(t.terms),
      t.reportWords ? JSON.stringify(t.reportWords) : null,
    ];
  }

  async event(ticketId: number, at: number, actor: string, type: string, data: unknown = {}, reason: string | null = null): Promise<void> {
    await this.sql.append(EVENTS_TABLE, [ticketId, at, actor, type, JSON.stringify(data), reason]);
  }

  async recordEtr(ticketId: number, at: number, etrAt: number, source: EtrSource, reason: string): Promise<void> {
    await this.sql.append(ETR_HISTORY_TABLE, [ticketId, at, etrAt, source, reason]);
  }

  /**
   * The contact for an address, created on first contact; a name is filled in when it had none.
   * One upsert, so two instances seeing the same new customer at once get the same row.
   */
  async contactForEmail(email: string, name: string, now: number): Promise<ContactRow> {
    return await this.sql.get<ContactRow>(`INSERT INTO contacts (email, phone, name, created_at) VALUES (?, NULL, ?, ?)
      ON CONFLICT (email) DO UPDATE SET name = CASE WHEN contacts.name = '' THEN excluded.name ELSE contacts.name END
      RETURNING id, email, phone, name, organisation`, [email.toLowerCase(), name, now]) as ContactRow;
  }

  /** The organisation a contact was recognised as belonging to (its id in config). */
  async setContactOrganisation(contactId: number, organisation: string): Promise<void> {
    await this.sql.run('UPDATE contacts SET organisation = ? WHERE id = ?', [organisation, contactId]);
  }

  async contactByPhone(e164: string): Promise<ContactRow | undefined> {
    return this.sql.get<ContactRow>('SELECT id, email, phone, name, organisation FROM contacts WHERE phone = ?', [e164]);
  }

  /** The contact for a phone number (E.164), created on first contact (an upsert, like email). */
  async contactForPhone(e164: string, now: number): Promise<ContactRow> {
    return await this.sql.get<ContactRow>(`INSERT INTO contacts (email, phone, name, created_at) VALUES (NULL, ?, '', ?)
      ON CONFLICT (phone) DO UPDATE SET phone = excluded.phone RETURNING id, email, phone, name, organisation`, [e164, now]) as ContactRow;
  }

  /** A contact with neither email nor phone (a withheld caller): one row per ticket. */
  async anonymousContact(label: string, now: number): Promise<ContactRow> {
    return await this.sql.get<ContactRow>(`INSERT INTO contacts (email, phone, name, created_at) VALUES (NULL, NULL, ?, ?)
      RETURNING id, email, phone, name, organisation`, [label, now]) as ContactRow;
  }

  /** The most recent open ticket of a contact, for callers who call again about it. */
  async openTicketOf(contactId: number): Promise<TicketRow | undefined> {
    return this.sql.get<TicketRow>(`SELECT * FROM tickets WHERE contact_id = ? AND state IN (${OPEN_STATES_SQL}) ORDER BY id DESC LIMIT 1`, [contactId]);
  }

  async byKey(key: string): Promise<TicketRow | undefined> {
    return this.sql.get<TicketRow>('SELECT * FROM tickets WHERE key = ?', [key.toUpperCase()]);
  }

  async byId(id: number): Promise<TicketRow | undefined> {
    return this.sql.get<TicketRow>('SELECT * FROM tickets WHERE id = ?', [id]);
  }

  /** The row, locked until the transaction ends: what every decision about a ticket reads. */
  async lockedById(id: number): Promise<TicketRow | undefined> {
    return this.sql.get<TicketRow>(`SELECT * FROM tickets WHERE id = ? ${this.dialect.forUpdate}`, [id]);
  }

  async contact(id: number): Promise<ContactRow | undefined> {
    return this.sql.get<ContactRow>('SELECT id, email, phone, name, organisation FROM contacts WHERE id = ?', [id]);
  }

  /** Changes the given columns (a fixed whitelist) and `updated_at`. */
  async update(id: number, changes: TicketUpdate, now: number): Promise<void> {
    const cols = Object.keys(changes).filter((c) => UPDATABLE.has(c));
    if (cols.length === 0) return;
    const values = cols.map((c) => ((changes as Record<string, unknown>)[c] ?? null) as string | number | null);
    await this.sql.run(`UPDATE tickets SET ${cols.map((c) => `${c} = ?`).join(', ')}, updated_at = ? WHERE id = ?`, [...values, now, id]);
  }

  /**
   * Open tickets whose next SLA deadline has come, in id order after `afterId` (keyset paging).
   * The partial index on `next_action_at` finds them; only the due ones are sorted.
   */
  async dueIds(now: number, afterId: number, limit: number): Promise<number[]> {
    return (await this.sql.all<{ id: number }>(this.dialect.dueTicketsSql, [now, afterId, limit])).map((r) => Number(r.id));
  }

  /**
   * Business minutes to resolution of comparable tickets resolved since `since`. Read once per
   * transaction for each severity, category and window: a batch of new tickets shares one read
   * (up to `limit` rows each), and a ticket resolved earlier in the same batch changes an
   * estimate by one sample among hundreds at most.
   */
  async resolutionHistory(severity: number, category: string, since: number, limit = 1000): Promise<number[]> {
    return this.sql.keep(`resolutionHistory:${severity}:${category}:${since}:${limit}`, async () => (await this.sql.all<{ m: number }>(`SELECT resolution_business_minutes AS m FROM tickets
      WHERE severity = ? AND category = ? AND resolved_at >= ? AND resolution_business_minutes IS NOT NULL ORDER BY resolved_at DESC LIMIT ?`,
    [severity, category, since, limit])).map((r) => r.m));
  }

  async touch(id: number, now: number): Promise<void> {
    await this.sql.run('UPDATE tickets SET updated_at = ? WHERE id = ?', [now, id]);
  }

  /** Newest tickets matching the filter (for `mesa tickets list`). */
  async list(filter: TicketFilter): Promise<Array<TicketRow & { contact_email: string | null; contact_name: string }>> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (filter.states && filter.states.length > 0) {
      where.push(`t.state IN (${placeholders(filter.states.length)})`);
      params.push(...filter.states);
    }
    if (filter.severity !== undefined) { where.push('t.severity = ?'); params.push(filter.severity); }
    if (filter.level !== undefined) { where.push('t.level = ?'); params.push(filter.level); }
    return this.sql.all(`SELECT t.*, c.email AS contact_email, c.name AS contact_name FROM tickets t JOIN contacts c ON c.id = t.contact_id
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY t.id DESC LIMIT ?`, [...params, filter.limit]);
  }

  async events(ticketId: number): Promise<EventRow[]> {
    return this.sql.all<EventRow>('SELECT id, at, actor, type, data_json, reason FROM events WHERE ticket_id = ? ORDER BY id', [ticketId]);
  }

  async etrHistory(ticketId: number): Promise<EtrRow[]> {
    return this.sql.all<EtrRow>('SELECT at, etr_at, source, reason FROM etr_history WHERE ticket_id = ? ORDER BY id', [ticketId]);
  }

  /**
   * Open tickets for the agents' queue, most urgent first: the soonest next escalation (a paused
   * clock or none pending sorts last), then severity. `state IN (…)` seeks the `tickets_state`
   * index; only the open tickets are sorted.
   */
  async listOpen(filter: { level?: Level; severity?: Severity; limit?: number } = {}): Promise<Array<TicketRow & { contact_name: string }>> {
    const params: number[] = [];
    let where = '';
    if (filter.level !== undefined) { where += ' AND t.level = ?'; params.push(filter.level); }
    if (filter.severity !== undefined) { where += ' AND t.severity = ?'; params.push(filter.severity); }
    return this.sql.all(`SELECT t.*, c.name AS contact_name FROM tickets t JOIN contacts c ON c.id = t.contact_id
      WHERE t.state IN (${OPEN_STATES_SQL})${where}
      ORDER BY (t.paused_at IS NOT NULL OR t.next_escalation_due_at IS NULL), t.next_escalation_due_at, t.severity, t.id LIMIT ?`, [...params, filter.limit ?? 500]);
  }

  /** An organisation's open tickets with their customer, oldest first (its daily digest). */
  async openOfOrganisation(organisation: string): Promise<TicketRow[]> {
    return this.sql.all<TicketRow>(`SELECT * FROM tickets WHERE organisation = ? AND state IN (${OPEN_STATES_SQL}) ORDER BY created_at, id`, [organisation]);
  }

  /**
   * Claims an organisation's digest for a local day: true for the one caller that records it
   * first (on any instance), false when that day's digest is already someone's.
   */
  async claimCustomerDigest(organisation: string, day: string, now: number): Promise<boolean> {
    return await this.sql.run(`INSERT INTO customer_digests (digest_key, organisation, day, sent_at) VALUES (?, ?, ?, ?) ON CONFLICT (digest_key) DO NOTHING`,
      [`${organisation}/${day}`, organisation, day, now]) === 1;
  }

  /** Every message of a ticket with its recipients, full text and (for ours) outbox moment and status. */
  async messagesOf(ticketId: number): Promise<TicketMessageRow[]> {
    return this.sql.all<TicketMessageRow>(`SELECT m.id, m.direction, m.channel, m.from_address, m.to_json, m.subject, m.author, m.automatic_kind,
      m.visible_text, m.body_text, m.created_at, o.moment, o.status AS delivery_status
      FROM messages m LEFT JOIN outbox o ON o.message_id = m.message_id WHERE m.ticket_id = ? ORDER BY m.id`, [ticketId]);
  }

  /** SMS the desk queued for a ticket to one phone number (the `outbox_recipient` index finds them). */
  async smsTo(ticketId: number, phone: string): Promise<TicketSmsRow[]> {
    return this.sql.all<TicketSmsRow>(`SELECT id, moment, recipient, status, payload_json, created_at FROM outbox
      WHERE recipient = ? AND ticket_id = ? AND channel = 'sms' ORDER BY id`, [phone.toLowerCase(), ticketId]);
  }

  async count(): Promise<number> {
    return Number((await this.sql.get<{ n: number }>('SELECT count(*) AS n FROM tickets'))?.n ?? 0);
  }
}
