import { describe, expect, it } from 'vitest';
import { BusinessCalendar, ContinuousClock, DEFAULT_CALENDAR } from '../../src/domain/business-time.ts';
import { incidentDueActions, incidentEscalationDue, incidentNextActionAt, nextIncidentUpdate, type IncidentSnapshot } from '../../src/domain/incident-clock.ts';
import type { SeverityPolicy } from '../../src/domain/policy.ts';

const SEV1: SeverityPolicy = { id: 1, name: 'Crítica', clock: 'continuous', firstResponseMinutes: 15, resolutionMinutes: 240, escalateAfterMinutes: { 1: 30, 2: 120 }, customerUpdateMinutes: 60, sms: true };
const SEV2: SeverityPolicy = { id: 2, name: 'Alta', clock: 'continuous', firstResponseMinutes: 60, resolutionMinutes: 480, escalateAfterMinutes: { 1: 120, 2: 360 }, customerUpdateMinutes: 240, sms: true };
const continuous = new ContinuousClock();
const business = new BusinessCalendar(DEFAULT_CALENDAR);
const at = (local: string) => new Date(`${local}:00-06:00`);

describe('an incident keeps the pace of its most demanding linked contract', () => {
  it('updates at the shortest cadence, each counted on its own clock', () => {
    const since = at('2026-11-30T17:30'); // Monday, half an hour before business hours end
    expect(nextIncidentUpdate([{ sev: SEV2, clock: continuous }], since)).toEqual(at('2026-11-30T21:30'));
    expect(nextIncidentUpdate([{ sev: SEV2, clock: continuous }, { sev: SEV1, clock: continuous }], since)).toEqual(at('2026-11-30T18:30'));
    // A contract on business hours with a 60-minute cadence: 30 min today, 30 tomorrow from 09:00.
    const onBusiness = { sev: { ...SEV1, clock: 'business' as const }, clock: business };
    expect(nextIncidentUpdate([onBusiness, { sev: SEV2, clock: continuous }], since)).toEqual(at('2026-11-30T21:30'));
    expect(nextIncidentUpdate([onBusiness], since)).toEqual(at('2026-12-01T09:30'));
    // Only on change: no periodic update at all.
    expect(nextIncidentUpdate([{ sev: { ...SEV2, customerUpdateMinutes: null }, clock: continuous }], since)).toBeNull();
    expect(nextIncidentUpdate([], since)).toBeNull();
  });

  it('escalates on the shortest budget any linked contract gives the level holding it; level 3 has none', () => {
    const since = at('2026-11-30T10:00');
    const contracts = [{ sev: SEV2, clock: continuous }, { sev: SEV1, clock: continuous }];
    expect(incidentEscalationDue(contracts, 2, since)).toEqual(at('2026-11-30T12:00'));
    expect(incidentEscalationDue(contracts, 1, since)).toEqual(at('2026-11-30T10:30'));
    expect(incidentEscalationDue(contracts, 3, since)).toBeNull();
  });
});

describe('what falls due for an incident', () => {
  const base: IncidentSnapshot = {
    open: true, level: 2, etrAt: at('2026-11-30T14:00'),
    nextUpdateDueAt: at('2026-11-30T11:00'), nextEscalationDueAt: at('2026-11-30T12:00'), nextDigestAt: at('2026-11-30T10:30'),
  };

  it('selects on the earliest deadline, the ETR included, and nothing once resolved', () => {
    expect(incidentNextActionAt(base)).toEqual(at('2026-11-30T10:30'));
    expect(incidentNextActionAt({ ...base, nextDigestAt: null, nextUpdateDueAt: null, nextEscalationDueAt: null })).toEqual(at('2026-11-30T14:00'));
    // At level 3 the escalation deadline no longer counts.
    expect(incidentNextActionAt({ ...base, level: 3, nextDigestAt: null, nextUpdateDueAt: null })).toEqual(at('2026-11-30T14:00'));
    expect(incidentNextActionAt({ ...base, open: false })).toBeNull();
  });

  it('orders the actions, and an expired ETR stands for the periodic update', () => {
    expect(incidentDueActions(base, at('2026-11-30T10:00'))).toEqual([]);
    expect(incidentDueActions(base, at('2026-11-30T10:30'))).toEqual([{ kind: 'digest' }]);
    expect(incidentDueActions(base, at('2026-11-30T11:00'))).toEqual([{ kind: 'customer_update' }, { kind: 'digest' }]);
    expect(incidentDueActions(base, at('2026-11-30T12:00'))).toEqual([{ kind: 'escalate', from: 2, to: 3 }, { kind: 'customer_update' }, { kind: 'digest' }]);
    expect(incidentDueActions(base, at('2026-11-30T15:00'))).toEqual([
      { kind: 'escalate', from: 2, to: 3 }, { kind: 'etr_expired', etrAt: at('2026-11-30T14:00') }, { kind: 'digest' },
    ]);
    expect(incidentDueActions({ ...base, level: 3 }, at('2026-11-30T12:00'))).toEqual([{ kind: 'customer_update' }, { kind: 'digest' }]);
    expect(incidentDueActions({ ...base, open: false }, at('2026-11-30T15:00'))).toEqual([]);
  });
});
