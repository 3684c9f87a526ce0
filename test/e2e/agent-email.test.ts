import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../support/dovecot.ts';
import { email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { SmtpSink, waitFor } from '../support/smtp-sink.ts';

/**
 * Agents working from their mail client, end to end on real servers: the notice an agent gets
 * over SMTP, the reply they send landing in the IMAP mailbox, and what the customer receives.
 */
describe('agents by email end to end', () => {
  let dovecot: DovecotServer;
  let smtp: SmtpSink;
  let t: TestMesa;
  const ANA = 'ana.n1@proditmapac.com';

  beforeAll(async () => {
    dovecot = await startDovecot();
    smtp = new SmtpSink();
    await smtp.start();
    const base = Date.parse('2026-11-30T16:00:00Z'); // Monday 10:00 in Mexico City
    const t0 = Date.now();
    t = await startTestMesa({ dovecot, smtp, clock: () => new Date(base + Date.now() - t0), policy: testPolicy((p) => {
      p.levels[1].people = [{ name: 'Ana Uno', email: ANA, phone: null }];
    }) });
  });
  afterAll(async () => {
    await t?.stop();
    await smtp?.stop();
    await dovecot?.stop();
  });

  it('relays an agent reply with a new ETR, keeps notes internal and refuses a spoofed agent', async () => {
    await dovecot.appendRaw('soportetecnico', email({ from: 'Carla <carla@cliente.mx>', to: 'soportetecnico@proditmapac.com', subject: 'No puedo subir archivos', messageId: 'e2e-c1@cliente.mx' }, 'Me marca error al subir un archivo.'));
    const notice = await waitFor(() => smtp.to(ANA)[0], 'agent notice');
    await waitFor(() => smtp.to('carla@cliente.mx')[0], 'customer ack');
    const replyTo = notice.parsed.replyTo!.value[0]!.address!;
    expect(replyTo).toMatch(/^soportetecnico\+MDA-000001\.[a-z2-7]{16}@proditmapac\.com$/);

    // Ana answers from her mail client, quoting the notice.
    await dovecot.appendRaw('soportetecnico', email({
      from: `Ana Uno <${ANA}>`, to: replyTo, subject: `RE: ${notice.parsed.subject}`, messageId: 'e2e-a1@proditmapac.com',
      inReplyTo: notice.parsed.messageId!.slice(1, -1),
    }, `#etr 3h\r\nHola Carla, ya encontramos la causa y lo corregimos hoy.\r\n\r\nEl lun, 30 nov 2026 a las 10:00, PRODITMA Mesa de Ayuda <soportetecnico@proditmapac.com> escribió:\r\n> Nuevo ticket MDA-000001`));
    const relayed = await waitFor(() => smtp.to('carla@cliente.mx')[1], 'relayed reply');
    expect(relayed.parsed.text).toContain('Hola Carla, ya encontramos la causa y lo corregimos hoy.');
    expect(relayed.parsed.text).toContain('lunes 30 de noviembre, 13:00 h (hora del centro)');
    expect(relayed.raw.toString()).not.toContain(ANA);
    expect(relayed.parsed.from?.value[0]?.address).toBe('soportetecnico@proditmapac.com');

    // An internal note, then a spoof with Ana's From but no token: the customer hears nothing more.
    await dovecot.appendRaw('soportetecnico', email({ from: ANA, to: replyTo, subject: 'RE: nota', messageId: 'e2e-a2@proditmapac.com' }, '#nota\r\nRevisar el proxy de carga.'));
    await dovecot.appendRaw('soportetecnico', email({ from: ANA, to: 'soportetecnico@proditmapac.com', subject: 'RE: [MDA-000001] cierre', messageId: 'e2e-a3@otro.example' }, '#resuelto\r\nYa quedó.'));
    await waitFor(() => smtp.to(ANA).length >= 2, 'error notice to the agent');
    expect(smtp.to(ANA)[1]!.parsed.subject).toBe('[MDA-000001] No se aplicó su respuesta');
    await t.mesa.dispatcher.drain();
    expect(smtp.to('carla@cliente.mx')).toHaveLength(2);
    expect((await t.mesa.store.tickets.byKey('MDA-000001'))!.state).toBe('en_atencion');
  });
});
