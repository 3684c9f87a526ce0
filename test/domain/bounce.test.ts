import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { parseMail } from '../../src/intake/email/parse-mail.ts';
import { parseBounce } from '../../src/domain/bounce.ts';
import type { InboundMail } from '../../src/domain/mail.ts';
import { inboundMail } from '../support/inbound-mail.ts';

const fixture = (name: string): Promise<InboundMail> =>
  parseMail(readFileSync(join(import.meta.dirname, '../fixtures/automatic', name)), 'mesa.example.mx');

function mail(over: Partial<InboundMail> = {}): InboundMail {
  return inboundMail({
    messageId: 'dsn1@mx.example',
    from: { address: 'mailer-daemon@mx.example', name: 'Mail Delivery System' },
    subject: 'Undelivered Mail Returned to Sender',
    headers: { 'return-path': ['<>'] },
    ...over,
  });
}

describe('parseBounce on fixtures', () => {
  it.each([
    ['bounce-postfix-es.eml', {
      originalMessageId: 'ack.MDA-000123.1@mesa.example.mx', recipient: 'jperez@abarrotes-sol.mx', status: '5.1.1', hard: true,
      diagnostic: '550 5.1.1 <jperez@abarrotes-sol.mx>: Recipient address rejected: User unknown in virtual mailbox table',
    }],
    ['bounce-office365-es.eml', {
      originalMessageId: 'upd.MDA-000124.2@mesa.example.mx', recipient: 'ventas@corporativo-azteca.mx', status: '5.1.10', hard: true,
      diagnostic: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
    }],
    ['bounce-gmail-mailbox-full.eml', {
      originalMessageId: 'notice.MDA-000130.1@mesa.example.mx', recipient: 'claudia.rios@gmail.example', status: '5.2.2', hard: false,
      diagnostic: '552-5.2.2 The email account that you tried to reach is over quota.',
    }],
    ['bounce-exim.eml', {
      originalMessageId: 'ack.MDA-000140.1@mesa.example.mx', recipient: 'contabilidad@despacho-fiscal.mx', status: '5.1.1', hard: true,
      diagnostic: '550 5.1.1 <contabilidad@despacho-fiscal.mx>: No such user here',
    }],
    ['bounce-qmail.eml', {
      originalMessageId: 'reply.MDA-000150.3@mesa.example.mx', recipient: 'gerencia@muebles-roble.mx', status: '5.1.1', hard: true,
      diagnostic: 'Remote host said: 550 5.1.1 <gerencia@muebles-roble.mx>... User unknown',
    }],
    ['bounce-delayed.eml', {
      originalMessageId: 'ack.MDA-000160.1@mesa.example.mx', recipient: 'sistemas@clinica-sanjose.mx', status: '4.4.1', hard: false,
      diagnostic: 'connect to mx.clinica-sanjose.mx[192.0.2.90]:25: Connection timed out',
    }],
    ['bounce-policy-spam.eml', {
      originalMessageId: null, recipient: 'direccion@colegio-alameda.edu.mx', status: '5.7.1', hard: false,
      diagnostic: '550 5.7.1 Message rejected as spam by content filter',
    }],
    ['bounce-exchange-prose-es.eml', {
      originalMessageId: 'ack.MDA-000170.1@mesa.example.mx', recipient: 'recepcion@hospital-central.mx', status: '5.1.1', hard: true,
      diagnostic: '#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##',
    }],
    ['arf-abuse.eml', {
      originalMessageId: 'survey.MDA-000190.1@mesa.example.mx', recipient: 'quejoso@correo-grande.example', status: null, hard: false,
      diagnostic: 'feedback-type: abuse',
    }],
  ])('%s', async (name, expected) => {
    expect(parseBounce(await fixture(name))).toEqual(expected);
  });

  it.each(['customer-plain.eml', 'forwarded-bounce.eml', 'oof-outlook-es.eml', 'list-newsletter.eml', 'read-receipt.eml'])(
    '%s is not a bounce',
    async (name) => {
      expect(parseBounce(await fixture(name))).toBeNull();
    },
  );
});

