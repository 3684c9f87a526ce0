import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { email, startTestMesa, type TestMesa } from '../support/mesa-harness.ts';
import { SmtpSink, waitFor } from '../support/smtp-sink.ts';
import { peek } from '../support/db-peek.ts';

/**
 * SMTP trouble: a server that is down, then back; a recipient refused for good (5xx) and one
 * refused for now (4xx). Every acknowledgment is delivered or kept as a visible failure.
 */
describe('outbox under SMTP failures', () => {
  let smtp: SmtpSink;
  let t: TestMesa;

  beforeAll(async () => {
    smtp = new SmtpSink();
    await smtp.start();
    t = await startTestMesa({ smtp });
  });

  afterAll(async () => {
    await t?.stop();
    await smtp?.stop();
  });

  const outbox = async () => (await peek(t).all('SELECT recipient, status, attempts, last_error FROM outbox ORDER BY id')) as Array<{ recipient: string; status: string; attempts: number; last_error: string | null }>;

  it('retries while SMTP is down and delivers every ack once it is back', async () => {
    await smtp.stop();
    for (let i = 0; i < 20; i++) {
      const outcome = await t.mesa.receive(email({ from: `cliente${i}@caida.mx`, to: 'mesadeayuda@proditmapac.com', subject: `Consulta ${i}`, messageId: `down-${i}@caida.mx` }, 'Tengo una duda sobre mi cuenta.'), { kind: 'pipe', mailbox: null });
      expect(outcome.result).toBe('ticket_created');
    }
    await waitFor(async () => (await outbox()).filter((r) => r.attempts >= 1 && r.status === 'pending' && r.last_error).length === 20, 'a failed attempt on every row');
    expect(smtp.messages).toHaveLength(0);
    await smtp.start();
    await waitFor(async () => smtp.messages.length >= 20 && (await outbox()).every((r) => r.status === 'sent'), 'all 20 acks delivered', 20_000);
    const recipients = smtp.messages.map((m) => m.envelopeTo[0]).sort();
    expect(new Set(recipients).size).toBe(20);
  });

  it('keeps a 5xx as a visible permanent failure and retries a 4xx until it passes', async () => {
    smtp.refuse.set('nadie@inexistente.mx', 550);
    smtp.refuse.set('lleno@temporal.mx', 451);
    await t.mesa.receive(email({ from: 'nadie@inexistente.mx', to: 'mesadeayuda@proditmapac.com', subject: 'Hola', messageId: 'p1@inexistente.mx' }, 'Pregunta.'), { kind: 'pipe', mailbox: null });
    await t.mesa.receive(email({ from: 'lleno@temporal.mx', to: 'mesadeayuda@proditmapac.com', subject: 'Hola', messageId: 't1@temporal.mx' }, 'Pregunta.'), { kind: 'pipe', mailbox: null });
    const row = async (r: string) => (await outbox()).find((x) => x.recipient === r)!;
    await waitFor(async () => (await row('nadie@inexistente.mx')).status === 'failed', 'permanent failure recorded');
    expect(await row('nadie@inexistente.mx')).toMatchObject({ attempts: 1 });
    expect((await row('nadie@inexistente.mx')).last_error).toContain('550');
    await waitFor(async () => (await row('lleno@temporal.mx')).attempts >= 2, 'temporary failure retried');
    expect((await row('lleno@temporal.mx')).status).not.toBe('failed');
    smtp.refuse.delete('lleno@temporal.mx');
    await waitFor(async () => (await row('lleno@temporal.mx')).status === 'sent', 'delivered after the 4xx cleared', 20_000);
    expect(smtp.to('lleno@temporal.mx')).toHaveLength(1);
    expect(smtp.to('nadie@inexistente.mx')).toHaveLength(0);
  });
});
