import { describe, expect, it } from 'vitest';
import { chooseMatrix, contractInForce, customerChannel, effectiveSeverities, matrixPeople, recogniseOrganisation, type Contract, type CustomerMessaging, type EscalationMatrix, type Organisation } from '../../src/domain/service-terms.ts';
import type { Person, SeverityPolicy } from '../../src/domain/policy.ts';

const org = (id: string, match: Partial<Organisation['match']>, contract: Organisation['contract'] = null): Organisation =>
  ({ id, name: id.toUpperCase(), match: { domains: [], addresses: [], phones: [], ...match }, contract });

const ORGS = [
  org('banco', { domains: ['bnorte.mx'], phones: ['+52818*'] }),
  org('tarjetas', { domains: ['tarjetas.bnorte.mx'], phones: ['+5281899*'] }),
  org('coord', { addresses: ['coordinador@bnorte.mx'], phones: ['+528181234567'] }),
];

describe('recognising a contact\'s organisation', () => {
  it('takes the most specific match: exact address or number, then the longest domain or prefix', () => {
    const of = (email: string | null, phone: string | null = null) => recogniseOrganisation({ email, phone }, ORGS);
    expect(of('ana@bnorte.mx')).toMatchObject({ organisation: { id: 'banco' }, by: 'dominio bnorte.mx' });
    expect(of('ana@mx.bnorte.mx')?.organisation.id).toBe('banco'); // a subdomain of bnorte.mx only
    expect(of('ana@tarjetas.bnorte.mx')).toMatchObject({ organisation: { id: 'tarjetas' }, by: 'dominio tarjetas.bnorte.mx' });
    expect(of('Coordinador@BNorte.mx')).toMatchObject({ organisation: { id: 'coord' }, by: 'dirección coordinador@bnorte.mx' });
    expect(of('ana@notbnorte.mx')).toBeNull(); // not a subdomain: a different name
    expect(of(null, '+528180000000')?.organisation.id).toBe('banco');
    expect(of(null, '+528189900000')?.organisation.id).toBe('tarjetas');
    expect(of(null, '+528181234567')).toMatchObject({ organisation: { id: 'coord' }, by: 'teléfono +528181234567' });
    expect(of(null, '+525512345678')).toBeNull();
    expect(of(null, null)).toBeNull();
  });
});

describe('contracts', () => {
  it('apply through their last day in the desk\'s time zone', () => {
    const c = { until: '2026-11-30', calendar: null, customer: null, severities: {} };
    // 2026-12-01 05:00 UTC is still 23:00 on the 30th in Mexico City.
    expect(contractInForce(c, new Date('2026-12-01T05:00:00Z'), 'America/Mexico_City')).toBe(true);
    expect(contractInForce(c, new Date('2026-12-01T06:00:00Z'), 'America/Mexico_City')).toBe(false);
    expect(contractInForce({ until: null, calendar: null, customer: null, severities: {} }, new Date('2099-01-01T00:00:00Z'), 'America/Mexico_City')).toBe(true);
  });

  it('override only what they name, level budgets one by one', () => {
    const base: SeverityPolicy = { id: 3, name: 'Media', clock: 'business', firstResponseMinutes: 240, resolutionMinutes: 1620, escalateAfterMinutes: { 1: 480, 2: 1440 }, customerUpdateMinutes: 540, sms: false };
    const defaults = { 1: { ...base, id: 1 as const }, 2: { ...base, id: 2 as const }, 3: base, 4: { ...base, id: 4 as const } };
    const s = effectiveSeverities(defaults, { until: null, calendar: null, customer: null, severities: { 3: { clock: 'continuous', firstResponseMinutes: 30, escalateAfterMinutes: { 1: 60 } } } });
    expect(s[3]).toEqual({ ...base, clock: 'continuous', firstResponseMinutes: 30, escalateAfterMinutes: { 1: 60, 2: 1440 } });
    expect(s[2]).toEqual(defaults[2]);
    expect(effectiveSeverities(defaults, null)).toEqual(defaults);
  });
});

