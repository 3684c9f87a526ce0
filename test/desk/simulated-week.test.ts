import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatInstant } from '../../src/domain/time-format.ts';
import { email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { peek } from '../support/db-peek.ts';

/**
 * A simulated week and a half, minute by minute, with the sweep run at every minute as
 * node-cron would: a severity-3 ticket on a Friday evening before a long weekend (Monday 16 Nov
 * 2026 is the Revolution Day holiday), a severity-1 ticket at 03:00 on that holiday, a ticket
 * paused while the desk waits for the customer, and a resolved ticket the customer reopens.
 * Every message queued is listed with its minute; the list is the desk's process, written out.
 */
describe('a simulated week of SLA clocks', () => {
  let t: TestMesa;
  let now: Date;
  const at = (local: string) => new Date(`${local}:00-06:00`); // Mexico City, no DST since 2022
  const timeline: string[] = [];

  beforeAll(async () => {
    now = at('2026-11-13T17:00');
    t = await startTestMesa({
      start: false,
      clock: () => now,
      policy: testPolicy((p) => {
        p.levels[1].people = [{ name: 'Ana Uno', email: 'ana.n1@proditmapac.com', phone: null }];
        p.levels[2].people = [{ name: 'Beto Dos', email: 'beto.n2@proditmapac.com', phone: '+525511110002' }];
        p.levels[3].people = [{ name: 'Carla Tres', email: 'carla.n3@proditmapac.com', phone: null }];
        p.responsables = [{ name: 'Dirección', email: 'direccion@proditmapac.com', phone: null }];
      }),
    });
  });
  afterAll(async () => { await t?.stop(); });

  const receive = (raw: Buffer) => t.mesa.receive(raw, { kind: 'pipe', mailbox: null });
  const ticket = async (key: string) => (await t.mesa.store.tickets.byKey(key))!;
  const tx = <T>(fn: () => Promise<T>): Promise<T> => t.mesa.store.transaction(fn);
  let lastOutbox = 0;

  /** Runs the clock minute by minute to `until`, sweeping at each minute, recording messages. */
  const runUntil = async (until: Date) => {
    while (now.getTime() < until.getTime()) {
      now = new Date(now.getTime() + 60_000);
      await t.mesa.sweep.run(now);
      (await collect());
    }
  };
  const collect = async () => {
    const rows = (await peek(t).all('SELECT o.id, o.moment, o.recipient, o.channel, o.created_at, t.key FROM outbox o JOIN tickets t ON t.id = o.ticket_id WHERE o.id > ? ORDER BY o.id', lastOutbox)) as Array<{ id: number; moment: string; recipient: string; channel: string; created_at: number; key: string }>;
    for (const r of rows) {
      lastOutbox = r.id;
      timeline.push(`${formatInstant(new Date(r.created_at), now, 'America/Mexico_City', 'es-MX').replace(' (hora del centro)', '')}  ${r.key}  ${r.moment}  → ${r.recipient}${r.channel === 'sms' ? ' (SMS)' : ''}`);
    }
  };

  it('runs the desk process to the minute', async () => {
    // A: severity 3 on Friday 13 November at 17:30, before the long weekend.
    await runUntil(at('2026-11-13T17:30'));
    await receive(email({ from: 'Andrea <andrea@cliente.mx>', to: 'soportetecnico@proditmapac.com', subject: 'No puedo subir archivos', messageId: 'a@cliente.mx' }, 'Al subir un archivo me marca error, solo a mí.'));
    (await collect());
    expect((await ticket('MDA-000001')).severity).toBe(3);

    // B: severity 1 at 03:00 on the holiday: a 24x7 clock ignores it.
    await runUntil(at('2026-11-16T03:00'));
    await receive(email({ from: 'Bruno <bruno@hospital.mx>', to: 'soportetecnico@proditmapac.com', subject: 'Portal caído para todos', messageId: 'b@hospital.mx' }, 'El portal no carga para nadie, error 503.'));
    (await collect());
    expect((await ticket('MDA-000002')).severity).toBe(1);
    await runUntil(at('2026-11-16T06:10'));
    await tx(async () => await t.mesa.lifecycle.resolve((await ticket('MDA-000002')), now, 'agent:carla.n3@proditmapac.com'));

    // C: severity 2 on Tuesday 10:00, paused 10:30–13:30 waiting for the customer.
    await runUntil(at('2026-11-17T10:00'));
    await receive(email({ from: 'Ceci <ceci@tienda.mx>', to: 'soportetecnico@proditmapac.com', subject: 'Falla el cobro', messageId: 'c@tienda.mx' }, 'Varios usuarios no pueden pagar, no hay alternativa.'));
    (await collect());
    expect((await ticket('MDA-000003')).severity).toBe(2);
    await runUntil(at('2026-11-17T10:30'));
    await tx(async () => await t.mesa.lifecycle.pause((await ticket('MDA-000003')), now, 'agent:ana.n1@proditmapac.com', 'se pidió captura de pantalla'));
    await runUntil(at('2026-11-17T13:30'));
    await receive(email({ from: 'ceci@tienda.mx', to: 'soportetecnico@proditmapac.com', subject: 'Re: [MDA-000003] Falla el cobro', messageId: 'c2@tienda.mx', inReplyTo: 'c@tienda.mx' }, 'Aquí la captura.'));
    (await collect());
    await runUntil(at('2026-11-17T14:20'));
    await tx(async () => await t.mesa.lifecycle.resolve((await ticket('MDA-000003')), now, 'agent:ana.n1@proditmapac.com'));

    // D: severity 4 on Wednesday 10:00, resolved at 12:00, reopened by the customer on Thursday.
    await runUntil(at('2026-11-18T10:00'));
    await receive(email({ from: 'Diego <diego@despacho.mx>', to: 'mesadeayuda@proditmapac.com', subject: '¿Cómo cambio mi correo?', messageId: 'd@despacho.mx' }, '¿Cómo puedo cambiar el correo de mi cuenta?'));
    (await collect());
    await runUntil(at('2026-11-18T12:00'));
    await tx(async () => await t.mesa.lifecycle.resolve((await ticket('MDA-000004')), now, 'agent:ana.n1@proditmapac.com'));
    await runUntil(at('2026-11-19T10:00'));
    await receive(email({ from: 'diego@despacho.mx', to: 'mesadeayuda@proditmapac.com', subject: 'Re: ¿Cómo cambio mi correo?', messageId: 'd2@despacho.mx', inReplyTo: 'd@despacho.mx' }, 'No me llegó el correo de confirmación.'));
    (await collect());
    await runUntil(at('2026-11-23T12:00'));

    expect(timeline).toEqual(EXPECTED);
  }, 120_000);
});

// Checked by hand against the policy (see the comments in the test for each ticket's story):
// A: first response due Tue 12:30 (30 business minutes Friday, 210 on Tuesday after the
//    weekend and the holiday); L1 warned at 80 % (14:54) and escalated at 100 % (16:30); updates
//    every business day from the escalation notice; resolution target Thu 17:30 → responsables;
//    L2 warned Thu 17:42, escalated Fri 13:30 with the ETR re-estimated to Mon 11:15, which then
//    expires and is re-estimated once more with the customer told.
// B: 24x7 on the holiday: breach 03:15, warning 03:24, L2 03:30 (SMS for severity 1), update
//    04:30, warning 05:06, L3 05:30; resolved 06:10, so no update at 06:30.
// C: paused 10:30–13:30 (the customer's answer reaches level 1 and resumes the clock): the first
//    response due 11:00 moves to 14:00; resolved before 14:36.
// D: resolved then reopened Thursday 10:00: level 1's 2 business days restart (warning Fri 15:24,
//    escalation Mon 10:00); severity 4 sends no periodic updates.
const EXPECTED: string[] = [
  'viernes 13 de noviembre, 17:30 h  MDA-000001  ack  → andrea@cliente.mx',
  'viernes 13 de noviembre, 17:30 h  MDA-000001  agent-new-ticket  → ana.n1@proditmapac.com',
  'lunes 16 de noviembre, 03:00 h  MDA-000002  ack  → bruno@hospital.mx',
  'lunes 16 de noviembre, 03:00 h  MDA-000002  agent-new-ticket  → ana.n1@proditmapac.com',
  'lunes 16 de noviembre, 03:15 h  MDA-000002  breach-notice  → ana.n1@proditmapac.com',
  'lunes 16 de noviembre, 03:15 h  MDA-000002  breach-notice  → direccion@proditmapac.com',
  'lunes 16 de noviembre, 03:24 h  MDA-000002  level-warning  → ana.n1@proditmapac.com',
  'lunes 16 de noviembre, 03:30 h  MDA-000002  level-escalation  → beto.n2@proditmapac.com',
  'lunes 16 de noviembre, 03:30 h  MDA-000002  level-escalation  → +525511110002 (SMS)',
  'lunes 16 de noviembre, 03:30 h  MDA-000002  level-escalated-away  → ana.n1@proditmapac.com',
  'lunes 16 de noviembre, 03:30 h  MDA-000002  customer-escalation  → bruno@hospital.mx',
  'lunes 16 de noviembre, 04:30 h  MDA-000002  customer-update  → bruno@hospital.mx',
  'lunes 16 de noviembre, 05:06 h  MDA-000002  level-warning  → beto.n2@proditmapac.com',
  'lunes 16 de noviembre, 05:06 h  MDA-000002  level-warning  → +525511110002 (SMS)',
  'lunes 16 de noviembre, 05:30 h  MDA-000002  level-escalation  → carla.n3@proditmapac.com',
  'lunes 16 de noviembre, 05:30 h  MDA-000002  level-escalated-away  → beto.n2@proditmapac.com',
  'lunes 16 de noviembre, 05:30 h  MDA-000002  customer-escalation  → bruno@hospital.mx',
  'martes 17 de noviembre, 10:00 h  MDA-000003  ack  → ceci@tienda.mx',
  'martes 17 de noviembre, 10:00 h  MDA-000003  agent-new-ticket  → ana.n1@proditmapac.com',
  'martes 17 de noviembre, 12:30 h  MDA-000001  breach-notice  → ana.n1@proditmapac.com',
  'martes 17 de noviembre, 12:30 h  MDA-000001  breach-notice  → direccion@proditmapac.com',
  'martes 17 de noviembre, 13:30 h  MDA-000003  agent-customer-reply  → ana.n1@proditmapac.com',
  'martes 17 de noviembre, 13:30 h  MDA-000003  ack-followup  → ceci@tienda.mx',
  'martes 17 de noviembre, 14:00 h  MDA-000003  breach-notice  → ana.n1@proditmapac.com',
  'martes 17 de noviembre, 14:00 h  MDA-000003  breach-notice  → direccion@proditmapac.com',
  'martes 17 de noviembre, 14:54 h  MDA-000001  level-warning  → ana.n1@proditmapac.com',
  'martes 17 de noviembre, 16:30 h  MDA-000001  level-escalation  → beto.n2@proditmapac.com',
  'martes 17 de noviembre, 16:30 h  MDA-000001  level-escalated-away  → ana.n1@proditmapac.com',
  'martes 17 de noviembre, 16:30 h  MDA-000001  customer-escalation  → andrea@cliente.mx',
  'miércoles 18 de noviembre, 10:00 h  MDA-000004  ack  → diego@despacho.mx',
  'miércoles 18 de noviembre, 10:00 h  MDA-000004  agent-new-ticket  → ana.n1@proditmapac.com',
  'miércoles 18 de noviembre, 16:30 h  MDA-000001  customer-update  → andrea@cliente.mx',
  'jueves 19 de noviembre, 10:00 h  MDA-000004  agent-customer-reply  → ana.n1@proditmapac.com',
  'jueves 19 de noviembre, 10:00 h  MDA-000004  ack-reopened  → diego@despacho.mx',
  'jueves 19 de noviembre, 16:30 h  MDA-000001  customer-update  → andrea@cliente.mx',
  'jueves 19 de noviembre, 17:30 h  MDA-000001  breach-notice  → direccion@proditmapac.com',
  'jueves 19 de noviembre, 17:42 h  MDA-000001  level-warning  → beto.n2@proditmapac.com',
  'viernes 20 de noviembre, 13:30 h  MDA-000001  level-escalation  → carla.n3@proditmapac.com',
  'viernes 20 de noviembre, 13:30 h  MDA-000001  level-escalated-away  → beto.n2@proditmapac.com',
  'viernes 20 de noviembre, 13:30 h  MDA-000001  customer-escalation  → andrea@cliente.mx',
  'viernes 20 de noviembre, 15:24 h  MDA-000004  level-warning  → ana.n1@proditmapac.com',
  'lunes 23 de noviembre, 10:00 h  MDA-000004  level-escalation  → beto.n2@proditmapac.com',
  'lunes 23 de noviembre, 10:00 h  MDA-000004  level-escalated-away  → ana.n1@proditmapac.com',
  'lunes 23 de noviembre, 10:00 h  MDA-000004  customer-escalation  → diego@despacho.mx',
  'lunes 23 de noviembre, 11:15 h  MDA-000001  customer-etr-change  → andrea@cliente.mx',
];
