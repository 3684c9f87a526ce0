import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spellTicketKey } from '../../src/domain/spoken.ts';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { agentReplyAddress, email, startTestMesa, testPolicy, TEST_PUBLIC_URL, type TestMesa } from '../support/mesa-harness.ts';
import { parseTwiml, spoken, type TwimlNode } from '../support/twiml.ts';
import { waitFor } from '../support/smtp-sink.ts';
import { peek } from '../support/db-peek.ts';
import { TEST_INCIDENTS } from '../support/incidents.ts';

const CREDS = { accountSid: `AC${'d4'.repeat(16)}`, authToken: 'token-incidente-0123456789abcdef' };

/**
 * The phone during a major incident (issue 13), through real signed webhooks and the twilio SDK
 * to a local server speaking Twilio's API: the greeting announces the incident first with its
 * ETR; a caller who says it is why they call is linked without dictating anything and told by
 * SMS now and at the resolution; a caller with another problem goes on to the menu.
 */
describe('phone greeting while a major incident is open', () => {
  let fake: FakeTwilio;
  let t: TestMesa;
  const now = new Date('2026-11-30T16:00:00Z'); // Monday 10:00 in Mexico City
  const BETO = { name: 'Beto Dos', email: 'beto.n2@proditmapac.com', phone: null };
  const MESA = 'mesadeayuda@proditmapac.com';

  beforeAll(async () => {
    fake = await startFakeTwilio(CREDS);
    t = await startTestMesa({
      clock: () => now, twilio: { ...CREDS, phoneNumber: '+525552801241', url: fake.url },
      policy: testPolicy((p) => {
        p.incidents = { ...TEST_INCIDENTS };
        p.levels[2].people = [BETO];
      }),
    });
  });
  afterAll(async () => {
    await t?.stop();
    await fake?.stop();
  });

  const post = async (path: string, params: Record<string, string>) => {
    const signature = twilio.getExpectedTwilioSignature(CREDS.authToken, `${TEST_PUBLIC_URL}${path}`, params);
    const res = await t.mesa.http.inject({
      method: 'POST', url: path, payload: new URLSearchParams(params).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    });
    expect(res.statusCode, res.body).toBe(200);
    return parseTwiml(res.body);
  };
  const call = (sid: string, from: string) => ({ CallSid: sid, AccountSid: CREDS.accountSid, From: from, To: '+525552801241', CallStatus: 'in-progress' });
  const find = (nodes: TwimlNode[], name: string): TwimlNode | undefined => nodes.find((n) => n.name === name);
  const ticketOf = async (sid: string) => (await peek(t).get('SELECT t.* FROM calls c JOIN tickets t ON t.id = c.ticket_id WHERE c.call_sid = ?', sid)) as
    { key: string; incident_id: number | null; etr_at: number; customer_channel: string; category: string; state: string } | undefined;

  it('greets with the menu while nothing is down', async () => {
    const r = await post('/twilio/voice', call('CA1000', '+525511110000'));
    expect(find(r, 'Gather')?.attrs.action).toBe('/twilio/voice/menu?attempt=1');
    expect(spoken(r)).not.toContain('Sabemos que hay una falla');
  });

  it('announces the incident with its ETR, links a caller who says it is theirs, and texts them now and at the resolution', async () => {
    for (let n = 0; n < 5; n++) {
      await t.mesa.receive(email({ from: `cliente${n}@empresa${n}.mx`, to: MESA, subject: `Portal caído ${n}`, messageId: `c${n}@x.mx` }, 'No carga el portal de facturación electrónica, marca error 503 al entrar.'), { kind: 'pipe', mailbox: null });
    }
    await t.mesa.receive(email({ from: BETO.email, to: agentReplyAddress(t.mesa.env.secret, 'INC-0001', BETO.email, MESA), subject: 'RE: [INC-0001]', messageId: 'ttl@proditmapac.com' },
      '#nota\r\n#titulo el portal de facturación no está disponible\r\n#etr 14:30'), { kind: 'pipe', mailbox: null });
    const incident = (await t.mesa.store.incidents.byId(1))!;
    expect(incident.public_title).toBe('el portal de facturación no está disponible');

    const greeting = await post('/twilio/voice', call('CA1001', '+525522220001'));
    const gather = find(greeting, 'Gather')!;
    expect(gather.attrs).toMatchObject({ action: '/twilio/voice/incident?incident=1', numDigits: '1', input: 'dtmf speech' });
    const words = spoken(greeting);
    expect(words).toContain('Sabemos que hay una falla que afecta a varios clientes: el portal de facturación no está disponible.');
    expect(words).toContain('Estimamos restablecer el servicio hoy a las dos y media de la tarde');
    expect(words).toContain('marque 1 o diga sí');
    expect(find(greeting, 'Redirect')?.text).toBe('/twilio/voice/incident?incident=1&silence=1');

    // "Sí": linked at once, nothing to dictate; the SMS says the problem is known, with the ETR.
    const joined = await post('/twilio/voice/incident?incident=1', { ...call('CA1001', '+525522220001'), SpeechResult: 'Sí, por eso llamo.' });
    const ticket = (await ticketOf('CA1001'))!;
    expect(ticket).toMatchObject({ incident_id: 1, customer_channel: 'sms', category: incident.category, etr_at: incident.etr_at });
    expect(spoken(joined)).toContain(spellTicketKey(ticket.key, 'es-MX'));
    expect(spoken(joined)).toContain('Le enviaremos un mensaje de texto ahora con el número, y otro cuando quede resuelto.');
    expect(joined.at(-1)?.name).toBe('Hangup');
    await waitFor(() => fake.requests.find((q) => q.to === '+525522220001'), 'SMS acknowledgment');
    const ack = fake.requests.filter((q) => q.to === '+525522220001');
    expect(ack).toHaveLength(1);
    expect(ack[0]!.body).toContain(ticket.key);
    // Twilio repeats the webhook: the same ticket, nothing sent twice.
    await post('/twilio/voice/incident?incident=1', { ...call('CA1001', '+525522220001'), Digits: '1' });
    expect(await peek(t).get(`SELECT count(*) AS n FROM calls c JOIN tickets t ON t.id = c.ticket_id WHERE c.call_sid = 'CA1001'`)).toEqual({ n: 1 });
    // The level was not told of this caller: the incident holds them.
    expect((await peek(t).all(`SELECT moment FROM outbox WHERE ticket_id = (SELECT id FROM tickets WHERE key = ?) AND recipient LIKE '%@proditmapac.com'`, ticket.key))).toEqual([]);

    // The same caller again: already linked, they go straight to the usual flow.
    const again = await post('/twilio/voice', call('CA1003', '+525522220001'));
    expect(spoken(again)).not.toContain('Sabemos que hay una falla');

    // Another problem: on to the menu, no ticket yet.
    const other = await post('/twilio/voice', call('CA1002', '+525533330002'));
    expect(find(other, 'Gather')?.attrs.action).toBe('/twilio/voice/incident?incident=1');
    const menu = await post('/twilio/voice/incident?incident=1', { ...call('CA1002', '+525533330002'), Digits: '2' });
    expect(find(menu, 'Gather')?.attrs.action).toBe('/twilio/voice/menu?attempt=1');
    expect(await ticketOf('CA1002')).toBeUndefined();
    // Silence after the announcement: the menu too.
    const silent = await post('/twilio/voice/incident?incident=1&silence=1', call('CA1004', '+525544440004'));
    expect(find(silent, 'Gather')?.attrs.action).toBe('/twilio/voice/menu?attempt=1');

    // Resolved: the caller hears it by SMS, over their own channel.
    await t.mesa.dispatcher.drain();
    const before = fake.requests.length;
    await t.mesa.receive(email({ from: BETO.email, to: agentReplyAddress(t.mesa.env.secret, 'INC-0001', BETO.email, MESA), subject: 'RE: [INC-0001]', messageId: 'res@proditmapac.com' },
      '#resuelto\r\nEl portal ya funciona.'), { kind: 'pipe', mailbox: null });
    await t.mesa.dispatcher.drain();
    await waitFor(() => fake.requests.slice(before).find((q) => q.to === '+525522220001'), 'SMS at the resolution');
    expect((await ticketOf('CA1001'))?.state).toBe('resuelto');
    // And the next caller hears no announcement.
    const after = await post('/twilio/voice', call('CA1005', '+525555550005'));
    expect(spoken(after)).not.toContain('Sabemos que hay una falla');
  });

  it('a caller with no number to text is told so and goes on to the menu', async () => {
    const report = await t.mesa.receive(email({ from: 'luis@cliente.mx', to: MESA, subject: 'Sin correo', messageId: 'sc@x.mx' }, 'El correo corporativo no recibe mensajes desde la mañana.'), { kind: 'pipe', mailbox: null }) as { ticketKey: string };
    await t.mesa.store.transaction(async () => {
      const ticket = (await t.mesa.store.tickets.byKey(report.ticketKey))!;
      await t.mesa.incidentActions.declare(await t.mesa.lifecycle.reload(ticket.id), BETO, now);
    });
    const open = (await t.mesa.store.incidents.openOnes()).at(-1)!;
    const r = await post(`/twilio/voice/incident?incident=${open.id}`, { ...call('CA1006', ''), Digits: '1' });
    expect(spoken(r)).toContain('No recibimos su número de teléfono');
    expect(find(r, 'Gather')?.attrs.action).toBe('/twilio/voice/menu?attempt=1');
    expect(await ticketOf('CA1006')).toBeUndefined();
  });
});
