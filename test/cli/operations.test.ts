import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { email, REPO_CONFIG, startTestMesa } from '../support/mesa-harness.ts';
import { waitFor } from '../support/smtp-sink.ts';

const BIN = join(import.meta.dirname, '../../bin/mesa.js');
const T0 = new Date('2026-11-30T16:00:00Z'); // Monday 10:00 in Mexico City

function mesa(dataDir: string, args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', MESA_DATA_DIR: dataDir, MESA_CONFIG_DIR: REPO_CONFIG, MESA_LOG_LEVEL: 'silent' }, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The operator's commands: filtered ticket lists and retrying the whole quarantine. */
describe('mesa tickets list filters and quarantine retry --all', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mesa-ops-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  beforeAll(async () => {
    // Seeded in process (fast), then read by the CLI: a severity-1 ticket escalated to level 2,
    // a severity-4 ticket at level 1, and three quarantined messages, two of them good mail that
    // failed for a reason since fixed.
    let now = T0;
    const t = await startTestMesa({ start: false, dataDir, clock: () => now });
    const pipe = { kind: 'pipe' as const, mailbox: null };
    await t.mesa.receive(email({ from: 'luis@empresa.mx', to: 'soportetecnico@proditmapac.com', subject: 'Portal caído', messageId: 'o1@empresa.mx' }, 'El portal no carga para nadie, error 503.'), pipe);
    await t.mesa.receive(email({ from: 'ana@cliente.mx', to: 'mesadeayuda@proditmapac.com', subject: 'Constancia', messageId: 'o2@cliente.mx' }, '¿Cómo descargo mi constancia?'), pipe);
    now = new Date(T0.getTime() + 31 * 60_000);
    await t.mesa.sweep.run(now);
    const store = t.mesa.store;
    for (const [i, raw] of [
      email({ from: 'rosa@cliente.mx', to: 'mesadeayuda@proditmapac.com', subject: 'Duda 1', messageId: 'q1@cliente.mx' }, 'Primera duda.'),
      email({ from: 'rosa@cliente.mx', to: 'mesadeayuda@proditmapac.com', subject: 'Duda 2', messageId: 'q2@cliente.mx' }, 'Segunda duda.'),
    ].entries()) {
      const sha = await store.blobs.put(raw);
      await store.transaction(async () => await store.intake.quarantine({ origin: 'imap', mailbox: 'mesadeayuda', rawSha: sha, reason: 'processing_failed', detail: `error ${i}` }, now.getTime()));
    }
    await t.mesa.receive(Buffer.from('To: mesadeayuda@proditmapac.com\r\nSubject: anónimo\r\nMessage-ID: <anon-ops@x>\r\n\r\nhola'), pipe);
    expect(await store.intake.listQuarantine()).toHaveLength(3);
    await t.stop();
  });

  const keys = (out: string) => (JSON.parse(out) as Array<{ key: string }>).map((r) => r.key);

  it('filters tickets by severity, level and state, and refuses unknown values in Spanish', () => {
    expect(keys(mesa(dataDir, ['tickets', 'list', '--severity', '1', '--json']).out)).toEqual(['MDA-000001']);
    expect(keys(mesa(dataDir, ['tickets', 'list', '--level', '1', '--state', 'abiertos', '--json']).out)).toEqual(['MDA-000002']);
    expect(keys(mesa(dataDir, ['tickets', 'list', '--state', 'resuelto,cerrado', '--json']).out)).toEqual([]);
    const badSeverity = mesa(dataDir, ['tickets', 'list', '--severity', '9']);
    expect(badSeverity.code).toBe(64);
    expect(badSeverity.err).toContain('--severity inválido "9" (de 1 a 4)');
    const badState = mesa(dataDir, ['tickets', 'list', '--state', 'perdido']);
    expect(badState.code).toBe(64);
    expect(badState.err).toContain('estado desconocido "perdido" (válidos: nuevo, en_atencion, esperando_cliente, resuelto, cerrado, o abiertos)');
  }, 90_000); // five CLI processes, ~3 s each on an idle machine

  it('retries every open quarantined message with progress on stderr and a summary', () => {
    const r = mesa(dataDir, ['quarantine', 'retry', '--all']);
    // Stderr is not a terminal here: a plain count instead of a bar.
    expect(r.err).toContain('Reintentando cuarentena: 3/3');
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^#1: ticket MDA-00000\d creado/);
    expect(lines[1]).toMatch(/^#2: ticket MDA-00000\d creado/);
    expect(lines[2]).toMatch(/^#3: en cuarentena #4: no_sender/);
    expect(lines[3]).toBe('Reintentados 3: 2 procesados, 1 de nuevo en cuarentena, 0 con error.');
    expect(r.code).toBe(65);
    // Only the message that failed again is left, as a new entry; a second run retries just it.
    expect((JSON.parse(mesa(dataDir, ['quarantine', 'list', '--json']).out) as Array<{ id: number }>).map((q) => q.id)).toEqual([4]);
    expect(mesa(dataDir, ['quarantine', 'retry', '--all', '5']).code).toBe(64);
  });
});

/** `mesa start` under SIGTERM: a clean stop, and a second signal that does not wait. */
describe('mesa start shutdown', () => {
  const children = new Set<ChildProcess>();
  afterAll(() => { for (const c of children) c.kill('SIGKILL'); });

  function start(dataDir: string, extra: Record<string, string> = {}) {
    const child = spawn(process.execPath, [BIN, 'start'], {
      env: { PATH: process.env.PATH ?? '', MESA_DATA_DIR: dataDir, MESA_CONFIG_DIR: REPO_CONFIG, MESA_HTTP_PORT: '0', ...extra }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    const state = { log: '', code: undefined as number | null | undefined, events: () => state.log.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event?: string; signal?: string }) };
    child.stdout.on('data', (c: Buffer) => { state.log += c.toString(); });
    child.once('exit', (code) => { state.code = code; children.delete(child); });
    const seen = (event: string) => waitFor(() => state.events().some((e) => e.event === event), `${event} logged`, 30_000);
    return { child, state, seen };
  }

  it('stops cleanly on SIGTERM, logging JSON lines, with exit code 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mesa-term-'));
    try {
      const m = start(dataDir);
      await m.seen('mesa.started');
      m.child.kill('SIGTERM');
      await waitFor(() => m.state.code !== undefined, 'exit', 30_000);
      expect(m.state.code).toBe(0);
      const events = m.state.events().map((e) => e.event);
      expect(events).toContain('mesa.stopping');
      expect(events[events.length - 1]).toBe('mesa.stopped');
      expect(m.state.events().find((e) => e.event === 'mesa.stopping')?.signal).toBe('SIGTERM');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('exits at once on a second SIGTERM while the first is still flushing the outbox', async () => {
    // An SMTP server that accepts and never greets: the acknowledgment's send hangs, so the
    // first SIGTERM's flush waits (up to its bound) and the second signal finds Mesa stopping.
    const sockets = new Set<Socket>();
    const silent = createServer((s) => { sockets.add(s); s.on('error', () => {}); });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const dataDir = mkdtempSync(join(tmpdir(), 'mesa-term2-'));
    try {
      mkdirSync(join(dataDir, 'inbox'), { recursive: true });
      writeFileSync(join(dataDir, 'inbox', '0001.eml'), email({ from: 'ana@cliente.mx', to: 'mesadeayuda@proditmapac.com', subject: 'Duda', messageId: 'term2@cliente.mx' }, 'Una pregunta.'));
      const m = start(dataDir, { SMTP_HOST: '127.0.0.1', SMTP_PORT: String((silent.address() as AddressInfo).port), SMTP_TLS: 'false' });
      await m.seen('mesa.started');
      await waitFor(() => sockets.size > 0, 'the dispatcher connecting to SMTP', 30_000);
      m.child.kill('SIGTERM');
      await m.seen('mesa.stopping');
      m.child.kill('SIGTERM');
      await waitFor(() => m.state.code !== undefined, 'exit', 30_000);
      expect(m.state.code).toBe(143);
      const events = m.state.events().map((e) => e.event);
      expect(events).toContain('mesa.forced_exit');
      expect(events).not.toContain('mesa.stopped');
    } finally {
      silent.close();
      for (const s of sockets) s.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
