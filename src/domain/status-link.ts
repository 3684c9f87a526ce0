import { signToken, verifyToken } from './reply-token.ts';

/**
 * The customer's status page lives at `/estado/MDA-000123/<token>`: the token is an HMAC of the
 * ticket key in its own scope (80 bits), so the link cannot be guessed from a key and a reply
 * token cannot be reused as a status link. Anyone holding the link sees the public view only.
 */

export function statusPath(secret: string, ticketKey: string): string {
  return `/estado/${ticketKey}/${signToken(secret, ticketKey, { kind: 'status' })}`;
}

export function statusUrl(baseUrl: string, secret: string, ticketKey: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${statusPath(secret, ticketKey)}`;
}

/** True when `token` is the status token of `ticketKey`. Timing-safe. */
export function verifyStatusToken(secret: string, ticketKey: string, token: string): boolean {
  return /^[a-z2-7]{16}$/i.test(token) && verifyToken(secret, ticketKey, { kind: 'status' }, token);
}
