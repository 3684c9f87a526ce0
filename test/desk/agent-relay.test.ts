import MailComposer from 'nodemailer/lib/mail-composer';
import { afterEach, describe, expect, it } from 'vitest';
import { countSms, READ_MORE } from '../../src/domain/sms-text.ts';
import { statusUrl } from '../../src/domain/status-link.ts';
import type { DeskPolicy } from '../../src/domain/policy.ts';
import { agentReplyAddress, email, startTestMesa, testPolicy, TEST_PUBLIC_URL, type TestMesa } from '../support/mesa-harness.ts';
import { SmtpSink } from '../support/smtp-sink.ts';
import { peek, removeBlob } from '../support/db-peek.ts';

const ANA = { name: 'Ana Uno', email: 'ana.n1@proditmapac.com', phone: null };
const now = new Date('2026-11-30T10:00:00-06:00');

/** A small but real PDF, with bytes of every value so that any transfer-encoding slip shows. */
const PDF = Buffer.concat([
  Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n'),
  Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7) % 256)),
  Buffer.from('\ntrailer << /Root 1 0 R >>\n%%EOF\n'),
]);

interface OutboxRow { id: number; channel: string; moment: string; recipient: string; status: string; last_error: string | null; payload_json: string }

let t: TestMesa;
let smtp: SmtpSink | null = null;
afterEach(async () => {
  await t?.stop();
  await smtp?.stop();
  smtp = null;
});

const receive = (raw: Buffer) => t.mesa.receive(raw, { kind: 'pipe', mailbox: null });
const outbox = async () => (await peek(t).all('SELECT id, channel, moment, recipient, status, last_error, payload_json FROM outbox ORDER BY id')) as OutboxRow[];
const events = async (key: string, type: string) => (await t.mesa.store.tickets.events((await t.mesa.store.tickets.byKey(key))!.id)).filter((e) => e.type === type);
const tokenAddress = (key: string) => agentReplyAddress(t.mesa.env.secret, key, ANA.email);

/** The agent's reply as their mail client would send it, attachments included. */
async function agentReply(key: string, id: string, text: string, attachments: Array<{ filename: string; content: Buffer; contentType: string }> = []): Promise<Buffer> {
  return new MailComposer({
    from: `Ana Uno <${ANA.email}>`, to: tokenAddress(key), subject: `RE: [${key}] Nuevo ticket`, messageId: `<${id}>`,
    date: now, text, attachments,
  }).compile().build();
}

