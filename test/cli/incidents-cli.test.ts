import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { email, REPO_CONFIG } from '../support/mesa-harness.ts';

const BIN = join(import.meta.dirname, '../../bin/mesa.js');
const dataDir = mkdtempSync(join(tmpdir(), 'mesa-cli-inc-'));

function mesa(args: string[], input?: Buffer | string) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input, env: { PATH: process.env.PATH ?? '', MESA_DATA_DIR: dataDir, MESA_CONFIG_DIR: REPO_CONFIG, MESA_LOG_LEVEL: 'silent' }, encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** `mesa incidents …` (issue 13): an operator declares, works and resolves a major incident from a shell. */
describe('mesa incidents', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('declares one from a ticket, links another, updates everyone and resolves them all', { timeout: 180_000 }, () => {
    for (const [n, from] of [[1, 'rosa@cliente.mx'], [2, 'luis@otro.mx']] as const) {
      const r = mesa(['ingest', '--json'], email({ from, to: 'soportetecnico@proditmapac.com', subject: `No abre el portal ${n}`, messageId: `inc-cli-${n}@x.mx` }, 'El portal de clientes no abre, marca error 503.'));
      expect(r.code, r.err).toBe(0);
    }
    expect(mesa(['incidents', 'list']).out.trim()).toBe('No hay incidentes abiertos ni resueltos en los últimos 7 días.');
    const file = join(dataDir, 'm.eml');
    writeFileSync(file, email({ from: 'otra@cliente.mx', to: 'soportetecnico@proditmapac.com', subject: 'No abre el portal', messageId: 'inc-cli-x@x.mx' }, 'El portal de clientes no abre.'));
    expect(mesa(['explain', file]).out).toContain('Incidente:     ninguno — los incidentes mayores están desactivados (incidents.enabled)');
    expect(JSON.parse(mesa(['explain', file, '--json']).out).incident).toEqual({ decision: 'none', incident: null, reason: 'los incidentes mayores están desactivados (incidents.enabled)' });
    const declared = mesa(['incidents', 'declare', 'MDA-000001']);
    expect(declared).toMatchObject({ code: 0, out: expect.stringMatching(/^incidente INC-0001 abierto a partir de MDA-000001/) });
    expect(mesa(['incidents', 'declare', 'MDA-000001'])).toMatchObject({ code: 65, err: expect.stringContaining('MDA-000001 ya está vinculado a INC-0001.') });

    const upd = mesa(['incidents', 'update', 'INC-0001', '--link', 'MDA-000002', '--etr', '3h', '--title', 'Portal de clientes sin servicio', '--text', 'Ya trabajamos en restablecer el portal.']);
    expect(upd).toMatchObject({ code: 0, out: expect.stringContaining('INC-0001: 2 clientes avisados, 1 vinculados') });
    const list = JSON.parse(mesa(['incidents', 'list', '--json']).out) as Array<Record<string, unknown>>;
    expect(list).toEqual([expect.objectContaining({ key: 'INC-0001', state: 'abierto', publicTitle: 'Portal de clientes sin servicio', linked: 2, linkedOpen: 2, opened_by: 'agent:cli' })]);
    const show = mesa(['incidents', 'show', 'INC-0001']);
    expect(show.out).toContain('Vinculados abiertos (2): MDA-000001 MDA-000002');
    expect(show.out).toContain('Ya trabajamos en restablecer el portal.');

    expect(mesa(['incidents', 'update', 'INC-0001', '--link', 'MDA-000099'])).toMatchObject({ code: 65, err: expect.stringContaining('No existe el ticket MDA-000099.') });
    expect(mesa(['incidents', 'update', 'INC-0001', '--etr', 'ayer'])).toMatchObject({ code: 65 });
    expect(mesa(['incidents', 'update', 'INC-0001'])).toMatchObject({ code: 64 });
    expect(mesa(['incidents', 'show', 'INC-0042'])).toMatchObject({ code: 66, err: expect.stringContaining('no existe el incidente INC-0042') });
    expect(mesa(['incidents', 'update', 'INC-0001', '--as', 'nadie@x.mx', '--text', 'x'])).toMatchObject({ code: 64 });

    const resolved = mesa(['incidents', 'update', 'INC-0001', '--resolve', '--text', 'El portal ya funciona.', '--json']);
    expect(JSON.parse(resolved.out)).toMatchObject({ incident: 'INC-0001', told: 2, resolved: true });
    const tickets = JSON.parse(mesa(['tickets', 'list', '--json']).out) as Array<{ key: string; state: string }>;
    expect(tickets.map((t) => t.state)).toEqual(['resuelto', 'resuelto']);
    const outbox = JSON.parse(mesa(['tickets', 'show', 'MDA-000002', '--json']).out).outbox as Array<{ moment: string }>;
    expect(outbox.map((o) => o.moment)).toEqual(expect.arrayContaining(['ack', 'ack-incident', 'incident-update', 'incident-resolved']));
  });
});
