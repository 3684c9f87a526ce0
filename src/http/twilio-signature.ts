import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import twilio from 'twilio';
import { MesaError } from '../errors.ts';

export interface TwilioSignatureOptions {
  authToken: string;
  /** The URL Twilio is configured with, without the path: e.g. https://mesa.example.com (MESA_PUBLIC_URL). */
  publicUrl: string;
  log: { warn(obj: object, msg?: string): void };
}

type RejectReason = 'missing_signature' | 'method_not_allowed' | 'not_form_encoded' | 'unexpected_body' | 'bad_signature';

const FORM = 'application/x-www-form-urlencoded';
const SIGNATURE_HEADER = 'x-twilio-signature';

/**
 * Guards every route of the given fastify instance (call it first thing inside the plugin scope
 * that holds the Twilio routes, e.g. one registered with `{ prefix: '/twilio' }`): a request whose
 * X-Twilio-Signature does not match gets 403 and no handler, validator or later hook runs.
 * Routes outside that scope (`/healthz`, the portal) are untouched.
 *
 * Fails closed: no header, a method other than GET/HEAD/POST, a POST that is not form-encoded,
 * or any error while checking is a rejection. Throws at registration when the token or the public
 * URL is missing, so a phone channel without them cannot start.
 */
export function verifyTwilioSignatures(app: FastifyInstance, opts: TwilioSignatureOptions): void {
  const authToken = opts.authToken;
  if (typeof authToken !== 'string' || authToken.trim() === '') {
    throw new MesaError('MESA_CONFIG_INVALID', 'TWILIO_AUTH_TOKEN is required to check the signatures of Twilio webhooks (phone channel enabled)');
  }
  const publicUrl = checkedPublicUrl(opts.publicUrl);
  const log = opts.log;

  if (!app.hasContentTypeParser(FORM)) void app.register(formbody);

  const reject = (request: FastifyRequest, reply: FastifyReply, reason: RejectReason): FastifyReply => {
    // Path only: the query string is ours but the signature, token and body never reach a log.
    log.warn({ event: 'twilio.signature_rejected', method: request.method, path: request.url.split('?')[0], reason, ip: request.ip }, 'twilio webhook rejected');
    return reply.code(403).type('text/plain; charset=utf-8').send('Twilio request validation failed');
  };

  // Before parsing: a request that cannot be valid is refused without reading its body, and an
  // unsupported content type gets 403 rather than fastify's 415.
  app.addHook('onRequest', async (request, reply) => {
    const signature = request.headers[SIGNATURE_HEADER];
    if (typeof signature !== 'string' || signature === '') return reject(request, reply, 'missing_signature');
    if (request.method === 'POST') {
      const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== FORM) return reject(request, reply, 'not_form_encoded');
    } else if (request.method !== 'GET' && request.method !== 'HEAD') {
      return reject(request, reply, 'method_not_allowed');
    }
  });

  // After parsing (the POST parameters are part of what Twilio signed) and before validation and
  // the handler.
  app.addHook('preValidation', async (request, reply) => {
    const signature = request.headers[SIGNATURE_HEADER] as string;
    let params: Record<string, unknown>;
    if (request.method === 'POST') {
      // An empty form body parses to {} (or nothing at all); both mean "no parameters".
      if (request.body !== undefined && (request.body === null || typeof request.body !== 'object')) return reject(request, reply, 'not_form_encoded');
      params = (request.body ?? {}) as Record<string, unknown>;
    } else {
      // Twilio's rule for GET: the parameters are in the query string, which is part of the URL.
      if (request.body !== undefined && request.body !== null) return reject(request, reply, 'unexpected_body');
      params = {};
    }
    let valid: boolean;
    try {
      valid = twilio.validateRequest(authToken, signature, twilioUrlFor(publicUrl, request), params);
    } catch {
      valid = false;
    }
    if (!valid) return reject(request, reply, 'bad_signature');
  });
}

/**
 * The URL Twilio signed: the public base it was configured with plus the path and query string
 * exactly as received. Behind a TLS-terminating proxy the local URL (http://127.0.0.1:PORT/…)
 * differs from what Twilio called, so the Host header is never used. A base with a path
 * (https://example.com/mesa) fits a proxy that strips that prefix.
 */
export function twilioUrlFor(publicUrl: string, request: { url: string }): string {
  return publicUrl.replace(/\/+$/, '') + request.url;
}

function checkedPublicUrl(raw: unknown): string {
  const problem = (why: string): MesaError =>
    new MesaError('MESA_CONFIG_INVALID', `MESA_PUBLIC_URL ${why}; it must be the http(s) URL Twilio calls, e.g. https://mesa.example.com`);
  if (typeof raw !== 'string' || raw.trim() === '') throw problem('is required to check the signatures of Twilio webhooks (phone channel enabled)');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw problem(`"${raw}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw problem(`"${raw}" is not http(s)`);
  if (url.search !== '' || url.hash !== '' || raw.includes('?') || raw.includes('#')) throw problem(`"${raw}" must not have a query string or fragment`);
  if (url.username !== '' || url.password !== '') throw problem('must not carry credentials');
  if (raw !== raw.trim()) throw problem(`"${raw}" has surrounding spaces`);
  return raw.replace(/\/+$/, '');
}