describe('agent reply relay: attachments', () => {
  const open = async (patch: (p: DeskPolicy) => void = () => {}) => {
    smtp = new SmtpSink();
    await smtp.start();
    t = await startTestMesa({ smtp, start: false, clock: () => now, policy: testPolicy((p) => { p.levels[1].people = [ANA]; patch(p); }) });
    await receive(email({ from: 'Carla <carla@cliente.mx>', to: 'soportetecnico@proditmapac.com', subject: 'No puedo subir archivos', messageId: 'c1@cliente.mx' }, 'Me marca error al subir un archivo.'));
  };
  const toCarla = (subject: RegExp) => smtp!.to('carla@cliente.mx').filter((m) => subject.test(m.parsed.subject ?? ''));

  it('relays a PDF with the reply: same name, type and bytes, in the ticket thread; the outbox row holds a reference only', async () => {
    await open();
    const outcome = await receive(await agentReply('MDA-000001', 'a1@proditmapac.com', 'Hola Carla, le envío el reporte del error.', [{ filename: 'reporte-error.pdf', content: PDF, contentType: 'application/pdf' }]));
    expect(outcome).toMatchObject({ result: 'agent_reply', relayed: true });
    const row = (await outbox()).find((o) => o.moment === 'agent-reply')!;
    const payload = JSON.parse(row.payload_json) as { attachments: Array<Record<string, unknown>> };
    expect(payload.attachments).toEqual([expect.objectContaining({ filename: 'reporte-error.pdf', contentType: 'application/pdf', size: PDF.length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
    expect(row.payload_json.length).toBeLessThan(8 * 1024);
    expect(row.payload_json).not.toContain(PDF.toString('base64').slice(0, 40));

    await t.mesa.dispatcher.drain();
    const [mail] = toCarla(/Respuesta a su reporte/);
    expect(mail).toBeDefined();
    expect(mail!.parsed.text).toContain('Hola Carla, le envío el reporte del error.');
    // In the customer's thread: under our acknowledgment, which answered their first message.
    expect([mail!.parsed.references].flat()).toEqual(['<c1@cliente.mx>', `<${JSON.parse((await outbox()).find((o) => o.moment === 'ack')!.payload_json).messageId}>`]);
    expect(mail!.envelopeFrom).toBe('soportetecnico@proditmapac.com');
    expect(mail!.parsed.attachments).toHaveLength(1);
    const [att] = mail!.parsed.attachments;
    expect(att!.filename).toBe('reporte-error.pdf');
    expect(att!.contentType).toBe('application/pdf');
    expect(att!.content.equals(PDF)).toBe(true);
    expect((await events('MDA-000001', 'agent_reply_relayed')).map((e) => [JSON.parse(e.data_json), e.reason])).toEqual([[{ channel: 'email', attachments: ['reporte-error.pdf'], attachmentsNotRelayed: [] }, null]]);
  });

  it('keeps back a file whose content was not kept, and says so in the history the agents read', async () => {
    await open((p) => { p.intake.attachmentMaxBytes = 100 * 1024; });
    const big = Buffer.alloc(300 * 1024, 7);
    await receive(await agentReply('MDA-000001', 'a2@proditmapac.com', 'Adjunto el reporte y los registros.', [
      { filename: 'reporte.pdf', content: PDF, contentType: 'application/pdf' },
      { filename: 'registros.zip', content: big, contentType: 'application/zip' },
    ]));
    const [relayed] = (await events('MDA-000001', 'agent_reply_relayed'));
    expect(JSON.parse(relayed!.data_json)).toMatchObject({ attachments: ['reporte.pdf'], attachmentsNotRelayed: [{ filename: 'registros.zip', size: big.length }] });
    expect(relayed!.reason).toContain('no se enviaron al cliente: registros.zip (excede el tamaño máximo');
    await t.mesa.dispatcher.drain();
    const [mail] = toCarla(/Respuesta a su reporte/);
    expect(mail!.parsed.attachments.map((a) => a.filename)).toEqual(['reporte.pdf']);
    // Notices to the levels (escalations) show that line in the ticket's history.
    const history = (await t.mesa.notices.history((await t.mesa.store.tickets.byKey('MDA-000001'))!))!.map((h) => h.text);
    expect(history).toContain(`Respuesta de ${ANA.email} enviada al cliente — no se enviaron al cliente: registros.zip (excede el tamaño máximo de 100 KB (300 KB); su contenido no se guardó)`);
  });

  it('never relays the files of an internal note', async () => {
    await open();
    const outcome = await receive(await agentReply('MDA-000001', 'a3@proditmapac.com', '#nota\nCaptura del log del servidor.', [{ filename: 'log.pdf', content: PDF, contentType: 'application/pdf' }]));
    expect(outcome).toMatchObject({ relayed: false, internal: true });
    expect((await outbox()).filter((o) => o.recipient === 'carla@cliente.mx').map((o) => o.moment)).toEqual(['ack']);
    expect(JSON.parse((await events('MDA-000001', 'internal_note'))[0]!.data_json)).toMatchObject({ attachments: 1 });
  });

  it('relays files sent without words, and files sent with #resuelto', async () => {
    await open();
    await receive(await agentReply('MDA-000001', 'a4@proditmapac.com', '', [{ filename: 'guia.pdf', content: PDF, contentType: 'application/pdf' }]));
    await receive(await agentReply('MDA-000001', 'a5@proditmapac.com', '#resuelto\nQuedó corregido; le dejo la constancia.', [{ filename: 'constancia.pdf', content: PDF, contentType: 'application/pdf' }]));
    await t.mesa.dispatcher.drain();
    const [onlyFile] = toCarla(/Respuesta a su reporte/);
    expect(onlyFile!.parsed.text).toContain('Le compartimos el archivo adjunto.');
    expect(onlyFile!.parsed.attachments.map((a) => a.filename)).toEqual(['guia.pdf']);
    const resolved = smtp!.to('carla@cliente.mx').find((m) => m.parsed.text?.includes('Quedó corregido'));
    expect(resolved!.parsed.attachments.map((a) => [a.filename, a.content.equals(PDF)])).toEqual([['constancia.pdf', true]]);
  });

  it('fails the send for good, kept and visible, when the blob is gone', async () => {
    await open();
    await receive(await agentReply('MDA-000001', 'a6@proditmapac.com', 'Le envío el reporte.', [{ filename: 'reporte.pdf', content: PDF, contentType: 'application/pdf' }]));
    const row = (await outbox()).find((o) => o.moment === 'agent-reply')!;
    const { attachments } = JSON.parse(row.payload_json) as { attachments: Array<{ sha256: string }> };
    await removeBlob(t, attachments[0]!.sha256);
    await t.mesa.dispatcher.drain();
    const after = (await outbox()).find((o) => o.id === row.id)!;
    expect(after.status).toBe('failed');
    expect(after.last_error).toContain(`attachment ${attachments[0]!.sha256.slice(0, 12)} unreadable: ENOENT`);
    expect(toCarla(/Respuesta a su reporte/)).toEqual([]);
  });
});

describe('agent reply relay: SMS for phone tickets', () => {
  const open = async (patch: (p: DeskPolicy) => void = () => {}) => {
    t = await startTestMesa({
      start: false, clock: () => now,
      twilio: { accountSid: `AC${'b2'.repeat(16)}`, authToken: 'token-de-prueba-0123456789', phoneNumber: '+525552801241', url: 'http://127.0.0.1:9' },
      policy: testPolicy((p) => { p.levels[1].people = [ANA]; for (const s of [1, 2, 3, 4] as const) p.severities[s].sms = false; patch(p); }),
    });
    const { ticket } = await t.mesa.phone!.ticketForCall('CA0001', '+525511112222', { speech: 'No puedo entrar al portal de proveedores' }, now);
    return ticket.key;
  };
  const sms = async (moment: string) => (await outbox()).filter((o) => o.channel === 'sms' && o.moment === moment).map((o) => JSON.parse(o.payload_json) as { to: string; body: string });

  it('queues a long reply as one SMS within the limit, ending with the status link', async () => {
    const key = await open();
    const long = 'Hola, revisamos su acceso al portal de proveedores: su contraseña expiró el viernes y el sistema bloqueó la cuenta después de tres intentos. '
      + 'Ya la desbloqueamos y le enviamos una contraseña temporal a su correo registrado; al entrar le pedirá cambiarla. '
      + 'Si el portal le sigue marcando error, llámenos y con gusto lo revisamos en línea con usted.';
    const outcome = await receive(await agentReply(key, 'p1@proditmapac.com', long));
    expect(outcome).toMatchObject({ result: 'agent_reply', relayed: true });
    const relayed = (await sms('agent-reply'));
    expect(relayed).toHaveLength(1);
    const { to, body } = relayed[0]!;
    expect(to).toBe('+525511112222');
    expect(countSms(body).segments).toBeLessThanOrEqual(t.mesa.policy.outbound.smsMaxSegments);
    expect(body.startsWith(`${key} PRODITMA Mesa de Ayuda: Hola, revisamos su acceso`)).toBe(true);
    expect(body.endsWith(`${READ_MORE} ${statusUrl(TEST_PUBLIC_URL, t.mesa.env.secret, key)}`)).toBe(true);
    // The acknowledgment is the desk's own template: it goes out whole, ETR included.
    const [ack] = (await sms('ack-phone'));
    expect(ack!.body).toMatch(/Fecha estimada de solución: .+ e indique el número MDA-000001\.$/);
    expect(ack!.body).not.toContain(READ_MORE);
    const queued = (await events(key, 'message_queued')).map((e) => JSON.parse(e.data_json) as Record<string, unknown>).filter((d) => d.moment === 'agent-reply');
    expect(queued).toEqual([expect.objectContaining({ channel: 'sms', fitted: 'shortened', part: 1, parts: 1 })]);
  });

  it('sends a short reply as it is, with the ETR, and tells the history the files stayed behind', async () => {
    const key = await open();
    await receive(await agentReply(key, 'p2@proditmapac.com', 'Ya quedó, intente de nuevo.', [{ filename: 'guia.pdf', content: PDF, contentType: 'application/pdf' }]));
    const { body } = (await sms('agent-reply'))[0]!;
    expect(body).toMatch(new RegExp(`^${key} PRODITMA Mesa de Ayuda: Ya quedó, intente de nuevo\\. Solución estimada: .+\\.$`));
    expect(body).not.toContain(READ_MORE);
    const [relayed] = (await events(key, 'agent_reply_relayed'));
    expect(relayed!.reason).toBe('no se enviaron al cliente: guia.pdf (el cliente recibe mensajes por SMS)');
  });

  it("carries the agent's question of #pendiente and the words of #resuelto to a phone customer", async () => {
    const key = await open((p) => { p.outbound.smsMaxSegments = 6; });
    await receive(await agentReply(key, 'p4@proditmapac.com', '#pendiente\r\n¿Desde qué equipo intenta entrar?'));
    expect((await sms('customer-request-info'))[0]!.body).toContain('¿Desde qué equipo intenta entrar?');
    await receive(await agentReply(key, 'p5@proditmapac.com', '#resuelto\r\nRestablecimos su acceso.'));
    expect((await sms('customer-resolved'))[0]!.body).toContain('Restablecimos su acceso.');
  });

  it('respects a larger budget from the policy', async () => {
    const key = await open((p) => { p.outbound.smsMaxSegments = 8; });
    const long = 'Hola, revisamos su acceso al portal de proveedores y ya quedó desbloqueado. '.repeat(4).trim();
    await receive(await agentReply(key, 'p3@proditmapac.com', long));
    const { body } = (await sms('agent-reply'))[0]!;
    expect(body).toContain(long);
    expect(countSms(body).segments).toBeGreaterThan(3);
  });
});
