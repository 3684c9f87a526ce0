import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { SmtpSink, waitFor } from '../support/smtp-sink.ts';
import { peek } from '../support/db-peek.ts';

const CREDS = { accountSid: `AC${'a1'.repeat(16)}`, authToken: 'token-de-prueba-0123456789' };

/**
 * Severities 1–2 notify levels by SMS too, through the real twilio SDK pointed at a local server
 * that speaks Twilio's API: what the person's phone would receive, and what happens when the
 * number is a landline (Twilio 21614: final, recorded, never retried).
 */
describe('SMS notices through Twilio', () => {
  let twilio: FakeTwilio;
  let smtp: SmtpSink;
  let t: TestMesa;
  let now = new Date('2026-11-30T09:00:00Z'); // Monday 03:00 in Mexico City

  beforeAll(async () => {
    twilio = await startFakeTwilio(CREDS);
    smtp = new SmtpSink();
    await smtp.start();
    t = await startTestMesa({
      smtp, clock: () => now, twilio: { ...CREDS, phoneNumber: '+525552801241', url: twilio.url },
      policy: testPolicy((p) => {
        p.levels[1].people = [{ name: 'Ana', email: 'ana@proditmapac.com', phone: '+525511110001' }];
        p.levels[2].people = [{ name: 'Beto', email: 'beto@proditmapac.com', phone: '+525511110002' }, { name: 'Fijo', email: 'fijo@proditmapac.com', phone: '+525552800000' }];
      }),
    });
  });
  afterAll(async () => {
    await t?.stop();
    await smtp?.stop();
    await twilio?.stop();
  });

  it('texts the level of a severity-1 ticket and records a landline as a final failure', async () => {
    await t.mesa.receive(email({ from: 'bruno@hospital.mx', to: 'soportetecnico@proditmapac.com', subject: 'Portal caído', messageId: 's1@hospital.mx' }, 'El portal no carga para nadie, error 503.'), { kind: 'pipe', mailbox: null });
    await waitFor(() => twilio.requests.length === 1, 'new-ticket SMS to level 1');
    const first = twilio.requests[0]!;
    expect(first).toMatchObject({ to: '+525511110001', from: '+525552801241', auth: true });
    expect(first.body?.startsWith('MDA-000001')).toBe(true);
    expect(first.body).toContain('lunes 30 de noviembre, 07:00 h'); // the ETR: 4 h after 03:00

    // 30 minutes later nobody has answered and level 1 has not solved it: a first-response breach
    // (texted to level 1) and the escalation to level 2, whose second number is a landline.
    twilio.landlines.add('+525552800000');
    now = new Date(now.getTime() + 30 * 60_000);
    await t.mesa.sweep.run(now);
    await t.mesa.dispatcher.drain();
    const rows = (await peek(t).all(`SELECT recipient, status, attempts, last_error FROM outbox WHERE channel = 'sms' AND moment = 'level-escalation' ORDER BY id`)) as Array<{ recipient: string; status: string; attempts: number; last_error: string | null }>;
    expect(rows.map((r) => [r.recipient, r.status, r.attempts])).toEqual([['+525511110002', 'sent', 1], ['+525552800000', 'failed', 1]]);
    expect(rows[1]!.last_error).toContain('21614');
    expect(rows[1]!.last_error).not.toContain(CREDS.authToken);
    // The people still got the notice by email.
    await waitFor(() => smtp.to('fijo@proditmapac.com').length === 1 && smtp.to('beto@proditmapac.com').length === 1, 'escalation emails');
    expect(smtp.to('beto@proditmapac.com')[0]!.parsed.subject).toMatch(/^\[MDA-000001\] /);
  });
});
