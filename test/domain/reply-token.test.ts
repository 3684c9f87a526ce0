import { describe, it, expect } from 'vitest';
import { parseTaggedAddress, replyAddress, signToken, verifyToken } from '../../src/domain/reply-token.ts';

const SECRET = 'a-secret-of-at-least-16-chars';
const CUSTOMER = { kind: 'customer' } as const;
const agent = (address: string) => ({ kind: 'agent', address }) as const;

describe('signToken', () => {
  it('is 16 characters of lower-case base32', () => {
    for (let id = 1; id < 200; id++) {
      const t = signToken(SECRET, `MDA-${String(id).padStart(6, '0')}`, CUSTOMER);
      expect(t).toMatch(/^[a-z2-7]{16}$/);
    }
  });

  it('is deterministic and depends on secret, ticket and scope', () => {
    const t = signToken(SECRET, 'MDA-000123', CUSTOMER);
    expect(signToken(SECRET, 'MDA-000123', CUSTOMER)).toBe(t);
    expect(signToken('another-secret-of-16+', 'MDA-000123', CUSTOMER)).not.toBe(t);
    expect(signToken(SECRET, 'MDA-000124', CUSTOMER)).not.toBe(t);
    expect(signToken(SECRET, 'MDA-000123', agent('ana@proditmapac.com'))).not.toBe(t);
    expect(signToken(SECRET, 'MDA-000123', agent('luis@proditmapac.com'))).not.toBe(signToken(SECRET, 'MDA-000123', agent('ana@proditmapac.com')));
  });

  it('ignores the case of the ticket key and of the agent address', () => {
    expect(signToken(SECRET, 'mda-000123', CUSTOMER)).toBe(signToken(SECRET, 'MDA-000123', CUSTOMER));
    expect(signToken(SECRET, 'MDA-000123', agent('Ana@Proditmapac.COM'))).toBe(signToken(SECRET, 'MDA-000123', agent('ana@proditmapac.com')));
  });
});

describe('verifyToken', () => {
  const key = 'MDA-000123';
  const token = signToken(SECRET, key, CUSTOMER);

  it('accepts the token it signed, also upper-cased (MTAs may change the case of local parts)', () => {
    expect(verifyToken(SECRET, key, CUSTOMER, token)).toBe(true);
    expect(verifyToken(SECRET, key, CUSTOMER, token.toUpperCase())).toBe(true);
    expect(verifyToken(SECRET, key.toLowerCase(), CUSTOMER, token)).toBe(true);
  });

  it('rejects another ticket, another secret, another scope', () => {
    expect(verifyToken(SECRET, 'MDA-000124', CUSTOMER, token)).toBe(false);
    expect(verifyToken('another-secret-of-16+', key, CUSTOMER, token)).toBe(false);
    expect(verifyToken(SECRET, key, agent('ana@proditmapac.com'), token)).toBe(false);
  });

  it('binds an agent token to the address it was issued to', () => {
    const t = signToken(SECRET, key, agent('ana@proditmapac.com'));
    expect(verifyToken(SECRET, key, agent('ANA@proditmapac.com'), t)).toBe(true);
    expect(verifyToken(SECRET, key, agent('luis@proditmapac.com'), t)).toBe(false);
    expect(verifyToken(SECRET, key, CUSTOMER, t)).toBe(false);
  });

  it('rejects every single-character change of the token', () => {
    for (let i = 0; i < token.length; i++) {
      const c = token[i] === 'a' ? 'b' : 'a';
      expect(verifyToken(SECRET, key, CUSTOMER, token.slice(0, i) + c + token.slice(i + 1))).toBe(false);
    }
  });

  it.each([
    ['empty', ''],
    ['truncated', token.slice(0, 15)],
    ['extended', `${token}a`],
    ['padded', ` ${token}`],
    ['multi-byte of the same length', 'ñ'.repeat(16)],
    ['multi-byte with the same byte length', 'é'.repeat(8)],
    ['NUL bytes', '\u0000'.repeat(16)],
  ])('rejects a %s token without throwing', (_name, bad) => {
    expect(verifyToken(SECRET, key, CUSTOMER, bad)).toBe(false);
  });
});

