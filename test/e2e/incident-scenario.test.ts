import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peek } from '../support/db-peek.ts';
import { startDovecot, type DovecotServer } from '../support/dovecot.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { freePort } from '../support/free-port.ts';
import { agentReplyAddress, email, REPO_CONFIG, testEnv, TEST_PUBLIC_URL } from '../support/mesa-harness.ts';
import { SmtpSink, waitFor } from '../support/smtp-sink.ts';
import { outageText } from '../support/incidents.ts';

const EMAILS = 700;
const CALLS = 200;
const FORMS = 100;
const UNRELATED_EMAILS = 35;
const UNRELATED_FORMS = 15;
const REPORTS = EMAILS + CALLS + FORMS;
const BIN = join(import.meta.dirname, '../../bin/mesa.js');
const CREDS = { accountSid: `AC${'e5'.repeat(16)}`, authToken: 'token-escenario-0123456789abcdef' };
const SECRET = 'test-secret-0123456789abcdef'; // testEnv's MESA_SECRET
const MESA = 'mesadeayuda@proditmapac.com';
const AGENTS = { 1: 'ana.n1@proditmapac.com', 2: 'beto.n2@proditmapac.com', 3: 'carla.n3@proditmapac.com' };

const UNRELATED = [
  'Solicito el alta de un usuario nuevo para el área de compras.',
  '¿Cómo cambio la contraseña de mi cuenta?',
  'La impresora de la oficina no imprime desde ayer.',
  'Necesito la constancia de retenciones del año pasado.',
  'Quisiera programar una capacitación para el personal nuevo.',
];

/**
 * The outage scenario of issue 13 on the real daemon (`mesa start` in a child process), a real
 * Dovecot, an SMTP sink, Twilio's API faked over HTTP and signed webhooks: 1,000 reports of one
 * outage (700 emails, 200 calls, 100 portal posts) with 50 unrelated contacts mixed in become
 * one incident; one agent update reaches all 1,000 over their own channels while the daemon is
 * killed with SIGKILL mid-fan-out; the resolution closes all 1,000.
 */
