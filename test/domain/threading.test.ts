import { describe, it, expect } from 'vitest';
import type { InboundMail } from '../../src/domain/mail.ts';
import { inboundMail } from '../support/inbound-mail.ts';
import { replyAddress, signToken } from '../../src/domain/reply-token.ts';
import { extractThreadKeys, resolveThread, type ThreadCandidate, type ThreadKeyContext } from '../../src/domain/threading.ts';

const SECRET = 'threading-test-secret-0123456789';
const CTX: ThreadKeyContext = {
  prefix: 'MDA',
  secret: SECRET,
  mailboxAddresses: ['mesadeayuda@proditmapac.com', 'soportetecnico@proditmapac.com'],
};

const to = (address: string) => ({ address, name: '' });
const customerReply = (key: string, mailbox = 'mesadeayuda@proditmapac.com'): string =>
  replyAddress(mailbox, key, signToken(SECRET, key, { kind: 'customer' }));

function mail(over: Partial<InboundMail> = {}): InboundMail {
  return inboundMail({
    messageId: 'm1@cliente.mx',
    from: { address: 'ana@cliente.mx', name: 'Ana' },
    to: [to('mesadeayuda@proditmapac.com')],
    subject: 'Re: la impresora',
    text: 'gracias',
    ...over,
  });
}

describe('extractThreadKeys', () => {
  it('finds nothing in a fresh message', () => {
    expect(extractThreadKeys(mail({ subject: 'Hola' }), CTX)).toEqual({
      tokenTicketKey: null, badTokens: [], otherTokens: [], referencedIds: [], subjectTicketKeys: [],
    });
  });

  it('reads a valid customer token from To, Cc or a delivery header', () => {
    const addr = customerReply('MDA-000123');
    expect(extractThreadKeys(mail({ to: [to(addr)] }), CTX).tokenTicketKey).toBe('MDA-000123');
    expect(extractThreadKeys(mail({ to: [], cc: [to(addr)] }), CTX).tokenTicketKey).toBe('MDA-000123');
    for (const h of ['delivered-to', 'x-original-to', 'envelope-to']) {
      expect(extractThreadKeys(mail({ to: [], headers: { [h]: [`<${addr.toUpperCase()}>`] } }), CTX).tokenTicketKey, h).toBe('MDA-000123');
    }
  });

  it('accepts a token of the second mailbox', () => {
    expect(extractThreadKeys(mail({ to: [to(customerReply('MDA-000007', 'soportetecnico@proditmapac.com'))] }), CTX).tokenTicketKey).toBe('MDA-000007');
  });

  it('accepts a reply address whose local part an MTA upper-cased', () => {
    const addr = customerReply('MDA-000123').toUpperCase();
    expect(extractThreadKeys(mail({ to: [to(addr)] }), CTX).tokenTicketKey).toBe('MDA-000123');
  });

  it('keeps the first valid token when there are several', () => {
    const k = extractThreadKeys(mail({ to: [to(customerReply('MDA-000001'))], cc: [to(customerReply('MDA-000002'))] }), CTX);
    expect(k.tokenTicketKey).toBe('MDA-000001');
    expect(k.badTokens).toEqual([]);
  });

  it('reports a forged token (ticket key swapped) as bad and does not thread on it', () => {
    const genuine = signToken(SECRET, 'MDA-000123', { kind: 'customer' });
    const forged = `mesadeayuda+MDA-000124.${genuine}@proditmapac.com`;
    const k = extractThreadKeys(mail({ to: [to(forged)] }), CTX);
    expect(k.tokenTicketKey).toBeNull();
    expect(k.badTokens).toEqual([forged]);
    expect(k.otherTokens.map((x) => x.ticketKey)).toEqual(['MDA-000124']);
  });

  it('reports a token signed with another secret as bad', () => {
    const old = replyAddress('mesadeayuda@proditmapac.com', 'MDA-000123', signToken('the-secret-before-rotation', 'MDA-000123', { kind: 'customer' }));
    expect(extractThreadKeys(mail({ to: [to(old)] }), CTX)).toMatchObject({ tokenTicketKey: null, badTokens: [old] });
  });

  it('lists an agent token among the keys to check as agent tokens, not as a customer thread', () => {
    const t = signToken(SECRET, 'MDA-000123', { kind: 'agent', address: 'luis@proditmapac.com' });
    const k = extractThreadKeys(mail({ to: [to(replyAddress('mesadeayuda@proditmapac.com', 'MDA-000123', t))] }), CTX);
    expect(k.tokenTicketKey).toBeNull();
    expect(k.otherTokens.map((x) => x.ticketKey)).toEqual(['MDA-000123']);
  });

  it('ignores a perfectly signed token on a foreign or lookalike domain', () => {
    const token = signToken(SECRET, 'MDA-000123', { kind: 'customer' });
    for (const addr of [
      `mesadeayuda+MDA-000123.${token}@proditmapac.com.evil.mx`,
      `mesadeayuda+MDA-000123.${token}@proditrnapac.com`,
      `mesadeayuda+MDA-000123.${token}@evil.mx`,
      `mesadeayudа+MDA-000123.${token}@proditmapac.com`, // Cyrillic а
      `otro+MDA-000123.${token}@proditmapac.com`,
    ]) {
      const k = extractThreadKeys(mail({ to: [to(addr)] }), CTX);
      expect(k.tokenTicketKey, addr).toBeNull();
      expect(k.badTokens, addr).toEqual([]);
    }
  });

  it('ignores tag-less or malformed plus-addresses', () => {
    const k = extractThreadKeys(mail({ to: [to('mesadeayuda+MDA-000123@proditmapac.com'), to('mesadeayuda+hola@proditmapac.com')] }), CTX);
    expect(k).toMatchObject({ tokenTicketKey: null, badTokens: [], otherTokens: [] });
  });

  it('orders references: In-Reply-To first, then References newest to oldest, without repeats', () => {
    const k = extractThreadKeys(mail({ inReplyTo: ['c@mesa'], references: ['a@mesa', 'b@mesa', 'c@mesa'] }), CTX);
    expect(k.referencedIds).toEqual(['c@mesa', 'b@mesa', 'a@mesa']);
  });

  it('does not reorder the mail’s own references array', () => {
    const m = mail({ references: ['a@mesa', 'b@mesa'] });
    extractThreadKeys(m, CTX);
    expect(m.references).toEqual(['a@mesa', 'b@mesa']);
  });

  it('collects subject tags, upper-cased, in order, without repeats', () => {
    const k = extractThreadKeys(mail({ subject: 'RE: [mda-000123] RV: [MDA-000045][ MDA-000123 ]' }), CTX);
    expect(k.subjectTicketKeys).toEqual(['MDA-000123', 'MDA-000045']);
  });
});

