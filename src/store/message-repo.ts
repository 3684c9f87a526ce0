import { placeholders, type SqlExecutor } from './sql.ts';

export interface NewMessage {
  ticketId: number | null;
  direction: 'in' | 'out';
  channel: 'email' | 'sms' | 'phone' | 'web';
  mailbox: string | null;
  messageId: string;
  fromAddress: string | null;
  to: string[];
  subject: string;
  author: 'customer' | 'agent' | 'automatic' | 'bounce' | 'system';
  automaticKind: string | null;
  automaticReason: string | null;
  visibleText: string | null;
  bodyText: string | null;
  rawSha256: string | null;
}

export interface ThreadRow {
  ticket_id: number;
  key: string;
  state: string;
  customer_email: string | null;
  cc_json: string;
  resolved_at: number | null;
}

export interface AttachmentRow { filename: string | null; contentType: string; size: number; sha256: string | null }

/** How many referenced Message-IDs threading looks at (a References header can be very long). */
const MAX_REFERENCES = 50;

export class MessageRepo {
  constructor(private readonly sql: SqlExecutor) {}

  async insert(m: NewMessage, now: number): Promise<number> {
    const row = await this.sql.get<{ id: number }>(`INSERT INTO messages (ticket_id, direction, channel, mailbox, message_id, from_address, to_json, subject, author,
      automatic_kind, automatic_reason, visible_text, body_text, raw_sha256, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, [
      m.ticketId, m.direction, m.channel, m.mailbox, m.messageId, m.fromAddress, JSON.stringify(m.to), m.subject, m.author,
      m.automaticKind, m.automaticReason, m.visibleText, m.bodyText, m.rawSha256, now,
    ]);
    return Number((row as { id: number }).id);
  }

  async inboundExists(messageId: string): Promise<boolean> {
    return (await this.sql.get(`SELECT 1 AS x FROM messages WHERE message_id = ? AND direction = 'in'`, [messageId])) !== undefined;
  }

  /** Which of these Message-IDs already have an inbound message (one query for a batch). */
  async inboundAmong(messageIds: readonly string[]): Promise<Set<string>> {
    if (messageIds.length === 0) return new Set();
    const rows = await this.sql.all<{ message_id: string }>(`SELECT DISTINCT message_id FROM messages WHERE message_id IN (${placeholders(messageIds.length)}) AND direction = 'in'`, messageIds);
    return new Set(rows.map((r) => r.message_id));
  }

  async addAttachment(messageRowId: number, a: AttachmentRow): Promise<void> {
    await this.sql.run('INSERT INTO attachments (message_row_id, filename, content_type, size, sha256, stored) VALUES (?, ?, ?, ?, ?, ?)',
      [messageRowId, a.filename, a.contentType, a.size, a.sha256, a.sha256 ? 1 : 0]);
  }

  /**
   * The ticket of the first of `messageIds` we know (in or out), in the order given: one
   * `IN (…)` query for all of them, the order applied here.
   */
  async ticketByReference(messageIds: string[]): Promise<ThreadRow | undefined> {
    const ids = [...new Set(messageIds)].slice(0, MAX_REFERENCES);
    if (ids.length === 0) return undefined;
    const rows = await this.sql.all<ThreadRow & { message_id: string }>(`SELECT m.message_id, m.ticket_id, t.key, t.state, c.email AS customer_email, t.cc_json, t.resolved_at
      FROM messages m JOIN tickets t ON t.id = m.ticket_id JOIN contacts c ON c.id = t.contact_id
      WHERE m.message_id IN (${placeholders(ids.length)}) AND m.ticket_id IS NOT NULL`, ids);
    const byId = new Map(rows.map((r) => [r.message_id, r]));
    for (const id of ids) {
      const row = byId.get(id);
      if (row) {
        const { message_id: _, ...thread } = row;
        return thread;
      }
    }
    return undefined;
  }

  async forTicket(ticketId: number): Promise<Array<{ id: number; direction: string; message_id: string; from_address: string | null; subject: string; author: string; visible_text: string | null; automatic_kind: string | null; created_at: number }>> {
    return this.sql.all('SELECT id, direction, message_id, from_address, subject, author, visible_text, automatic_kind, created_at FROM messages WHERE ticket_id = ? ORDER BY id', [ticketId]);
  }

  /** Message-IDs of the customer-facing thread (theirs and ours to them), oldest first. */
  async customerThreadIds(ticketId: number): Promise<string[]> {
    return (await this.sql.all<{ message_id: string }>(`SELECT m.message_id FROM messages m JOIN tickets t ON t.id = m.ticket_id JOIN contacts c ON c.id = t.contact_id
      WHERE m.ticket_id = ? AND m.channel = 'email' AND (m.from_address = c.email OR m.to_json LIKE '%' || c.email || '%') ORDER BY m.id`, [ticketId])).map((r) => r.message_id);
  }
}
