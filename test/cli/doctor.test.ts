import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../support/dovecot.ts';
import { testEnv } from '../support/mesa-harness.ts';
import { SmtpSink } from '../support/smtp-sink.ts';

const BIN = join(import.meta.dirname, '../../bin/mesa.js');
const TWILIO = { accountSid: `AC${'d0'.repeat(16)}`, authToken: 'token-doctor-0123456789abcdef', phoneNumber: '+525552801241' };

/** `mesa doctor` as an operator runs it, against real IMAP and SMTP servers and a local Twilio API. */
describe('mesa doctor', () => {
  let dovecot: DovecotServer;
  let smtp: SmtpSink;
  let twilioApi: Server;
  let twilioUrl: string;
  const dataDir = mkdtempSync(join(tmpdir(), 'mesa-doctor-'));

  beforeAll(async () => {
    dovecot = await startDovecot();
    smtp = new SmtpSink();
    await smtp.start();
    // Twilio's account resource, GET /2010-04-01/Accounts/{Sid}.json, behind Basic auth.
    const expected = `Basic ${Buffer.from(`${TWILIO.accountSid}:${TWILIO.authToken}`).toString('base64')}`;
    twilioApi = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.headers.authorization !== expected) {
        res.statusCode = 401;
        res.end(JSON.stringify({ code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 }));
      } else if (req.method === 'GET' && req.url === `/2010-04-01/Accounts/${TWILIO.accountSid}.json`) {
        res.end(JSON.stringify({ sid: TWILIO.accountSid, friendly_name: 'Mesa de Ayuda PRODITMA', status: 'active', type: 'Full' }));
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ code: 20404, message: 'Not found', status: 404 }));
      }
    });
    await new Promise<void>((resolve) => twilioApi.listen(0, '127.0.0.1', resolve));
    twilioUrl = `http://127.0.0.1:${(twilioApi.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    twilioApi?.closeAllConnections();
    await new Promise((resolve) => twilioApi?.close(resolve));
    await smtp?.stop();
    await dovecot?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Spawned without blocking, so the servers in this process keep answering. */
  function doctor(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
    const child = spawn(process.execPath, [BIN, 'doctor', ...args], { env: { PATH: process.env.PATH ?? '', MESA_LOG_LEVEL: 'silent', MESA_TWILIO_API_URL: twilioUrl, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    return new Promise((resolve) => child.once('close', (code) => resolve({ code, out, err })));
  }
  const peers = () => ({ dovecot, smtp, twilio: TWILIO });

  it('passes every check against working servers, in order, with exit code 0', async () => {
    const r = await doctor([], testEnv(dataDir, peers()));
    expect(r.err).toBe('');
    const lines = r.out.trim().split('\n');
    expect(lines.slice(0, 7).map((l) => l.slice(0, 1))).toEqual(['✔', '✔', '✔', '✔', '✔', '✔', '✔']);
    expect(lines.slice(0, 7).map((l) => l.slice(2).split(/\s{2,}/)[0]))
      .toEqual(['Configuración', 'Plantillas', 'Base de datos', 'IMAP mesadeayuda', 'IMAP soportetecnico', 'SMTP', 'Twilio']);
    expect(r.out).toMatch(/IMAP soportetecnico +soportetecnico en 127\.0\.0\.1:\d+: carpeta INBOX abierta/);
    expect(r.out).toContain('"Mesa de Ayuda PRODITMA") activa; SMS desde +525552801241');
    expect(r.out).toContain('Resultado: todo en orden.');
    expect(r.code).toBe(0);
    for (const secret of [...Object.values(dovecot.users), TWILIO.authToken]) expect(r.out).not.toContain(secret);
  });

  it('names the mailbox whose login fails and Twilio\'s refusal, never printing a password, and exits non-zero', async () => {
    const wrong = 'contrasena-mala-4321';
    const badToken = 'token-malo-0123456789abcdef';
    const env = testEnv(dataDir, { dovecot: { ...dovecot, users: { ...dovecot.users, soportetecnico: wrong } }, smtp, twilio: { ...TWILIO, authToken: badToken } });
    const r = await doctor(['--json'], env);
    expect(r.code).toBe(69);
    const report = JSON.parse(r.out) as { ok: boolean; checks: Array<{ id: string; verdict: string; detail: string }> };
    expect(report.ok).toBe(false);
    const by = Object.fromEntries(report.checks.map((c) => [c.id, c]));
    expect(by['imap:mesadeayuda']?.verdict).toBe('ok');
    expect(by['imap:soportetecnico']).toMatchObject({ verdict: 'fail' });
    expect(by['imap:soportetecnico']?.detail).toMatch(/^soportetecnico en 127\.0\.0\.1:\d+: autenticación rechazada/);
    expect(by.smtp?.verdict).toBe('ok');
    expect(by.twilio).toMatchObject({ verdict: 'fail' });
    expect(by.twilio?.detail).toContain('credenciales rechazadas por Twilio (error 20003)');
    for (const secret of [wrong, badToken, ...Object.values(dovecot.users)]) {
      expect(r.out).not.toContain(secret);
      expect(r.err).not.toContain(secret);
    }
  });

  it('reports a bad configuration and skips what depends on it, with the sysexits config code', async () => {
    const badConfig = mkdtempSync(join(tmpdir(), 'mesa-doctor-cfg-'));
    try {
      writeFileSync(join(badConfig, 'default.yaml'), 'desk: [1, 2\n');
      // No IMAP, SMTP or Twilio: those checks are skipped, not failed.
      const r = await doctor([], { ...testEnv(dataDir, {}), MESA_CONFIG_DIR: badConfig });
      expect(r.code).toBe(78);
      const lines = r.out.trim().split('\n');
      expect(lines[0]).toMatch(new RegExp(`^✘ Configuración +${join(badConfig, 'default.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      expect(lines[1]).toMatch(/^✔ Plantillas/);
      expect(lines[2]).toMatch(/^✔ Base de datos/);
      expect(lines[3]).toMatch(/^– IMAP +omitido: la configuración no es válida/);
      expect(lines[4]).toMatch(/^– SMTP +omitido: SMTP_HOST no está definido/);
      expect(lines[5]).toMatch(/^– Twilio +omitido: TWILIO_ACCOUNT_SID no está definido/);
      expect(r.out).toContain('Resultado: 1 problema (Configuración).');
    } finally {
      rmSync(badConfig, { recursive: true, force: true });
    }
  });
});
