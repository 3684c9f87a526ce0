import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

/**
 * Who may open /panel: whoever presents the operator token (MESA_PANEL_TOKEN) in
 * `Authorization: Bearer …` or `X-Mesa-Token`, or holds a session cookie issued by
 * `POST /panel/login` for that token. The cookie never carries the token: it holds an expiry and
 * a nonce signed with a key derived from the HMAC secret *and* the token, so a new token (or a
 * new secret) ends every session at once.
 */

export const PANEL_COOKIE = 'mesa_panel';
const HOUR_MS = 3_600_000;

export interface PanelKeys {
  /** HMAC secret of the installation (MESA_SECRET). */
  secret: string;
  /** The operator token that opens the panel. */
  panelToken: string;
}

/** Timing-safe: both sides are hashed to the same length before the comparison. */
export function tokenMatches(expected: string, given: string | null | undefined): boolean {
  if (typeof given !== 'string' || given === '' || expected === '') return false;
  const a = createHash('sha256').update(expected, 'utf8').digest();
  const b = createHash('sha256').update(given, 'utf8').digest();
  return timingSafeEqual(a, b);
}

function sessionKey(keys: PanelKeys): Buffer {
  return createHmac('sha256', keys.secret).update(`mesa panel session\n${keys.panelToken}`).digest();
}

function mac(keys: PanelKeys, payload: string): string {
  return createHmac('sha256', sessionKey(keys)).update(payload).digest('base64url');
}

/** `<expiry ms>.<nonce>.<mac>`: valid until `now + hours`. */
export function issueSession(keys: PanelKeys, now: Date, hours: number, nonce = randomBytes(12).toString('base64url')): string {
  const payload = `${now.getTime() + Math.round(hours * HOUR_MS)}.${nonce}`;
  return `${payload}.${mac(keys, payload)}`;
}

/** True for an untampered session value whose expiry is after `now`. */
export function verifySession(keys: PanelKeys, value: string | undefined, now: Date): boolean {
  if (typeof value !== 'string') return false;
  const m = /^(\d{1,16})\.([A-Za-z0-9_-]{8,64})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return false;
  const expected = Buffer.from(mac(keys, `${m[1]}.${m[2]}`));
  const given = Buffer.from(m[3] as string);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
  return Number(m[1]) > now.getTime();
}

/** The cookie's attributes: HTTP-only, SameSite=Strict, Path=/panel, Secure behind https. */
export function sessionCookieOptions(linkBaseUrl: string, sessionHours: number): {
  httpOnly: true; sameSite: 'strict'; path: string; secure: boolean; maxAge: number;
} {
  return { httpOnly: true, sameSite: 'strict', path: '/panel', secure: /^https:/i.test(linkBaseUrl), maxAge: Math.round(sessionHours * 3600) };
}

/** The token a request presents in a header, if any. */
export function presentedToken(request: FastifyRequest): string | null {
  const auth = request.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1] as string;
  }
  const header = request.headers['x-mesa-token'];
  return typeof header === 'string' && header !== '' ? header.trim() : null;
}

/** Header token or session cookie. */
export function isPanelRequestAuthorized(request: FastifyRequest, keys: PanelKeys, now: Date): boolean {
  const token = presentedToken(request);
  if (token !== null && tokenMatches(keys.panelToken, token)) return true;
  const cookies = (request as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies;
  return verifySession(keys, cookies?.[PANEL_COOKIE], now);
}

/**
 * The anti-forgery token a panel form carries, bound to the browser's session: a page another
 * site makes the browser post cannot read it. (The session cookie is SameSite=Strict too; this
 * holds even where a browser ignores that.) Null without a session: a request authorised by a
 * header token carries no ambient credential, so it needs none.
 */
export function csrfToken(keys: PanelKeys, request: FastifyRequest): string | null {
  const session = (request as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies?.[PANEL_COOKIE];
  if (typeof session !== 'string' || session === '') return null;
  return createHmac('sha256', sessionKey(keys)).update(`mesa panel form\n${session}`).digest('base64url');
}

/**
 * Whether a panel POST may change anything: sent with the operator token in a header, or from
 * a page of this site (an Origin, when the browser sends one, naming this host) carrying the
 * session's form token.
 */
export function formRequestTrusted(request: FastifyRequest, keys: PanelKeys, given: unknown): boolean {
  const token = presentedToken(request);
  if (token !== null && tokenMatches(keys.panelToken, token)) return true;
  const origin = request.headers.origin;
  if (typeof origin === 'string' && originHost(origin) !== request.headers.host) return false;
  const expected = csrfToken(keys, request);
  return expected !== null && typeof given === 'string' && tokenMatches(expected, given);
}

/** The host an Origin header names; null for `null` (an opaque origin) or anything unparsable. */
function originHost(origin: string): string | null {
  try { return origin === 'null' ? null : new URL(origin).host; } catch { return null; }
}
