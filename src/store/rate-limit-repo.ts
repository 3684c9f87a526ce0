import type { SqlExecutor } from './sql.ts';

/**
 * Fixed-window request counters for the web's rate limits, in the database so that every
 * instance behind a load balancer counts the same requests. `now` comes from the caller (the
 * shell's clock), like every other time the desk stores.
 */
export class RateLimitRepo {
  constructor(private readonly sql: SqlExecutor) {}

  /** Counts one request under `key`; returns the count in the current window and when it ends. */
  async hit(key: string, windowMs: number, now: number): Promise<{ hits: number; resetsAt: number }> {
    // A window that has ended starts over with this request; otherwise the count goes up.
    const row = await this.sql.get<{ hits: number; window_start: number; window_ms: number }>(`INSERT INTO rate_limits (key, hits, window_start, window_ms) VALUES (?, 1, ?, ?)
      ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN rate_limits.window_start + rate_limits.window_ms <= excluded.window_start THEN 1 ELSE rate_limits.hits + 1 END,
        window_start = CASE WHEN rate_limits.window_start + rate_limits.window_ms <= excluded.window_start THEN excluded.window_start ELSE rate_limits.window_start END,
        window_ms = excluded.window_ms
      RETURNING hits, window_start, window_ms`, [key, now, windowMs]) as { hits: number; window_start: number; window_ms: number };
    return { hits: Number(row.hits), resetsAt: Number(row.window_start) + Number(row.window_ms) };
  }

  /** The count under `key` without counting a request (0 when its window has ended). */
  async peek(key: string, now: number): Promise<{ hits: number; resetsAt: number }> {
    const row = await this.sql.get<{ hits: number; window_start: number; window_ms: number }>('SELECT hits, window_start, window_ms FROM rate_limits WHERE key = ?', [key]);
    if (!row || Number(row.window_start) + Number(row.window_ms) <= now) return { hits: 0, resetsAt: now };
    return { hits: Number(row.hits), resetsAt: Number(row.window_start) + Number(row.window_ms) };
  }

  /** Drops counters whose window has ended (the sweep calls it); returns how many. */
  async prune(now: number): Promise<number> {
    return this.sql.run('DELETE FROM rate_limits WHERE window_start + window_ms <= ?', [now]);
  }
}
