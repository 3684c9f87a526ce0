import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peek } from '../support/db-peek.ts';
import { startDovecot, type DovecotServer } from '../support/dovecot.ts';
import { email, startTestMesa, type TestMesa } from '../support/mesa-harness.ts';
import { SmtpSink, waitFor } from '../support/smtp-sink.ts';

/**
 * The email channel end to end on real servers: Dovecot (IMAP, IDLE) in, smtp-server out.
 * Each case asserts what the customer would see (the message that arrived) and what the desk
 * would see (the rows written).
 */
describe('email channel end to end', () => {
  let dovecot: DovecotServer;
  let smtp: SmtpSink;
  let t: TestMesa;

  beforeAll(async () => {
    dovecot = await startDovecot();
    smtp = new SmtpSink();
    await smtp.start();
    // Monday 30 November 2026, 10:00 in Mexico City, running on from there in real time.
    t = await startTestMesa({ dovecot, smtp, clock: runningClock('2026-11-30T16:00:00Z') });
  });

  afterAll(async () => {
    await t?.stop();
    await smtp?.stop();
    await dovecot?.stop();
  });

  const ticketOf = async (messageId: string) => (await peek(t).get(`SELECT t.* FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE m.message_id = ? AND m.direction = 'in'`, messageId)) as { id: number; key: string; severity: number; category: string; mailbox: string; description: string } | undefined;
  const inbound = async (messageId: string) => (await peek(t).get(`SELECT * FROM messages WHERE message_id = ? AND direction = 'in'`, messageId)) as { ticket_id: number | null; author: string; automatic_kind: string | null; visible_text: string } | undefined;

  it('turns a mail to each mailbox into a ticket and sends the acknowledgment with key and ETR', async () => {
    await dovecot.appendRaw('mesadeayuda', email({ from: 'Ana López <ana@cliente.mx>', to: 'mesadeayuda@proditmapac.com', subject: '¿Cómo puedo descargar mi constancia?', messageId: 'q1@cliente.mx' },
      'Hola, quisiera saber cómo puedo descargar mi constancia desde el portal.\r\nGracias.'));
    await dovecot.appendRaw('soportetecnico', email({ from: 'Luis <luis@empresa.mx>', to: 'soportetecnico@proditmapac.com', subject: 'Portal caído', messageId: 'q2@empresa.mx' },
      'El portal no carga para nadie desde las 9, todos los usuarios ven error 503.'));

    const ackAna = await waitFor(() => smtp.to('ana@cliente.mx')[0], 'ack to Ana');
    const ackLuis = await waitFor(() => smtp.to('luis@empresa.mx')[0], 'ack to Luis');

    const ana = (await ticketOf('q1@cliente.mx'));
    const luis = (await ticketOf('q2@empresa.mx'));
    expect(ana).toMatchObject({ mailbox: 'mesadeayuda', severity: 4 });
    expect(luis).toMatchObject({ mailbox: 'soportetecnico', severity: 1, category: 'disponibilidad' });

    const p = ackAna.parsed;
    expect(p.subject).toBe(`[${ana!.key}] Recibimos su reporte: ¿Cómo puedo descargar mi constancia?`);
    expect(p.text).toContain(`número de ticket ${ana!.key}`);
    expect(p.text).toContain('Tiempo estimado de solución: lunes 7 de diciembre, 10:00 h (hora del centro) (en unos 7 días).');
    expect(p.html).toContain(ana!.key);
    expect(p.inReplyTo).toBe('<q1@cliente.mx>');
    expect(p.messageId).toMatch(/@mesa\.proditmapac\.com>$/);
    expect(p.from?.value[0]?.address).toBe('mesadeayuda@proditmapac.com');
    expect(p.replyTo?.value[0]?.address).toMatch(new RegExp(`^mesadeayuda\\+${ana!.key}\\.[a-z2-7]{16}@proditmapac\\.com$`));
    expect(p.headers.get('auto-submitted')).toBe('auto-replied');
    expect(p.headers.get('x-auto-response-suppress')).toBe('All');
    expect(p.headers.get('x-mesa-loop')).toBe('mesa.proditmapac.com');
    expect(ackLuis.parsed.from?.value[0]?.address).toBe('soportetecnico@proditmapac.com');
    expect(ackLuis.parsed.text).toContain('Severidad:  1 (Crítica)');

    // Exactly one ack each, and the IMAP messages were flagged only after commit.
    expect(smtp.to('ana@cliente.mx')).toHaveLength(1);
    const outbox = (await peek(t).all(`SELECT status FROM outbox WHERE ticket_id = ?`, ana!.id)) as Array<{ status: string }>;
    await waitFor(async () => ((await peek(t).get(`SELECT status FROM outbox WHERE ticket_id = ?`, ana!.id)) as { status: string }).status === 'sent', 'outbox row sent');
    expect(outbox).toHaveLength(1);
  });

  it('threads a reply to the acknowledgment into the same ticket and acknowledges it briefly', async () => {
    const ack = smtp.to('ana@cliente.mx')[0]!.parsed;
    const ticket = (await ticketOf('q1@cliente.mx'))!;
    const replyTo = ack.replyTo!.value[0]!.address!;
    await dovecot.appendRaw('mesadeayuda', email({
      from: 'Ana López <ana@cliente.mx>', to: replyTo, subject: `RE: ${ack.subject}`, messageId: 'q1-reply@cliente.mx',
      inReplyTo: ack.messageId!.slice(1, -1), references: `<q1@cliente.mx> ${ack.messageId}`,
    }, 'Les adjunto más datos: uso Chrome en Windows.\r\n\r\nEl lun, 30 nov 2026 a las 10:01, PRODITMA Mesa de Ayuda <mesadeayuda@proditmapac.com> escribió:\r\n> Hola Ana:\r\n> Recibimos su reporte'));
    const second = await waitFor(() => smtp.to('ana@cliente.mx')[1], 'follow-up ack');
    expect((await inbound('q1-reply@cliente.mx'))).toMatchObject({ ticket_id: ticket.id, author: 'customer' });
    expect((await inbound('q1-reply@cliente.mx'))!.visible_text).toBe('Les adjunto más datos: uso Chrome en Windows.');
    expect(second.parsed.subject).toBe(`[${ticket.key}] Agregamos su mensaje al ticket`);
    expect(second.parsed.text).toContain('Tiempo estimado de solución:');
    expect(second.parsed.inReplyTo).toBe('<q1-reply@cliente.mx>');
    expect((await peek(t).get('SELECT count(*) AS n FROM tickets'))).toEqual({ n: 2 });
  });

  it('records an out-of-office reply, a bounce of our ack and a list mail without answering any', async () => {
    const ack = smtp.to('luis@empresa.mx')[0]!.parsed;
    const ticket = (await ticketOf('q2@empresa.mx'))!;
    const sentBefore = smtp.messages.length;
    await dovecot.appendRaw('soportetecnico', email({
      from: 'Luis <luis@empresa.mx>', to: 'soportetecnico@proditmapac.com', subject: 'Respuesta automática: Portal caído', messageId: 'ooo1@empresa.mx',
      inReplyTo: ack.messageId!.slice(1, -1), extra: { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All' },
    }, 'Estaré fuera de la oficina hasta el lunes.'));
    await dovecot.appendRaw('soportetecnico', dsn(ack.messageId!.slice(1, -1), 'luis@empresa.mx'));
    await dovecot.appendRaw('mesadeayuda', email({
      from: 'Boletín <boletin@lista.example>', to: 'mesadeayuda@proditmapac.com', subject: 'Novedades de noviembre', messageId: 'list1@lista.example',
      extra: { 'List-Id': '<novedades.lista.example>', 'List-Unsubscribe': '<mailto:baja@lista.example>', Precedence: 'bulk' },
    }, 'Estas son las novedades del mes.'));

    await waitFor(async () => (await inbound('list1@lista.example')) && (await inbound('ooo1@empresa.mx')) && (await peek(t).get(`SELECT 1 FROM messages WHERE author = 'bounce'`)), 'automatic mail recorded');
    expect((await inbound('ooo1@empresa.mx'))).toMatchObject({ ticket_id: ticket.id, author: 'automatic', automatic_kind: 'auto_reply' });
    expect((await inbound('list1@lista.example'))).toMatchObject({ ticket_id: null, author: 'automatic', automatic_kind: 'list' });
    const bounce = (await peek(t).get(`SELECT * FROM messages WHERE author = 'bounce'`)) as { ticket_id: number };
    expect(bounce.ticket_id).toBe(ticket.id);
    expect(await peek(t).get(`SELECT status FROM outbox WHERE message_id = ?`, ack.messageId!.slice(1, -1))).toEqual({ status: 'bounced' });
    expect((await peek(t).all(`SELECT address FROM suppressed_addresses`))).toEqual([{ address: 'luis@empresa.mx' }]);
    expect((await peek(t).all(`SELECT type FROM events WHERE ticket_id = ? AND type IN ('delivery_failed','automatic_mail_recorded') ORDER BY id`, ticket.id)))
      .toEqual([{ type: 'automatic_mail_recorded' }, { type: 'delivery_failed' }]);
    // Nothing was answered: give the dispatcher a moment to (wrongly) send, then count.
    await t.mesa.dispatcher.drain();
    expect(smtp.messages.length).toBe(sentBefore);
    expect((await peek(t).get('SELECT count(*) AS n FROM tickets'))).toEqual({ n: 2 });
  });

  it('opens a new ticket when a stranger forges a subject tag', async () => {
    const ticket = (await ticketOf('q1@cliente.mx'))!;
    await dovecot.appendRaw('mesadeayuda', email({ from: 'Intruso <x@otro.example>', to: 'mesadeayuda@proditmapac.com', subject: `Re: [${ticket.key}] datos`, messageId: 'forged@otro.example' },
      'Quiero ver la información de este ticket.'));
    await waitFor(() => smtp.to('x@otro.example')[0], 'ack to stranger');
    const theirs = (await ticketOf('forged@otro.example'))!;
    expect(theirs.id).not.toBe(ticket.id);
    const created = (await peek(t).get(`SELECT data_json FROM events WHERE ticket_id = ? AND type = 'created'`, theirs.id)) as { data_json: string };
    expect(JSON.parse(created.data_json).ignoredSubjectTag).toBe(ticket.key);
  });

  it('accepts the subject tag from the ticket customer without token or references', async () => {
    const ticket = (await ticketOf('q1@cliente.mx'))!;
    await dovecot.appendRaw('mesadeayuda', email({ from: 'ana@cliente.mx', to: 'mesadeayuda@proditmapac.com', subject: `Sobre [${ticket.key}]`, messageId: 'tag-ok@cliente.mx' }, 'Otra cosa más.'));
    await waitFor(async () => (await inbound('tag-ok@cliente.mx')), 'tagged mail');
    expect((await inbound('tag-ok@cliente.mx'))!.ticket_id).toBe(ticket.id);
  });

  it('resumes intake after Dovecot restarts', async () => {
    await dovecot.restart();
    await dovecot.appendRaw('soportetecnico', email({ from: 'Marta <marta@cliente.mx>', to: 'soportetecnico@proditmapac.com', subject: 'No carga la página de pagos', messageId: 'after-restart@cliente.mx' }, 'Me marca error al pagar.'));
    await waitFor(() => smtp.to('marta@cliente.mx')[0], 'ack after the IMAP server came back', 30_000);
    expect((await ticketOf('after-restart@cliente.mx'))).toBeDefined();
  });
});

function runningClock(startIso: string): () => Date {
  const base = Date.parse(startIso);
  const t0 = Date.now();
  return () => new Date(base + Date.now() - t0);
}

/** An RFC 3464 delivery status notification for one of our messages. */
function dsn(originalMessageId: string, recipient: string): Buffer {
  return Buffer.from([
    'From: Mail Delivery System <MAILER-DAEMON@mx.empresa.mx>',
    'To: soportetecnico@proditmapac.com',
    'Subject: Undelivered Mail Returned to Sender',
    'Message-ID: <dsn1@mx.empresa.mx>',
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
    '',
    '--B',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `<${recipient}>: host mx.empresa.mx said: 550 5.1.1 User unknown`,
    '--B',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.empresa.mx',
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    'Action: failed',
    'Status: 5.1.1',
    'Diagnostic-Code: smtp; 550 5.1.1 User unknown',
    '--B',
    'Content-Type: text/rfc822-headers',
    '',
    'From: soportetecnico@proditmapac.com',
    `To: ${recipient}`,
    `Message-ID: <${originalMessageId}>`,
    'Subject: [MDA-000002] Recibimos su reporte',
    '--B--',
    '',
  ].join('\r\n'));
}
