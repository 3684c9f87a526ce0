import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { TemplateRenderer } from '../../src/outbound/template-renderer.ts';
import { email, REPO_CONFIG, startTestMesa, type TestMesa } from '../support/mesa-harness.ts';

/**
 * A config reload (what SIGHUP does) while tickets are open: a valid new config applies to new
 * tickets and leaves open ones on their recorded terms; an invalid one changes nothing and says
 * exactly what is wrong; what only a restart can change keeps its running value.
 */

const MIN = 60_000;
const NOW = new Date('2026-11-30T16:00:00Z'); // Monday 10:00 in Mexico City

const LOCAL = `
levels:
  1:
    name: Mesa de Ayuda
    people:
      - { name: Ana Uno, email: ana.uno@proditmapac.com }
`;
const orgs = (firstResponse: string, extra = '') => `
organisations:
  - id: bnorte
    name: Banco del Norte
    match: { domains: [bnorte.mx] }
    contract:
      severities:
        3: { clock: continuous, firstResponse: ${firstResponse}, resolution: 8h }
${extra}`;

describe('reloading the config while tickets are open', () => {
  let t: TestMesa | null = null;
  const dirs: string[] = [];
  afterEach(async () => {
    await t?.stop();
    t = null;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tempDir = (prefix: string): string => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };

  it('applies a valid config to new tickets, keeps open ones on their terms, and refuses an invalid one whole', async () => {
    const dir = tempDir('mesa-reload-');
    cpSync(join(REPO_CONFIG, 'default.yaml'), join(dir, 'default.yaml'));
    writeFileSync(join(dir, 'local.yaml'), LOCAL);
    writeFileSync(join(dir, 'organisations.yaml'), orgs('30m'));
    let now = NOW;
    t = await startTestMesa({ start: false, clock: () => now, policy: loadConfig(dir), env: { MESA_CONFIG_DIR: dir } });
    const mesa = t.mesa;
    let n = 0;
    const open = async (from: string) => {
      const r = await mesa.receive(email({ from, to: 'soportetecnico@proditmapac.com', subject: `Falla ${++n}`, messageId: `reload-${n}@x` }, 'No puedo facturar.'), { kind: 'pipe', mailbox: null });
      return (await mesa.store.tickets.byKey((r as { ticketKey: string }).ticketKey))!;
    };
    const before = await open('ana@bnorte.mx');
    expect(before.first_response_due_at).toBe(NOW.getTime() + 30 * MIN);

    // A renegotiated contract, a new customer, a rule, shorter Friday hours and an intake setting.
    writeFileSync(join(dir, 'organisations.yaml'), orgs('10m', `
  - id: acme
    name: Acme
    match: { domains: [acme.mx] }
    contract:
      severities:
        3: { clock: continuous, firstResponse: 20m }
`));
    writeFileSync(join(dir, 'local.yaml'), `${LOCAL}
businessHours:
  weekly: { mon: ["09:00-18:00"], tue: ["09:00-18:00"], wed: ["09:00-18:00"], thu: ["09:00-18:00"], fri: ["09:00-14:00"] }
intake:
  maxAttempts: 9
`);
    const ok = mesa.reload();
    expect(ok).toMatchObject({ ok: true, needRestart: ['intake'] });
    const changes = (ok as { changes: string[] }).changes;
    expect(changes).toEqual([
      'organización cambiada: bnorte (solo para tickets nuevos; los abiertos conservan sus términos)',
      'organización nueva: acme',
      'horario de atención del escritorio cambiado (rige para los plazos que se calculen desde ahora; los ya calculados no se mueven)',
    ]);
    // Intake settings wait for a restart; the rest is in force.
    expect(mesa.policy.intake.maxAttempts).toBe(loadConfig(REPO_CONFIG).intake.maxAttempts);
    expect(mesa.policy.organisations.map((o) => o.id)).toEqual(['bnorte', 'acme']);
    // Friday 15:00 in Mexico City: open before, closed now — for every holder of the desk's clock.
    expect(mesa.clocks.business.isOpen(new Date('2026-12-04T21:00:00Z'))).toBe(false);

    // The open ticket keeps the 30 minutes it was opened with; new tickets get the new terms.
    expect((await mesa.store.tickets.byId(before.id))!.first_response_due_at).toBe(NOW.getTime() + 30 * MIN);
    expect((await open('luis@bnorte.mx')).first_response_due_at).toBe(NOW.getTime() + 10 * MIN);
    expect((await open('rosa@acme.mx')).first_response_due_at).toBe(NOW.getTime() + 20 * MIN);
    // The sweep acts on the open ticket by its own deadline: no breach at 25 min, one at 31.
    now = new Date(NOW.getTime() + 25 * MIN);
    await mesa.sweep.run(now);
    expect((await mesa.store.tickets.byId(before.id))!.first_response_breached_at).toBeNull();
    now = new Date(NOW.getTime() + 31 * MIN);
    await mesa.sweep.run(now);
    expect((await mesa.store.tickets.byId(before.id))!.first_response_breached_at).toBe(now.getTime());

    // An invalid set: nothing of it applies, and each problem names file, line, key and organisation.
    writeFileSync(join(dir, 'organisations.yaml'), `${orgs('1m')}
  - id: sur
    name: Banco del Sur
    match: { phones: ["+52 81 555"] }
matrices:
  - { id: sur, organisation: sur, levels: { 1: [Nadie Nunca] } }
`);
    const bad = mesa.reload();
    expect(bad.ok).toBe(false);
    const problems = (bad as { problems: string[] }).problems;
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(new RegExp(`^${join(dir, 'organisations.yaml').replace(/[.]/g, '\\.')}:\\d+: organisations\\.1\\.match\\.phones\\.0 \\(organisation "sur"\\): "\\+52 81 555" is not a valid phone number`)),
      expect.stringMatching(/organisations\.yaml:\d+: matrices\.0\.levels\.1\.0: unknown person "Nadie Nunca"/),
    ]));
    expect(mesa.policy.organisations.map((o) => o.id)).toEqual(['bnorte', 'acme']);
    expect((await open('pepe@bnorte.mx')).first_response_due_at).toBe(now.getTime() + 10 * MIN);
  });

  it('replaces every template or none', () => {
    const dir = tempDir('mesa-reload-templates-');
    cpSync(join(import.meta.dirname, '../../templates'), dir, { recursive: true });
    const renderer = new TemplateRenderer(dir);
    const subject = () => renderer.render('es-MX', 'ack', { ticket: { key: 'MDA-000001', subject: 'x' } }).subject;
    expect(subject()).toBe('[MDA-000001] Recibimos su reporte: x');
    writeFileSync(join(dir, 'es-MX', 'ack', 'subject.hbs'), '[{{ticket.key}}] Su reporte quedó registrado: {{ticket.subject}}');
    renderer.adopt(new TemplateRenderer(dir));
    expect(subject()).toBe('[MDA-000001] Su reporte quedó registrado: x');
    // A broken template anywhere: building the fresh renderer fails, the running one is untouched.
    writeFileSync(join(dir, 'es-MX', 'customer-update', 'text.hbs'), '{{#if ticket.key}}sin cerrar');
    expect(() => new TemplateRenderer(dir)).toThrow(/template es-MX\/customer-update\/text\.hbs/);
    expect(subject()).toBe('[MDA-000001] Su reporte quedó registrado: x');
  });
});
