import type { SqlDialect, SqlExecutor } from './sql.ts';

export interface LeaseRow {
  mailbox: string;
  holder: string;
  expires_at: number;
  acquired_at: number;
  /** Whether the lease had not yet run out when it was read (by the database's clock). */
  live: boolean;
}

/**
 * Mailbox leases: which instance reads which mailbox. A lease is held for `ttlMs` from its last
 * renewal and only its holder can renew it; once it runs out any instance may take it. The
 * database's clock decides, so instances need not agree on the time.
 */
export class LeaseRepo {
  constructor(private readonly sql: SqlExecutor, private readonly dialect: SqlDialect) {}

  /** Takes the lease, or renews it for its holder; false while another holder's lease is live. */
  async acquire(mailbox: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = this.dialect.nowMs;
    const row = await this.sql.get(`INSERT INTO mailbox_leases (mailbox, holder, expires_at, acquired_at) VALUES (?, ?, ${now} + ?, ${now})
      ON CONFLICT (mailbox) DO UPDATE SET
        acquired_at = CASE WHEN mailbox_leases.holder = excluded.holder THEN mailbox_leases.acquired_at ELSE excluded.acquired_at END,
        holder = excluded.holder, expires_at = excluded.expires_at
      WHERE mailbox_leases.holder = excluded.holder OR mailbox_leases.expires_at <= excluded.acquired_at
      RETURNING holder`, [mailbox, holder, ttlMs]);
    return row !== undefined;
  }

  /** Takes the lease from `previous`, whatever its expiry (a holder known to be dead); false if someone else has it now. */
  async takeOver(mailbox: string, previous: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = this.dialect.nowMs;
    return (await this.sql.run(`UPDATE mailbox_leases SET holder = ?, expires_at = ${now} + ?, acquired_at = ${now} WHERE mailbox = ? AND holder = ?`,
      [holder, ttlMs, mailbox, previous])) > 0;
  }

  /** Who holds the mailbox's lease now (not expired), or null when it is free to take. */
  async liveHolderOf(mailbox: string): Promise<string | null> {
    return (await this.sql.get<{ holder: string }>(`SELECT holder FROM mailbox_leases WHERE mailbox = ? AND expires_at > ${this.dialect.nowMs}`, [mailbox]))?.holder ?? null;
  }

  async holderOf(mailbox: string): Promise<string | null> {
    return (await this.sql.get<{ holder: string }>('SELECT holder FROM mailbox_leases WHERE mailbox = ?', [mailbox]))?.holder ?? null;
  }

  /** Gives the lease up (a clean stop), so another instance takes the mailbox at once. */
  async release(mailbox: string, holder: string): Promise<void> {
    await this.sql.run('DELETE FROM mailbox_leases WHERE mailbox = ? AND holder = ?', [mailbox, holder]);
  }

  /**
   * Inside an intake transaction: whether `holder` still holds the mailbox, the row locked until
   * commit. A takeover waits for that commit, so the new holder reads the cursor this
   * transaction moves, and an instance that lost its lease (paused past the TTL) commits nothing.
   */
  async confirm(mailbox: string, holder: string): Promise<boolean> {
    const row = await this.sql.get<{ holder: string }>(`SELECT holder FROM mailbox_leases WHERE mailbox = ? ${this.dialect.forUpdate}`, [mailbox]);
    return row?.holder === holder;
  }

  /**
   * This instance is alive for `ttlMs` more (dead instances' rows are dropped on the way);
   * returns how many instances are alive now, this one included.
   */
  async present(holder: string, name: string, ttlMs: number): Promise<number> {
    const now = this.dialect.nowMs;
    await this.sql.run(`DELETE FROM instances WHERE expires_at <= ${now}`);
    await this.sql.run(`INSERT INTO instances (holder, name, expires_at, started_at) VALUES (?, ?, ${now} + ?, ${now})
      ON CONFLICT (holder) DO UPDATE SET expires_at = excluded.expires_at`, [holder, name, ttlMs]);
    return Number((await this.sql.get<{ n: number }>('SELECT count(*) AS n FROM instances'))?.n ?? 1);
  }

  /** A clean stop: this instance no longer counts. */
  async absent(holder: string): Promise<void> {
    await this.sql.run('DELETE FROM instances WHERE holder = ?', [holder]);
  }

  async list(): Promise<LeaseRow[]> {
    const rows = await this.sql.all<Omit<LeaseRow, 'live'> & { live: number | boolean }>(`SELECT mailbox, holder, expires_at, acquired_at,
      CASE WHEN expires_at > ${this.dialect.nowMs} THEN 1 ELSE 0 END AS live FROM mailbox_leases ORDER BY mailbox`);
    return rows.map((r) => ({ ...r, live: Number(r.live) === 1 }));
  }
}
