import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { email, REPO_CONFIG } from '../support/mesa-harness.ts';

const BIN = join(import.meta.dirname, '../../bin/mesa.js');
const dataDir = mkdtempSync(join(tmpdir(), 'mesa-cli-'));

function mesa(args: string[], input?: Buffer | string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input, env: { PATH: process.env.PATH ?? '', MESA_DATA_DIR: dataDir, MESA_CONFIG_DIR: REPO_CONFIG, MESA_LOG_LEVEL: 'silent', ...env }, encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The `mesa` command as an operator and a mail server use it (sysexits exit codes). */
describe('mesa CLI', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const mail = email({ from: 'Rosa Díaz <rosa@cliente.mx>', to: 'soportetecnico@proditmapac.com', subject: 'No puedo entrar, marca error', messageId: 'cli-1@cliente.mx' }, 'Desde ayer no puedo entrar, me marca error al iniciar sesión.');

  it('explains a message without changing anything', () => {
    const file = join(dataDir, 'm.eml');
    writeFileSync(file, mail);
    const r = mesa(['explain', file, '--json']);
    expect(r.code).toBe(0);
    const x = JSON.parse(r.out);
    expect(x).toMatchObject({
      from: 'rosa@cliente.mx', subject: 'No puedo entrar, marca error', messageId: 'cli-1@cliente.mx',
      automatic: { is: false, kind: 'none', reason: null }, bounce: null, attachments: [], thread: null,
      classification: { severity: 3, type: 'solicitud', category: 'cuenta', level: 1 },
    });
    expect(x.visibleText).toBe('Desde ayer no puedo entrar, me marca error al iniciar sesión.');
    expect(x.classification.reasons.map((r: { rule: string }) => r.rule)).toContain('acceso-cuenta');
    expect(x.terms).toMatchObject({ organisation: null, contract: null, matrix: null, reason: 'sin organización reconocida: niveles de servicio generales; matriz general', targets: { clock: 'business', firstResponseMinutes: 240 } });
    const text = mesa(['explain', file]);
    expect(text.out).toContain('Clasificación: severidad 3 (Media)');
    expect(text.out).toContain('Términos:      sin organización reconocida');
    expect(mesa(['tickets', 'list', '--json']).out.trim()).toBe('[]');
  });

  it('checks a configuration and says what it would change against the one in use', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesa-cli-check-'));
    try {
      expect(mesa(['config', 'check'])).toMatchObject({ code: 0, out: expect.stringContaining('es válida (0 organizaciones, 0 matrices,') });
      cpSync(join(REPO_CONFIG, 'default.yaml'), join(dir, 'default.yaml'));
      writeFileSync(join(dir, 'local.yaml'), 'severities:\n  1: { firstResponse: 10m }\nlevels:\n  1:\n    name: Mesa de Ayuda\n    people:\n      - { name: Ana Uno, email: ana.uno@proditmapac.com }\n');
      writeFileSync(join(dir, 'organisations.yaml'), 'organisations:\n  - { id: acme, name: Acme, match: { domains: [acme.mx] } }\n');
      const ok = mesa(['config', 'check', dir]);
      expect(ok.code).toBe(0);
      expect(ok.out).toContain('severidad 1: primeraRespuesta 15 min → 10 min');
      expect(ok.out).toContain('nivel 1: se agrega Ana Uno <ana.uno@proditmapac.com>');
      expect(ok.out).toContain('organización nueva: acme');
      writeFileSync(join(dir, 'organisations.yaml'), 'organisations:\n  - { id: acme, name: Acme, match: { phones: ["+52 55 1234"] } }\n');
      const bad = mesa(['config', 'check', dir]);
      expect(bad.code).toBe(78);
      expect(bad.err).toMatch(/organisations\.yaml:2: organisations\.0\.match\.phones\.0 \(organisation "acme"\): "\+52 55 1234" is not a valid phone number/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('explains which organisation, contract and matrix a sender\'s ticket would get', () => {
    const configDir = mkdtempSync(join(tmpdir(), 'mesa-cli-config-'));
    try {
      cpSync(join(REPO_CONFIG, 'default.yaml'), join(configDir, 'default.yaml'));
      writeFileSync(join(configDir, 'organisations.yaml'), `
people:
  - { name: Sofía Banco, email: sofia@proditmapac.com }
organisations:
  - id: cliente
    name: Cliente SA
    match: { domains: [cliente.mx] }
    contract: { until: 2099-12-31, severities: { 3: { clock: continuous, firstResponse: 30m } } }
matrices:
  - { id: cliente, organisation: cliente, levels: { 1: [Sofía Banco] } }
`);
      const file = join(dataDir, 'm-org.eml');
      writeFileSync(file, mail);
      const x = JSON.parse(mesa(['explain', file, '--json'], undefined, { MESA_CONFIG_DIR: configDir }).out);
      expect(x.terms).toMatchObject({
        organisation: { id: 'cliente', name: 'Cliente SA', by: 'dominio cliente.mx' }, contract: { until: '2099-12-31' }, matrix: { id: 'cliente', by: 'organización' },
        targets: { clock: 'continuous', firstResponseMinutes: 30 },
        notified: [{ level: 1, people: ['sofia@proditmapac.com'] }, { level: 2, people: [] }, { level: 3, people: [] }],
      });
      expect(mesa(['explain', file], undefined, { MESA_CONFIG_DIR: configDir }).out).toContain('Términos:      organización Cliente SA por dominio cliente.mx; contrato vigente hasta 2099-12-31; matriz cliente por organización');
    } finally {
      rmSync(configDir, { recursive: true, force: true });
    }
  });

  it('ingests from stdin, then reports a re-delivery as a duplicate', () => {
    const first = mesa(['ingest', '--json'], mail);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out)).toEqual({ result: 'ticket_created', ticketKey: 'MDA-000001', acknowledged: true });
    const again = mesa(['ingest'], mail);
    expect(again.code).toBe(0);
    expect(again.out).toContain('duplicado');
    const list = JSON.parse(mesa(['tickets', 'list', '--json']).out);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ key: 'MDA-000001', severity: 3, state: 'nuevo', contact_email: 'rosa@cliente.mx' });
    const show = mesa(['tickets', 'show', 'MDA-000001']);
    expect(show.code).toBe(0);
    expect(show.out).toContain('Historial de ETR:');
    expect(show.out).toContain('Plazos (SLA):');
    expect(show.out).toMatch(/Próxima acción: \S/);
    expect(show.out).toContain('[target] objetivo de resolución de severidad 3 (Media): 1620 min hábiles');
    const json = JSON.parse(mesa(['tickets', 'show', 'mda-000001', '--json']).out);
    expect(json.events.map((e: { type: string }) => e.type)).toEqual(['created', 'message_queued']);
    expect(json.outbox).toHaveLength(1);
    // The link an operator can read out to the customer is the one in the acknowledgment.
    expect(json.statusUrl).toMatch(/\/estado\/MDA-000001\/[a-z2-7]{16}$/);
    expect(show.out).toContain(json.statusUrl);
  });

  it('previews a template for a stored ticket', () => {
    const r = mesa(['templates', 'preview', 'customer-update', '--ticket', 'MDA-000001', '--part', 'text']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('MDA-000001');
    expect(r.out).toMatch(/\(hora del centro\)/);
    const en = mesa(['templates', 'preview', 'ack', '--ticket', 'MDA-000001', '--locale', 'en', '--part', 'subject']);
    expect(en.out.trim()).toBe('[MDA-000001] We received your report: No puedo entrar, marca error');
    const bad = mesa(['templates', 'preview', 'nada', '--ticket', 'MDA-000001']);
    expect(bad.code).toBe(70);
    expect(bad.err).toContain('customer-update');
    expect(mesa(['templates', 'preview', 'ack', '--ticket', 'MDA-000001', '--locale', 'fr']).code).toBe(64);
  });

  it('reports SLA compliance per organisation as a table and as CSV, and refuses a bad grouping', () => {
    const r = mesa(['report', 'sla', '--by', 'organisation', '--from', '2000-01-01', '--to', '2099-12-31']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Cumplimiento de SLA por organización, tickets abiertos del 2000-01-01 al 2099-12-31 (America/Mexico_City)');
    expect(r.out).toMatch(/Sin organización\s+3\s+1\s+0\s+0\s+1\s+—/);
    const csv = mesa(['report', 'sla', '--from', '2000-01-01', '--to', '2099-12-31', '--csv']).out.trim().split('\n');
    expect(csv).toEqual([expect.stringMatching(/^group,group_name,severity,tickets,/), ',Sin organización,3,1,0,0,1,,,,0,0,1,,,,0', ',Sin organización,all,1,0,0,1,,,,0,0,1,,,,0']);
    expect(mesa(['report', 'sla', '--by', 'nivel', '--from', '2026-11-01', '--to', '2026-11-30'])).toMatchObject({ code: 64, err: expect.stringContaining('--by nivel: se espera organisation o category') });
  });

  it('uses sysexits codes a mail server understands', () => {
    expect(mesa(['ingest'], '').code).toBe(65);
    expect(mesa(['ingest', '--mailbox', 'nadie'], mail).code).toBe(64);
    expect(mesa(['tickets', 'show', 'MDA-999999']).code).toBe(66);
    const badConfig = mkdtempSync(join(tmpdir(), 'mesa-badcfg-'));
    writeFileSync(join(badConfig, 'default.yaml'), 'desk: [1, 2\n');
    const r = mesa(['tickets', 'list'], undefined, { MESA_CONFIG_DIR: badConfig });
    expect(r.code).toBe(78);
    expect(r.err).toContain(join(badConfig, 'default.yaml'));
    rmSync(badConfig, { recursive: true, force: true });
  });

  it('lists and retries quarantined messages', () => {
    const noSender = Buffer.from('To: mesadeayuda@proditmapac.com\r\nSubject: anónimo\r\nMessage-ID: <anon@x>\r\n\r\nhola');
    const r = mesa(['ingest', '--json'], noSender);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ result: 'quarantined', reason: 'no_sender' });
    const list = JSON.parse(mesa(['quarantine', 'list', '--json']).out);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ origin: 'pipe', reason: 'no_sender' });
    expect(mesa(['quarantine', 'list']).out).toContain('no_sender');
    // Retrying the same bytes quarantines them again (as a new entry), with a non-zero exit.
    const retry = mesa(['quarantine', 'retry', String(list[0].id), '--json']);
    expect(retry.code).toBe(65);
    expect(JSON.parse(retry.out)).toMatchObject({ result: 'quarantined', reason: 'no_sender' });
    expect(JSON.parse(mesa(['quarantine', 'list', '--json', '--all']).out)).toHaveLength(2);
    expect(mesa(['quarantine', 'retry', String(list[0].id)]).code).toBe(64);
  });

  it('runs with no configuration at all on embedded defaults, writing mail to data/outbox', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'mesa-fresh-'));
    mkdirSync(join(fresh, 'inbox'), { recursive: true });
    writeFileSync(join(fresh, 'inbox', '0001.eml'), mail);
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [BIN, 'start'], { env: { PATH: process.env.PATH ?? '', MESA_DATA_DIR: fresh, MESA_CONFIG_DIR: REPO_CONFIG, MESA_HTTP_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (c: Buffer) => { log += c.toString(); });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(emls(join(fresh, 'outbox')).length > 0)) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const out = emls(join(fresh, 'outbox'));
    expect(out).toHaveLength(1);
    expect(readdirSafe(join(fresh, 'inbox', 'procesados'))).toEqual(['0001.eml']);
    const events = log.trim().split('\n').map((l) => JSON.parse(l) as { event?: string; msg?: string });
    expect(events.find((e) => e.event === 'mesa.embedded_defaults')?.msg).toContain('Mesa en modo local');
    expect(events.some((e) => e.event === 'mesa.stopped')).toBe(true);
    expect(log).not.toContain('Desde ayer no puedo entrar');
    rmSync(fresh, { recursive: true, force: true });
  }, 30_000);

  it('reloads on SIGHUP: an invalid config is logged with its file, key and organisation and the old one kept; a valid one applies', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'mesa-hup-'));
    const config = join(fresh, 'config');
    mkdirSync(config);
    cpSync(join(REPO_CONFIG, 'default.yaml'), join(config, 'default.yaml'));
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [BIN, 'start'], { env: { PATH: process.env.PATH ?? '', MESA_DATA_DIR: join(fresh, 'data'), MESA_CONFIG_DIR: config, MESA_HTTP_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (c: Buffer) => { log += c.toString(); });
    const events = () => log.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event?: string; problems?: string[]; changes?: string[] });
    const until = async (event: string) => {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && !events().some((e) => e.event === event)) await new Promise((r) => setTimeout(r, 50));
      return events().find((e) => e.event === event);
    };
    try {
      expect(await until('mesa.started')).toBeDefined();
      writeFileSync(join(config, 'organisations.yaml'), 'organisations:\n  - id: acme\n    name: Acme\n    match: { phones: ["+52 55 1234"] }\n');
      child.kill('SIGHUP');
      const failed = await until('config.reload_failed');
      expect(failed?.problems).toEqual([expect.stringMatching(/config\/organisations\.yaml:4: organisations\.0\.match\.phones\.0 \(organisation "acme"\): "\+52 55 1234" is not a valid phone number/)]);
      expect(child.exitCode).toBeNull();
      writeFileSync(join(config, 'organisations.yaml'), 'organisations:\n  - id: acme\n    name: Acme\n    match: { domains: [acme.mx] }\n');
      child.kill('SIGHUP');
      expect((await until('config.reloaded'))?.changes).toEqual(['organización nueva: acme']);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(fresh, { recursive: true, force: true });
    }
  }, 40_000);
});

function emls(dir: string): string[] {
  return readdirSafe(dir).filter((f) => f.endsWith('.eml'));
}

function readdirSafe(dir: string): string[] {
  try { return readdirSync(dir); } catch { return []; }
}