describe('the customer\'s channel under a contract', () => {
  const messaging = (m: Partial<NonNullable<Parameters<typeof customerChannel>[0]['messaging']>>) => ({ messaging: { channel: null, sms: true, updatesFor: null, digestAt: null, copy: [], ...m } });
  const both = { email: 'ana@x.mx', phone: '+528112345678' };
  it('is the one the customer used, the agreed one when the contact has it, and never SMS where the contract forbids it', () => {
    expect(customerChannel({ messaging: null }, 'sms', both)).toBe('sms');
    expect(customerChannel(messaging({}), 'sms', both)).toBe('sms');
    expect(customerChannel(messaging({ channel: 'email' }), 'sms', both)).toBe('email');
    expect(customerChannel(messaging({ channel: 'email' }), 'sms', { email: null, phone: both.phone })).toBe('sms');
    expect(customerChannel(messaging({ channel: 'sms' }), 'email', both)).toBe('sms');
    expect(customerChannel(messaging({ channel: 'sms' }), 'email', { email: both.email, phone: null })).toBe('email');
    expect(customerChannel(messaging({ sms: false }), 'sms', { email: null, phone: both.phone })).toBe('email');
  });

  it('leaves per-ticket updates out where the contract sends a digest or excludes the severity', () => {
    const base: SeverityPolicy = { id: 1, name: 'x', clock: 'continuous', firstResponseMinutes: 15, resolutionMinutes: 240, escalateAfterMinutes: {}, customerUpdateMinutes: 60, sms: true };
    const defaults = { 1: base, 2: { ...base, id: 2 as const }, 3: { ...base, id: 3 as const }, 4: { ...base, id: 4 as const } };
    const contract = (customer: CustomerMessaging): Contract => ({ until: null, calendar: null, customer, severities: {} });
    const some = effectiveSeverities(defaults, contract({ channel: null, sms: true, updatesFor: [1, 2], digestAt: null, copy: [] }));
    expect([1, 2, 3, 4].map((s) => some[s as 1].customerUpdateMinutes)).toEqual([60, 60, null, null]);
    const digest = effectiveSeverities(defaults, contract({ channel: null, sms: true, updatesFor: null, digestAt: '08:00', copy: [] }));
    expect([1, 2, 3, 4].map((s) => digest[s as 1].customerUpdateMinutes)).toEqual([null, null, null, null]);
  });
});

describe('escalation matrices', () => {
  const p = (name: string): Person => ({ name, email: `${name}@proditmapac.com`, phone: null });
  const M: EscalationMatrix[] = [
    { id: 'banco', organisation: 'banco', category: null, levels: { 1: [p('sofia')], 2: [] }, fallback: null },
    { id: 'banco-seg', organisation: 'banco', category: 'seguridad', levels: { 2: [p('raul')] }, fallback: 'banco' },
    { id: 'seg', category: 'seguridad', organisation: null, levels: { 1: [p('ines')] }, fallback: 'loop' },
    { id: 'loop', category: 'otra', organisation: null, levels: {}, fallback: 'seg' },
  ];
  const defaults = { 1: { people: [p('ana')] }, 2: { people: [p('beto')] }, 3: { people: [] } };

  it('are chosen organisation + category, then organisation, then category, then the default', () => {
    expect(chooseMatrix(M, 'banco', 'seguridad')?.matrix.id).toBe('banco-seg');
    expect(chooseMatrix(M, 'banco', 'tecnico')).toMatchObject({ matrix: { id: 'banco' }, by: 'organización' });
    expect(chooseMatrix(M, 'acme', 'seguridad')).toMatchObject({ matrix: { id: 'seg' }, by: 'categoría seguridad' });
    expect(chooseMatrix(M, null, 'tecnico')).toBeNull();
  });

  it('fill a level they leave empty from their fallback, down to the levels\' people, even through a loop', () => {
    const who = (id: string | null, level: 1 | 2 | 3) => matrixPeople(id, level, M, defaults);
    expect(who('banco-seg', 2)).toEqual({ people: [p('raul')], from: 'banco-seg' });
    expect(who('banco-seg', 1)).toEqual({ people: [p('sofia')], from: 'banco' });
    expect(who('banco', 2)).toEqual({ people: [p('beto')], from: null }); // an empty list counts as left empty
    expect(who('loop', 2)).toEqual({ people: [p('beto')], from: null });
    expect(who('loop', 1)).toEqual({ people: [p('ines')], from: 'seg' });
    expect(who('desaparecida', 1)).toEqual({ people: [p('ana')], from: null });
    expect(who(null, 3)).toEqual({ people: [], from: null });
  });
});
