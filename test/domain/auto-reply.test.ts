import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { parseMail } from '../../src/intake/email/parse-mail.ts';
import { detectAutomatic, type OwnIdentity } from '../../src/domain/auto-reply.ts';
import type { InboundMail } from '../../src/domain/mail.ts';
import { inboundMail } from '../support/inbound-mail.ts';

const OWN: OwnIdentity = {
  loopHeader: 'X-Mesa-Loop',
  loopValue: 'mesa',
  messageIdDomain: 'mesa.example.mx',
  ownAddresses: ['soporte@mesa.example.mx'],
};

const fixture = (name: string): Promise<InboundMail> =>
  parseMail(readFileSync(join(import.meta.dirname, '../fixtures/automatic', name)), 'mesa.example.mx');

/** A plain customer message; each test adds the one thing it is about. */
function mail(over: Partial<InboundMail> = {}): InboundMail {
  return inboundMail({
    messageId: 'abc123@cliente.example',
    subject: 'No funciona la impresora',
    text: 'Buenos días, la impresora no imprime.',
    ...over,
  });
}

describe('detectAutomatic on fixtures', () => {
  it.each([
    ['customer-plain.eml', false, 'none', null],
    ['customer-meeting-outlook.eml', false, 'none', null],
    ['customer-fuera-de-oficina.eml', false, 'none', null],
    ['forwarded-bounce.eml', false, 'none', null],
    ['list-own-group.eml', false, 'none', null],
    ['oof-outlook-es.eml', true, 'auto_reply', 'out-of-office subject'],
    ['oof-gmail-es.eml', true, 'auto_reply', 'auto-submitted: auto-replied'],
    ['noreply-notification.eml', true, 'auto_reply', 'sender no-reply'],
    ['read-receipt.eml', true, 'auto_reply', 'multipart/report disposition-notification'],
    ['list-newsletter.eml', true, 'list', 'precedence: bulk'],
    ['loop-own.eml', true, 'loop', 'loop header'],
    ['bounce-postfix-es.eml', true, 'bounce', 'multipart/report delivery-status'],
    ['bounce-office365-es.eml', true, 'bounce', 'multipart/report delivery-status'],
    ['bounce-gmail-mailbox-full.eml', true, 'bounce', 'multipart/report delivery-status'],
    ['bounce-delayed.eml', true, 'bounce', 'multipart/report delivery-status'],
    ['bounce-exim.eml', true, 'bounce', 'x-failed-recipients'],
    ['bounce-qmail.eml', true, 'bounce', 'sender mailer-daemon'],
    ['bounce-exchange-prose-es.eml', true, 'bounce', 'sender mailer-daemon'],
    ['arf-abuse.eml', true, 'bounce', 'multipart/report feedback-report'],
  ])('%s → %s %s', async (name, is, kind, reason) => {
    expect(detectAutomatic(await fixture(name), OWN)).toEqual({ is, kind, reason });
  });
});

