import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peek } from '../support/db-peek.ts';
import { startDovecot, type DovecotServer } from '../support/dovecot.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { email, startTestMesa, TEST_PUBLIC_URL, type TestMesa } from '../support/mesa-harness.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { SmtpSink, waitFor } from '../support/smtp-sink.ts';
import { parseTwiml, spoken } from '../support/twiml.ts';

const CREDS = { accountSid: `AC${'f6'.repeat(16)}`, authToken: 'token-caida-0123456789abcdef' };

/**
 * PostgreSQL stopped with `pg_ctl stop -m immediate` in the middle of ingest, and started again:
 * mail stays on the IMAP server until it can be committed, callers hear an apology and leave a
 * voicemail that becomes a ticket afterwards, the portal answers 503 with the customer's text
 * kept, and intake is back within 10 s of the database. Nothing is lost.
 */
describe('PostgreSQL lost while running', () => {
  let pg: PostgresServer;
  let dovecot: DovecotServer;
  let smtp: SmtpSink;
  let fake: FakeTwilio;
  let url: string;
  let t: TestMesa;

  beforeAll(async () => {
    pg = await startPostgres();
    dovecot = await startDovecot();
    smtp = new SmtpSink();
    await smtp.start();
    fake = await startFakeTwilio(CREDS);
    url = await pg.createDatabase();
    // A running clock: the outage and the recovery happen in real time.
    // Short leases: the outage outlasts them, so the mailboxes are given up and taken again.
    t = await startTestMesa({ dovecot, smtp, databaseUrl: url, twilio: { ...CREDS, phoneNumber: '+525552801241', url: fake.url }, leaseTiming: { heartbeatMs: 250, ttlMs: 1_000 } });
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
    await fake?.stop();
    await smtp?.stop();
    await dovecot?.stop();
    await pg?.remove();
  });

  const db = () => peek({ dataDir: t.dataDir, databaseUrl: url });
  const count = async (sql: string) => Number(((await db().get(sql)) as { n: number }).n);
  const voice = async (path: string, params: Record<string, string>) => {
    const signature = twilio.getExpectedTwilioSignature(CREDS.authToken, `${TEST_PUBLIC_URL}${path}`, params);
    const res = await t.mesa.http.inject({ method: 'POST', url: path, payload: new URLSearchParams(params).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature } });
    return { status: res.statusCode, twiml: res.statusCode === 200 ? parseTwiml(res.body) : [] };
  };
  const mail = (i: number) => email({ from: `caida${i}@cliente.mx`, to: 'soportetecnico@proditmapac.com', subject: `Falla ${i}`, messageId: `caida-${i}@cliente.mx` }, `No funciona la facturación, caso ${i}.`);

  it('keeps every mail, call and form through the outage, and is back within 10 s of the database', async () => {
    for (let i = 0; i < 150; i++) await dovecot.appendRaw(i % 2 ? 'soportetecnico' : 'mesadeayuda', mail(i));
    // Stop the server as a crash would, while the backlog is being committed.
    await waitFor(async () => (await count('SELECT count(*) AS n FROM tickets')) > 0 || undefined, 'first tickets');
    await pg.stop('immediate');
    for (let i = 150; i < 200; i++) await dovecot.appendRaw('soportetecnico', mail(i));

    // A caller during the outage: the menu webhook cannot reach the desk, the caller hears an
    // apology and is asked for a voicemail; the recording's webhook is kept for later.
    const call = { CallSid: `CA${'a1'.repeat(16)}`, AccountSid: CREDS.accountSid, From: '+525598765432', To: '+525552801241', CallStatus: 'in-progress' };
    const greeting = await voice('/twilio/voice', call);
    expect(greeting.status).toBe(200);
    expect(spoken(greeting.twiml)).toContain('no podemos registrar su llamada');
    const record = greeting.twiml.find((n) => n.name === 'Record');
    expect(record?.attrs.action).toBe('/twilio/voice/recorded');
    const recorded = await voice('/twilio/voice/recorded', { ...call, RecordingSid: `RE${'b2'.repeat(16)}`, RecordingUrl: 'https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE1', RecordingDuration: '21' });
    expect(recorded.status).toBe(200);
    expect(spoken(recorded.twiml)).toContain('recibimos su mensaje');
    expect((await voice('/twilio/voice/status', { ...call, CallStatus: 'completed', CallDuration: '45' })).status).toBe(204);

    // The portal: 503, and the form comes back with what the customer typed.
    const form = await t.mesa.http.inject({ method: 'GET', url: '/soporte-tecnico', remoteAddress: '198.51.100.9' });
    const token = /name="inicio" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
    const typed = 'La impresora fiscal no imprime los tickets desde la mañana.';
    const body = new URLSearchParams({ inicio: token, website: '', nombre: 'Rosa Díaz', correo: 'rosa@cliente.mx', telefono: '', descripcion: typed, urgencia: 'falla' }).toString();
    await new Promise((r) => setTimeout(r, 3_100)); // the form's minimum fill time
    const during = await t.mesa.http.inject({ method: 'POST', url: '/soporte-tecnico', remoteAddress: '198.51.100.9', payload: body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(during.statusCode).toBe(503);
    expect(during.body).toContain(typed);
    expect(during.body).toContain('no podemos guardar su reporte');
    // Readiness says why.
    const ready = await t.mesa.readiness();
    expect(ready.failing).toContain('database');

    // The database comes back: intake resumes within 10 s, everything arrives once.
    await pg.start();
    const back = performance.now();
    await waitFor(async () => (await count('SELECT count(*) AS n FROM tickets WHERE channel = \'email\'').catch(() => 0)) === 200 || undefined, '200 email tickets', 10_000);
    const recoveredInMs = performance.now() - back;
    await waitFor(async () => (await count('SELECT count(*) AS n FROM tickets WHERE channel = \'phone\'')) === 1 || undefined, 'the voicemail ticket', 10_000);
    const phone = (await db().get('SELECT t.description, t.created_at FROM calls c JOIN tickets t ON t.id = c.ticket_id WHERE c.call_sid = ?', call.CallSid)) as { description: string; created_at: number };
    expect(phone.description).toContain('Mensaje de voz (21 s)');
    expect(await count('SELECT count(DISTINCT message_id) AS n FROM messages WHERE direction = \'in\'')).toBe(200);
    expect(await count('SELECT count(*) AS n FROM quarantine')).toBe(0);
    // The ticket commits before its held file is removed, and the status webhook replays after it.
    await waitFor(async () => (await t.mesa.heldCalls!.pending()).length === 0 || undefined, 'every held webhook replayed', 10_000);
    // The customer sends the kept form again: one ticket.
    const again = await t.mesa.http.inject({ method: 'POST', url: '/soporte-tecnico', remoteAddress: '198.51.100.9', payload: body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(again.statusCode).toBe(200);
    expect(await count('SELECT count(*) AS n FROM tickets WHERE channel = \'web\'')).toBe(1);
    console.log(`postgres outage: intake back ${Math.round(recoveredInMs)} ms after the database`);
    expect(recoveredInMs).toBeLessThan(10_000);
  }, 120_000);
});
