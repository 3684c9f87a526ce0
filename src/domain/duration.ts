/**
 * Durations in configuration: `15m`, `4h`, `2d` (calendar days of 24 h) and `3bd` (business
 * days). A business day is a configured number of business minutes (540 for 09:00–18:00), so
 * `3bd` means "27 business hours" and is only meaningful on a business clock.
 */
export interface Duration {
  minutes: number;
  /** The text it was written as, for messages and explanations. */
  text: string;
}

const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|bd)\s*$/i;

/** Parses a duration; returns null for anything malformed (config validation reports it). */
export function parseDuration(text: string, businessDayMinutes: number): Duration | null {
  const m = PATTERN.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  const factor = unit === 'h' ? 60 : unit === 'd' ? 1440 : unit === 'bd' ? businessDayMinutes : 1;
  const minutes = Math.round(n * factor);
  return Number.isFinite(minutes) && minutes > 0 ? { minutes, text: text.trim() } : null;
}
