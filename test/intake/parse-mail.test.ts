import { createHash } from 'node:crypto';
import { describe, it, expect } from 'vitest';
import { parseMail } from '../../src/intake/email/parse-mail.ts';
import { header } from '../../src/domain/mail.ts';

const DOMAIN = 'mesa.example.mx';
const eml = (...lines: string[]): Buffer => Buffer.from(lines.join('\r\n'));
const parse = (raw: Buffer) => parseMail(raw, DOMAIN);

/** Deterministic pseudo-random bytes (xorshift), so a failure can be replayed. */
function noise(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const PLAIN = eml(
  'From: "Pérez, Ana" <Ana.Perez@Cliente.MX>',
  'To: Mesa de Ayuda <MesaDeAyuda@Proditmapac.com>',
  'Cc: jefe@cliente.mx, "Soporte" <SOPORTE@cliente.mx>',
  'Reply-To: respuestas@cliente.mx',
  'Subject:   No puedo entrar al portal  ',
  'Date: Tue, 10 Mar 2026 10:15:00 -0600',
  'Message-ID: <CAB123.456@mail.cliente.mx>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Buenos días, no puedo entrar.',
  '',
);

describe('parseMail: a plain customer message', () => {
  it('flattens the headers into InboundMail', async () => {
    const m = await parse(PLAIN);
    expect(m.messageId).toBe('CAB123.456@mail.cliente.mx');
    expect(m.messageIdSynthesized).toBe(false);
    expect(m.from).toEqual({ address: 'ana.perez@cliente.mx', name: 'Pérez, Ana' });
    expect(m.to).toEqual([{ address: 'mesadeayuda@proditmapac.com', name: 'Mesa de Ayuda' }]);
    expect(m.cc).toEqual([{ address: 'jefe@cliente.mx', name: '' }, { address: 'soporte@cliente.mx', name: 'Soporte' }]);
    expect(m.replyTo).toEqual([{ address: 'respuestas@cliente.mx', name: '' }]);
    expect(m.subject).toBe('No puedo entrar al portal');
    expect(m.date?.toISOString()).toBe('2026-03-10T16:15:00.000Z');
    expect(m.text).toBe('Buenos días, no puedo entrar.\n');
    expect(m.html).toBeNull();
    expect(m.contentType).toBe('text/plain');
    expect(m.contentTypeParams).toEqual({ charset: 'utf-8' });
    expect(m.attachments).toEqual([]);
    expect(m.rawSize).toBe(PLAIN.length);
  });

  it('keeps every header line by lower-cased name, unfolded, in order', async () => {
    const m = await parse(eml(
      'Received: from a by b; Tue, 10 Mar 2026 10:00:00 -0600',
      'Received: from c',
      '\tby d; Tue, 10 Mar 2026 09:59:00 -0600',
      'X-Custom-Header: Valor',
      'From: a@x.mx',
      '',
      'x',
    ));
    expect(m.headers.received).toEqual(['from a by b; Tue, 10 Mar 2026 10:00:00 -0600', 'from c by d; Tue, 10 Mar 2026 09:59:00 -0600']);
    expect(header(m, 'X-CUSTOM-HEADER')).toBe('Valor');
  });

  it('caps a header repeated thousands of times (mail loop)', async () => {
    const m = await parse(eml(...Array.from({ length: 5000 }, (_, i) => `Received: hop ${i}`), 'From: a@x.mx', '', 'x'));
    expect(m.headers.received).toHaveLength(200);
    expect(m.headers.received?.[0]).toBe('hop 0');
  });
});

describe('parseMail: Message-ID', () => {
  const noId = eml('From: a@x.mx', 'Subject: sin id', '', 'cuerpo');

  it('is synthesised from the source hash when missing, the same on every read', async () => {
    const a = await parse(noId);
    const b = await parse(Buffer.from(noId));
    expect(a.messageIdSynthesized).toBe(true);
    expect(a.messageId).toBe(`sin-id.${createHash('sha256').update(noId).digest('hex').slice(0, 32)}@${DOMAIN}`);
    expect(b.messageId).toBe(a.messageId);
  });

  it('differs for different sources', async () => {
    const other = await parse(eml('From: a@x.mx', 'Subject: sin id', '', 'cuerpo distinto'));
    expect(other.messageId).not.toBe((await parse(noId)).messageId);
  });

  it.each([
    ['empty', 'Message-ID:'],
    ['blank', 'Message-ID:    '],
  ])('is synthesised for an %s header', async (_name, line) => {
    const m = await parse(eml('From: a@x.mx', line, '', 'x'));
    expect(m.messageIdSynthesized).toBe(true);
    expect(m.messageId).toMatch(new RegExp(`^sin-id\\.[0-9a-f]{32}@${DOMAIN.replace(/\./g, '\\.')}$`));
  });

  it('is synthesised when absurdly long (beyond RFC 5322’s 998-octet line)', async () => {
    const m = await parse(eml('From: a@x.mx', `Message-ID: <${'a'.repeat(2000)}@x.mx>`, '', 'x'));
    expect(m.messageIdSynthesized).toBe(true);
  });

  // Regression (fixed): cleanId() falls back to the trimmed header when no `<token>` matches, so `Message-ID: <>`
  // (sent by some broken mailers) becomes the literal id "<>" for every such message; the
  // UNIQUE(message_id) dedupe then drops every one after the first as a "duplicate".
  it('never keeps brackets or spaces: "<>" and "< >" are synthesised, one id per source', async () => {
    const a = await parse(eml('From: a@x.mx', 'Message-ID: <>', '', 'primero'));
    const b = await parse(eml('From: a@x.mx', 'Message-ID: <>', '', 'segundo'));
    expect(a.messageIdSynthesized).toBe(true);
    expect(a.messageId).not.toBe(b.messageId);
    for (const line of ['Message-ID: < >', 'Message-ID: <a b@x.mx>']) {
      expect((await parse(eml('From: a@x.mx', line, '', 'x'))).messageId, line).not.toMatch(/[<>\s]/);
    }
  });

  it('keeps a bracket-less id as written', async () => {
    const m = await parse(eml('From: a@x.mx', 'Message-ID: sin-corchetes@x.mx', '', 'x'));
    expect(m.messageId).toBe('sin-corchetes@x.mx');
  });
});

describe('parseMail: encoded words and addresses', () => {
  it('decodes RFC 2047 subjects (Q and B, UTF-8 and Latin-1)', async () => {
    const m = await parse(eml(
      'From: =?UTF-8?Q?Jos=C3=A9_Garc=C3=ADa?= <Jose@Cliente.MX>',
      'Subject: =?UTF-8?B?wqFFbCBwb3J0YWwgZXN0w6EgY2HDrWRvIQ==?=',
      '',
      'x',
    ));
    expect(m.subject).toBe('¡El portal está caído!');
    expect(m.from).toEqual({ address: 'jose@cliente.mx', name: 'José García' });
    const latin = await parse(eml('From: a@x.mx', 'Subject: =?ISO-8859-1?Q?Contrase=F1a_bloqueada?=', '', 'x'));
    expect(latin.subject).toBe('Contraseña bloqueada');
    expect(header(latin, 'subject')).toBe('Contraseña bloqueada');
  });

  it('joins adjacent encoded words in the subject without the whitespace between them', async () => {
    const m = await parse(eml('From: a@x.mx', 'Subject: =?UTF-8?Q?Fuera_de_la_ofi?= =?UTF-8?Q?cina?=', '', 'x'));
    expect(m.subject).toBe('Fuera de la oficina');
  });

  // Regression (fixed): decodeWords() collapses the whitespace between adjacent encoded words (RFC 2047 §6.2)
  // *after* decoding them, when no `?= =?` is left to match, so the headers map reads
  // "Fuera de la ofi cina" while mail.subject reads "Fuera de la oficina".
  it('decodes adjacent encoded words in the headers map like the subject', async () => {
    const m = await parse(eml('From: a@x.mx', 'Subject: =?UTF-8?Q?Fuera_de_la_ofi?= =?UTF-8?Q?cina?=', '', 'x'));
    expect(header(m, 'subject')).toBe('Fuera de la oficina');
  });

  it('leaves an encoded word with an unknown charset as written', async () => {
    const m = await parse(eml('From: a@x.mx', 'X-Note: =?x-no-such-charset?Q?hola?=', '', 'x'));
    expect(header(m, 'x-note')).toBe('=?x-no-such-charset?Q?hola?=');
  });

  it('flattens group syntax and drops empty groups', async () => {
    const m = await parse(eml(
      'From: a@x.mx',
      'To: Equipo: Uno@X.mx, "Dos" <dos@y.MX>;, undisclosed-recipients:;',
      'Cc: Vacio:;',
      '',
      'x',
    ));
    expect(m.to).toEqual([{ address: 'uno@x.mx', name: '' }, { address: 'dos@y.mx', name: 'Dos' }]);
    expect(m.cc).toEqual([]);
  });

  it('takes the first From of several and skips name-only entries', async () => {
    const m = await parse(eml('From: Nadie, Uno@x.mx, dos@x.mx', 'To: "Solo nombre"', '', 'x'));
    expect(m.from?.address).toBe('uno@x.mx');
    expect(m.to).toEqual([]);
  });

  it('merges repeated To headers', async () => {
    const m = await parse(eml('From: a@x.mx', 'To: uno@x.mx', 'To: dos@x.mx', '', 'x'));
    expect(m.to.map((a) => a.address).sort()).toEqual(['dos@x.mx', 'uno@x.mx']);
  });
});

describe('parseMail: In-Reply-To and References', () => {
  it('lists ids without brackets, in header order, across folded lines', async () => {
    const m = await parse(eml(
      'From: a@x.mx',
      'In-Reply-To: <out-3@mesa.example.mx>',
      'References: <out-1@mesa.example.mx>',
      ' <out-2@mesa.example.mx>\t<out-3@mesa.example.mx>',
      '',
      'x',
    ));
    expect(m.inReplyTo).toEqual(['out-3@mesa.example.mx']);
    expect(m.references).toEqual(['out-1@mesa.example.mx', 'out-2@mesa.example.mx', 'out-3@mesa.example.mx']);
  });

  it('accepts a bracket-less id', async () => {
    const m = await parse(eml('From: a@x.mx', 'In-Reply-To: out-9@mesa.example.mx', 'References: out-8@mesa.example.mx', '', 'x'));
    expect(m.inReplyTo).toEqual(['out-9@mesa.example.mx']);
    expect(m.references).toEqual(['out-8@mesa.example.mx']);
  });

  it('ignores comments between bracketed ids', async () => {
    const m = await parse(eml('From: a@x.mx', 'In-Reply-To: <a@x.mx> (Ana) <b@y.mx>', 'References: <c@x.mx>,<d@x.mx>', '', 'x'));
    expect(m.inReplyTo).toEqual(['a@x.mx', 'b@y.mx']);
    expect(m.references).toEqual(['c@x.mx', 'd@x.mx']);
  });

  // Regression (fixed): mailparser wraps a bracket-less value in <…> whole, comment included
  // ("<out-9@mesa.example.mx (Ana)>"); the `<([^<>\s]+)>` match fails on the space and the
  // whitespace split keeps "<out-9@mesa.example.mx", so the reply never threads by reference.
  it('a bracket-less id followed by a comment', async () => {
    const m = await parse(eml('From: a@x.mx', 'In-Reply-To: out-9@mesa.example.mx (Ana)', '', 'x'));
    expect(m.inReplyTo).toEqual(['out-9@mesa.example.mx']);
  });

  it('is empty without the headers', async () => {
    const m = await parse(PLAIN);
    expect(m.inReplyTo).toEqual([]);
    expect(m.references).toEqual([]);
  });
});

describe('parseMail: MIME', () => {
  it('keeps a DSN’s delivery-status part as an attachment and the report type', async () => {
    const m = await parse(eml(
      'From: MAILER-DAEMON@mx.cliente.mx',
      'To: mesadeayuda@proditmapac.com',
      'Subject: Undelivered Mail Returned to Sender',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
      '',
      '--B',
      'Content-Type: text/plain',
      '',
      'No se pudo entregar.',
      '--B',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.cliente.mx',
      '',
      'Final-Recipient: rfc822; nadie@cliente.mx',
      'Action: failed',
      'Status: 5.1.1',
      '',
      '--B',
      'Content-Type: text/rfc822-headers',
      '',
      'Message-ID: <out-1@mesa.example.mx>',
      '',
      '--B--',
      '',
    ));
    expect(m.contentType).toBe('multipart/report');
    expect(m.contentTypeParams['report-type']).toBe('delivery-status');
    const dsn = m.attachments.find((a) => a.contentType === 'message/delivery-status');
    expect(dsn?.content.toString()).toContain('Status: 5.1.1');
    expect(dsn?.size).toBe(dsn?.content.length);
    expect(m.text).toContain('No se pudo entregar.');
    expect(m.text).not.toContain('Status: 5.1.1');
  });

  it('keeps HTML and marks inline images as related', async () => {
    const m = await parse(eml(
      'From: a@x.mx',
      'MIME-Version: 1.0',
      'Content-Type: multipart/related; boundary="R"',
      '',
      '--R',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>Hola <img src="cid:logo@x"></p>',
      '--R',
      'Content-Type: image/png',
      'Content-ID: <logo@x>',
      'Content-Disposition: inline; filename="logo.png"',
      'Content-Transfer-Encoding: base64',
      '',
      'iVBORw0KGgo=',
      '--R--',
      '',
    ));
    expect(m.html).toContain('<p>Hola');
    expect(m.attachments).toHaveLength(1);
    expect(m.attachments[0]).toMatchObject({ filename: 'logo.png', contentType: 'image/png', related: true });
  });
});

describe('parseMail: garbage never throws', () => {
  it('an empty buffer', async () => {
    const m = await parse(Buffer.alloc(0));
    expect(m).toMatchObject({ from: null, to: [], subject: '', text: '', messageIdSynthesized: true, rawSize: 0, contentType: 'text/plain' });
  });

  it('random bytes', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const m = await parse(noise(4096, seed));
      expect(m.rawSize, `seed ${seed}`).toBe(4096);
      expect(m.messageId.length, `seed ${seed}`).toBeGreaterThan(0);
      if (m.messageIdSynthesized) expect(m.messageId, `seed ${seed}`).toMatch(/^sin-id\.[0-9a-f]{32}@mesa\.example\.mx$/);
    }
  });

  it('headers only, without a body or final newline', async () => {
    const m = await parse(Buffer.from('From: Ana <ANA@x.mx>\r\nSubject: solo encabezados'));
    expect(m.from?.address).toBe('ana@x.mx');
    expect(m.subject).toBe('solo encabezados');
    expect(m.text).toBe('');
  });

  it('a 1 MB line in the body and in a header', async () => {
    const t0 = performance.now();
    const body = await parse(Buffer.from(`From: a@x.mx\r\nSubject: x\r\n\r\n${'a'.repeat(1_000_000)}`));
    expect(body.text.length).toBeGreaterThanOrEqual(1_000_000);
    const head = await parse(Buffer.from(`From: a@x.mx\r\nSubject: ${'b'.repeat(1_000_000)}\r\n\r\nx`));
    expect(head.subject.length).toBe(1_000_000);
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it.each([
    ['a bare LF message', 'From: a@x.mx\nSubject: lf\n\nhola\n'],
    ['a colon-less header line', 'Esto no es un encabezado\r\nFrom: a@x.mx\r\n\r\nx'],
    ['an unterminated multipart', 'From: a@x.mx\r\nContent-Type: multipart/mixed; boundary="Z"\r\n\r\n--Z\r\nContent-Type: text/plain\r\n\r\nhola'],
    ['a multipart without boundary', 'From: a@x.mx\r\nContent-Type: multipart/mixed\r\n\r\nhola'],
    ['an unknown charset', 'From: a@x.mx\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nhola'],
    ['broken base64', 'From: a@x.mx\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@!!!==='],
    ['an invalid date', 'From: a@x.mx\r\nDate: el martes por la tarde\r\n\r\nx'],
    ['a broken encoded word', 'From: a@x.mx\r\nSubject: =?UTF-8?B?####?= =?utf-8?Q?=ZZ?=\r\n\r\nx'],
    ['NUL bytes in headers', 'From: a\u0000@x.mx\r\nSubject: a\u0000b\r\n\r\nx'],
    ['a deeply nested multipart', `From: a@x.mx\r\n${Array.from({ length: 200 }, (_, i) => `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`).join('')}Content-Type: text/plain\r\n\r\nfondo`],
  ])('%s', async (_name, raw) => {
    const m = await parse(Buffer.from(raw, 'utf8'));
    expect(typeof m.messageId).toBe('string');
    expect(m.date === null || !Number.isNaN(m.date.getTime())).toBe(true);
  });

  it('no Date header gives null', async () => {
    expect((await parse(eml('From: a@x.mx', '', 'x'))).date).toBeNull();
  });

  // Regression (fixed): mailparser replaces an unparseable Date with the current time, so the NaN check in
  // parseMail never fires and mail.date silently becomes "now" instead of null.
  it('an unparseable Date header becomes null', async () => {
    expect((await parse(eml('From: a@x.mx', 'Date: el martes por la tarde', '', 'x'))).date).toBeNull();
  });
});
