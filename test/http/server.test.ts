import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { email, startTestMesa, type TestMesa } from '../support/mesa-harness.ts';

describe('HTTP health and metrics', () => {
  let t: TestMesa;
  beforeAll(async () => {
    t = await startTestMesa({ start: false });
    await t.mesa.receive(email({ from: 'a@cliente.mx', to: 'mesadeayuda@proditmapac.com', subject: 'Hola', messageId: 'h1@cliente.mx' }, 'Pregunta'), { kind: 'pipe', mailbox: null });
    await t.mesa.receive(Buffer.from('Subject: sin remitente\r\n\r\nx'), { kind: 'pipe', mailbox: null });
  });
  afterAll(async () => { await t?.stop(); });

  it('reports health with outbox and quarantine counts', async () => {
    const r = await t.mesa.http.inject({ method: 'GET', url: '/healthz' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ ok: true, imap: [], outbox: { pending: 1 }, quarantine: 1 });
  });

  it('exposes Prometheus metrics for intake and the outbox', async () => {
    const r = await t.mesa.http.inject({ method: 'GET', url: '/metrics' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('text/plain');
    // Every series carries the instance's name (MESA_INSTANCE, else the host name).
    const i = `mesa_instance="${t.mesa.instance.name}"`;
    expect(r.body).toContain(`mesa_intake_messages_total{result="ticket_created",origin="pipe",${i}} 1`);
    expect(r.body).toContain(`mesa_intake_messages_total{result="quarantined",origin="pipe",${i}} 1`);
    expect(r.body).toContain(`mesa_outbox_messages{status="pending",${i}} 1`);
    expect(r.body).toContain(`mesa_quarantine_open{${i}} 1`);
  });
});
