import { afterEach, describe, expect, it } from 'vitest';
import { email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { peek } from '../support/db-peek.ts';

/** Ticket changes that move the clocks, on a real SQLite file with a controlled clock. */
describe('ticket lifecycle and the ETR', () => {
  let t: TestMesa;
  let now: Date;
  const at = (local: string) => new Date(`${local}:00-06:00`);
  afterEach(async () => { await t?.stop(); });

  const open = async () => {
    now = at('2026-11-30T10:00'); // Monday
    t = await startTestMesa({ start: false, clock: () => now, policy: testPolicy() });
  };
  const receive = (n: number, subject = 'Portal caído para todos', body = 'El portal no carga para nadie, error 503.') =>
    t.mesa.receive(email({ from: `c${n}@cliente.mx`, to: 'soportetecnico@proditmapac.com', subject, messageId: `m${n}@cliente.mx` }, body), { kind: 'pipe', mailbox: null });
  const tx = <T>(fn: () => Promise<T>): Promise<T> => t.mesa.store.transaction(fn);
  const row = async (key: string) => (await t.mesa.store.tickets.byKey(key))!;

  it('estimates from comparable resolved tickets once there are enough of them', async () => {
    await open();
    // 20 severity-1 availability tickets, each resolved after (i+1)*5 minutes.
    for (let i = 0; i < 20; i++) {
      now = at('2026-11-30T10:00');
      const o = await receive(i);
      if (o.result !== 'ticket_created') throw new Error(o.result);
      now = new Date(now.getTime() + (i + 1) * 5 * 60_000);
      await tx(async () => await t.mesa.lifecycle.resolve((await row(o.ticketKey)), now, 'agent:test'));
    }
    now = at('2026-11-30T12:00');
    const o = await receive(99);
    const key = (o as { ticketKey: string }).ticketKey;
    const history = await t.mesa.store.tickets.etrHistory((await row(key)).id);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ source: 'history', etr_at: at('2026-11-30T12:00').getTime() + 80 * 60_000 });
    expect(history[0]!.reason).toContain('p80 de 20 tickets resueltos similares: 80 min');
    // A different category has no history yet: the target applies.
    const other = await receive(100, 'Olvidé mi contraseña', 'No puedo entrar, olvidé mi contraseña.');
    expect((await t.mesa.store.tickets.etrHistory((await row((other as { ticketKey: string }).ticketKey)).id))[0]!.source).toBe('target');
  });

  it('recomputes deadlines and tells the customer when the severity changes', async () => {
    await open();
    const o = await receive(1, 'Duda', '¿Cómo puedo descargar mi constancia?');
    const key = (o as { ticketKey: string }).ticketKey;
    expect((await row(key)).severity).toBe(4);
    now = at('2026-11-30T10:30');
    await tx(async () => await t.mesa.lifecycle.changeSeverity((await row(key)), 1, now, 'agent:ana', 'afecta a todos'));
    const r = (await row(key));
    expect(r.severity).toBe(1);
    expect(r.first_response_due_at).toBe(at('2026-11-30T10:15').getTime()); // 15 min from creation, 24x7
    expect(r.resolution_due_at).toBe(at('2026-11-30T14:00').getTime());
    expect(r.next_escalation_due_at).toBe(at('2026-11-30T10:30').getTime()); // level 1 since 10:00 + 30
    expect(r.next_action_at).toBe(at('2026-11-30T10:15').getTime());
    expect(r.etr_at).toBe(at('2026-11-30T14:00').getTime());
    const moments = ((await peek(t).all('SELECT moment FROM outbox WHERE ticket_id = ? ORDER BY id', r.id)) as Array<{ moment: string }>).map((m) => m.moment);
    expect(moments).toEqual(['ack', 'customer-etr-change']);
    const etrs = await t.mesa.store.tickets.etrHistory(r.id);
    expect(etrs.at(-1)!.reason).toContain('cambio de severidad 4 → 1');
  });

  it('re-estimates an ETR that passed before acknowledging a follow-up', async () => {
    await open();
    const o = await receive(1);
    const key = (o as { ticketKey: string }).ticketKey;
    now = at('2026-11-30T15:00'); // the 4 h ETR (14:00) has passed; no sweep ran
    await t.mesa.receive(email({ from: 'c1@cliente.mx', to: 'soportetecnico@proditmapac.com', subject: 'Re: Portal caído', messageId: 'f1@cliente.mx', inReplyTo: 'm1@cliente.mx' }, '¿Alguna novedad?'), { kind: 'pipe', mailbox: null });
    const ack = (await peek(t).get(`SELECT payload_json FROM outbox WHERE moment = 'ack-followup'`)) as { payload_json: string };
    expect(JSON.parse(ack.payload_json).text).toContain('lunes 30 de noviembre, 16:00 h'); // 15:00 + 25 % of 4 h
    expect((await row(key)).etr_at).toBe(at('2026-11-30T16:00').getTime());
  });

  it('records the business-time resolution, less the time paused', async () => {
    await open();
    const o = await receive(1, 'Duda', '¿Cómo puedo descargar mi constancia?'); // severity 4, business clock
    const key = (o as { ticketKey: string }).ticketKey;
    now = at('2026-11-30T11:00');
    await tx(async () => await t.mesa.lifecycle.pause((await row(key)), now, 'agent:ana'));
    now = at('2026-12-01T10:00');
    await tx(async () => await t.mesa.lifecycle.resume((await row(key)), now, 'customer'));
    now = at('2026-12-01T11:00');
    await tx(async () => await t.mesa.lifecycle.resolve((await row(key)), now, 'agent:ana'));
    const r = (await row(key));
    expect(r.paused_minutes).toBe(420 + 60); // Mon 11–18 and Tue 9–10
    expect(r.resolution_business_minutes).toBe(120); // 10–11 Monday and 10–11 Tuesday
    expect(r.next_action_at).toBeNull();
  });
});
