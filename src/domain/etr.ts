import type { SlaClock } from './business-time.ts';
import type { SeverityPolicy } from './policy.ts';

/**
 * Estimated time to recovery (DESIGN §7). The estimate is "how long tickets like this one take"
 * minus "how long this one has already taken", on the severity's clock:
 *
 * - like this one: a high percentile (default p80) of the business-time resolution of recently
 *   resolved tickets with the same severity and category, once there are enough of them
 *   (default 20) — otherwise the severity's resolution target;
 * - already taken: business minutes since creation, less the time paused waiting for the
 *   customer;
 * - a ticket that has outlived the estimate still gets a future ETR: at least a floor share of
 *   the base (default 25 %), so no message ever shows an ETR in the past.
 *
 * On escalation the new level needs time too: the ETR is never earlier than the end of the new
 * level's budget.
 */

export type EtrSource = 'target' | 'history' | 'agent' | 'escalation';

export interface EtrEstimate {
  at: Date;
  source: EtrSource;
  reason: string;
  /** Total business minutes the estimate assumes for the whole ticket. */
  baseMinutes: number;
}

export interface EtrSettings {
  percentile: number;
  minHistory: number;
  floorPercent: number;
}

export interface EtrInput {
  severity: SeverityPolicy;
  clock: SlaClock;
  now: Date;
  createdAt: Date;
  pausedMinutes: number;
  /** Business minutes to resolution of comparable resolved tickets (any order). */
  history: readonly number[];
  /** Set on escalation: the budget of the level that takes the ticket (null at the top). */
  escalationBudgetMinutes?: number | null;
  why?: string;
}

export function estimateEtr(input: EtrInput, settings: EtrSettings): EtrEstimate {
  const { severity: sev, clock, now } = input;
  const unit = sev.clock === 'business' ? 'min hábiles' : 'min';
  const fromHistory = input.history.length >= settings.minHistory;
  const base = fromHistory ? percentile(input.history, settings.percentile) : sev.resolutionMinutes;
  const baseText = fromHistory
    ? `p${settings.percentile} de ${input.history.length} tickets resueltos similares: ${Math.round(base)} ${unit}`
    : `objetivo de resolución de severidad ${sev.id} (${sev.name}): ${sev.resolutionMinutes} ${unit}`;
  const elapsed = Math.max(0, clock.businessMinutesBetween(input.createdAt, now) - input.pausedMinutes);
  const floor = Math.max(1, (base * settings.floorPercent) / 100);
  let remaining = base - elapsed;
  const parts = [baseText];
  if (elapsed > 0) parts.push(`transcurrido ${Math.round(elapsed)} ${unit}`);
  if (remaining < floor) {
    remaining = floor;
    parts.push(`estimación excedida: se toma ${settings.floorPercent} % más`);
  }
  let source: EtrSource = fromHistory ? 'history' : 'target';
  if (input.escalationBudgetMinutes != null && input.escalationBudgetMinutes > remaining) {
    remaining = input.escalationBudgetMinutes;
    source = 'escalation';
    parts.push(`el nuevo nivel dispone de ${input.escalationBudgetMinutes} ${unit}`);
  } else if (input.escalationBudgetMinutes !== undefined) {
    source = 'escalation';
  }
  if (input.why) parts.unshift(input.why);
  return { at: clock.addBusinessMinutes(now, remaining), source, reason: parts.join('; '), baseMinutes: base };
}

/** Nearest-rank percentile: the smallest value with at least p % of the data at or below it. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}
