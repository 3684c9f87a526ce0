import { createHmac, timingSafeEqual } from 'node:crypto';
import { threadKeyPattern } from './ticket-key.ts';

/**
 * Signed reply addresses: `mesadeayuda+MDA-000123.k3x9…@proditmapac.com`.
 *
 * The tag after `+` names the ticket and carries an HMAC over (scope, ticket key), so a reply
 * sent to it is tied to the ticket without trusting the subject. Customer tokens are signed for
 * the ticket; agent tokens (scope `agent:<address>`) only verify together with the From address
 * they were issued to. Base32 lower-case because some MTAs lower-case local parts, and 16
 * characters (80 bits) keep the local part well under RFC 5321's 64-octet limit.
 */

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const TOKEN_LENGTH = 16;

/** `status` signs the link to a ticket's public status page (see `status-link.ts`). */
export type TokenScope = { kind: 'customer' } | { kind: 'status' } | { kind: 'agent'; address: string };

export function signToken(secret: string, ticketKey: string, scope: TokenScope): string {
  const mac = createHmac('sha256', secret).update(`${scopeText(scope)}\n${ticketKey.toUpperCase()}`).digest();
  return base32(mac).slice(0, TOKEN_LENGTH);
}

export function verifyToken(secret: string, ticketKey: string, scope: TokenScope, token: string): boolean {
  const expected = Buffer.from(signToken(secret, ticketKey, scope));
  const given = Buffer.from(token.toLowerCase());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `mesadeayuda@x` + key → `mesadeayuda+MDA-000123.<token>@x` */
export function replyAddress(mailboxAddress: string, ticketKey: string, token: string): string {
  const at = mailboxAddress.lastIndexOf('@');
  return `${mailboxAddress.slice(0, at)}+${ticketKey}.${token}${mailboxAddress.slice(at)}`;
}

export interface AddressTag { base: string; ticketKey: string; token: string }

/** Splits a plus-address whose tag looks like `KEY.token`; null for anything else. */
export function parseTaggedAddress(address: string, prefix: string): AddressTag | null {
  const m = new RegExp(`^([^+@\\s]+)\\+(${threadKeyPattern(prefix)})\\.([a-z2-7]{${TOKEN_LENGTH}})@([^@\\s]+)$`, 'i').exec(address.trim());
  if (!m) return null;
  return { base: `${m[1]}@${m[4]}`.toLowerCase(), ticketKey: (m[2] as string).toUpperCase(), token: (m[3] as string).toLowerCase() };
}

function scopeText(scope: TokenScope): string {
  return scope.kind === 'agent' ? `agent:${scope.address.toLowerCase()}` : scope.kind;
}

function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}
