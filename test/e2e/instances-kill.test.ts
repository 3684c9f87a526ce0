import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peek } from '../support/db-peek.ts';
import { startDovecot, type DovecotServer } from '../support/dovecot.ts';
import { freePort } from '../support/free-port.ts';
import { email, testEnv, TEST_PUBLIC_URL } from '../support/mesa-harness.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { SmtpSink, waitFor } from '../support/smtp-sink.ts';

const MAILS = 2000;
const CALLS = 30;
const FORMS = 30;
const BIN = join(import.meta.dirname, '../../bin/mesa.js');
const CREDS = { accountSid: `AC${'7a'.repeat(16)}`, authToken: 'token-tres-instancias-0123456789' };

interface Instance { name: string; port: number; dataDir: string; child: ChildProcess | null; up: boolean }

/**
 * Three real daemons (`mesa start`, one child process each, as on three hosts) on one
 * PostgreSQL, one Dovecot and one SMTP sink. 2,000 mails land in both mailboxes while signed
 * calls and portal posts arrive round-robin at the three, and every ~10 s one of them is killed
 * with SIGKILL and started again. At the end every mail is exactly one ticket, every call one
 * ticket, every form one ticket, each ticket acknowledged once, and every webhook was answered.
 */
describe('three instances, one killed every ~10 s', () => {
  let pg: PostgresServer;
  let dovecot: DovecotServer;
  let smtp: SmtpSink;
  let url: string;
  const instances: Instance[] = [];

  beforeAll(async () => {
    pg = await startPostgres();
    dovecot = await startDovecot();
    smtp = new SmtpSink();
    await smtp.start();
    url = await pg.createDatabase();
    for (const name of ['mesa-a', 'mesa-b', 'mesa-c']) {
      instances.push({ name, port: await freePort(), dataDir: mkdtempSync(join(tmpdir(), `${name}-`)), child: null, up: false });
    }
  }, 60_000);

  afterAll(async () => {
    for (const i of instances) i.child?.kill('SIGKILL');
    await smtp?.stop();
    await dovecot?.stop();
    await pg?.remove();
    for (const i of instances) rmSync(i.dataDir, { recursive: true, force: true });
  });

  const start = async (i: Instance): Promise<void> => {
    const log = openSync(join(i.dataDir, 'daemon.log'), 'a');
    const env = {
      ...process.env, ...testEnv(i.dataDir, { dovecot, smtp, databaseUrl: url }),
      MESA_INSTANCE: i.name, MESA_HTTP_PORT: String(i.port), MESA_LOG_LEVEL: 'warn',
      // The phone channel without an SMS number: acknowledgments by SMS are written to files.
      TWILIO_ACCOUNT_SID: CREDS.accountSid, TWILIO_AUTH_TOKEN: CREDS.authToken, MESA_PUBLIC_URL: TEST_PUBLIC_URL,
    };
    i.child = spawn(process.execPath, [BIN, 'start'], { env, stdio: ['ignore', log, log] });
    i.child.once('exit', () => { i.up = false; });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${i.port}/healthz`).then((r) => r.ok, () => false)) || undefined, `${i.name} up`, 30_000);
    i.up = true;
  };
  const kill = async (i: Instance): Promise<void> => {
    i.up = false;
    const exited = new Promise((r) => i.child!.once('exit', r));
    i.child!.kill('SIGKILL');
    await exited;
  };

  const db = () => peek({ dataDir: '/nonexistent', databaseUrl: url });
  const count = async (sql: string): Promise<number> => Number(((await db().get(sql).catch(() => ({ n: 0 }))) as { n: number }).n);

  /** One request as a load balancer sends it: to the next live instance, another one if that one is gone. */
  let turn = 0;
  const unanswered: string[] = [];
  const send = async (path: string, init: { body: string; headers: Record<string, string> }): Promise<{ status: number; body: string }> => {
    for (let attempt = 0; attempt < 30; attempt++) {
      const live = instances.filter((x) => x.up);
      const target = live[turn++ % Math.max(1, live.length)];
      if (!target) { await new Promise((r) => setTimeout(r, 200)); continue; }
      try {
        const r = await fetch(`http://127.0.0.1:${target.port}${path}`, { method: 'POST', body: init.body, headers: init.headers, signal: AbortSignal.timeout(15_000) });
        return { status: r.status, body: await r.text() };
      } catch {
        // Connection refused or reset: the instance died under us; the balancer tries another.
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    unanswered.push(path);
    return { status: 0, body: '' };
  };
  const voice = (path: string, params: Record<string, string>) => send(path, {
    body: new URLSearchParams(params).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(CREDS.authToken, `${TEST_PUBLIC_URL}${path}`, params) },
  });

  it('loses nothing, duplicates nothing, answers every webhook', async () => {
    await Promise.all(instances.map(start));
    // Form tokens first (a real browser gets the form, the customer types for a while).
    const tokens: string[] = [];
    for (let f = 0; f < FORMS; f++) {
      const page = await (await fetch(`http://127.0.0.1:${instances[f % 3]!.port}/soporte-tecnico`)).text();
      tokens.push(/name="inicio" value="([^"]+)"/.exec(page)?.[1] ?? '');
    }

    const appending = (async () => {
      for (let m = 0; m < MAILS; m++) {
        const box = m % 2 ? 'soportetecnico' : 'mesadeayuda';
        await dovecot.appendRaw(box, email({ from: `k${m}@tres.mx`, to: `${box}@proditmapac.com`, subject: `Reporte ${m}`, messageId: `tres-${m}@tres.mx` }, `No puedo facturar, caso ${m}.`));
      }
    })();
    const webhooks = (async () => {
      await new Promise((r) => setTimeout(r, 3_100)); // the portal's minimum fill time
      const statuses: number[] = [];
      for (let c = 0; c < Math.max(CALLS, FORMS); c++) {
        if (c < CALLS) {
          const call = { CallSid: `CA${String(c).padStart(32, '0')}`, AccountSid: CREDS.accountSid, From: `+5255${String(10_000_000 + c)}`, To: '+525552801241', CallStatus: 'in-progress' };
          statuses.push((await voice('/twilio/voice', call)).status);
          statuses.push((await voice('/twilio/voice/menu?attempt=1', { ...call, Digits: '2' })).status);
          statuses.push((await voice('/twilio/voice/description', { ...call, SpeechResult: `No puedo timbrar facturas, llamada ${c}`, Confidence: '0.9' })).status);
          statuses.push((await voice('/twilio/voice/status', { ...call, CallStatus: 'completed', CallDuration: '60' })).status);
        }
        if (c < FORMS) {
          const body = new URLSearchParams({ inicio: tokens[c] as string, website: '', nombre: `Cliente ${c}`, correo: `web${c}@tres.mx`, telefono: '', descripcion: `El portal no me deja descargar facturas, formulario ${c}.`, urgencia: 'falla' }).toString();
          statuses.push((await send('/soporte-tecnico', { body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': `198.51.100.${c + 1}` } })).status);
        }
        await new Promise((r) => setTimeout(r, 300));
      }
      return statuses;
    })();

    // Every ~10 s one instance dies and comes back, until the mail is in.
    const kills: string[] = [];
    const done = async () => (await count('SELECT count(*) AS n FROM messages WHERE direction = \'in\' AND channel = \'email\'')) >= MAILS;
    while (kills.length < 6 && !(await done())) {
      await new Promise((r) => setTimeout(r, 8_000 + Math.random() * 4_000));
      const victim = instances[Math.floor(Math.random() * 3)]!;
      await kill(victim);
      kills.push(victim.name);
      await new Promise((r) => setTimeout(r, 500));
      await start(victim);
    }
    const statuses = await webhooks;
    await appending;
    await waitFor(async () => (await count('SELECT count(*) AS n FROM messages WHERE direction = \'in\' AND channel = \'email\'')) >= MAILS || undefined, `${MAILS} mails in`, 180_000);
    await waitFor(async () => (await count('SELECT count(*) AS n FROM outbox WHERE status <> \'sent\'')) === 0 || undefined, 'outbox sent', 120_000);

    expect(unanswered).toEqual([]);
    expect(statuses.filter((s) => s !== 200 && s !== 204)).toEqual([]);
    expect(await count('SELECT count(*) AS n FROM tickets WHERE channel = \'email\'')).toBe(MAILS);
    expect(await count('SELECT count(DISTINCT message_id) AS n FROM messages WHERE direction = \'in\' AND channel = \'email\'')).toBe(MAILS);
    expect(await count('SELECT count(*) AS n FROM tickets WHERE channel = \'phone\'')).toBe(CALLS);
    expect(await count('SELECT count(DISTINCT ticket_id) AS n FROM calls WHERE ticket_id IS NOT NULL')).toBe(CALLS);
    expect(await count('SELECT count(*) AS n FROM tickets WHERE channel = \'web\'')).toBe(FORMS);
    expect(await count('SELECT count(*) AS n FROM quarantine')).toBe(0);
    // Each ticket acknowledged once, and no other notice queued twice.
    expect(await count('SELECT count(*) AS n FROM (SELECT ticket_id FROM outbox WHERE moment LIKE \'ack%\' GROUP BY ticket_id HAVING count(*) <> 1) d')).toBe(0);
    expect(await count('SELECT count(*) AS n FROM (SELECT ticket_id, moment, recipient FROM outbox WHERE moment NOT LIKE \'ack%\' GROUP BY ticket_id, moment, recipient HAVING count(*) > 1) d')).toBe(0);
    // Sent at least once; a repeat only where an instance died between the SMTP accept and "sent".
    const acks = smtp.messages.filter((m) => /^(k\d+|web\d+)@tres\.mx$/.test(m.envelopeTo[0] ?? ''));
    const customers = new Set(acks.map((m) => m.envelopeTo[0]));
    expect(customers.size).toBe(MAILS + FORMS);
    expect(acks.length - customers.size).toBeLessThanOrEqual(kills.length);
    console.log(`three instances: kills ${kills.join(', ')}; ${acks.length} acknowledgments for ${customers.size} customers; ${statuses.length} webhooks answered`);
  }, 420_000);
});
