import { MESSAGES_TABLE, type TransactionScope } from './transaction-scope.ts';
import { placeholders, type SqlValue } from './sql.ts';

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

const INSERT_MESSAGE = `INSERT INTO messages (${MESSAGES_TABLE.columns.join(', ')}) VALUES (${MESSAGES_TABLE.columns.map(() => '?').join(', ')}) RETURNING id`;

/** A message's values in the order of `MESSAGES_TABLE.columns`. */
function messageValues(m: NewMessage, now: number): SqlValue[] {
  return [
    m.ticketId, m.direction, m.channel, m.mailbox, m.messageId, m.fromAddress, JSON.stringify(m.to), m.subject, m.author,
    m.automaticKind, m.automaticReason, m.visibleText, m.bodyText, m.rawSha256, now,
  ];
}

/** How many referenced Message-IDs threading looks at (a References header can be very long). */
const MAX_REFERENCES = 50;

export class MessageRepo {
  constructor(private readonly sql: TransactionScope) {}

  /** A message row that needs no id (it has no attachments): written with the transaction's other appended rows. */
  async record(m: NewMessage, now: number): Promise<void> {
    await this.sql.append(MESSAGES_TABLE, messageValues(m, now));
  }

  /** A message row whose id the caller needs (to hang attachments on it). */
  async insert(m: NewMessage, now: number): Promise<number> {
    const row = await this.sql.get<{ id: number }>(INSERT_MESSAGE, messageValues(m, now));
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
  /**
   * Threading's one read: the tickets named by these keys (a reply token, a subject tag, an
   * agent's token) and the ticket of the first of these referenced Message-IDs that has one,
   * in one `IN (…)` query per kind joined by UNION ALL.
   */
  async threadCandidates(keys: readonly string[], references: readonly string[]): Promise<{ byKey: Map<string, ThreadRow>; byReference: ThreadRow | undefined }> {
    const wanted = [...new Set(keys.map((k) => k.toUpperCase()))];
    const ids = [...new Set(references)].slice(0, MAX_REFERENCES);
    const parts: string[] = [];
    const params: string[] = [];
    if (wanted.length > 0) {
      parts.push(`SELECT 'key' AS via, t.key AS matched, t.id AS ticket_id, t.key, t.state, c.email AS customer_email, t.cc_json, t.resolved_at
        FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE t.key IN (${placeholders(wanted.length)})`);
      params.push(...wanted);
    }
    if (ids.length > 0) {
      parts.push(`SELECT 'reference' AS via, m.message_id AS matched, m.ticket_id, t.key, t.state, c.email AS customer_email, t.cc_json, t.resolved_at
        FROM messages m JOIN tickets t ON t.id = m.ticket_id JOIN contacts c ON c.id = t.contact_id
        WHERE m.message_id IN (${placeholders(ids.length)}) AND m.ticket_id IS NOT NULL`);
      params.push(...ids);
    }
    const byKey = new Map<string, ThreadRow>();
    const byMessageId = new Map<string, ThreadRow>();
    if (parts.length > 0) {
      for (const { via, matched, ...row } of await this.sql.all<ThreadRow & { via: string; matched: string }>(parts.join(' UNION ALL '), params)) {
        (via === 'key' ? byKey : byMessageId).set(matched, row);
      }
    }
    // The first referenced id that names a ticket wins (References lists oldest first).
    const first = ids.find((id) => byMessageId.has(id));
    return { byKey, byReference: first === undefined ? undefined : byMessageId.get(first) };
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
