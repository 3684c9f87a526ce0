import { prepared, type Db } from './database.ts';

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
  private readonly cursorGet;
  private readonly cursorSet;

  constructor(private readonly db: Db) {
    this.cursorGet = db.prepare('SELECT uid_validity AS uidValidity, last_uid AS lastUid FROM mailbox_cursors WHERE mailbox = ?');
    // The cursor only moves forward within one UIDVALIDITY; a new validity replaces it.
    this.cursorSet = db.prepare(`INSERT INTO mailbox_cursors (mailbox, uid_validity, last_uid, updated_at) VALUES (@mailbox, @uidValidity, @uid, @now)
      ON CONFLICT(mailbox) DO UPDATE SET
        last_uid = CASE WHEN uid_validity = excluded.uid_validity THEN max(last_uid, excluded.last_uid) ELSE excluded.last_uid END,
        uid_validity = excluded.uid_validity, updated_at = excluded.updated_at`);
  }

  cursor(mailbox: string): { uidValidity: number; lastUid: number } | null {
    return (this.cursorGet.get(mailbox) as { uidValidity: number; lastUid: number } | undefined) ?? null;
  }

  advanceCursor(mailbox: string, uidValidity: number, uid: number, now: number): void {
    this.cursorSet.run({ mailbox, uidValidity, uid, now });
  }

  /** Counts one more failed attempt at a raw message; returns the total. */
  recordFailure(rawSha: string, error: string, now: number): number {
    const row = prepared(this.db, `INSERT INTO intake_failures (raw_sha256, attempts, last_error, updated_at) VALUES (?, 1, ?, ?)
      ON CONFLICT(raw_sha256) DO UPDATE SET attempts = attempts + 1, last_error = excluded.last_error, updated_at = excluded.updated_at
      RETURNING attempts`).get(rawSha, error, now) as { attempts: number };
    return row.attempts;
  }

  clearFailures(rawSha: string): void {
    prepared(this.db, 'DELETE FROM intake_failures WHERE raw_sha256 = ?').run(rawSha);
  }

  /** Quarantines a raw message; idempotent while an open entry for the same content exists. */
  quarantine(q: { origin: string; mailbox: string | null; rawSha: string; reason: string; detail: string | null }, now: number): number {
    const existing = prepared(this.db, 'SELECT id FROM quarantine WHERE raw_sha256 = ? AND resolved_at IS NULL').get(q.rawSha) as { id: number } | undefined;
    if (existing) return existing.id;
    return Number(prepared(this.db, 'INSERT INTO quarantine (origin, mailbox, raw_sha256, reason, detail, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(q.origin, q.mailbox, q.rawSha, q.reason, q.detail, now).lastInsertRowid);
  }

  quarantined(id: number): QuarantineRow | undefined {
    return prepared(this.db, 'SELECT * FROM quarantine WHERE id = ?').get(id) as QuarantineRow | undefined;
  }

  listQuarantine(includeResolved = false): QuarantineRow[] {
    return prepared(this.db, `SELECT * FROM quarantine ${includeResolved ? '' : 'WHERE resolved_at IS NULL'} ORDER BY id`).all() as QuarantineRow[];
  }

  resolveQuarantine(id: number, now: number): void {
    prepared(this.db, 'UPDATE quarantine SET resolved_at = ?, retried_at = ? WHERE id = ?').run(now, now, id);
  }

  markRetried(id: number, now: number, detail: string): void {
    prepared(this.db, 'UPDATE quarantine SET retried_at = ?, detail = ? WHERE id = ?').run(now, detail, id);
  }

  isSuppressed(address: string): boolean {
    return prepared(this.db, 'SELECT 1 FROM suppressed_addresses WHERE address = ?').get(address.toLowerCase()) !== undefined;
  }

  suppress(address: string, reason: string, status: string | null, sourceMessageId: string | null, now: number): void {
    prepared(this.db, `INSERT INTO suppressed_addresses (address, reason, status, source_message_id, created_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(address) DO NOTHING`).run(address.toLowerCase(), reason, status, sourceMessageId, now);
  }
}
