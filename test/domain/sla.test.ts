import { describe, expect, it } from 'vitest';
import { BusinessCalendar, ContinuousClock, DEFAULT_CALENDAR } from '../../src/domain/business-time.ts';
import type { SeverityPolicy } from '../../src/domain/policy.ts';
import { dueActions, initialDeadlines, nextActionAt, pauseDeadlines, resumeDeadlines, type SlaSnapshot } from '../../src/domain/sla.ts';

const SEV1: SeverityPolicy = { id: 1, name: 'Crítica', clock: 'continuous', firstResponseMinutes: 15, resolutionMinutes: 240, escalateAfterMinutes: { 1: 30, 2: 120 }, customerUpdateMinutes: 60, sms: true };
const SEV4: SeverityPolicy = { id: 4, name: 'Baja', clock: 'business', firstResponseMinutes: 540, resolutionMinutes: 2700, escalateAfterMinutes: { 1: 1080, 2: 2700 }, customerUpdateMinutes: null, sms: false };
const continuous = new ContinuousClock();
const business = new BusinessCalendar(DEFAULT_CALENDAR);
const at = (local: string) => new Date(`${local}:00-06:00`);
const S = { warnAtPercent: 80 };

function snapshot(over: Partial<SlaSnapshot>): SlaSnapshot {
  return {
    state: 'nuevo', level: 1, etrAt: at('2026-12-31T00:00'), firstRespondedAt: null, firstResponseBreachedAt: null, resolutionBreachedAt: null,
    warningDueAt: null, nextEscalationDueAt: null, nextUpdateDueAt: null, firstResponseDueAt: null, resolutionDueAt: null, ...over,
  };
}

describe('initial deadlines', () => {
  it('puts a severity-1 ticket on the 24x7 clock', () => {
    const d = initialDeadlines(SEV1, continuous, at('2026-11-16T03:00'), S);
    expect(d).toEqual({
      firstResponseDueAt: at('2026-11-16T03:15'), warningDueAt: at('2026-11-16T03:24'), nextEscalationDueAt: at('2026-11-16T03:30'),
      nextUpdateDueAt: at('2026-11-16T04:00'), resolutionDueAt: at('2026-11-16T07:00'),
    });
  });

  it('puts a severity-4 ticket on business hours, with no periodic update', () => {
    const d = initialDeadlines(SEV4, business, at('2026-11-27T17:00'), S); // Friday 17:00
    expect(d.firstResponseDueAt).toEqual(at('2026-11-30T17:00')); // 60 Fri + 480 Mon
    expect(d.nextUpdateDueAt).toBeNull();
    expect(d.warningDueAt).toEqual(at('2026-12-01T13:24')); // 864 business minutes: 60 Fri + 540 Mon + 264 Tue
  });
});

describe('nextActionAt', () => {
  it('is the earliest pending deadline, ETR included', () => {
    expect(nextActionAt(snapshot({ nextUpdateDueAt: at('2026-12-01T10:00'), resolutionDueAt: at('2026-12-01T09:00') }))).toEqual(at('2026-12-01T09:00'));
    expect(nextActionAt(snapshot({ etrAt: at('2026-11-30T08:00'), resolutionDueAt: at('2026-12-01T09:00') }))).toEqual(at('2026-11-30T08:00'));
  });

  it('skips deadlines already met or breached, and closed or paused tickets', () => {
    const s = snapshot({ firstResponseDueAt: at('2026-11-30T08:00'), firstRespondedAt: at('2026-11-30T07:00'), resolutionDueAt: at('2026-11-30T09:00'), resolutionBreachedAt: at('2026-11-30T09:00') });
    expect(nextActionAt(s)).toEqual(at('2026-12-31T00:00'));
    expect(nextActionAt({ ...s, state: 'resuelto' })).toBeNull();
    expect(nextActionAt({ ...s, state: 'esperando_cliente' })).toBeNull();
  });
});

describe('dueActions', () => {
  const now = at('2026-11-30T12:00');
  it('lists what is due in order', () => {
    const s = snapshot({ firstResponseDueAt: at('2026-11-30T11:00'), warningDueAt: at('2026-11-30T11:50'), nextEscalationDueAt: at('2026-11-30T12:30'), nextUpdateDueAt: at('2026-11-30T12:00') });
    expect(dueActions(s, now).map((a) => a.kind)).toEqual(['first_response_breach', 'warn', 'customer_update']);
  });

  it('drops the warning, the update and the ETR expiry when the escalation itself is due', () => {
    const s = snapshot({ warningDueAt: at('2026-11-30T11:00'), nextEscalationDueAt: at('2026-11-30T11:30'), nextUpdateDueAt: at('2026-11-30T11:00'), etrAt: at('2026-11-30T11:00') });
    expect(dueActions(s, now)).toEqual([{ kind: 'escalate', from: 1, to: 2 }]);
  });

  it('never escalates past level 3; the resolution breach tells the responsables instead', () => {
    const s = snapshot({ level: 3, nextEscalationDueAt: at('2026-11-30T11:00'), resolutionDueAt: at('2026-11-30T11:30') });
    expect(dueActions(s, now).map((a) => a.kind)).toEqual(['resolution_breach']);
  });

  it('re-estimates an expired ETR instead of sending an update with a past date', () => {
    const s = snapshot({ etrAt: at('2026-11-30T11:59'), nextUpdateDueAt: at('2026-11-30T11:00') });
    expect(dueActions(s, now).map((a) => a.kind)).toEqual(['etr_expired']);
  });

  it('does nothing for a ticket that is not open', () => {
    expect(dueActions(snapshot({ state: 'esperando_cliente', nextEscalationDueAt: at('2026-11-30T11:00') }), now)).toEqual([]);
  });
});

describe('pause and resume', () => {
  it('shifts every deadline by the time paused, on the business clock', () => {
    const d = initialDeadlines(SEV4, business, at('2026-11-30T10:00'), S);
    const remaining = pauseDeadlines(d, business, at('2026-11-30T12:00')); // Monday noon
    const resumed = resumeDeadlines(remaining, business, at('2026-12-02T12:00')); // Wednesday noon: two business days later
    expect(resumed.firstResponseDueAt).toEqual(at('2026-12-03T10:00')); // was Tuesday 10:00
    expect(resumed.nextUpdateDueAt).toBeNull();
    expect(business.businessMinutesBetween(at('2026-12-02T12:00'), resumed.resolutionDueAt!)).toBe(business.businessMinutesBetween(at('2026-11-30T12:00'), d.resolutionDueAt!));
  });
});
