import { describe, expect, it } from 'vitest';
import { BusinessCalendar, ContinuousClock, DEFAULT_CALENDAR } from '../../src/domain/business-time.ts';
import { estimateEtr, percentile } from '../../src/domain/etr.ts';
import type { SeverityPolicy } from '../../src/domain/policy.ts';

const SEV1: SeverityPolicy = { id: 1, name: 'Crítica', clock: 'continuous', firstResponseMinutes: 15, resolutionMinutes: 240, escalateAfterMinutes: { 1: 30, 2: 120 }, customerUpdateMinutes: 60, sms: true };
const SEV3: SeverityPolicy = { id: 3, name: 'Media', clock: 'business', firstResponseMinutes: 240, resolutionMinutes: 1620, escalateAfterMinutes: { 1: 480, 2: 1440 }, customerUpdateMinutes: 540, sms: false };
const SETTINGS = { percentile: 80, minHistory: 20, floorPercent: 25 };
const continuous = new ContinuousClock();
const business = new BusinessCalendar(DEFAULT_CALENDAR);
const at = (local: string) => new Date(`${local}:00-06:00`);

describe('percentile (nearest rank)', () => {
  it('takes the smallest value with p % at or below it', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 80)).toBe(8);
    expect(percentile([10, 1, 5], 50)).toBe(5);
    expect(percentile([7], 80)).toBe(7);
    expect(percentile([1, 2], 100)).toBe(2);
    expect(() => percentile([], 80)).toThrow(RangeError);
  });
});

describe('estimateEtr', () => {
  it('uses the resolution target until there is enough history', () => {
    const now = at('2026-11-30T10:00');
    const e = estimateEtr({ severity: SEV1, clock: continuous, now, createdAt: now, pausedMinutes: 0, history: Array(19).fill(60) }, SETTINGS);
    expect(e.source).toBe('target');
    expect(e.at).toEqual(at('2026-11-30T14:00'));
    expect(e.reason).toContain('objetivo de resolución de severidad 1');
  });

  it('uses p80 of comparable resolved tickets once there are enough', () => {
    const now = at('2026-11-30T10:00');
    const history = Array.from({ length: 20 }, (_, i) => (i + 1) * 10); // 10..200 min
    const e = estimateEtr({ severity: SEV1, clock: continuous, now, createdAt: now, pausedMinutes: 0, history }, SETTINGS);
    expect(e.source).toBe('history');
    expect(e.baseMinutes).toBe(160);
    expect(e.at).toEqual(at('2026-11-30T12:40'));
    expect(e.reason).toContain('p80 de 20 tickets resueltos similares');
  });

  it('counts on the business clock and subtracts elapsed time less pauses', () => {
    // Created Friday 17:30, asked on Tuesday 10:00 (Monday 30 Nov is a working day).
    const e = estimateEtr({ severity: SEV3, clock: business, now: at('2026-12-01T10:00'), createdAt: at('2026-11-27T17:30'), pausedMinutes: 60, history: [] }, SETTINGS);
    // elapsed = 30 (Fri) + 540 (Mon) + 60 (Tue) - 60 paused = 570; remaining 1050 from Tue 10:00
    // = 480 to Tue close, 540 Wed, 30 Thu → Thursday 09:30.
    expect(e.at).toEqual(at('2026-12-03T09:30'));
  });

  it('never returns a past ETR: a ticket past its estimate gets the floor share again', () => {
    const created = at('2026-11-30T00:00');
    const now = at('2026-11-30T10:00'); // 600 min elapsed on a 240-min target
    const e = estimateEtr({ severity: SEV1, clock: continuous, now, createdAt: created, pausedMinutes: 0, history: [] }, SETTINGS);
    expect(e.at).toEqual(at('2026-11-30T11:00')); // 25 % of 240
    expect(e.at.getTime()).toBeGreaterThan(now.getTime());
    expect(e.reason).toContain('estimación excedida');
  });

  it('on escalation leaves the new level at least its budget', () => {
    const created = at('2026-11-30T10:00');
    const now = at('2026-11-30T10:30');
    const e = estimateEtr({ severity: SEV1, clock: continuous, now, createdAt: created, pausedMinutes: 0, history: [], escalationBudgetMinutes: 300 }, SETTINGS);
    expect(e.source).toBe('escalation');
    expect(e.at).toEqual(at('2026-11-30T15:30'));
    const short = estimateEtr({ severity: SEV1, clock: continuous, now, createdAt: created, pausedMinutes: 0, history: [], escalationBudgetMinutes: 60 }, SETTINGS);
    expect(short.source).toBe('escalation');
    expect(short.at).toEqual(at('2026-11-30T14:00')); // the remaining 210 min exceed the budget
  });
});