describe('hard or soft', () => {
  const prose = (reply: string): InboundMail => mail({ text: `I'm sorry.\n\n<ana@cliente.example>: host mx.cliente.example said: ${reply}\n` });

  it.each([
    ['550 5.1.1 <ana@cliente.example>: User unknown (in reply to RCPT TO command)', '5.1.1', true],
    ['550 Requested action not taken: no such user here', '5.1.1', true],
    ['550 5.2.1 <ana@cliente.example>... User Unknown', '5.2.1', true],
    ['552 5.2.2 Mailbox full', '5.2.2', false],
    ['450 4.2.2 Mailbox full, try again later', '4.2.2', false],
    ['550 5.7.1 Message rejected as spam', '5.7.1', false],
    ['550 5.1.1 Refused due to recipient preferences', '5.1.1', false],
    ['553 5.1.8 Domain of sender address does not exist', '5.1.8', false],
    ['550 5.1.1 User unknown (in reply to end of DATA command)', '5.1.1', false],
    ['421 4.4.2 Connection timed out', '4.4.2', false],
  ])('%s → %s hard=%s', (reply, status, hard) => {
    expect(parseBounce(prose(reply))).toMatchObject({ recipient: 'ana@cliente.example', status, hard });
  });

  it('a delayed DSN is soft even when the reply looks fatal', () => {
    const dsn = 'Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; ana@cliente.example\nAction: delayed\nStatus: 4.0.0\nDiagnostic-Code: smtp; 550 user unknown\n';
    const m = mail({ contentType: 'multipart/report', contentTypeParams: { 'report-type': 'delivery-status' }, attachments: [att('message/delivery-status', dsn)] });
    expect(parseBounce(m)).toMatchObject({ recipient: 'ana@cliente.example', hard: false });
  });

  it('picks the failed recipient of a DSN that also reports a delivered one', () => {
    const dsn = [
      'Reporting-MTA: dns; mx',
      '',
      'Final-Recipient: rfc822; ok@cliente.example',
      'Action: delivered',
      'Status: 2.0.0',
      '',
      'Final-Recipient: rfc822;<mal@cliente.example>',
      'Action: failed',
      'Status: 5.0.0',
      'Diagnostic-Code: smtp; 550 5.1.1 mailbox unavailable',
    ].join('\r\n');
    const m = mail({ contentType: 'multipart/report', contentTypeParams: { 'report-type': 'delivery-status' }, attachments: [att('message/delivery-status', dsn)] });
    // Status 5.0.0 is the reporting MTA's shrug; the remote reply's 5.1.1 is more precise.
    expect(parseBounce(m)).toMatchObject({ recipient: 'mal@cliente.example', status: '5.1.1', hard: true });
  });

  it('infers a status when the server gave only a reply code', () => {
    expect(parseBounce(prose('550 sorry, no mailbox here by that name'))).toMatchObject({ status: '5.1.1', hard: true });
  });
});

describe('the original message', () => {
  it('falls back to In-Reply-To, which Exchange sets on its NDRs', () => {
    const m = mail({ text: '<ana@cliente.example>: 550 5.1.1 user unknown', inReplyTo: ['ack.7@mesa.example.mx'] });
    expect(parseBounce(m)?.originalMessageId).toBe('ack.7@mesa.example.mx');
  });

  it('reads a folded Message-ID from returned headers', () => {
    const m = mail({
      contentType: 'multipart/report',
      contentTypeParams: { 'report-type': 'delivery-status' },
      attachments: [att('text/rfc822-headers', 'From: soporte@mesa.example.mx\r\nMessage-ID:\r\n <folded.1@mesa.example.mx>\r\nSubject: x\r\n')],
    });
    expect(parseBounce(m)?.originalMessageId).toBe('folded.1@mesa.example.mx');
  });
});

describe('detection', () => {
  it('needs more than a bounce-like subject from an ordinary sender', () => {
    expect(parseBounce(mail({ from: { address: 'ana@cliente.example', name: 'Ana' }, headers: {}, subject: 'Undeliverable: pedido' }))).toBeNull();
  });

  it('accepts a "From: MAILER-DAEMON <>" that leaves no parsable address', () => {
    const m = mail({ from: null, headers: { from: ['MAILER-DAEMON <>'] }, subject: 'Mail delivery failed', text: 'There was an error delivering your mail to <ana@cliente.example>.\n\n550 5.1.1 <ana@cliente.example>: User unknown\n' });
    expect(parseBounce(m)).toMatchObject({ recipient: 'ana@cliente.example', status: '5.1.1', hard: true });
  });
});

describe('total on hostile input', () => {
  it('never throws', () => {
    const broken = { ...mail(), attachments: [{ contentType: 'message/delivery-status', content: null }], text: null } as unknown as InboundMail;
    expect(() => parseBounce(broken)).not.toThrow();
    expect(parseBounce({} as InboundMail)).toBeNull();
  });

  it.each([
    ['letters', 'a'.repeat(300_000)],
    ['spaces', ' '.repeat(300_000)],
    ['dots', 'a.'.repeat(150_000)],
    ['newlines', '\n'.repeat(300_000)],
    ['at signs', 'a@'.repeat(150_000)],
  ])('stays fast on a body of %s', (_name, text) => {
    const started = performance.now();
    parseBounce(mail({ text, html: text, attachments: [att('message/delivery-status', text), att('message/rfc822', text)] }));
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

function att(contentType: string, text: string): InboundMail['attachments'][number] {
  const content = Buffer.from(text);
  return { filename: null, contentType, size: content.length, content, related: false };
}