describe('resolveThread', () => {
  const ticket = (over: Partial<ThreadCandidate> = {}): ThreadCandidate => ({
    ticketId: 1, key: 'MDA-000001', state: 'en_atencion', customerEmail: 'ana@cliente.mx', cc: ['jefe@cliente.mx'], resolvedAt: null, ...over,
  });
  const A = ticket({ ticketId: 1, key: 'MDA-000001' });
  const B = ticket({ ticketId: 2, key: 'MDA-000002' });
  const C = ticket({ ticketId: 3, key: 'MDA-000003' });

  it('token beats reference beats subject', () => {
    expect(resolveThread({ byToken: A, byReference: B, bySubject: C }, 'ana@cliente.mx')).toEqual({ ticket: A, via: 'token' });
    expect(resolveThread({ byToken: null, byReference: B, bySubject: C }, 'ana@cliente.mx')).toEqual({ ticket: B, via: 'reference' });
    expect(resolveThread({ byToken: null, byReference: null, bySubject: C }, 'ana@cliente.mx')).toEqual({ ticket: C, via: 'subject' });
  });

  it('token and reference thread whoever the sender is', () => {
    expect(resolveThread({ byToken: A, byReference: null, bySubject: null }, 'desconocido@otro.mx')).toMatchObject({ via: 'token' });
    expect(resolveThread({ byToken: null, byReference: B, bySubject: null }, null)).toMatchObject({ via: 'reference' });
  });

  it('accepts a subject tag from the ticket’s customer or a CC, in any case', () => {
    for (const from of ['ana@cliente.mx', 'ANA@Cliente.MX', 'jefe@cliente.mx']) {
      expect(resolveThread({ byToken: null, byReference: null, bySubject: C }, from), from).toEqual({ ticket: C, via: 'subject' });
    }
  });

  it('ignores a subject tag from anyone else and says which tag it ignored', () => {
    for (const from of ['otro@cliente.mx', 'ana@cliente.mx.evil.mx', 'xana@cliente.mx', '', null]) {
      expect(resolveThread({ byToken: null, byReference: null, bySubject: C }, from), String(from)).toEqual({ ticket: null, ignoredSubjectTag: 'MDA-000003' });
    }
  });

  it('a ticket without a customer email (phone ticket) only accepts its CCs by subject', () => {
    const phone = ticket({ customerEmail: null, cc: [] });
    expect(resolveThread({ byToken: null, byReference: null, bySubject: phone }, 'ana@cliente.mx')).toEqual({ ticket: null, ignoredSubjectTag: 'MDA-000001' });
  });

  it('is a new contact when nothing matched', () => {
    expect(resolveThread({ byToken: null, byReference: null, bySubject: null }, 'ana@cliente.mx')).toEqual({ ticket: null, ignoredSubjectTag: null });
  });
});
