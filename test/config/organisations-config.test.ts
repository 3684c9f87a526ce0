import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load-config.ts';

const REPO_CONFIG = join(import.meta.dirname, '../../config');
const DEFAULT_YAML = readFileSync(join(REPO_CONFIG, 'default.yaml'), 'utf8');

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

/** A config dir with the repo's default.yaml and the given organisations.yaml. */
function withOrganisations(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mesa-orgs-config-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'default.yaml'), DEFAULT_YAML);
  writeFileSync(join(dir, 'organisations.yaml'), yaml);
  return dir;
}

function problems(yaml: string): string[] {
  try {
    loadConfig(withOrganisations(yaml));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

const PEOPLE = `
people:
  - { name: Sofía Banco, email: sofia@proditmapac.com }
`;

describe('organisations.yaml', () => {
  it('loads organisations, contracts in minutes and matrices with their people resolved', () => {
    const p = loadConfig(withOrganisations(`${PEOPLE}
organisations:
  - id: bnorte
    name: Banco del Norte
    match: { domains: [BNorte.MX], addresses: [Ops@Gmail.com], phones: ["+528112345678", "+52818*"] }
    contract:
      until: 2027-06-30
      severities:
        3: { clock: continuous, firstResponse: 30m, resolution: 8h, escalateAfter: { 1: 1h }, customerUpdateEvery: null, sms: true }
matrices:
  - { id: banco, organisation: bnorte, levels: { 1: [sofia@proditmapac.com] } }
`));
    expect(p.organisations).toEqual([{
      id: 'bnorte', name: 'Banco del Norte',
      match: { domains: ['bnorte.mx'], addresses: ['ops@gmail.com'], phones: ['+528112345678', '+52818*'] },
      contract: { until: '2027-06-30', calendar: null, customer: null, severities: { 3: { clock: 'continuous', sms: true, firstResponseMinutes: 30, resolutionMinutes: 480, customerUpdateMinutes: null, escalateAfterMinutes: { 1: 60 } } }, sharedMessages: true },
    }]);
    expect(p.matrices).toEqual([{ id: 'banco', organisation: 'bnorte', category: null, levels: { 1: [expect.objectContaining({ name: 'Sofía Banco' })] }, fallback: null }]);
    // Without the file: none, and the desk runs on its defaults.
    expect(loadConfig(REPO_CONFIG).organisations).toEqual([]);
  });

  it('refuses what it cannot apply, naming the file, line and key', () => {
    const found = problems(`${PEOPLE}
organisations:
  - id: uno
    name: Uno
    match: { domains: [bnorte.mx], phones: ["+52 81 1234 5678", "+5281x*"] }
    contract:
      severities:
        1: { firstResponse: 2bd }
  - id: dos
    name: Dos
    match: { domains: [bnorte.mx] }
  - id: tres
    name: Tres
    match: {}
matrices:
  - { id: m1, organisation: nadie, levels: { 1: [Pedro Nadie] } }
  - { id: m2, category: seguridad, fallback: m9 }
  - { id: m3, category: seguridad }
  - { id: m4 }
`);
    const file = (s: string) => found.find((x) => x.includes(s)) ?? `(none mentions ${s})`;
    expect(file('domain bnorte.mx belongs to two organisations')).toMatch(/organisations\.yaml:\d+: organisations\.1\.match\.domains\.0 \(organisation "dos"\): domain bnorte\.mx belongs to two organisations \("uno" and "dos"\)/);
    expect(file('+52 81 1234 5678')).toMatch(/organisations\.0\.match\.phones\.0 \(organisation "uno"\): "\+52 81 1234 5678" is not a valid phone number in E\.164 form .*did you mean \+528112345678\?/);
    expect(file('+5281x*')).toContain('is not an E.164 prefix');
    expect(file('organisations.0.contract.severities.1.firstResponse')).toContain('business days on a continuous clock');
    expect(file('organisations.2.match')).toContain('has no domain, address or phone');
    expect(file('unknown organisation')).toContain('matrices.0.organisation: unknown organisation "nadie"');
    expect(file('Pedro Nadie')).toContain('matrices.0.levels.1.0: unknown person "Pedro Nadie"');
    expect(file('unknown matrix')).toContain('matrices.1.fallback: unknown matrix "m9"');
    expect(file('are both for')).toContain('matrices "m2" and "m3" are both for * / seguridad');
    expect(file('names neither')).toContain('matrix "m4" names neither an organisation nor a category');
    for (const p of found) expect(p).toMatch(/organisations\.yaml:\d+: /);
  });

  it('resolves a contract\'s own calendar over the desk\'s business hours, and its customer messaging', () => {
    const p = loadConfig(withOrganisations(`
organisations:
  - id: norte
    name: Norte
    match: { domains: [norte.mx] }
    contract:
      calendar: { timeZone: America/Monterrey, weekly: { mon: ["07:00-15:00"] }, extraClosedDates: [2026-12-12] }
      customer: { channel: email, sms: false, updatesFor: [1, 2], digestAt: "08:30", copy: [Coord@Norte.mx] }
`));
    const c = p.organisations[0]!.contract!;
    expect(c.calendar).toEqual({
      timeZone: 'America/Monterrey', weeklyHours: { 1: [{ start: '07:00', end: '15:00' }], 2: [], 3: [], 4: [], 5: [], 6: [], 7: [] },
      holidayCountry: p.businessHours.holidayCountry, extraClosedDates: ['2026-12-12'],
    });
    expect(c.customer).toEqual({ channel: 'email', sms: false, updatesFor: [1, 2], digestAt: '08:30', copy: ['coord@norte.mx'] });
    const bad = problems(`
organisations:
  - id: norte
    name: Norte
    match: { domains: [norte.mx] }
    contract:
      calendar: { timeZone: America/Ciudad_Gotica, weekly: {} }
      customer: { channel: sms, sms: false, digestAt: "8:30" }
`);
    expect(bad.find((x) => x.includes('timeZone'))).toMatch(/organisations\.yaml:\d+: organisations\.0\.contract\.calendar\.timeZone \(organisation "norte"\): unknown IANA time zone/);
    expect(bad.find((x) => x.includes('digestAt'))).toMatch(/organisations\.0\.contract\.customer\.digestAt \(organisation "norte"\): expected HH:MM/);
    const semantic = problems(`
organisations:
  - id: norte
    name: Norte
    match: { domains: [norte.mx] }
    contract:
      calendar: { weekly: {} }
      customer: { channel: sms, sms: false }
`);
    expect(semantic.find((x) => x.includes('never open'))).toMatch(/organisations\.0\.contract\.calendar\.weekly \(organisation "norte"\): the calendar is never open/);
    expect(semantic.find((x) => x.includes('channel'))).toMatch(/organisations\.0\.contract\.customer\.channel \(organisation "norte"\): the agreed channel is sms but sms is false/);
  });

  it('loads the documented example as it is', () => {
    const p = loadConfig(withOrganisations(readFileSync(join(REPO_CONFIG, 'organisations.example.yaml'), 'utf8')));
    expect(p.organisations.map((o) => o.id)).toEqual(['bnorte', 'tarjetas']);
    expect(p.matrices.map((m) => [m.id, m.fallback])).toEqual([['banco', null], ['banco-seguridad', 'banco'], ['seguridad', null]]);
  });

  it('lets a subdomain belong to another organisation than its parent domain', () => {
    const p = loadConfig(withOrganisations(`
organisations:
  - { id: banco, name: Banco, match: { domains: [bnorte.mx] } }
  - { id: tarjetas, name: Tarjetas, match: { domains: [tarjetas.bnorte.mx] } }
`));
    expect(p.organisations.map((o) => o.id)).toEqual(['banco', 'tarjetas']);
  });
});
