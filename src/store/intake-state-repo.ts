import { placeholders, type SqlDialect, type SqlValue } from './sql.ts';
import { OUTBOX_TABLE, type TransactionScope } from './transaction-scope.ts';
import type { ContactRow } from '../domain/ticket.ts';

export interface QuarantineRow {
  id: number;
  origin: string;
  mailbox: string | null;
  raw_sha256: string;
  reason: string;
  detail: string | null;
  created_at: number;
  retried_at: number | null;
  resolved_at: number | null;
}

/** Mailbox cursors, processing failures, quarantine and suppressed addresses. */
export class IntakeStateRepo {
  constructor(private readonly sql: TransactionScope, private readonly dialect: SqlDialect) {}

  async cursor(mailbox: string): Promise<{ uidValidity: number; lastUid: number } | null> {
    const row = await this.sql.get<{ uidValidity: number; lastUid: number }>('SELECT uid_validity AS "uidValidity", last_uid AS "lastUid" FROM mailbox_cursors WHERE mailbox = ?', [mailbox]);
    return row ? { uidValidity: Number(row.uidValidity), lastUid: Number(row.lastUid) } : null;
  }

  /** The cursor only moves forward within one UIDVALIDITY; a new validity replaces it. */
  async advanceCursor(mailbox: string, uidValidity: number, uid: number, now: number): Promise<void> {
    await this.sql.run(`INSERT INTO mailbox_cursors (mailbox, uid_validity, last_uid, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (mailbox) DO UPDATE SET
        last_uid = CASE WHEN mailbox_cursors.uid_validity = excluded.uid_validity THEN ${this.dialect.greatest('mailbox_cursors.last_uid', 'excluded.last_uid')} ELSE excluded.last_uid END,
        uid_validity = excluded.uid_validity, updated_at = excluded.updated_at`, [mailbox, uidValidity, uid, now]);
  }

  /** Counts one more failed attempt at a raw message; returns the total. */
  async recordFailure(rawSha: string, error: string, now: number): Promise<number> {
    const row = await this.sql.get<{ attempts: number }>(`INSERT INTO intake_failures (raw_sha256, attempts, last_error, updated_at) VALUES (?, 1, ?, ?)
      ON CONFLICT (raw_sha256) DO UPDATE SET attempts = intake_failures.attempts + 1, last_error = excluded.last_error, updated_at = excluded.updated_at
      RETURNING attempts`, [rawSha, error, now]);
    return Number(row?.attempts ?? 1);
  }

  /** Forgets the failed attempts at these raw messages (they went through). */
  async clearFailures(...rawShas: string[]): Promise<void> {
    if (rawShas.length === 0) return;
    await this.sql.run(`DELETE FROM intake_failures WHERE raw_sha256 IN (${placeholders(rawShas.length)})`, rawShas);
  }

  /**
   * Quarantines a raw message; while an open entry for the same content exists, returns that
   * one. One upsert on the partial unique index, so two instances cannot open two entries.
   */
  async quarantine(q: { origin: string; mailbox: string | null; rawSha: string; reason: string; detail: string | null }, now: number): Promise<number> {
    const row = await this.sql.get<{ id: number }>(`INSERT INTO quarantine (origin, mailbox, raw_sha256, reason, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (raw_sha256) WHERE resolved_at IS NULL DO UPDATE SET raw_sha256 = excluded.raw_sha256
      RETURNING id`, [q.origin, q.mailbox, q.rawSha, q.reason, q.detail, now]);
    return Number((row as { id: number }).id);
  }

  async quarantined(id: number): Promise<QuarantineRow | undefined> {
    return this.sql.get<QuarantineRow>('SELECT * FROM quarantine WHERE id = ?', [id]);
  }

  async listQuarantine(includeResolved = false): Promise<QuarantineRow[]> {
    return this.sql.all<QuarantineRow>(`SELECT * FROM quarantine ${includeResolved ? '' : 'WHERE resolved_at IS NULL'} ORDER BY id`);
  }

  async resolveQuarantine(id: number, now: number): Promise<void> {
    await this.sql.run('UPDATE quarantine SET resolved_at = ?, retried_at = ? WHERE id = ?', [now, now, id]);
  }

  /** Opens a resolved entry again (a retry that did not take), unless the content is open elsewhere. */
  async reopenQuarantine(id: number): Promise<void> {
    await this.sql.run(`UPDATE quarantine SET resolved_at = NULL WHERE id = ?
      AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.raw_sha256 = quarantine.raw_sha256 AND q.resolved_at IS NULL)`, [id]);
  }

  async markRetried(id: number, now: number, detail: string): Promise<void> {
    await this.sql.run('UPDATE quarantine SET retried_at = ?, detail = ? WHERE id = ?', [now, detail, id]);
  }

