import { prepared, type Db } from './database.ts';

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
  constructor(private readonly db: Db) {}

  /** The call's row, created on first sight (any webhook may be the first to arrive). */
  touch(callSid: string, from: { raw: string | null; e164: string | null }, now: number): CallRow {
    prepared(this.db, `INSERT INTO calls (call_sid, from_raw, from_e164, status, status_rank, created_at, updated_at)
      VALUES (?, ?, ?, 'in-progress', 3, ?, ?) ON CONFLICT(call_sid) DO NOTHING`).run(callSid, from.raw, from.e164, now, now);
    return this.bySid(callSid) as CallRow;
  }

  bySid(callSid: string): CallRow | undefined {
    return prepared(this.db, 'SELECT * FROM calls WHERE call_sid = ?').get(callSid) as CallRow | undefined;
  }

  /** Moves the status forward only; returns whether it changed. */
  advanceStatus(callSid: string, status: string, durationSeconds: number | null, now: number): boolean {
    const rank = CALL_STATUS_RANK[status] ?? -1;
    if (rank < 0) return false;
    return prepared(this.db, `UPDATE calls SET status = ?, status_rank = ?, duration_seconds = coalesce(?, duration_seconds), updated_at = ?
      WHERE call_sid = ? AND status_rank < ?`).run(status, rank, durationSeconds, now, callSid, rank).changes > 0;
  }

  update(callSid: string, fields: Partial<Pick<CallRow, 'menu_choice' | 'speech' | 'speech_confidence' | 'recording_sid' | 'recording_url' | 'recording_seconds' | 'ticket_id' | 'abandoned' | 'callback_requested'>>, now: number): void {
    const cols = Object.keys(fields);
    if (cols.length === 0) return;
    prepared(this.db, `UPDATE calls SET ${cols.map((c) => `${c} = @${c}`).join(', ')}, updated_at = @now WHERE call_sid = @sid`)
      .run({ ...fields, now, sid: callSid });
  }

  /** An abandoned call from the same number with a call-back already requested since `since`. */
  recentCallbackFrom(e164: string, since: number): CallRow | undefined {
    return prepared(this.db, 'SELECT * FROM calls WHERE from_e164 = ? AND callback_requested = 1 AND created_at >= ? ORDER BY id DESC LIMIT 1').get(e164, since) as CallRow | undefined;
  }
}
