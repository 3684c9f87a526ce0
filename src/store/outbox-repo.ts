import { prepared, type Db } from './database.ts';

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
}

/** The outbox: written inside the transaction of the change that causes a message. */
export class OutboxRepo {
  private readonly insertStmt;
  private readonly claimStmt;
  private readonly sentStmt;
  private readonly retryStmt;
  private readonly failStmt;
  private readonly countRecentStmt;

  constructor(private readonly db: Db) {
    this.insertStmt = db.prepare(`INSERT INTO outbox (ticket_id, channel, moment, recipient, message_id, payload_json, status, next_attempt_at, created_at)
      VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`);
    // A claim is a lease: a dispatcher that dies mid-send leaves the row to be taken again once
    // the lease runs out (at-least-once; the Message-ID lets receivers drop the rare duplicate).
    this.claimStmt = db.prepare(`UPDATE outbox SET status = 'sending', lease_until = @leaseUntil, lease_owner = @owner, attempts = attempts + 1
      WHERE id IN (SELECT id FROM outbox
        WHERE (status = 'pending' AND next_attempt_at <= @now) OR (status = 'sending' AND lease_until <= @now)
        ORDER BY next_attempt_at, id LIMIT @limit)
      RETURNING *`);
    this.sentStmt = db.prepare(`UPDATE outbox SET status = 'sent', sent_at = ?, lease_until = NULL, last_error = NULL WHERE id = ? AND status = 'sending'`);
    this.retryStmt = db.prepare(`UPDATE outbox SET status = 'pending', next_attempt_at = ?, lease_until = NULL, last_error = ? WHERE id = ? AND status = 'sending'`);
    this.failStmt = db.prepare(`UPDATE outbox SET status = 'failed', lease_until = NULL, last_error = ? WHERE id = ? AND status = 'sending'`);
    this.countRecentStmt = db.prepare(`SELECT count(*) AS n FROM outbox WHERE recipient = ? AND moment IN (SELECT value FROM json_each(?)) AND created_at >= ?`);
  }

  enqueue(e: NewOutboxEntry, now: number): number {
    return Number(this.insertStmt.run(e.ticketId, e.channel, e.moment, e.recipient.toLowerCase(), e.messageId, JSON.stringify(e.payload), now, now).lastInsertRowid);
  }

  claimDue(now: number, limit: number, leaseMs: number, owner: string): OutboxRow[] {
    return this.claimStmt.all({ now, limit, leaseUntil: now + leaseMs, owner }) as OutboxRow[];
  }

  /** Leases held by dispatchers on `host` (as `host:pid`), for crash recovery at start. */
  leaseOwnersOn(host: string): string[] {
    return (prepared(this.db, `SELECT DISTINCT lease_owner AS o FROM outbox WHERE status = 'sending' AND lease_owner LIKE ? ESCAPE '\\'`)
      .all(`${host.replace(/[%_\\]/g, '\\$&')}:%`) as Array<{ o: string }>).map((r) => r.o);
  }

  /** Returns a dead dispatcher's rows to the queue; they are sent again (at-least-once). */
  releaseLeases(owner: string, now: number): number {
    return prepared(this.db, `UPDATE outbox SET status = 'pending', lease_until = NULL, lease_owner = NULL, next_attempt_at = ? WHERE status = 'sending' AND lease_owner = ?`).run(now, owner).changes;
  }

  markSent(id: number, now: number): void {
    this.sentStmt.run(now, id);
  }

  scheduleRetry(id: number, at: number, error: string): void {
    this.retryStmt.run(at, error, id);
  }

  markFailed(id: number, error: string): void {
    this.failStmt.run(error, id);
  }

  countRecent(recipient: string, moments: string[], since: number): number {
    return (this.countRecentStmt.get(recipient.toLowerCase(), JSON.stringify(moments), since) as { n: number }).n;
  }

  /** The earliest time something becomes due, for the dispatcher's next wake-up. */
  nextDueAt(): number | null {
    const row = prepared(this.db, `SELECT min(CASE WHEN status = 'pending' THEN next_attempt_at ELSE lease_until END) AS t FROM outbox WHERE status IN ('pending','sending')`).get() as { t: number | null };
    return row.t;
  }

  byMessageId(messageId: string): OutboxRow | undefined {
    return prepared(this.db, 'SELECT * FROM outbox WHERE message_id = ?').get(messageId) as OutboxRow | undefined;
  }

  markBounced(id: number, error: string): void {
    prepared(this.db, `UPDATE outbox SET status = 'bounced', last_error = ? WHERE id = ?`).run(error, id);
  }

  /** When a message of `moment` was last queued for a ticket (the follow-up ack's quiet period). */
  lastQueuedAt(ticketId: number, moment: string): number | null {
    return (prepared(this.db, 'SELECT max(created_at) AS t FROM outbox WHERE ticket_id = ? AND moment = ?').get(ticketId, moment) as { t: number | null }).t;
  }

  counts(): Record<OutboxStatus, number> {
    const out: Record<OutboxStatus, number> = { pending: 0, sending: 0, sent: 0, failed: 0, bounced: 0 };
    for (const r of prepared(this.db, 'SELECT status, count(*) AS n FROM outbox GROUP BY status').all() as Array<{ status: OutboxStatus; n: number }>) out[r.status] = r.n;
    return out;
  }
}