describe('a thousand reports of one outage', () => {
  let dovecot: DovecotServer;
  let smtp: SmtpSink;
  let fake: FakeTwilio;
  let dataDir: string;
  let configDir: string;
  let port: number;
  let child: ChildProcess | null = null;

  beforeAll(async () => {
    dovecot = await startDovecot();
    smtp = new SmtpSink();
    await smtp.start();
    fake = await startFakeTwilio(CREDS);
    dataDir = mkdtempSync(join(tmpdir(), 'mesa-outage-'));
    configDir = mkdtempSync(join(tmpdir(), 'mesa-outage-config-'));
    cpSync(REPO_CONFIG, configDir, { recursive: true });
    writeFileSync(join(configDir, 'local.yaml'), [
      'incidents:',
      '  enabled: true',
      '  minTickets: 5',
      '  windowMinutes: 10',
      '  fanOutPerSecond: 25',
      'levels:',
      ...([1, 2, 3] as const).flatMap((l) => [`  ${l}:`, '    people:', `      - { name: Agente ${l}, email: ${AGENTS[l]} }`]),
      '',
    ].join('\n'));
    port = await freePort();
  }, 60_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await smtp?.stop();
    await fake?.stop();
    await dovecot?.stop();
    for (const d of [dataDir, configDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  const start = async (): Promise<void> => {
    const log = openSync(join(dataDir, 'daemon.log'), 'a');
    child = spawn(process.execPath, [BIN, 'start'], {
      env: {
        ...process.env, ...testEnv(dataDir, { dovecot, smtp, twilio: { ...CREDS, phoneNumber: '+525552801241' } }),
        MESA_CONFIG_DIR: configDir, MESA_HTTP_PORT: String(port), MESA_TWILIO_API_URL: fake.url, MESA_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', log, log],
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) || undefined, 'daemon up', 30_000);
  };
  const kill = async (): Promise<void> => {
    const exited = new Promise((r) => child!.once('exit', r));
    child!.kill('SIGKILL');
    await exited;
    child = null;
  };
  const db = () => peek({ dataDir, databaseUrl: null });
  const count = async (sql: string): Promise<number> => Number(((await db().get(sql).catch(() => ({ n: 0 }))) as { n: number }).n);
  const post = async (path: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
    return { status: r.status, text: await r.text() };
  };
  const voice = (path: string, params: Record<string, string>) => post(path, new URLSearchParams(params).toString(), { 'x-twilio-signature': twilio.getExpectedTwilioSignature(CREDS.authToken, `${TEST_PUBLIC_URL}${path}`, params) });
  const caller = (c: number) => `+5255${String(20_000_000 + c)}`;
  const agentReply = (id: string, body: string) => dovecot.appendRaw('mesadeayuda', email({ from: AGENTS[2], to: agentReplyAddress(SECRET, 'INC-0001', AGENTS[2], MESA), subject: 'RE: [INC-0001] Incidente mayor', messageId: id }, body));

  it('one incident, one acknowledgment each, one update to all through a kill -9, one resolution', async () => {
    await start();
    // The portal's form tokens first: a customer opens the page, then types for a while.
    const tokens: string[] = [];
    for (let f = 0; f < FORMS + UNRELATED_FORMS; f++) {
      const page = await (await fetch(`http://127.0.0.1:${port}/soporte-tecnico`)).text();
      tokens.push(/name="inicio" value="([^"]+)"/.exec(page)?.[1] ?? '');
    }
    const began = Date.now();
    // Mail: the outage, with an unrelated message every twentieth.
    let unrelated = 0;
    for (let m = 0; m < EMAILS; m++) {
      await dovecot.appendRaw(m % 2 ? 'soportetecnico' : 'mesadeayuda', email({ from: `o${m}@caida.mx`, to: m % 2 ? 'soportetecnico@proditmapac.com' : MESA, subject: `Portal caído ${m}`, messageId: `o${m}@caida.mx` }, outageText(m)));
      if (m % 20 === 0 && unrelated < UNRELATED_EMAILS) {
        await dovecot.appendRaw('mesadeayuda', email({ from: `u${unrelated}@otro.mx`, to: MESA, subject: `Consulta ${unrelated}`, messageId: `u${unrelated}@otro.mx` }, UNRELATED[unrelated % UNRELATED.length] as string));
        unrelated++;
      }
    }
    // Callers once the outage is known: they hear it announced and press 1.
    await waitFor(async () => (await count(`SELECT count(*) AS n FROM incidents`)) > 0 || undefined, 'incident opened', 60_000);
    const statuses: number[] = [];
    const calls = (async () => {
      for (let c = 0; c < CALLS; c++) {
        const call = { CallSid: `CA${String(c).padStart(32, '0')}`, AccountSid: CREDS.accountSid, From: caller(c), To: '+525552801241', CallStatus: 'in-progress' };
        const greeting = await voice('/twilio/voice', call);
        statuses.push(greeting.status);
        expect(greeting.text).toContain('/twilio/voice/incident?incident=1');
        statuses.push((await voice('/twilio/voice/incident?incident=1', { ...call, Digits: '1' })).status);
        statuses.push((await voice('/twilio/voice/status', { ...call, CallStatus: 'completed', CallDuration: '40' })).status);
      }
    })();
    const forms = (async () => {
      await new Promise((r) => setTimeout(r, 3_100)); // the portal's minimum fill time
      for (let f = 0; f < FORMS + UNRELATED_FORMS; f++) {
        const outage = f < FORMS;
        const body = new URLSearchParams({
          inicio: tokens[f] as string, website: '', nombre: `Cliente ${f}`, correo: outage ? `w${f}@portal.mx` : `wu${f}@otro.mx`, telefono: '',
          descripcion: outage ? outageText(f) : UNRELATED[f % UNRELATED.length] as string, urgencia: outage ? 'caido' : 'consulta',
        }).toString();
        statuses.push((await post('/soporte-tecnico', body, { 'x-forwarded-for': `198.51.${Math.floor(f / 200)}.${(f % 200) + 1}` })).status);
      }
    })();
    await Promise.all([calls, forms]);
    const total = REPORTS + UNRELATED_EMAILS + UNRELATED_FORMS;
    await waitFor(async () => (await count('SELECT count(*) AS n FROM tickets')) >= total || undefined, `${total} tickets`, 180_000);
    const reportedIn = (Date.now() - began) / 1000;
    await waitFor(async () => (await count(`SELECT count(*) AS n FROM outbox WHERE status <> 'sent'`)) === 0 || undefined, 'acknowledgments sent', 120_000);

    expect(statuses.filter((s) => s !== 200 && s !== 204 && s !== 303)).toEqual([]);
    expect(await count('SELECT count(*) AS n FROM tickets')).toBe(total);
    expect(await count('SELECT count(*) AS n FROM quarantine')).toBe(0);
    expect(await count('SELECT count(*) AS n FROM incidents')).toBe(1);
    expect(await count('SELECT count(*) AS n FROM tickets WHERE incident_id = 1')).toBe(REPORTS);
    const linkedCustomers = `SELECT count(*) AS n FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE t.incident_id = 1 AND (c.email LIKE '%@caida.mx' OR c.email LIKE '%@portal.mx' OR c.phone LIKE '+5255%')`;
    expect(await count(linkedCustomers)).toBe(REPORTS);
    expect(await count(`SELECT count(*) AS n FROM tickets t JOIN contacts c ON c.id = t.contact_id WHERE c.email LIKE '%@otro.mx' AND t.incident_id IS NOT NULL`)).toBe(0);
    // Exactly one acknowledgment per ticket, and the customers all got theirs.
    expect(await count(`SELECT count(*) AS n FROM (SELECT ticket_id FROM outbox WHERE moment LIKE 'ack%' GROUP BY ticket_id HAVING count(*) <> 1) d`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM outbox WHERE moment LIKE 'ack%'`)).toBe(total);
    const acked = new Set([...smtp.messages.map((m) => m.envelopeTo[0]), ...fake.requests.map((q) => q.to)]);
    for (let m = 0; m < EMAILS; m++) expect(acked.has(`o${m}@caida.mx`)).toBe(true);
    for (let c = 0; c < CALLS; c++) expect(acked.has(caller(c))).toBe(true);
    for (let f = 0; f < FORMS; f++) expect(acked.has(`w${f}@portal.mx`)).toBe(true);
    // What reached the desk about the outage: the first report's notice (if it went out before
    // the burst completed: the later alike reports held theirs, and the incident's notice
    // replaced them) and the incident's one notice.
    const toAgents = await count(`SELECT count(*) AS n FROM outbox o LEFT JOIN tickets t ON t.id = o.ticket_id WHERE o.recipient LIKE '%@proditmapac.com' AND (t.incident_id = 1 OR o.moment LIKE 'agent-incident%')`);
    expect(toAgents).toBeLessThanOrEqual(3);
    expect(toAgents).toBeGreaterThanOrEqual(1);
    expect(await count(`SELECT count(*) AS n FROM outbox WHERE moment = 'agent-incident-opened'`)).toBe(1);

    // One update from the agent, killed mid-fan-out.
    const updateAt = Date.now();
    await agentReply('upd@proditmapac.com', '#etr 3h\r\nIdentificamos la falla en el balanceador y la estamos corrigiendo.');
    await waitFor(async () => (await count(`SELECT count(*) AS n FROM outbox WHERE moment = 'incident-update' AND status = 'sent'`)) >= 300 || undefined, 'fan-out under way', 120_000);
    await kill();
    const sentAtKill = await count(`SELECT count(*) AS n FROM outbox WHERE moment = 'incident-update' AND status = 'sent'`);
    await start();
    await waitFor(async () => (await count(`SELECT count(*) AS n FROM outbox WHERE moment = 'incident-update' AND status = 'sent'`)) >= REPORTS || undefined, 'update sent to all', 150_000);
    const allSentIn = (Date.now() - updateAt) / 1000;
    expect(await count(`SELECT count(*) AS n FROM outbox WHERE moment = 'incident-update'`)).toBe(REPORTS);
    expect(await count(`SELECT count(*) AS n FROM (SELECT ticket_id FROM outbox WHERE moment = 'incident-update' GROUP BY ticket_id HAVING count(*) <> 1) d`)).toBe(0);
    const emailUpdates = smtp.messages.filter((m) => /Avance del problema/.test(m.parsed.subject ?? ''));
    const smsUpdates = fake.requests.filter((q) => /Identificamos la falla/.test(q.body ?? ''));
    const updated = new Set([...emailUpdates.map((m) => m.envelopeTo[0]), ...smsUpdates.map((q) => q.to)]);
    expect(updated.size).toBe(REPORTS);
    // At least once; at most one repeat for the one kill (sent, then killed before "sent" was stored).
    expect(emailUpdates.length + smsUpdates.length - updated.size).toBeLessThanOrEqual(1);
    expect(allSentIn).toBeLessThan(120);

    // The resolution closes all 1,000.
    await agentReply('res@proditmapac.com', '#resuelto\r\nEl portal de facturación ya funciona.');
    await waitFor(async () => (await count(`SELECT count(*) AS n FROM tickets WHERE incident_id = 1 AND state = 'resuelto'`)) >= REPORTS || undefined, 'all resolved', 120_000);
    expect(await count(`SELECT count(*) AS n FROM incidents WHERE state = 'resuelto'`)).toBe(1);
    console.log(`outage scenario: ${total} contacts in ${reportedIn.toFixed(1)} s; ${toAgents} messages to agents; update killed at ${sentAtKill} sent, all ${REPORTS} sent ${allSentIn.toFixed(1)} s after the agent's reply; ${emailUpdates.length + smsUpdates.length} deliveries for ${updated.size} customers`);
  }, 600_000);
});
