import { prepared, type Db } from './database.ts';

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

export class MessageRepo {
  private readonly insertStmt;
  private readonly existsStmt;
  private readonly attachmentStmt;
  private readonly ticketByRefStmt;

  constructor(private readonly db: Db) {
    this.insertStmt = db.prepare(`INSERT INTO messages (ticket_id, direction, channel, mailbox, message_id, from_address, to_json, subject, author,
      automatic_kind, automatic_reason, visible_text, body_text, raw_sha256, created_at)
      VALUES (@ticketId, @direction, @channel, @mailbox, @messageId, @fromAddress, @to, @subject, @author,
      @automaticKind, @automaticReason, @visibleText, @bodyText, @rawSha256, @now)`);
    this.existsStmt = db.prepare(`SELECT 1 FROM messages WHERE message_id = ? AND direction = 'in'`);
    this.attachmentStmt = db.prepare('INSERT INTO attachments (message_row_id, filename, content_type, size, sha256, stored) VALUES (?, ?, ?, ?, ?, ?)');
    this.ticketByRefStmt = db.prepare(`SELECT m.ticket_id, t.key, t.state, c.email AS customer_email, t.cc_json, t.resolved_at
      FROM messages m JOIN tickets t ON t.id = m.ticket_id JOIN contacts c ON c.id = t.contact_id
      WHERE m.message_id = ? AND m.ticket_id IS NOT NULL LIMIT 1`);
  }

  insert(m: NewMessage, now: number): number {
    return Number(this.insertStmt.run({ ...m, to: JSON.stringify(m.to), now }).lastInsertRowid);
  }

  inboundExists(messageId: string): boolean {
    return this.existsStmt.get(messageId) !== undefined;
  }

  addAttachment(messageRowId: number, a: { filename: string | null; contentType: string; size: number; sha256: string | null }): void {
    this.attachmentStmt.run(messageRowId, a.filename, a.contentType, a.size, a.sha256, a.sha256 ? 1 : 0);
  }

  /** The ticket of the first of `messageIds` we know (in or out), in the order given. */
  ticketByReference(messageIds: string[]): ThreadRow | undefined {
    for (const id of messageIds.slice(0, 50)) {
      const row = this.ticketByRefStmt.get(id) as ThreadRow | undefined;
      if (row) return row;
    }
    return undefined;
  }

  forTicket(ticketId: number): Array<{ id: number; direction: string; message_id: string; from_address: string | null; subject: string; author: string; visible_text: string | null; automatic_kind: string | null; created_at: number }> {
    return prepared(this.db, 'SELECT id, direction, message_id, from_address, subject, author, visible_text, automatic_kind, created_at FROM messages WHERE ticket_id = ? ORDER BY id').all(ticketId) as never;
  }

  /** Message-IDs of the customer-facing thread (theirs and ours to them), oldest first. */
  customerThreadIds(ticketId: number): string[] {
    return (prepared(this.db, `SELECT m.message_id FROM messages m JOIN tickets t ON t.id = m.ticket_id JOIN contacts c ON c.id = t.contact_id
      WHERE m.ticket_id = ? AND m.channel = 'email' AND (m.from_address = c.email OR m.to_json LIKE '%' || c.email || '%') ORDER BY m.id`).all(ticketId) as Array<{ message_id: string }>).map((r) => r.message_id);
  }

}
