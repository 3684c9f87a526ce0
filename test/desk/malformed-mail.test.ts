import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestMesa, type TestMesa } from '../support/mesa-harness.ts';

/**
 * Bad input gets a clear outcome — a ticket, a recorded automatic mail or a quarantine entry
 * with its reason — never a crash and never silence.
 */
describe('malformed mail through the desk', () => {
  let t: TestMesa;
  beforeAll(async () => { t = await startTestMesa({ start: false }); });
  afterAll(async () => { await t?.stop(); });

  const crlf = (...lines: string[]) => Buffer.from(lines.join('\r\n'));
  const cases: Record<string, Buffer> = {
    'random bytes': randomBytes(4096),
    'only a newline': Buffer.from('\r\n'),
    'headers without body': crlf('From: a@b.mx', 'Subject: sin cuerpo'),
    'no From at all': crlf('To: mesadeayuda@proditmapac.com', 'Subject: anónimo', 'Message-ID: <nofrom@x>', '', 'hola'),
    'From without address': crlf('From: Nadie', 'To: mesadeayuda@proditmapac.com', 'Subject: x', 'Message-ID: <noaddr@x>', '', 'hola'),
    'broken MIME boundary': crlf('From: c@cliente.mx', 'Subject: adjunto', 'Message-ID: <mime@x>', 'Content-Type: multipart/mixed; boundary="AAA"', '', '--BBB', 'Content-Type: text/plain', '', 'texto', '--BBB--'),
    'unknown charset': crlf('From: d@cliente.mx', 'Subject: =?x-desconocido?B?aG9sYQ==?=', 'Message-ID: <cs@x>', 'Content-Type: text/plain; charset=x-desconocido', '', 'caf\xe9'),
    'bad base64': crlf('From: e@cliente.mx', 'Subject: b64', 'Message-ID: <b64@x>', 'Content-Transfer-Encoding: base64', '', '!!!no es base64***'),
    'NUL bytes': Buffer.concat([crlf('From: f@cliente.mx', 'Subject: nul', 'Message-ID: <nul@x>', '', 'a'), Buffer.from([0, 0, 0]), Buffer.from('b')]),
    'one-megabyte line': crlf('From: g@cliente.mx', 'Subject: largo', 'Message-ID: <long@x>', '', 'x'.repeat(1 << 20)),
    'endless header': crlf('From: h@cliente.mx', `Subject: ${'muy '.repeat(50_000)}`, 'Message-ID: <hdr@x>', '', 'hola'),
    'thousand Received lines': crlf(...Array.from({ length: 1000 }, (_, i) => `Received: from relay${i}`), 'From: i@cliente.mx', 'Subject: loop', 'Message-ID: <rcv@x>', '', 'hola'),
    'huge Message-ID': crlf('From: j@cliente.mx', `Message-ID: <${'a'.repeat(5000)}@x>`, 'Subject: id', '', 'hola'),
    'nested message/rfc822': crlf('From: k@cliente.mx', 'Subject: fwd', 'Message-ID: <nest@x>', 'Content-Type: message/rfc822', '', 'From: otro@x', 'Subject: dentro', '', 'cuerpo'),
  };

  for (const [name, raw] of Object.entries(cases)) {
    it(`handles ${name}`, async () => {
      const outcome = await t.mesa.receive(raw, { kind: 'pipe', mailbox: null });
      expect(['ticket_created', 'quarantined', 'automatic_recorded']).toContain(outcome.result);
      if (outcome.result === 'quarantined') {
        const q = (await t.mesa.store.intake.quarantined(outcome.quarantineId))!;
        expect(q.reason).toMatch(/^[a-z_]+$/);
        expect((await t.mesa.store.blobs.get(q.raw_sha256)).equals(raw)).toBe(true);
      }
      // The same bytes again never make a second ticket or a second quarantine entry.
      const again = await t.mesa.receive(raw, { kind: 'pipe', mailbox: null });
      expect(again.result === 'duplicate' || (again.result === 'quarantined' && outcome.result === 'quarantined' && again.quarantineId === outcome.quarantineId)).toBe(true);
    });
  }

  it('quarantines mail without a sender with the reason no_sender', async () => {
    const outcome = await t.mesa.receive(cases['no From at all']!, { kind: 'pipe', mailbox: null });
    expect(outcome).toMatchObject({ result: 'quarantined', reason: 'no_sender' });
  });
});
