import Fastify, { type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import twilio from 'twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { twilioUrlFor, verifyTwilioSignatures, type TwilioSignatureOptions } from '../../src/http/twilio-signature.ts';

const TOKEN = '0123456789abcdef0123456789abcdef';
const PUBLIC = 'https://mesa.example.com';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

const callParams = { CallSid: 'CA0123456789abcdef0123456789abcdef', From: '+525512345678', To: '+525598765432', CallStatus: 'ringing', Digits: '1' };

interface Harness { app: FastifyInstance; warnings: { obj: Record<string, unknown>; msg?: string }[]; handled: string[] }

async function harness(overrides: Partial<TwilioSignatureOptions> = {}, setup?: (app: FastifyInstance) => Promise<void>): Promise<Harness> {
  const warnings: Harness['warnings'] = [];
  const handled: string[] = [];
  const app = Fastify({ logger: false, trustProxy: true });
  if (setup) await setup(app);
  app.get('/healthz', async () => ({ ok: true }));
  await app.register(async (scope) => {
    verifyTwilioSignatures(scope, { authToken: TOKEN, publicUrl: PUBLIC, log: { warn: (obj, msg) => warnings.push({ obj: obj as Record<string, unknown>, msg }) }, ...overrides });
    scope.post('/voice', async (req) => { handled.push(req.url); return { body: req.body }; });
    // Registered by mistake: the guard still refuses methods Twilio never uses.
    scope.put('/voice', async (req) => { handled.push(req.url); return 'put'; });
    scope.get('/voice/menu', async (req) => { handled.push(req.url); return { query: req.query }; });
    // A route with a schema: a forged request must not even reach validation.
    scope.post('/voice/status', { schema: { body: { type: 'object', required: ['CallSid'] } } }, async (req) => { handled.push(req.url); return 'ok'; });
  }, { prefix: '/twilio' });
  await app.ready();
  return { app, warnings, handled };
}

function sign(url: string, params: Record<string, string> = {}, token = TOKEN): string {
  return twilio.getExpectedTwilioSignature(token, url, params);
}

function form(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

let h: Harness | undefined;
afterEach(async () => { await h?.app.close(); h = undefined; });

describe('verifyTwilioSignatures', () => {
  it('lets a correctly signed POST through to the handler with its parameters', async () => {
    h = await harness();
    const r = await h.app.inject({ method: 'POST', url: '/twilio/voice', headers: { ...FORM, 'x-twilio-signature': sign(`${PUBLIC}/twilio/voice`, callParams) }, payload: form(callParams) });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ body: callParams });
    expect(h.handled).toEqual(['/twilio/voice']);
    expect(h.warnings).toEqual([]);
  });

  it('validates the public URL, not the local one, so it works behind a TLS-terminating proxy', async () => {
    h = await harness();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    const address = h.app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const local = `http://127.0.0.1:${address.port}/twilio/voice`;
    const post = (signature: string): Promise<Response> => fetch(local, { method: 'POST', headers: { ...FORM, 'x-twilio-signature': signature, 'x-forwarded-proto': 'https', 'x-forwarded-host': 'mesa.example.com' }, body: form(callParams) });
    const good = await post(sign(`${PUBLIC}/twilio/voice`, callParams));
    expect(good.status).toBe(200);
    // The URL the request actually arrived at is not what Twilio signed.
    const localSigned = await post(sign(local, callParams));
    expect(localSigned.status).toBe(403);
    expect(h.handled).toEqual(['/twilio/voice']);
  });

  it('includes the query string in what is signed (GET and POST)', async () => {
    h = await harness();
    const getUrl = '/twilio/voice/menu?step=status&tries=2';
    const ok = await h.app.inject({ method: 'GET', url: getUrl, headers: { 'x-twilio-signature': sign(`${PUBLIC}${getUrl}`) } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ query: { step: 'status', tries: '2' } });
    const tampered = await h.app.inject({ method: 'GET', url: '/twilio/voice/menu?step=status&tries=1', headers: { 'x-twilio-signature': sign(`${PUBLIC}${getUrl}`) } });
    expect(tampered.statusCode).toBe(403);
    const withoutQuery = await h.app.inject({ method: 'GET', url: getUrl, headers: { 'x-twilio-signature': sign(`${PUBLIC}/twilio/voice/menu`) } });
    expect(withoutQuery.statusCode).toBe(403);

    const postUrl = '/twilio/voice?choice=1';
    const okPost = await h.app.inject({ method: 'POST', url: postUrl, headers: { ...FORM, 'x-twilio-signature': sign(`${PUBLIC}${postUrl}`, callParams) }, payload: form(callParams) });
    expect(okPost.statusCode).toBe(200);
    const otherQuery = await h.app.inject({ method: 'POST', url: '/twilio/voice?choice=2', headers: { ...FORM, 'x-twilio-signature': sign(`${PUBLIC}${postUrl}`, callParams) }, payload: form(callParams) });
    expect(otherQuery.statusCode).toBe(403);
    expect(h.handled).toEqual([getUrl, postUrl]);
  });

  it('accepts a signature computed with the default port spelled out, as the twilio validator does', async () => {
    h = await harness();
    const r = await h.app.inject({ method: 'POST', url: '/twilio/voice', headers: { ...FORM, 'x-twilio-signature': sign('https://mesa.example.com:443/twilio/voice', callParams) }, payload: form(callParams) });
    expect(r.statusCode).toBe(200);
  });

  const forged: [string, () => { headers: Record<string, string>; payload?: string; method?: 'POST' | 'GET' | 'PUT'; url?: string }, string][] = [
    ['a wrong token', () => ({ headers: { ...FORM, 'x-twilio-signature': sign(`${PUBLIC}/twilio/voice`, callParams, 'fedcba9876543210fedcba9876543210') }, payload: form(callParams) }), 'bad_signature'],
    ['a parameter changed after signing', () => ({ headers: { ...FORM, 'x-twilio-signature': sign(`${PUBLIC}/twilio/voice`, callParams) }, payload: form({ ...callParams, Digits: '4' }) }), 'bad_signature'],
    ['a parameter added after signing', () => ({ headers: { ...FORM, 'x-twilio-signature': sign(`${PUBLIC}/twilio/voice`, callParams) }, payload: form({ ...callParams, SpeechResult: 'urgente' }) }), 'bad_signature'],
    ['a parameter removed after signing', () => { const { Digits: _d, ...rest } = callParams; return { headers: { ...FORM, 'x-twilio-signature': sign(`${PUBLIC}/twilio/voice`, callParams) }, payload: form(rest) }; }, 'bad_signature'],
    ['no signature header', () => ({ headers: { ...FORM }, payload: form(callParams) }), 'missing_signature'],
    ['an empty signature header', () => ({ headers: { ...FORM, 'x-twilio-signature': '' }, payload: form(callParams) }), 'missing_signature'],
    ['a signature for another host', () => ({ headers: { ...FORM, 'x-twilio-signature': sign('https://otro.example.com/twilio/voice', callParams) }, payload: form(callParams) }), 'bad_signature'],
    ['a signature for another path', () => ({ headers: { ...FORM, 'x-twilio-signature': sign(`${PUBLIC}/twilio/voice/fallback`, callParams) }, payload: form(callParams) }), 'bad_signature'],
    ['a signature for plain http', () => ({ headers: { ...FORM, 'x-twilio-signature': sign('http://mesa.example.com/twilio/voice', callParams) }, payload: form(callParams) }), 'bad_signature'],
    ['a JSON body, even signed over its fields', () => ({ headers: { 'content-type': 'application/json', 'x-twilio-signature': sign(`${PUBLIC}/twilio/voice`, callParams) }, payload: JSON.stringify(callParams) }), 'not_form_encoded'],
    ['a content type fastify cannot parse', () => ({ headers: { 'content-type': 'application/x-foo', 'x-twilio-signature': sign(`${PUBLIC}/twilio/voice`, callParams) }, payload: 'x' }), 'not_form_encoded'],
    ['no content type', () => ({ headers: { 'x-twilio-signature': sign(`${PUBLIC}/twilio/voice`) } }), 'not_form_encoded'],
    ['a method Twilio does not use', () => ({ method: 'PUT', headers: { ...FORM, 'x-twilio-signature': sign(`${PUBLIC}/twilio/voice`, callParams) }, payload: form(callParams) }), 'method_not_allowed'],
  ];

  it.each(forged)('rejects %s with 403 and runs no handler', async (_name, make, reason) => {
    h = await harness();
    const req = make();
    const r = await h.app.inject({ method: req.method ?? 'POST', url: req.url ?? '/twilio/voice', headers: req.headers, payload: req.payload });
    expect(r.statusCode).toBe(403);
    expect(r.body).toBe('Twilio request validation failed');
    expect(h.handled).toEqual([]);
    expect(h.warnings).toHaveLength(1);
    expect(h.warnings[0]?.obj).toMatchObject({ event: 'twilio.signature_rejected', path: '/twilio/voice', reason });
  });

  it('rejects a forged request before schema validation (403, not 400)', async () => {
    h = await harness();
    const r = await h.app.inject({ method: 'POST', url: '/twilio/voice/status', headers: { ...FORM, 'x-twilio-signature': 'bm9wZQ==' }, payload: form({ Nothing: 'here' }) });
    expect(r.statusCode).toBe(403);
    const signed = await h.app.inject({ method: 'POST', url: '/twilio/voice/status', headers: { ...FORM, 'x-twilio-signature': sign(`${PUBLIC}/twilio/voice/status`, { Nothing: 'here' }) }, payload: form({ Nothing: 'here' }) });
    expect(signed.statusCode).toBe(400);
    expect(h.handled).toEqual([]);
  });

  it('logs one line naming path and reason, never the token, the signature, the query or the body', async () => {
    h = await harness();
    const signature = sign(`${PUBLIC}/twilio/voice?secret=q1`, { ...callParams, SpeechResult: 'mi contraseña es hunter2' }, 'fedcba9876543210fedcba9876543210');
    const r = await h.app.inject({ method: 'POST', url: '/twilio/voice?secret=q1', headers: { ...FORM, 'x-twilio-signature': signature }, payload: form({ ...callParams, SpeechResult: 'mi contraseña es hunter2' }) });
    expect(r.statusCode).toBe(403);
    expect(h.warnings).toHaveLength(1);
    const line = JSON.stringify(h.warnings[0]);
    expect(h.warnings[0]?.obj).toMatchObject({ event: 'twilio.signature_rejected', path: '/twilio/voice', reason: 'bad_signature', method: 'POST' });
    for (const secret of [TOKEN, signature, 'hunter2', 'secret=q1', callParams.CallSid, callParams.From]) expect(line).not.toContain(secret);
  });

  it('leaves routes outside its plugin scope alone', async () => {
    h = await harness();
    const r = await h.app.inject({ method: 'GET', url: '/healthz' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ ok: true });
    expect(h.warnings).toEqual([]);
  });

  it('reuses a form parser registered by the parent instead of registering a second one', async () => {
    h = await harness({}, async (app) => { await app.register(formbody); });
    const r = await h.app.inject({ method: 'POST', url: '/twilio/voice', headers: { ...FORM, 'x-twilio-signature': sign(`${PUBLIC}/twilio/voice`, callParams) }, payload: form(callParams) });
    expect(r.statusCode).toBe(200);
  });

  it('handles repeated form fields the way Twilio signs them', async () => {
    h = await harness();
    const payload = 'CallSid=CA1&Tag=b&Tag=a';
    const signature = twilio.getExpectedTwilioSignature(TOKEN, `${PUBLIC}/twilio/voice`, { CallSid: 'CA1', Tag: ['a', 'b'] } as unknown as Record<string, string>);
    const r = await h.app.inject({ method: 'POST', url: '/twilio/voice', headers: { ...FORM, 'x-twilio-signature': signature }, payload });
    expect(r.statusCode).toBe(200);
  });

  it('accepts a public URL with a trailing slash or a path prefix (proxy that strips it)', async () => {
    h = await harness({ publicUrl: 'https://mesa.example.com/' });
    const r = await h.app.inject({ method: 'POST', url: '/twilio/voice', headers: { ...FORM, 'x-twilio-signature': sign(`${PUBLIC}/twilio/voice`, callParams) }, payload: form(callParams) });
    expect(r.statusCode).toBe(200);
    await h.app.close();
    h = await harness({ publicUrl: 'https://example.com/mesa' });
    const prefixed = await h.app.inject({ method: 'POST', url: '/twilio/voice', headers: { ...FORM, 'x-twilio-signature': sign('https://example.com/mesa/twilio/voice', callParams) }, payload: form(callParams) });
    expect(prefixed.statusCode).toBe(200);
  });

  it('refuses to register without a token or a usable public URL', () => {
    const log = { warn: () => undefined };
    const app = Fastify();
    expect(() => verifyTwilioSignatures(app, { authToken: '', publicUrl: PUBLIC, log })).toThrow(/TWILIO_AUTH_TOKEN is required/);
    expect(() => verifyTwilioSignatures(app, { authToken: '   ', publicUrl: PUBLIC, log })).toThrow(/TWILIO_AUTH_TOKEN is required/);
    expect(() => verifyTwilioSignatures(app, { authToken: undefined as unknown as string, publicUrl: PUBLIC, log })).toThrow(/TWILIO_AUTH_TOKEN is required/);
    expect(() => verifyTwilioSignatures(app, { authToken: TOKEN, publicUrl: '', log })).toThrow(/MESA_PUBLIC_URL is required/);
    expect(() => verifyTwilioSignatures(app, { authToken: TOKEN, publicUrl: 'mesa.example.com', log })).toThrow(/MESA_PUBLIC_URL .* not a URL/);
    expect(() => verifyTwilioSignatures(app, { authToken: TOKEN, publicUrl: 'ftp://mesa.example.com', log })).toThrow(/not http\(s\)/);
    expect(() => verifyTwilioSignatures(app, { authToken: TOKEN, publicUrl: 'https://mesa.example.com/?a=1', log })).toThrow(/query string/);
    let err: unknown;
    try { verifyTwilioSignatures(app, { authToken: TOKEN, publicUrl: 'https://user:s3cr3t@mesa.example.com', log }); } catch (e) { err = e; }
    expect((err as Error).message).toMatch(/credentials/);
    expect((err as Error).message).not.toContain('s3cr3t');
    expect(err).toMatchObject({ code: 'MESA_CONFIG_INVALID' });
  });
});

describe('twilioUrlFor', () => {
  it('joins the public base and the path with its query string, untouched', () => {
    expect(twilioUrlFor('https://mesa.example.com', { url: '/twilio/voice?step=menu&n=%2B52' })).toBe('https://mesa.example.com/twilio/voice?step=menu&n=%2B52');
    expect(twilioUrlFor('https://mesa.example.com//', { url: '/twilio/voice' })).toBe('https://mesa.example.com/twilio/voice');
    expect(twilioUrlFor('https://example.com/mesa/', { url: '/twilio/voice/status' })).toBe('https://example.com/mesa/twilio/voice/status');
  });
});