describe('replyAddress and parseTaggedAddress', () => {
  const token = signToken(SECRET, 'MDA-000123', CUSTOMER);

  it('round-trips', () => {
    const addr = replyAddress('mesadeayuda@proditmapac.com', 'MDA-000123', token);
    expect(addr).toBe(`mesadeayuda+MDA-000123.${token}@proditmapac.com`);
    expect(parseTaggedAddress(addr, 'MDA')).toEqual({ base: 'mesadeayuda@proditmapac.com', ticketKey: 'MDA-000123', token });
  });

  it('keeps the local part within RFC 5321’s 64 octets', () => {
    const addr = replyAddress('soportetecnico@proditmapac.com', 'MDA-9999999', token);
    expect(addr.split('@')[0]!.length).toBeLessThanOrEqual(64);
  });

  it('normalises an address whose case was changed in transit', () => {
    const addr = `MESADEAYUDA+mda-000123.${token.toUpperCase()}@ProditmaPAC.com`;
    expect(parseTaggedAddress(addr, 'MDA')).toEqual({ base: 'mesadeayuda@proditmapac.com', ticketKey: 'MDA-000123', token });
    expect(parseTaggedAddress(` ${addr}\t`, 'MDA')?.ticketKey).toBe('MDA-000123');
  });

  it('accepts keys longer than six digits', () => {
    expect(parseTaggedAddress(`m+MDA-1234567.${token}@x.mx`, 'MDA')?.ticketKey).toBe('MDA-1234567');
  });

  it('returns the base of a foreign domain so that the caller can refuse it', () => {
    expect(parseTaggedAddress(`mesadeayuda+MDA-000123.${token}@proditmapac.com.evil.mx`, 'MDA')?.base).toBe('mesadeayuda@proditmapac.com.evil.mx');
  });

  it.each([
    ['no token', 'mesadeayuda+MDA-000123@proditmapac.com'],
    ['empty token', 'mesadeayuda+MDA-000123.@proditmapac.com'],
    ['short token', `mesadeayuda+MDA-000123.${token.slice(1)}@proditmapac.com`],
    ['long token', `mesadeayuda+MDA-000123.${token}x@proditmapac.com`],
    ['token outside base32 (0,1,8,9)', 'mesadeayuda+MDA-000123.0189abcdefghijkl@proditmapac.com'],
    ['wrong prefix', `mesadeayuda+ABC-000123.${token}@proditmapac.com`],
    ['prefix glued to more letters', `mesadeayuda+XMDA-000123.${token}@proditmapac.com`],
    ['five-digit key', `mesadeayuda+MDA-12345.${token}@proditmapac.com`],
    ['no plus', `mesadeayudaMDA-000123.${token}@proditmapac.com`],
    ['two plus signs', `mesa+x+MDA-000123.${token}@proditmapac.com`],
    ['dash instead of dot', `mesadeayuda+MDA-000123-${token}@proditmapac.com`],
    ['two @', `mesadeayuda+MDA-000123.${token}@proditmapac.com@evil.mx`],
    ['no domain', `mesadeayuda+MDA-000123.${token}@`],
    ['no local part', `+MDA-000123.${token}@proditmapac.com`],
    ['display-name form', `Mesa <mesadeayuda+MDA-000123.${token}@proditmapac.com>`],
    ['space inside', `mesa deayuda+MDA-000123.${token}@proditmapac.com`],
    ['fullwidth plus', `mesadeayuda＋MDA-000123.${token}@proditmapac.com`],
    ['empty string', ''],
  ])('returns null for %s', (_name, address) => {
    expect(parseTaggedAddress(address, 'MDA')).toBeNull();
  });

  it('survives a very long hostile address quickly', () => {
    const t0 = performance.now();
    expect(parseTaggedAddress(`${'a'.repeat(100_000)}+MDA-${'1'.repeat(100_000)}.${'a'.repeat(100_000)}@x`, 'MDA')).toBeNull();
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
