import type { SqlDialect, SqlExecutor } from './sql.ts';

export interface CallRow {
  id: number;
  call_sid: string;
  from_raw: string | null;
  from_e164: string | null;
  status: string;
  status_rank: number;
  menu_choice: string | null;
  speech: string | null;
  speech_confidence: number | null;
  recording_sid: string | null;
  recording_url: string | null;
  recording_seconds: number | null;
  duration_seconds: number | null;
  ticket_id: number | null;
  abandoned: number;
  callback_requested: number;
  created_at: number;
  updated_at: number;
}

export type CallUpdate = Partial<Pick<CallRow, 'menu_choice' | 'speech' | 'speech_confidence' | 'recording_sid' | 'recording_url' | 'recording_seconds' | 'ticket_id' | 'abandoned' | 'callback_requested'>>;

const UPDATABLE = new Set<string>(['menu_choice', 'speech', 'speech_confidence', 'recording_sid', 'recording_url', 'recording_seconds', 'ticket_id', 'abandoned', 'callback_requested']);

/**
 * Twilio's call statuses in the order a call lives through them. A callback may arrive late or
 * twice; a status only replaces one of lower rank, so the state never moves backwards.
 * (https://www.twilio.com/docs/voice/api/call-resource#call-status-values)
 */
export const CALL_STATUS_RANK: Record<string, number> = {
  queued: 0, initiated: 1, ringing: 2, 'in-progress': 3, answered: 3,
  completed: 9, busy: 9, 'no-answer': 9, failed: 9, canceled: 9,
};

export class CallRepo {
  constructor(private readonly sql: SqlExecutor, private readonly dialect: SqlDialect) {}

  /**
   * The call's row, created on first sight (any webhook may be the first to arrive), and locked
   * for the caller's transaction: two instances handling the same CallSid (Twilio retries, a
   * status callback racing the gather) take turns, so one ticket comes of one call.
   */
  async touch(callSid: string, from: { raw: string | null; e164: string | null }, now: number): Promise<CallRow> {
    await this.sql.run(`INSERT INTO calls (call_sid, from_raw, from_e164, status, status_rank, created_at, updated_at)
      VALUES (?, ?, ?, 'in-progress', 3, ?, ?) ON CONFLICT (call_sid) DO NOTHING`, [callSid, from.raw, from.e164, now, now]);
    return await this.lockedBySid(callSid) as CallRow;
  }

  /** The row, locked until the transaction ends. */
  async lockedBySid(callSid: string): Promise<CallRow | undefined> {
    return this.sql.get<CallRow>(`SELECT * FROM calls WHERE call_sid = ? ${this.dialect.forUpdate}`, [callSid]);
  }

  async bySid(callSid: string): Promise<CallRow | undefined> {
    return this.sql.get<CallRow>('SELECT * FROM calls WHERE call_sid = ?', [callSid]);
  }

  /** Moves the status forward only; returns whether it changed. */
  async advanceStatus(callSid: string, status: string, durationSeconds: number | null, now: number): Promise<boolean> {
    const rank = CALL_STATUS_RANK[status] ?? -1;
    if (rank < 0) return false;
    return (await this.sql.run(`UPDATE calls SET status = ?, status_rank = ?, duration_seconds = coalesce(?, duration_seconds), updated_at = ?
      WHERE call_sid = ? AND status_rank < ?`, [status, rank, durationSeconds, now, callSid, rank])) > 0;
  }

  async update(callSid: string, fields: CallUpdate, now: number): Promise<void> {
    const cols = Object.keys(fields).filter((c) => UPDATABLE.has(c));
    if (cols.length === 0) return;
    const values = cols.map((c) => ((fields as Record<string, unknown>)[c] ?? null) as string | number | null);
    await this.sql.run(`UPDATE calls SET ${cols.map((c) => `${c} = ?`).join(', ')}, updated_at = ? WHERE call_sid = ?`, [...values, now, callSid]);
  }

  /** An abandoned call from the same number with a call-back already requested since `since`. */
  async recentCallbackFrom(e164: string, since: number): Promise<CallRow | undefined> {
    return this.sql.get<CallRow>('SELECT * FROM calls WHERE from_e164 = ? AND callback_requested = 1 AND created_at >= ? ORDER BY id DESC LIMIT 1', [e164, since]);
  }

  async count(): Promise<number> {
    return Number((await this.sql.get<{ n: number }>('SELECT count(*) AS n FROM calls'))?.n ?? 0);
  }
}
