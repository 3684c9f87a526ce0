import twilio from 'twilio';
import { spellTicketKey } from '../../src/domain/spoken.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTwilio, type FakeTwilio } from '../support/fake-twilio.ts';
import { startTestMesa, testPolicy, TEST_PUBLIC_URL, type TestMesa } from '../support/mesa-harness.ts';
import { parseTwiml, spoken, type TwimlNode } from '../support/twiml.ts';
import { waitFor } from '../support/smtp-sink.ts';
import { peek } from '../support/db-peek.ts';

const CREDS = { accountSid: `AC${'c3'.repeat(16)}`, authToken: 'token-telefono-0123456789abcdef' };

/**
 * The phone channel through real HTTP requests signed the way Twilio signs them, with the TwiML
 * Twilio would read checked as XML, and the SMS acknowledgment going out through the twilio SDK
 * to a local server that speaks Twilio's API.
 */
describe('phone calls', () => {
  let fake: FakeTwilio;
  let t: TestMesa;
  let now = new Date('2026-11-30T16:00:00Z'); // Monday 10:00 in Mexico City

  beforeAll(async () => {
    fake = await startFakeTwilio(CREDS);
    t = await startTestMesa({ clock: () => now, twilio: { ...CREDS, phoneNumber: '+525552801241', url: fake.url }, policy: testPolicy() });
  });
  afterAll(async () => {
    await t?.stop();
    await fake?.stop();
  });

  /** POSTs a webhook as Twilio would: form-encoded, signed over the public URL and the params. */
  const post = async (path: string, params: Record<string, string>, opts: { signature?: string | null; signedUrl?: string } = {}) => {
    const url = opts.signedUrl ?? `${TEST_PUBLIC_URL}${path}`;
    const signature = opts.signature === undefined ? twilio.getExpectedTwilioSignature(CREDS.authToken, url, params) : opts.signature;
    const res = await t.mesa.http.inject({
      method: 'POST', url: path, payload: new URLSearchParams(params).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature ? { 'x-twilio-signature': signature } : {}) },
    });
    return { status: res.statusCode, body: res.body, twiml: res.statusCode === 200 && res.body.startsWith('<?xml') ? parseTwiml(res.body) : [] };
  };
  const call = (sid: string, from = '+525512345678') => ({ CallSid: sid, AccountSid: CREDS.accountSid, From: from, To: '+525552801241', CallStatus: 'in-progress' });
  const find = (nodes: TwimlNode[], name: string): TwimlNode | undefined => nodes.find((n) => n.name === name);
  const ticketOf = async (sid: string) => {
    const row = (await peek(t).get('SELECT t.* FROM calls c JOIN tickets t ON t.id = c.ticket_id WHERE c.call_sid = ?', sid)) as { id: number; key: string; severity: number; channel: string; customer_channel: string; description: string } | undefined;
    return row;
  };

  it('greets in Spanish and offers the menu by key or voice', async () => {
    const r = await post('/twilio/voice', call('CA0001'));
    expect(r.status).toBe(200);
    expect(r.twiml[0]).toMatchObject({ name: 'Say', attrs: { voice: 'Polly.Mia', language: 'es-MX' } });
    const gather = find(r.twiml, 'Gather')!;
    expect(gather.attrs).toMatchObject({ input: 'dtmf speech', numDigits: '1', language: 'es-MX', action: '/twilio/voice/menu?attempt=1' });
    expect(find(gather.children, 'Say')?.text).toBeTruthy();
    expect(find(r.twiml, 'Redirect')?.text).toBe('/twilio/voice/menu?attempt=1&silence=1');
  });

  it('turns option 1 and a spoken description into a severity-1 ticket, spoken back and texted', async () => {
    const menu = await post('/twilio/voice/menu?attempt=1', { ...call('CA0002'), Digits: '1' });
    const gather = find(menu.twiml, 'Gather')!;
    expect(gather.attrs).toMatchObject({ input: 'speech', language: 'es-MX', action: '/twilio/voice/description' });
    expect(find(menu.twiml, 'Redirect')?.text).toBe('/twilio/voice/record');
    const done = await post('/twilio/voice/description', { ...call('CA0002'), SpeechResult: 'El portal no carga para nadie desde las nueve', Confidence: '0.91' });
    const ticket = (await ticketOf('CA0002'))!;
    expect(ticket).toMatchObject({ severity: 1, channel: 'phone', customer_channel: 'sms' });
    expect(ticket.description).toBe('El portal no carga para nadie desde las nueve');
    const words = spoken(done.twiml);
    expect(words).toContain(spellTicketKey(ticket.key, 'es-MX')); // the key, digit by digit
    expect(words).toContain('hoy a las dos de la tarde'); // the ETR: 10:00 + 4 h, spoken
    expect(done.twiml.at(-1)?.name).toBe('Hangup');
    await waitFor(() => fake.requests.find((q) => q.to === '+525512345678'), 'SMS acknowledgment');
    const sms = fake.requests.find((q) => q.to === '+525512345678')!;
    expect(sms.body?.startsWith(ticket.key)).toBe(true);
    // Twilio repeats the request: same ticket, nothing sent twice.
    await post('/twilio/voice/description', { ...call('CA0002'), SpeechResult: 'El portal no carga para nadie desde las nueve' });
    expect(await t.mesa.store.tickets.count()).toBe(1);
    await t.mesa.dispatcher.drain();
    expect(fake.requests.filter((q) => q.to === '+525512345678')).toHaveLength(1);
  });

  it('falls back to a voicemail when speech yields nothing', async () => {
    await post('/twilio/voice/menu?attempt=1', { ...call('CA0003', '+525511112222'), Digits: '2' });
    const empty = await post('/twilio/voice/description', { ...call('CA0003', '+525511112222'), SpeechResult: '' });
    expect(find(empty.twiml, 'Redirect')?.text).toBe('/twilio/voice/record');
    const rec = await post('/twilio/voice/record', call('CA0003', '+525511112222'));
    const record = find(rec.twiml, 'Record')!;
    expect(record.attrs).toMatchObject({ action: '/twilio/voice/recorded', maxLength: '120' });
    expect(record.attrs.transcribe).toBeUndefined();
    await post('/twilio/voice/recorded', { ...call('CA0003', '+525511112222'), RecordingSid: 'RE0003', RecordingUrl: 'https://api.twilio.com/rec/RE0003', RecordingDuration: '14' });
    const ticket = (await ticketOf('CA0003'))!;
    expect(ticket.description).toContain('https://api.twilio.com/rec/RE0003');
    expect(await t.mesa.store.calls.bySid('CA0003')).toMatchObject({ recording_sid: 'RE0003', recording_seconds: 14 });
  });

  it('reads the state and ETR of a ticket keyed in, and gives up after three unknown numbers', async () => {
    const menu = await post('/twilio/voice/menu?attempt=1', { ...call('CA0004'), SpeechResult: 'quiero saber el estado de mi ticket' });
    expect(find(menu.twiml, 'Gather')?.attrs).toMatchObject({ input: 'dtmf', finishOnKey: '#', action: '/twilio/voice/ticket?attempt=1' });
    const ok = await post('/twilio/voice/ticket?attempt=1', { ...call('CA0004'), Digits: '1' });
    expect(spoken(ok.twiml)).toContain('recibido');
    let r = await post('/twilio/voice/ticket?attempt=1', { ...call('CA0004'), Digits: '999999' });
    expect(find(r.twiml, 'Gather')?.attrs.action).toBe('/twilio/voice/ticket?attempt=2');
    r = await post('/twilio/voice/ticket?attempt=3', { ...call('CA0004'), Digits: '999998' });
    expect(find(r.twiml, 'Gather')).toBeUndefined();
    expect(r.twiml.at(-1)?.name).toBe('Hangup');
  });

  it('leaves one call-back ticket per caller per hour for calls abandoned before a description', async () => {
    await post('/twilio/voice', call('CA0005', '+525533334444'));
    await post('/twilio/voice/status', { ...call('CA0005', '+525533334444'), CallStatus: 'completed', CallDuration: '7' });
    const first = (await ticketOf('CA0005'))!;
    expect(first).toBeDefined();
    expect(await t.mesa.store.calls.bySid('CA0005')).toMatchObject({ abandoned: 1, callback_requested: 1, duration_seconds: 7, status: 'completed' });
    // A late "ringing" callback does not move the call backwards; a repeat changes nothing.
    await post('/twilio/voice/status', { ...call('CA0005', '+525533334444'), CallStatus: 'ringing' });
    await post('/twilio/voice/status', { ...call('CA0005', '+525533334444'), CallStatus: 'completed', CallDuration: '7' });
    expect((await t.mesa.store.calls.bySid('CA0005'))!.status).toBe('completed');
    const tickets = await t.mesa.store.tickets.count();
    await post('/twilio/voice', call('CA0006', '+525533334444'));
    await post('/twilio/voice/status', { ...call('CA0006', '+525533334444'), CallStatus: 'no-answer' });
    expect(await t.mesa.store.tickets.count()).toBe(tickets);
  });

  it('adds an after-hours notice outside business hours, and still takes the call', async () => {
    const monday = now;
    now = new Date('2026-11-28T23:00:00Z'); // Saturday 17:00
    const r = await post('/twilio/voice', call('CA0011', '+525566667777'));
    now = monday;
    const says = r.twiml.filter((n) => n.name === 'Say').map((n) => n.text);
    expect(says).toHaveLength(2);
    expect(says[1]).toContain('lunes 30 de noviembre');
    expect(find(r.twiml, 'Gather')).toBeDefined();
  });

  it('asks again when the menu gets silence or nonsense, then says goodbye', async () => {
    let r = await post('/twilio/voice/menu?attempt=1&silence=1', call('CA0012'));
    expect(find(r.twiml, 'Gather')?.attrs.action).toBe('/twilio/voice/menu?attempt=2');
    r = await post('/twilio/voice/menu?attempt=2', { ...call('CA0012'), SpeechResult: 'blablablá' });
    expect(find(r.twiml, 'Gather')?.attrs.action).toBe('/twilio/voice/menu?attempt=3');
    r = await post('/twilio/voice/menu?attempt=3&silence=1', call('CA0012'));
    expect(find(r.twiml, 'Gather')).toBeUndefined();
    expect(r.twiml.at(-1)?.name).toBe('Hangup');
  });

  it('still makes the ticket when the caller hangs up right after describing the problem', async () => {
    await post('/twilio/voice/menu?attempt=1', { ...call('CA0013', '+525588889999'), Digits: '2' });
    // The description request never arrived complete; Twilio reports the call's end with the
    // speech already stored by an earlier, repeated request.
    await t.mesa.store.transaction(async () => await t.mesa.store.calls.update('CA0013', { speech: 'No puedo descargar mi factura' }, now.getTime()));
    await post('/twilio/voice/status', { ...call('CA0013', '+525588889999'), CallStatus: 'completed', CallDuration: '40' });
    const ticket = (await ticketOf('CA0013'))!;
    expect(ticket.description).toBe('No puedo descargar mi factura');
    expect(await t.mesa.store.calls.bySid('CA0013')).toMatchObject({ abandoned: 0, callback_requested: 0 });
  });

  it('refuses forged, missing and wrongly-addressed signatures, changing nothing', async () => {
    const before = (await peek(t).get('SELECT count(*) AS n FROM calls'));
    expect((await post('/twilio/voice', call('CA0007'), { signature: 'Zm9yamFkbw==' })).status).toBe(403);
    expect((await post('/twilio/voice', call('CA0007'), { signature: null })).status).toBe(403);
    expect((await post('/twilio/voice', call('CA0007'), { signedUrl: 'https://otro.example.com/twilio/voice' })).status).toBe(403);
    expect((await peek(t).get('SELECT count(*) AS n FROM calls'))).toEqual(before);
    expect(await t.mesa.store.calls.bySid('CA0007')).toBeUndefined();
  });

  it('repeats the ticket on the fallback URL, or takes a message when there is none', async () => {
    const known = await post('/twilio/voice/fallback', { ...call('CA0002'), ErrorCode: '11200' });
    expect(spoken(known.twiml)).toContain(spellTicketKey((await ticketOf('CA0002'))!.key, 'es-MX'));
    const unknown = await post('/twilio/voice/fallback', { ...call('CA0008'), ErrorCode: '11200' });
    expect(find(unknown.twiml, 'Record')).toBeDefined();
  });

  it('gives a withheld caller a ticket too (no SMS possible)', async () => {
    await post('/twilio/voice/menu?attempt=1', { ...call('CA0009', 'anonymous'), Digits: '3' });
    await post('/twilio/voice/description', { ...call('CA0009', 'anonymous'), SpeechResult: 'Quisiera saber cómo cambiar mi contraseña' });
    const ticket = (await ticketOf('CA0009'))!;
    expect(ticket).toBeDefined();
    const skipped = (await peek(t).get(`SELECT data_json FROM events WHERE ticket_id = ? AND type = 'message_skipped'`, ticket.id)) as { data_json: string };
    expect(JSON.parse(skipped.data_json)).toMatchObject({ moment: 'ack-phone', reason: 'no_phone' });
  });

  it('offers a caller with an open ticket to add to it', async () => {
    const r = await post('/twilio/voice', call('CA0010'));
    const key = (await ticketOf('CA0002'))!.key;
    expect(find(r.twiml, 'Gather')?.attrs.action).toBe(`/twilio/voice/open-ticket?ticket=${key}`);
    const choose = await post(`/twilio/voice/open-ticket?ticket=${key}`, { ...call('CA0010'), Digits: '1' });
    expect(find(choose.twiml, 'Gather')?.attrs.action).toBe(`/twilio/voice/add?ticket=${key}`);
    const tickets = await t.mesa.store.tickets.count();
    await post(`/twilio/voice/add?ticket=${key}`, { ...call('CA0010'), SpeechResult: 'Sigue sin funcionar' });
    expect(await t.mesa.store.tickets.count()).toBe(tickets);
    const ev = (await peek(t).get(`SELECT count(*) AS n FROM events e JOIN tickets t ON t.id = e.ticket_id WHERE t.key = ? AND e.type = 'customer_call'`, key));
    expect(ev).toEqual({ n: 1 });
  });
});
