import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../support/dovecot.ts';
import { email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { metric, parseMetrics } from '../support/prometheus.ts';
import { SmtpSink, waitFor } from '../support/smtp-sink.ts';

interface ReadyBody { ready: boolean; failing: string[]; checks: Array<{ name: string; ok: boolean; detail: string; lastError?: string | null; backlog?: number; limit?: number }> }

async function readyz(t: TestMesa): Promise<{ status: number; body: ReadyBody; raw: string }> {
  const r = await t.mesa.http.inject({ method: 'GET', url: '/readyz' });
  return { status: r.statusCode, body: r.json() as ReadyBody, raw: r.body };
}

/** `/readyz` against real servers: what makes an instance ready, and each reason it is not. */
describe('/readyz', () => {
  let dovecot: DovecotServer;
  let smtp: SmtpSink;
  const running: TestMesa[] = [];

  beforeAll(async () => {
    dovecot = await startDovecot();
    smtp = new SmtpSink();
    await smtp.start();
  });
  afterAll(async () => {
    for (const t of running) await t.stop();
    await smtp?.stop();
    await dovecot?.stop();
  });

  it('is ready when the database takes writes, every mailbox is connected and the outbox is short', async () => {
    const t = await startTestMesa({ dovecot, smtp });
    running.push(t);
    const r = await waitFor(async () => { const x = await readyz(t); return x.status === 200 && x; }, 'ready');
    expect(r.body).toMatchObject({ ready: true, failing: [] });
    expect(r.body.checks.map((c) => [c.name, c.ok])).toEqual([['database', true], ['imap:mesadeayuda', true], ['imap:soportetecnico', true], ['outbox', true]]);
    expect(r.body.checks.find((c) => c.name === 'outbox')).toMatchObject({ backlog: 0, limit: 500 });
    const m = parseMetrics((await t.mesa.http.inject({ method: 'GET', url: '/metrics' })).body);
    expect(metric(m, 'mesa_imap_connected', { mailbox: 'mesadeayuda' })).toBe(1);
    expect(metric(m, 'mesa_imap_connected', { mailbox: 'soportetecnico' })).toBe(1);
    // /healthz only says the process is up.
    expect((await t.mesa.http.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('is not ready while a mailbox cannot log in, naming it and the server\'s answer, and never a password', async () => {
    const wrong = 'contrasena-equivocada-9876';
    const t = await startTestMesa({ dovecot: { ...dovecot, users: { ...dovecot.users, soportetecnico: wrong } }, smtp });
    running.push(t);
    const r = await waitFor(async () => {
      const x = await readyz(t);
      const st = x.body.checks.find((c) => c.name === 'imap:soportetecnico');
      const mda = x.body.checks.find((c) => c.name === 'imap:mesadeayuda');
      return Boolean(st?.lastError) && mda?.ok === true && x;
    }, 'the failed login reported');
    expect(r.status).toBe(503);
    expect(r.body.ready).toBe(false);
    expect(r.body.failing).toEqual(['imap:soportetecnico']);
    const st = r.body.checks.find((c) => c.name === 'imap:soportetecnico')!;
    expect(st.detail).toMatch(/^sin conexión: /);
    expect(st.lastError).toMatch(/auth|fail|login/i);
    for (const secret of [wrong, ...Object.values(dovecot.users)]) expect(r.raw).not.toContain(secret);
    const m = parseMetrics((await t.mesa.http.inject({ method: 'GET', url: '/metrics' })).body);
    expect(metric(m, 'mesa_imap_connected', { mailbox: 'soportetecnico' })).toBe(0);
    expect(metric(m, 'mesa_imap_connected', { mailbox: 'mesadeayuda' })).toBe(1);
  });

  it('is not ready when the outbox backlog passes operations.readyOutboxBacklog', async () => {
    // Drop-folder mode, not started: nothing is sent, so every queued message stays in the backlog.
    const t = await startTestMesa({ start: false, policy: testPolicy((p) => { p.operations.readyOutboxBacklog = 1; }) });
    running.push(t);
    const ok = await readyz(t);
    expect(ok.status).toBe(200);
    expect(ok.body.checks.map((c) => c.name)).toEqual(['database', 'intake', 'outbox']);
    for (const i of [1, 2]) {
      await t.mesa.receive(email({ from: `c${i}@cliente.mx`, to: 'mesadeayuda@proditmapac.com', subject: `Duda ${i}`, messageId: `ready-${i}@cliente.mx` }, 'Una pregunta.'), { kind: 'pipe', mailbox: null });
    }
    const backlog = (await t.mesa.store.outbox.counts()).pending;
    expect(backlog).toBeGreaterThan(1);
    const r = await readyz(t);
    expect(r.status).toBe(503);
    expect(r.body.failing).toEqual(['outbox']);
    expect(r.body.checks.find((c) => c.name === 'outbox')).toMatchObject({ ok: false, backlog, limit: 1, detail: `${backlog} mensajes por enviar (límite 1)` });
  });

  it('is not ready while another process holds the database write lock', async () => {
    const t = await startTestMesa({ start: false });
    running.push(t);
    const other = new Database(join(t.dataDir, 'mesa.db'));
    try {
      other.exec('BEGIN IMMEDIATE');
      const r = await readyz(t);
      expect(r.status).toBe(503);
      expect(r.body.failing).toEqual(['database']);
      expect(r.body.checks[0]!.detail).toMatch(/^base de datos ocupada por otro proceso/);
      other.exec('ROLLBACK');
      expect((await readyz(t)).status).toBe(200);
    } finally {
      other.close();
    }
    // The probe restored the connection's own lock wait (5 s, not the probe's 1 s): a write
    // while another process holds the lock for 1.5 s waits for it instead of failing busy.
    const holder = spawn(process.execPath, ['-e', `const D = require('better-sqlite3'); const d = new D(${JSON.stringify(join(t.dataDir, 'mesa.db'))});
      d.exec('BEGIN IMMEDIATE'); console.log('locked'); setTimeout(() => { d.exec('ROLLBACK'); d.close(); }, 1500);`], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    const started = Date.now();
    await t.mesa.store.intake.suppress('espera@cliente.mx', 'hard_bounce', null, null, started);
    expect(Date.now() - started).toBeGreaterThan(1000);
    expect(await t.mesa.store.intake.isSuppressed('espera@cliente.mx')).toBe(true);
    await new Promise((resolve) => holder.once('exit', resolve));
  });
});
