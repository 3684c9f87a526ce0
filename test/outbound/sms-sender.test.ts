import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SendError } from '../../src/outbound/email-senders.ts';
import { FileSmsSender, SMS_MAX_CHARS, TwilioSmsSender, trimSmsBody, type OutgoingSms, type TwilioSettings } from '../../src/outbound/sms-senders.ts';
import { startFakeTwilio, twilioError, type FakeTwilio } from '../support/fake-twilio.ts';

const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const AUTH_TOKEN = 'tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const FROM = '+15005550006';
const SMS: OutgoingSms = { to: '+525512345678', body: 'Mesa: su ticket SOP-000123 fue escalado al nivel 2. Recuperación estimada: lunes 13:00 h.', ref: 'out-42' };

async function sendError(p: Promise<unknown>): Promise<SendError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(SendError);
  return err as SendError;
}

describe('TwilioSmsSender against a local Twilio-shaped server', () => {
  let fake: FakeTwilio;
  let sender: TwilioSmsSender;
  const settings = (over: Partial<TwilioSettings> = {}): TwilioSettings => ({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, from: FROM, apiBaseUrl: fake.url, timeoutMs: 2_000, ...over });

  beforeEach(async () => {
    fake = await startFakeTwilio({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    sender = new TwilioSmsSender(settings());
  });
  afterEach(async () => {
    await sender.close();
    await fake.stop();
  });

  it('sends To, From and Body with Basic auth and returns the message SID', async () => {
    const { sid } = await sender.send(SMS);
    expect(sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(fake.requests).toEqual([{ to: SMS.to, from: FROM, messagingServiceSid: null, body: SMS.body, auth: true }]);
  });

  it('sends through a Messaging Service when `from` is an MG SID', async () => {
    const mg = `MG${'a1'.repeat(16)}`;
    const viaService = new TwilioSmsSender(settings({ from: mg }));
    try {
      await viaService.send(SMS);
    } finally {
      await viaService.close();
    }
    expect(fake.requests).toEqual([{ to: SMS.to, from: null, messagingServiceSid: mg, body: SMS.body, auth: true }]);
  });

  it('a landline (21614) is a permanent failure naming the code', async () => {
    fake.respondNext(400, twilioError(21614, "'To' number is not a valid mobile number", 400));
    const e = await sendError(sender.send(SMS));
    expect(e.permanent).toBe(true);
    expect(e.code).toBe('MESA_SEND_PERMANENT');
    expect(e.responseCode).toBe(400);
    expect(e.message).toMatch(/^twilio 21614 400: /);
    expect(fake.requests).toHaveLength(1);
  });

  it('an invalid number (21211) is permanent', async () => {
    fake.respondNext(400, twilioError(21211, "The 'To' number is not a valid phone number.", 400));
    const e = await sendError(sender.send(SMS));
    expect(e.permanent).toBe(true);
    expect(e.message).toContain('21211');
  });

  it('wrong credentials (401/20003) are permanent and never echo the token', async () => {
    const wrong = new TwilioSmsSender(settings({ authToken: 'wrong_token_0000000000000000000000' }));
    try {
      const e = await sendError(wrong.send(SMS));
      expect(e.permanent).toBe(true);
      expect(e.message).toMatch(/^twilio 20003 401: /);
      expect(e.message).not.toContain('wrong_token');
    } finally {
      await wrong.close();
    }
    expect(fake.requests[0]?.auth).toBe(false);
  });

  it('429 Too Many Requests is transient, and the SDK does not retry it on its own', async () => {
    fake.respondNext(429, twilioError(20429, 'Too Many Requests', 429));
    const e = await sendError(sender.send(SMS));
    expect(e.permanent).toBe(false);
    expect(e.code).toBe('MESA_SEND_TEMPORARY');
    expect(e.responseCode).toBe(429);
    expect(fake.requests).toHaveLength(1);
  });

  it('500 is transient, and the next attempt goes through', async () => {
    fake.respondNext(500, twilioError(20500, 'Internal Server Error', 500));
    const e = await sendError(sender.send(SMS));
    expect(e.permanent).toBe(false);
    expect(e.message).toMatch(/^twilio 20500 500: /);
    await expect(sender.send(SMS)).resolves.toEqual({ sid: expect.stringMatching(/^SM/) });
    expect(fake.requests).toHaveLength(2);
  });

  it('a 503 with a non-JSON body is still transient', async () => {
    fake.respondNext(503, {});
    const e = await sendError(sender.send(SMS));
    expect(e.permanent).toBe(false);
    expect(e.responseCode).toBe(503);
  });

  it('Twilio down (connection refused, or a kept-alive socket reset) is transient', async () => {
    await sender.send(SMS); // leaves a kept-alive socket behind, as in production
    await fake.stop();
    // The pooled socket may be reused before its FIN is seen (ECONNRESET); a new one is refused.
    const stale = await sendError(sender.send(SMS));
    expect(stale.permanent).toBe(false);
    expect(stale.responseCode).toBeNull();
    expect(stale.message).toMatch(/^twilio (ECONNRESET|ECONNREFUSED): /);
    const fresh = new TwilioSmsSender(settings());
    try {
      const e = await sendError(fresh.send(SMS));
      expect(e.permanent).toBe(false);
      expect(e.message).toMatch(/^twilio ECONNREFUSED: /);
    } finally {
      await fresh.close();
    }
    fake = await startFakeTwilio({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }); // for afterEach
  });

  it('a reply slower than timeoutMs is transient', async () => {
    const quick = new TwilioSmsSender(settings({ timeoutMs: 200 }));
    fake.respondNext(201, {}, { delayMs: 3_000 });
    try {
      const e = await sendError(quick.send(SMS));
      expect(e.permanent).toBe(false);
      expect(e.message).toMatch(/timeout/i);
    } finally {
      await quick.close();
    }
  });

  it('refuses a destination that is not E.164 without calling Twilio', async () => {
    for (const to of ['5512345678', '+52 55 1234 5678', '+0525512345678', '+52', 'cliente@example.com', '']) {
      const e = await sendError(sender.send({ ...SMS, to }));
      expect(e.permanent).toBe(true);
      expect(e.message).toContain('E.164');
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('trims a body over 1600 characters before sending', async () => {
    await sender.send({ ...SMS, body: 'á'.repeat(SMS_MAX_CHARS + 300) });
    expect(fake.requests[0]?.body).toBe('á'.repeat(SMS_MAX_CHARS));
  });

  it('no error message carries the auth token or the body text, whatever the server says', async () => {
    const secretBody = 'Contraseña temporal 4471';
    fake.respondNext(400, twilioError(21602, `Rejected for ${AUTH_TOKEN}`, 400));
    fake.respondNext(500, { message: `boom ${AUTH_TOKEN}` });
    const errors = [await sendError(sender.send({ ...SMS, body: secretBody })), await sendError(sender.send({ ...SMS, body: secretBody }))];
    await fake.stop();
    errors.push(await sendError(sender.send({ ...SMS, body: secretBody })));
    fake = await startFakeTwilio({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN });
    for (const e of errors) {
      expect(e.message).not.toContain(AUTH_TOKEN);
      expect(e.message).not.toContain(secretBody);
      expect(e.message.length).toBeLessThan(260);
    }
    expect(errors.map((e) => e.permanent)).toEqual([true, false, false]);
  });
});

describe('trimSmsBody', () => {
  it('keeps a body at the limit and does not split a surrogate pair', () => {
    expect(trimSmsBody('a'.repeat(SMS_MAX_CHARS))).toHaveLength(SMS_MAX_CHARS);
    const emojiAtCut = 'a'.repeat(SMS_MAX_CHARS - 1) + '😀' + 'b';
    const cut = trimSmsBody(emojiAtCut);
    expect(cut).toBe('a'.repeat(SMS_MAX_CHARS - 1));
  });
});

describe('FileSmsSender', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'mesa-sms-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes <ref>.txt with To, From and Body, once per ref', async () => {
    const sender = new FileSmsSender(join(dir, 'sms'), '+525500000000');
    await expect(sender.send({ ...SMS, ref: 'out/42' })).resolves.toEqual({ sid: null });
    await sender.send({ ...SMS, ref: 'out/42' }); // at-least-once redelivery overwrites
    expect(readdirSync(join(dir, 'sms'))).toEqual(['out_42.txt']);
    expect(readFileSync(join(dir, 'sms', 'out_42.txt'), 'utf8')).toBe(`To: ${SMS.to}\nFrom: +525500000000\n\n${SMS.body}\n`);
  });

  it('refuses a non-E.164 destination like the real sender', async () => {
    const sender = new FileSmsSender(dir);
    const e = await sendError(sender.send({ ...SMS, to: '55 1234 5678' }));
    expect(e.permanent).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });
});
