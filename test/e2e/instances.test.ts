import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseLost } from '../../src/desk/email-intake.ts';
import { panelTokenCommand } from '../../src/cli/commands.ts';
import { runDoctor } from '../../src/cli/doctor.ts';
import { readEnvironment } from '../../src/config/environment.ts';
import { peek } from '../support/db-peek.ts';
import { startDovecot, type DovecotServer } from '../support/dovecot.ts';
import { email, startTestMesa, testEnv, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';
import { SmtpSink, waitFor } from '../support/smtp-sink.ts';

/**
 * Two Mesa instances in one process, sharing one PostgreSQL database, one Dovecot and one SMTP
 * sink: what the database coordinates between them (mailbox leases, row locks, shared rate
 * limits and secrets). The kill -9 variant, with processes, is test/e2e/instances-kill.test.ts.
 */
const FAST_LEASES = { heartbeatMs: 150, ttlMs: 900 };
const CREDS = { accountSid: `AC${'d4'.repeat(16)}`, authToken: 'token-instancias-0123456789abcdef' };

describe('several instances on one PostgreSQL', () => {
  let pg: PostgresServer;
  let dovecot: DovecotServer;
  let smtp: SmtpSink;
  let twilio: FakeTwilio;
  let url: string;
  let a: TestMesa;
  let b: TestMesa;
  const now = new Date('2026-11-30T16:00:00Z'); // Monday 10:00 in Mexico City

  beforeAll(async () => {
    pg = await startPostgres();
    dovecot = await startDovecot();
    smtp = new SmtpSink();
    await smtp.start();
    twilio = await startFakeTwilio(CREDS);
    url = await pg.createDatabase();
    [a, b] = await Promise.all([open(), open()]);
  }, 60_000);

  const open = () => startTestMesa({
    dovecot, smtp, databaseUrl: url, clock: () => now, leaseTiming: FAST_LEASES, twilio: { ...CREDS, phoneNumber: '+525552801241', url: twilio.url },
    env: { MESA_SECRET: undefined, MESA_PANEL_TOKEN: undefined },
  });

  afterAll(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await twilio?.stop();
    await smtp?.stop();
    await dovecot?.stop();
    await pg?.remove();
  });

  // Read through a connection of the test's own: either instance may be the one stopped.
  const db = () => peek({ dataDir: '/nonexistent', databaseUrl: url });
  const tickets = async () => (await db().all('SELECT t.key, m.message_id FROM tickets t JOIN messages m ON m.ticket_id = t.id AND m.direction = \'in\' ORDER BY t.id')) as Array<{ key: string; message_id: string }>;
  const holders = async () => Object.fromEntries(((await db().all('SELECT mailbox, holder FROM mailbox_leases')) as Array<{ mailbox: string; holder: string }>).map((l) => [l.mailbox, l.holder]));

  it('agree on one signing secret and one panel token through the database', () => {
    expect(a.mesa.env.secretSource).toBe('database');
    expect(b.mesa.env.secret).toBe(a.mesa.env.secret);
    expect(b.mesa.env.panelToken).toBe(a.mesa.env.panelToken);
    expect(a.mesa.instance.holder).not.toBe(b.mesa.instance.holder);
  });

  it('read each mailbox from one instance at a time, and hand it over when that one stops', async () => {
    // Shared out: one mailbox each (an instance that started first and took both gives one back
    // within a heartbeat or two).
    await waitFor(async () => new Set(Object.values(await holders())).size === 2 || undefined, 'one mailbox each', 10_000);
    const held = await holders();
    for (const k of [...a.mesa.mailboxes, ...b.mesa.mailboxes]) {
      expect(k.stats.holding).toBe(held[k.mailbox] === (a.mesa.mailboxes.includes(k) ? a : b).mesa.instance.holder);
    }
    for (let i = 0; i < 10; i++) {
      await dovecot.appendRaw(i % 2 ? 'mesadeayuda' : 'soportetecnico', email({ from: `c${i}@cliente.mx`, to: 'soportetecnico@proditmapac.com', subject: `Falla ${i}`, messageId: `lease-${i}@cliente.mx` }, `No funciona el sistema, caso ${i}.`));
    }
    await waitFor(async () => (await tickets()).length === 10 || undefined, 'ten tickets');

    // The instance holding soportetecnico stops; the other takes it over, from the stored cursor.
    const first = held.soportetecnico === a.mesa.instance.holder ? a : b;
    const other = first === a ? b : a;
    await first.mesa.stop();
    for (let i = 10; i < 16; i++) {
      await dovecot.appendRaw('soportetecnico', email({ from: `c${i}@cliente.mx`, to: 'soportetecnico@proditmapac.com', subject: `Falla ${i}`, messageId: `lease-${i}@cliente.mx` }, `No funciona el sistema, caso ${i}.`));
    }
    await waitFor(async () => (await holders()).soportetecnico === other.mesa.instance.holder || undefined, 'takeover', 10_000);
    await waitFor(async () => (await tickets()).length === 16 || undefined, 'sixteen tickets');
    const rows = await tickets();
    expect(new Set(rows.map((r) => r.message_id)).size).toBe(16);
    expect(new Set(rows.map((r) => r.key)).size).toBe(16);
    // Each customer acknowledged once.
    await waitFor(() => smtp.messages.filter((m) => /^c\d+@cliente\.mx$/.test(m.envelopeTo[0] ?? '')).length >= 16 || undefined, 'sixteen acks');
    const acks = smtp.messages.filter((m) => /^c\d+@cliente\.mx$/.test(m.envelopeTo[0] ?? '')).map((m) => m.envelopeTo[0]);
    expect(acks.length).toBe(new Set(acks).size);
    // The standby instance is ready (its mailbox is read elsewhere), and says who it is.
    const ready = await other.mesa.readiness();
    expect(ready).toMatchObject({ ready: true, instance: other.mesa.instance.name });
    const metrics = await other.mesa.metrics.registry.metrics();
    expect(metrics).toMatch(/mesa_imap_mailbox_held\{mailbox="soportetecnico",mesa_instance="[^"]+"\} 1/);
    expect(metrics).toMatch(/mesa_database_up\{engine="postgres",mesa_instance="[^"]+"\} 1/);
    // The doctor names the holder of each mailbox.
    const checks = await runDoctor({ environment: () => other.mesa.env, timeoutMs: 5_000, twilioApiBaseUrl: twilio.url });
    expect(checks.find((c) => c.id === 'leases')).toMatchObject({ verdict: 'ok', detail: expect.stringContaining(`soportetecnico: ${other.mesa.instance.holder}`) });
    // An operator on any host gets the shared panel token.
    const out: string[] = [];
    const fresh = readEnvironment({ ...testEnv(other.dataDir, { databaseUrl: url }), MESA_SECRET: undefined });
    expect(await panelTokenCommand(fresh, { out: (x) => out.push(x), err: () => {} })).toBe(0);
    expect(out).toEqual([a.mesa.env.panelToken]);

    // The stopped one comes back, as a new process would.
    const restarted = await open();
    if (first === a) a = restarted; else b = restarted;
  }, 60_000);

  it('commits nothing read under a lease the instance no longer holds', async () => {
    const holderNow = (await holders()).mesadeayuda as string;
    const reader = [a, b].find((x) => x.mesa.instance.holder === holderNow) as TestMesa;
    const before = (await tickets()).length;
    // As if this instance had been paused past its TTL and another had taken the mailbox.
    const r = await reader.mesa.receiveMany([{ raw: email({ from: 'tarde@cliente.mx', to: 'mesadeayuda@proditmapac.com', subject: 'Tarde', messageId: 'fenced@cliente.mx' }, 'Llega tarde.'),
      origin: { kind: 'imap', mailbox: 'mesadeayuda', uid: 10_000, uidValidity: 1, holder: 'otra/1/abc' } }]);
    expect(r.outcomes).toEqual([]);
    expect(r.failure?.error).toBeInstanceOf(LeaseLost);
    expect((await tickets()).length).toBe(before);
  });

  it('do each SLA step once when both sweep the same due tickets at the same moment', async () => {
    const o = await a.mesa.receive(email({ from: 'sla@cliente.mx', to: 'soportetecnico@proditmapac.com', subject: 'Portal caído', messageId: 'sla-1@cliente.mx' }, 'El portal no carga para nadie, error 503.'), { kind: 'pipe', mailbox: null });
    const key = (o as { ticketKey: string }).ticketKey;
    const later = new Date(now.getTime() + 3 * 3_600_000);
    const [ra, rb] = await Promise.all([a.mesa.sweep.run(later), b.mesa.sweep.run(later)]);
    const id = (await a.mesa.store.tickets.byKey(key))!.id;
    const events = ((await db().all('SELECT type FROM events WHERE ticket_id = ? ORDER BY id', id)) as Array<{ type: string }>).map((e) => e.type);
    const breaches = events.filter((e) => e === 'first_response_breached' || e === 'resolution_breached');
    expect(breaches.length).toBeGreaterThan(0);
    expect(new Set(breaches).size).toBe(breaches.length);
    const notices = (await db().all('SELECT moment, recipient FROM outbox WHERE ticket_id = ? AND moment != \'ack\'', id)) as Array<{ moment: string; recipient: string }>;
    const keys = notices.map((n) => `${n.moment}→${n.recipient}`);
    expect(keys.length).toBe(new Set(keys).size);
    // The work was split, not doubled: the two sweeps together did what one would.
    expect(ra.tickets + rb.tickets).toBeGreaterThanOrEqual(1);
  });

  it('share the portal rate limit per IP across instances', async () => {
    const perIp = testPolicy().web.portal.perIpPerHour;
    const post = (t: TestMesa) => t.mesa.http.inject({ method: 'POST', url: '/soporte-tecnico', remoteAddress: '203.0.113.77', payload: 'inicio=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const statuses: number[] = [];
    for (let i = 0; i < perIp; i++) statuses.push((await post(i % 2 ? a : b)).statusCode);
    expect(statuses.every((s) => s !== 429)).toBe(true);
    expect((await post(a)).statusCode).toBe(429);
    expect((await post(b)).statusCode).toBe(429);
  });

  it('make one ticket of one call even when both instances get its webhooks at once', async () => {
    const sid = `CA${'e5'.repeat(16)}`;
    const input = { speech: 'No tenemos internet en toda la oficina', confidence: 0.9 };
    // The call's first webhook made its row; then Twilio retried the gather on the other
    // instance while the first was still answering, and the status callback came at that moment.
    await b.mesa.phone!.startCall(sid, '+525511112222', now);
    const results = await Promise.all([
      a.mesa.phone!.ticketForCall(sid, '+525511112222', input, now),
      b.mesa.phone!.ticketForCall(sid, '+525511112222', input, now),
      a.mesa.phone!.statusCallback(sid, 'completed', 40, '+525511112222', now),
    ]);
    const [ra, rb] = results;
    expect(ra.ticket.id).toBe(rb.ticket.id);
    expect([ra.created, rb.created].filter(Boolean)).toHaveLength(1);
    expect(results[2].abandonedTicket).toBeNull();
    const rows = (await db().all('SELECT id FROM tickets WHERE channel = \'phone\'')) as unknown[];
    expect(rows).toHaveLength(1);
  });
});