  /**
   * What the intake decision needs to know about a message's sender and thread, in one round
   * trip: whether the sender is suppressed, how many automatic replies (`autoReplyMoments`) and
   * agent-error notices went to them since `since`, when the thread's ticket last got a
   * follow-up acknowledgment, and which ticket the message a bounce reports belonged to. A null
   * argument makes its answer empty.
   */
  /**
   * What deciding about one inbound message needs to know, in one read. The outbox rows this
   * transaction queued and has not written yet (an earlier message of the same batch) count as
   * well, from memory: reading them would first send them, a round trip per message.
   */
  async senderFacts(q: { sender: string | null; agent: string | null; autoReplyMoments: readonly string[]; since: number; ticketId: number | null; bouncedMessageId: string | null }): Promise<SenderFacts> {
    const sender = q.sender?.toLowerCase() ?? null;
    const agent = q.agent?.toLowerCase() ?? null;
    const row = await this.sql.getBeside<Record<'suppressed' | 'auto_replies' | 'agent_errors' | 'last_followup_ack' | 'bounced_ticket' | 'contact_id', number | null>
      & Record<'contact_email' | 'contact_phone' | 'contact_name' | 'contact_organisation', string | null>>(OUTBOX_TABLE, `SELECT
        (SELECT count(*) FROM suppressed_addresses WHERE address = ?) AS suppressed,
        (SELECT count(*) FROM outbox WHERE recipient = ? AND ${q.autoReplyMoments.length === 0 ? '1 = 0' : `moment IN (${placeholders(q.autoReplyMoments.length)})`} AND created_at >= ?) AS auto_replies,
        (SELECT count(*) FROM outbox WHERE recipient = ? AND moment = 'agent-error' AND created_at >= ?) AS agent_errors,
        (SELECT max(created_at) FROM outbox WHERE ticket_id = ? AND moment IN ('ack-followup', 'ack-incident')) AS last_followup_ack,
        (SELECT ticket_id FROM outbox WHERE message_id = ?) AS bounced_ticket,
        c.id AS contact_id, c.email AS contact_email, c.phone AS contact_phone, c.name AS contact_name, c.organisation AS contact_organisation
      FROM (SELECT 1 AS one) AS one LEFT JOIN contacts c ON c.email = ?`, [
      sender,
      sender, ...q.autoReplyMoments, q.since,
      agent, q.since,
      q.ticketId,
      q.bouncedMessageId,
      sender,
    ]);
    const n = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));
    const facts: SenderFacts = {
      suppressed: Number(row?.suppressed ?? 0) > 0,
      recentAutoReplies: Number(row?.auto_replies ?? 0),
      recentAgentErrors: Number(row?.agent_errors ?? 0),
      lastFollowUpAckAt: n(row?.last_followup_ack),
      bouncedTicketId: n(row?.bounced_ticket),
      contact: row?.contact_id === null || row?.contact_id === undefined ? null : {
        id: Number(row.contact_id), email: row.contact_email, phone: row.contact_phone, name: row.contact_name ?? '', organisation: row.contact_organisation,
      },
    };
    for (const r of this.sql.waiting(OUTBOX_TABLE)) {
      const w = waitingOutbox(r);
      if (w.recipient === sender && q.autoReplyMoments.includes(w.moment) && w.createdAt >= q.since) facts.recentAutoReplies++;
      if (w.recipient === agent && w.moment === 'agent-error' && w.createdAt >= q.since) facts.recentAgentErrors++;
      if (q.ticketId !== null && w.ticketId === q.ticketId && (w.moment === 'ack-followup' || w.moment === 'ack-incident')) facts.lastFollowUpAckAt = Math.max(facts.lastFollowUpAckAt ?? w.createdAt, w.createdAt);
      if (q.bouncedMessageId !== null && facts.bouncedTicketId === null && w.messageId === q.bouncedMessageId) facts.bouncedTicketId = w.ticketId;
    }
    return facts;
  }

  async isSuppressed(address: string): Promise<boolean> {
    return (await this.sql.get('SELECT 1 AS x FROM suppressed_addresses WHERE address = ?', [address.toLowerCase()])) !== undefined;
  }

  async suppress(address: string, reason: string, status: string | null, sourceMessageId: string | null, now: number): Promise<void> {
    await this.sql.run(`INSERT INTO suppressed_addresses (address, reason, status, source_message_id, created_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (address) DO NOTHING`, [address.toLowerCase(), reason, status, sourceMessageId, now]);
  }
}

export interface SenderFacts {
  suppressed: boolean;
  recentAutoReplies: number;
  recentAgentErrors: number;
  lastFollowUpAckAt: number | null;
  bouncedTicketId: number | null;
  /** The sender's contact, when the desk has one. */
  contact: ContactRow | null;
}

/** An outbox row waiting in the transaction (`OUTBOX_TABLE`'s column order), by name. */
function waitingOutbox(r: readonly SqlValue[]): { ticketId: number | null; moment: string; recipient: string; messageId: string | null; createdAt: number } {
  const [, ticketId, , moment, recipient, messageId, , , , createdAt] = r;
  return { ticketId: ticketId === null ? null : Number(ticketId), moment: String(moment), recipient: String(recipient), messageId: messageId === null ? null : String(messageId), createdAt: Number(createdAt) };
}
