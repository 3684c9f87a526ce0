import type { SqlDialect } from './sql.ts';
import { OUTBOX_TABLE, type TransactionScope } from './transaction-scope.ts';

export type OutboxStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'bounced';

export interface OutboxRow {
  id: number;
  ticket_id: number | null;
  channel: 'email' | 'sms';
  moment: string;
  recipient: string;
  message_id: string | null;
  payload_json: string;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
}

export interface NewOutboxEntry {
  ticketId: number | null;
  channel: 'email' | 'sms';
  moment: string;
  recipient: string;
  messageId: string | null;
  payload: unknown;
  /** Not sent before this instant (epoch ms); absent, at once. */
  notBefore?: number | undefined;
}

export interface OutboxSummaryRow { id: number; moment: string; recipient: string; status: string; attempts: number; last_error: string | null; created_at: number; sent_at: number | null }

/** The outbox: written inside the transaction of the change that causes a message. */
export class OutboxRepo {
  /** `SELECT` of n ids ahead from the outbox's sequence; null where the engine has none (SQLite). */
  private readonly takeIds: string | null;

  constructor(private readonly sql: TransactionScope, private readonly dialect: SqlDialect) {
    const next = dialect.nextId('outbox');
    this.takeIds = next === null ? null : `SELECT ${next} AS id FROM generate_series(1, ?)`;
  }

  /**
   * Queues a message; returns its id. Inside a transaction on an engine that hands out ids
   * ahead, the row waits with the transaction's other appended rows and goes in with them: on
   * PostgreSQL a round trip fewer per message queued.
   */
  async enqueue(e: NewOutboxEntry, now: number): Promise<number> {
    const takeIds = this.takeIds;
    const due = Math.max(now, e.notBefore ?? now);
    if (takeIds !== null && this.sql.inTransaction) {
      const id = await this.sql.reserveId('outbox', takeIds);
      await this.sql.append(OUTBOX_TABLE, [id, e.ticketId, e.channel, e.moment, e.recipient.toLowerCase(), e.messageId, JSON.stringify(e.payload), 'pending', due, now]);
      return id;
    }
    const row = await this.sql.get<{ id: number }>(`INSERT INTO outbox (ticket_id, channel, moment, recipient, message_id, payload_json, status, next_attempt_at, created_at)
      VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING id`, [e.ticketId, e.channel, e.moment, e.recipient.toLowerCase(), e.messageId, JSON.stringify(e.payload), due, now]);
    return Number((row as { id: number }).id);
  }

  /**
   * A claim is a lease: a dispatcher that dies mid-send leaves the row to be taken again once
   * the lease runs out (at-least-once; the Message-ID lets receivers drop the rare duplicate).
   */
  async claimDue(now: number, limit: number, leaseMs: number, owner: string): Promise<OutboxRow[]> {
    return this.sql.all<OutboxRow>(`UPDATE outbox SET status = 'sending', lease_until = ?, lease_owner = ?, attempts = attempts + 1
      WHERE id IN (SELECT id FROM outbox
        WHERE (status = 'pending' AND next_attempt_at <= ?) OR (status = 'sending' AND lease_until <= ?)
        ORDER BY next_attempt_at, id LIMIT ? ${this.dialect.skipLocked})
      RETURNING *`, [now + leaseMs, owner, now, now, limit]);
  }

  /** Leases held by dispatchers on `host` (as `host:pid`), for crash recovery at start. */
  async leaseOwnersOn(host: string): Promise<string[]> {
    return (await this.sql.all<{ o: string }>(`SELECT DISTINCT lease_owner AS o FROM outbox WHERE status = 'sending' AND lease_owner LIKE ? ESCAPE '\\'`,
      [`${host.replace(/[%_\\]/g, '\\$&')}:%`])).map((r) => r.o);
  }

  /** Returns a dead dispatcher's rows to the queue; they are sent again (at-least-once). */
  async releaseLeases(owner: string, now: number): Promise<number> {
    return this.sql.run(`UPDATE outbox SET status = 'pending', lease_until = NULL, lease_owner = NULL, next_attempt_at = ? WHERE status = 'sending' AND lease_owner = ?`, [now, owner]);
  }

  async markSent(id: number, now: number): Promise<void> {
    await this.sql.run(`UPDATE outbox SET status = 'sent', sent_at = ?, lease_until = NULL, last_error = NULL WHERE id = ? AND status = 'sending'`, [now, id]);
  }

  async scheduleRetry(id: number, at: number, error: string): Promise<void> {
    await this.sql.run(`UPDATE outbox SET status = 'pending', next_attempt_at = ?, lease_until = NULL, last_error = ? WHERE id = ? AND status = 'sending'`, [at, error, id]);
  }

  async markFailed(id: number, error: string): Promise<void> {
    await this.sql.run(`UPDATE outbox SET status = 'failed', lease_until = NULL, last_error = ? WHERE id = ? AND status = 'sending'`, [error, id]);
  }

  /** The earliest time something becomes due, for the dispatcher's next wake-up. */
  async nextDueAt(): Promise<number | null> {
    const row = await this.sql.get<{ t: number | null }>(`SELECT min(CASE WHEN status = 'pending' THEN next_attempt_at ELSE lease_until END) AS t FROM outbox WHERE status IN ('pending','sending')`);
    return row?.t === null || row?.t === undefined ? null : Number(row.t);
  }

  async byMessageId(messageId: string): Promise<OutboxRow | undefined> {
    return this.sql.get<OutboxRow>('SELECT * FROM outbox WHERE message_id = ?', [messageId]);
  }

  async markBounced(id: number, error: string): Promise<void> {
    await this.sql.run(`UPDATE outbox SET status = 'bounced', last_error = ? WHERE id = ?`, [error, id]);
  }

  /** A ticket's queued messages, oldest first (for `mesa tickets show`). */
  async forTicket(ticketId: number): Promise<OutboxSummaryRow[]> {
    return this.sql.all<OutboxSummaryRow>('SELECT id, moment, recipient, status, attempts, last_error, created_at, sent_at FROM outbox WHERE ticket_id = ? ORDER BY id', [ticketId]);
  }

  /**
   * Takes back a ticket's notices of one moment not yet tried (a level notice held while a major
   * incident might be forming, superseded by the incident's one notice). Returns how many.
   */
  async withdrawPending(ticketId: number, moment: string): Promise<number> {
    return await this.sql.run(`DELETE FROM outbox WHERE ticket_id = ? AND moment = ? AND status = 'pending' AND attempts = 0`, [ticketId, moment]);
  }

  async counts(): Promise<Record<OutboxStatus, number>> {
    const out: Record<OutboxStatus, number> = { pending: 0, sending: 0, sent: 0, failed: 0, bounced: 0 };
    for (const r of await this.sql.all<{ status: OutboxStatus; n: number }>('SELECT status, count(*) AS n FROM outbox GROUP BY status')) out[r.status] = Number(r.n);
    return out;
  }
}