describe('RFC 3834 and autoresponder headers', () => {
  it('Auto-Submitted other than "no" is automatic, with parameters ignored', () => {
    expect(detectAutomatic(mail({ headers: { 'auto-submitted': ['auto-generated; owner-email="x@y"'] } }), OWN))
      .toEqual({ is: true, kind: 'auto_reply', reason: 'auto-submitted: auto-generated' });
    expect(detectAutomatic(mail({ headers: { 'auto-submitted': ['No'] } }), OWN).is).toBe(false);
  });

  it.each(['x-autoreply', 'x-autorespond', 'x-autoresponder'])('%s marks an auto-reply', (name) => {
    expect(detectAutomatic(mail({ headers: { [name]: ['yes'] } }), OWN)).toMatchObject({ kind: 'auto_reply', reason: name });
  });

  it.each([
    ['bulk', 'list'],
    ['junk', 'list'],
    ['list', 'list'],
    ['auto_reply', 'auto_reply'],
  ])('Precedence: %s → %s', (value, kind) => {
    expect(detectAutomatic(mail({ headers: { precedence: [value] } }), OWN)).toMatchObject({ is: true, kind, reason: `precedence: ${value}` });
  });

  it('a null Return-Path alone is an automatic reply', () => {
    expect(detectAutomatic(mail({ headers: { 'return-path': ['<>'] } }), OWN)).toMatchObject({ kind: 'auto_reply', reason: 'null return-path' });
  });

  it.each(['noreply@banco.example', 'no-reply@x.example', 'do-not-reply@x.example', 'no_responder@sat.example', 'alertas-noreply@x.example'])(
    '%s is a no-reply sender',
    (address) => {
      expect(detectAutomatic(mail({ from: { address, name: '' } }), OWN)).toMatchObject({ kind: 'auto_reply', reason: 'sender no-reply' });
    },
  );

  it('a postmaster with no bounce wording is automatic but not a bounce', () => {
    expect(detectAutomatic(mail({ from: { address: 'postmaster@x.example', name: '' } }), OWN))
      .toMatchObject({ kind: 'auto_reply', reason: 'sender postmaster' });
  });

  it('X-Auto-Response-Suppress alone does not make mail automatic (Outlook meeting mail carries it)', () => {
    expect(detectAutomatic(mail({ headers: { 'x-auto-response-suppress': ['All'] } }), OWN).is).toBe(false);
  });

  it('an out-of-office subject needs a second sign', () => {
    expect(detectAutomatic(mail({ subject: 'Automatic reply: factura' }), OWN).is).toBe(false);
    expect(detectAutomatic(mail({ subject: 'Automatic reply: factura', inReplyTo: ['x@mesa.example.mx'] }), OWN))
      .toMatchObject({ kind: 'auto_reply', reason: 'out-of-office subject' });
    expect(detectAutomatic(mail({ subject: 'Abwesenheitsnotiz', text: 'I am out of the office until Monday.' }), OWN).kind).toBe('auto_reply');
  });
});

describe('lists', () => {
  it.each(['list-id', 'list-unsubscribe', 'list-post'])('%s → list', (name) => {
    expect(detectAutomatic(mail({ headers: { [name]: ['<mailto:lista@x.example>'] } }), OWN)).toEqual({ is: true, kind: 'list', reason: name });
  });
});

describe('loops', () => {
  it('our loop header with another value is not ours', () => {
    expect(detectAutomatic(mail({ headers: { 'x-mesa-loop': ['otra-mesa'] } }), OWN).is).toBe(false);
  });

  it('a Message-ID in our domain is a loop, unless the parser synthesised it', () => {
    expect(detectAutomatic(mail({ messageId: 'ack.1@mesa.example.mx' }), OWN)).toMatchObject({ kind: 'loop', reason: 'own message-id domain' });
    expect(detectAutomatic(mail({ messageId: 'sin-id.abc@mesa.example.mx', messageIdSynthesized: true }), OWN).is).toBe(false);
  });

  it('mail from our own address is a loop', () => {
    expect(detectAutomatic(mail({ from: { address: 'soporte@mesa.example.mx', name: '' } }), OWN)).toMatchObject({ kind: 'loop', reason: 'own address sender' });
  });
});

describe('precedence between kinds', () => {
  it('bounce beats auto_reply beats list', () => {
    const both = mail({ subject: 'Respuesta automática: hola', inReplyTo: ['a@b'], headers: { 'list-id': ['<l.x.example>'] } });
    expect(detectAutomatic(both, OWN).kind).toBe('auto_reply');
    const bounce = mail({
      from: { address: 'mailer-daemon@x.example', name: '' },
      subject: 'Undelivered Mail Returned to Sender',
      headers: { 'auto-submitted': ['auto-replied'], 'list-id': ['<l.x.example>'] },
    });
    expect(detectAutomatic(bounce, OWN)).toMatchObject({ kind: 'bounce', reason: 'sender mailer-daemon' });
  });

  it('a bounce of our own message is a bounce, not a loop', async () => {
    const m = await fixture('bounce-postfix-es.eml');
    expect(detectAutomatic(m, { ...OWN, ownAddresses: [...OWN.ownAddresses, 'mailer-daemon@mx1.mesa.example.mx'] }).kind).toBe('bounce');
  });
});

describe('total on hostile input', () => {
  it('never throws, even on a structurally broken object', () => {
    const broken = { ...mail(), headers: null, attachments: null, from: { address: null } } as unknown as InboundMail;
    expect(detectAutomatic(broken, OWN)).toEqual({ is: false, kind: 'none', reason: null });
  });

  it('stays fast on a huge body', () => {
    const started = performance.now();
    detectAutomatic(mail({ subject: 'Out of office', text: 'a'.repeat(2_000_000), html: ' '.repeat(2_000_000) }), OWN);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
