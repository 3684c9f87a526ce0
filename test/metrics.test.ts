import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { email, startTestMesa, type TestMesa } from './support/mesa-harness.ts';
import { metric, parseMetrics, type Sample } from './support/prometheus.ts';

const CREDS = { accountSid: `AC${'7e'.repeat(16)}`, authToken: 'token-metricas-0123456789abcdef', phoneNumber: '+525552801241', url: 'http://127.0.0.1:9' };
const T0 = new Date('2026-11-30T16:00:00Z'); // Monday 10:00 in Mexico City
const FIXTURES = join(import.meta.dirname, 'fixtures/automatic');

/**
 * `/metrics` after real traffic through the desk: new contacts, an auto-reply and a bounce (recorded,
 * not answered), and an SLA sweep that escalates and reports a breach. Counts come from the
 * database, so they are the same after a restart.
 */
describe('Prometheus metrics', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mesa-metrics-'));
  let now = T0;
  let t: TestMesa;

  const scrape = async (m = t.mesa): Promise<Sample[]> => {
    const r = await m.http.inject({ method: 'GET', url: '/metrics' });
    expect(r.statusCode).toBe(200);
    const samples = parseMetrics(r.body);
    // Every series names the instance that answered.
    expect(samples.filter((x) => x.labels.mesa_instance !== m.instance.name)).toEqual([]);
    return samples;
  };

  beforeAll(async () => {
    // Not started: the dispatcher stays off, so what is queued stays in the outbox backlog.
    t = await startTestMesa({ start: false, dataDir, clock: () => now, twilio: CREDS });
    const pipe = { kind: 'pipe' as const, mailbox: null };
    // Severity 1 (24×7): first response due at +15 min, level 1's budget ends at +30 min.
    await t.mesa.receive(email({ from: 'Luis <luis@empresa.mx>', to: 'soportetecnico@proditmapac.com', subject: 'Portal caído', messageId: 'm1@empresa.mx' },
      'El portal no carga para nadie desde las 9, todos los usuarios ven error 503.'), pipe);
    await t.mesa.receive(email({ from: 'Ana <ana@cliente.mx>', to: 'mesadeayuda@proditmapac.com', subject: '¿Cómo descargo mi constancia?', messageId: 'm2@cliente.mx' },
      'Hola, quisiera saber cómo descargar mi constancia.'), pipe);
    await t.mesa.receive(readFileSync(join(FIXTURES, 'oof-gmail-es.eml')), pipe);
    await t.mesa.receive(readFileSync(join(FIXTURES, 'bounce-postfix-es.eml')), pipe);
    now = new Date(T0.getTime() + 31 * 60_000);
    await t.mesa.sweep.run(now);
  });

  afterAll(async () => {
    await t?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts contacts, automatic mail, escalations and breaches from the database', async () => {
    const s = await scrape();
    expect(metric(s, 'mesa_contacts_total', { channel: 'email' })).toBe(2);
    expect(metric(s, 'mesa_contacts_total', { channel: 'phone' })).toBeUndefined();
    expect(metric(s, 'mesa_automatic_mail_total', { kind: 'auto_reply' })).toBe(1);
    expect(metric(s, 'mesa_automatic_mail_total', { kind: 'bounce' })).toBe(1);
    expect(metric(s, 'mesa_escalations_total', { by: 'sla', to_level: '2' })).toBe(1);
    expect(metric(s, 'mesa_sla_breaches_total', { kind: 'first_response' })).toBe(1);
    expect(metric(s, 'mesa_sla_breaches_total', { kind: 'resolution' })).toBeUndefined();
    expect(s.find((x) => x.name === 'mesa_escalations_total')).toBeDefined();
  });

  it('reports open tickets by state, severity and level, and the outbox backlog', async () => {
    const s = await scrape();
    expect(metric(s, 'mesa_tickets_open', { state: 'nuevo', severity: '1', level: '2' })).toBe(1);
    expect(metric(s, 'mesa_tickets_open', { state: 'nuevo', severity: '4', level: '1' })).toBe(1);
    expect(s.filter((x) => x.name === 'mesa_tickets_open').reduce((a, x) => a + x.value, 0)).toBe(2);
    const pending = (await t.mesa.store.outbox.counts()).pending;
    expect(pending).toBeGreaterThan(2);
    expect(metric(s, 'mesa_outbox_backlog')).toBe(pending);
    expect(metric(s, 'mesa_outbox_messages', { status: 'pending' })).toBe(pending);
    expect(metric(s, 'mesa_outbox_failed', { channel: 'email' })).toBe(0);
    expect(metric(s, 'mesa_quarantine_open')).toBe(0);
  });

  it('measures ingest latency per message and webhook latency per route', async () => {
    const before = await scrape();
    expect(metric(before, 'mesa_ingest_seconds_count', { origin: 'pipe' })).toBe(4);
    expect(metric(before, 'mesa_ingest_seconds_bucket', { origin: 'pipe', le: '+Inf' })).toBe(4);
    expect(metric(before, 'mesa_intake_messages_total', { result: 'ticket_created', origin: 'pipe' })).toBe(2);
    // An unsigned request is refused by the signature check; its latency is still recorded, by route template.
    const r = await t.mesa.http.inject({ method: 'POST', url: '/twilio/voice/menu?attempt=1', payload: 'CallSid=CA1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(r.statusCode).toBe(403);
    await t.mesa.http.inject({ method: 'GET', url: '/healthz' });
    const after = await scrape();
    expect(metric(after, 'mesa_webhook_seconds_count', { route: '/twilio/voice/menu', method: 'POST', status: '403' })).toBe(1);
    // Probes and scrapes are not webhooks.
    expect(after.filter((x) => x.name === 'mesa_webhook_seconds_count').map((x) => x.labels.route)).toEqual(['/twilio/voice/menu']);
  });

  it('adds only what is new at each scrape, and survives a restart', async () => {
    await t.mesa.receive(email({ from: 'Rosa <rosa@cliente.mx>', to: 'mesadeayuda@proditmapac.com', subject: 'Duda', messageId: 'm3@cliente.mx' }, 'Una pregunta.'), { kind: 'pipe', mailbox: null });
    expect(metric(await scrape(), 'mesa_contacts_total', { channel: 'email' })).toBe(3);
    expect(metric(await scrape(), 'mesa_contacts_total', { channel: 'email' })).toBe(3);
    await t.mesa.stop();
    t = await startTestMesa({ start: false, dataDir, clock: () => now, twilio: CREDS });
    const s = await scrape();
    expect(metric(s, 'mesa_contacts_total', { channel: 'email' })).toBe(3);
    expect(metric(s, 'mesa_escalations_total', { by: 'sla', to_level: '2' })).toBe(1);
    expect(metric(s, 'mesa_automatic_mail_total', { kind: 'bounce' })).toBe(1);
    // Per-process series start again.
    expect(metric(s, 'mesa_ingest_seconds_count', { origin: 'pipe' })).toBeUndefined();
  });
});
