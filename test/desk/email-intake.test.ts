import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeskPolicy } from '../../src/domain/policy.ts';
import { email, startTestMesa, testPolicy, type TestMesa } from '../support/mesa-harness.ts';
import { peek } from '../support/db-peek.ts';

/**
 * The desk's decisions on a real SQLite file with a controlled clock: which acknowledgment goes
 * out (or why none does), reopening, follow-up tickets, attachments.
 */
describe('email intake decisions', () => {
  let t: TestMesa;
  let now: Date;
  beforeEach(() => { now = new Date('2026-11-30T16:00:00Z'); }); // Monday 10:00 in Mexico City
  afterEach(async () => { await t?.stop(); });

  const open = async (patch?: (p: DeskPolicy) => void) => {
    t = await startTestMesa({ start: false, clock: () => now, policy: testPolicy(patch) });
    return t.mesa;
  };
  const outbox = async () => (await peek(t).all('SELECT moment, recipient, payload_json FROM outbox ORDER BY id')) as Array<{ moment: string; recipient: string; payload_json: string }>;
  const events = async (key: string) => ((await peek(t).all('SELECT e.type, e.data_json FROM events e JOIN tickets t ON t.id = e.ticket_id WHERE t.key = ? ORDER BY e.id', key)) as Array<{ type: string; data_json: string }>);
  const receive = (raw: Buffer) => t.mesa.receive(raw, { kind: 'pipe', mailbox: null });
  const question = (n: number, from = 'ana@cliente.mx') => email({ from, to: 'mesadeayuda@proditmapac.com', subject: `Duda ${n}`, messageId: `duda-${n}@cliente.mx` }, '¿Cómo puedo cambiar mi correo?');

  it('sends the after-hours acknowledgment for a business-hours severity on a Saturday', async () => {
    now = new Date('2026-11-28T20:00:00Z'); // Saturday 14:00
    await open();
    await receive(question(1));
    const [ack] = (await outbox());
    expect(ack!.moment).toBe('ack-after-hours');
    const body = JSON.parse(ack!.payload_json) as { text: string };
    expect(body.text).toContain('Su caso será atendido a partir de lunes 30 de noviembre, 09:00 h (hora del centro)');
    // Severity 4: 5 business days counted from Monday 09:00 run out at Friday's closing time.
    expect(body.text).toContain('Tiempo estimado de solución: viernes 4 de diciembre, 18:00 h (hora del centro)');
  });

  it('commits a batch up to the message that fails, undoing only that one, and dedupes within the batch', async () => {
    const mesa = await open();
    const record = mesa.store.messages.record.bind(mesa.store.messages);
    let failures = 0;
    mesa.store.messages.record = async (m, at) => {
      if (m.messageId === 'duda-2@cliente.mx') { failures++; throw new Error('disco lleno de mentira'); }
      return record(m, at);
    };
    const pipe = { kind: 'pipe' as const, mailbox: null };
    const r = await mesa.receiveMany([question(1), question(1), question(2), question(3)].map((raw) => ({ raw, origin: pipe })));
    expect(r.outcomes.map((o) => o.result)).toEqual(['ticket_created', 'duplicate']);
    expect(r.failure?.index).toBe(2);
    expect(String(r.failure?.error)).toContain('processing_failed');
    // The fast attempt met the failure, rolled back, and the careful one met it again.
    expect(failures).toBe(2);
    expect(await peek(t).all('SELECT subject FROM tickets ORDER BY id')).toEqual([{ subject: 'Duda 1' }]);
    expect(await peek(t).all('SELECT attempts FROM intake_failures')).toEqual([{ attempts: 1 }]);
    // The same batch again once the fault is gone: the failure count is cleared.
    mesa.store.messages.record = record;
    const again = await mesa.receiveMany([question(2), question(3)].map((raw) => ({ raw, origin: pipe })));
    expect(again.outcomes.map((o) => o.result)).toEqual(['ticket_created', 'ticket_created']);
    expect(await peek(t).all('SELECT attempts FROM intake_failures')).toEqual([]);
  });

  it('redoes the batch the careful way when its appended rows fail to go in at the end', async () => {
    const mesa = await open();
    const flush = mesa.store.flush.bind(mesa.store);
    let flushes = 0;
    mesa.store.flush = async () => {
      flushes++;
      if (flushes === 1) throw new Error('fila rechazada de mentira');
      return flush();
    };
    const pipe = { kind: 'pipe' as const, mailbox: null };
    const r = await mesa.receiveMany([question(1), question(2)].map((raw) => ({ raw, origin: pipe })));
    expect(r.failure).toBeNull();
    expect(r.outcomes.map((o) => o.result)).toEqual(['ticket_created', 'ticket_created']);
    // Only the fast attempt flushes as a whole; the careful one writes each message's rows with its savepoint.
    expect(flushes).toBe(1);
    expect(await peek(t).all(`SELECT t.subject, count(e.id) AS created FROM tickets t JOIN events e ON e.ticket_id = t.id AND e.type = 'created' GROUP BY t.id ORDER BY t.id`))
      .toEqual([{ subject: 'Duda 1', created: 1 }, { subject: 'Duda 2', created: 1 }]);
  });

  it('limits automatic replies per recipient', async () => {
    await open((p) => { p.outbound.autoReplyLimit = { count: 2, windowMinutes: 60 }; });
    for (let i = 0; i < 4; i++) await receive(question(i, 'insistente@cliente.mx'));
    expect((await outbox()).filter((o) => o.recipient === 'insistente@cliente.mx')).toHaveLength(2);
    const skipped = (await peek(t).get(`SELECT count(*) AS n FROM events WHERE type = 'ack_skipped' AND data_json LIKE '%rate_limited%'`)) as { n: number };
    expect(skipped.n).toBe(2);
    expect(await t.mesa.store.tickets.count()).toBe(4);
  });

  it('acknowledges follow-ups at most once per quiet period', async () => {
    await open();
    const created = await receive(question(1));
    expect(created).toMatchObject({ result: 'ticket_created', ticketKey: 'MDA-000001' });
    const reply = (n: number) => email({ from: 'ana@cliente.mx', to: 'mesadeayuda@proditmapac.com', subject: 'Re: Duda 1', messageId: `r${n}@cliente.mx`, inReplyTo: 'duda-1@cliente.mx' }, `Dato ${n}.`);
    expect(await receive(reply(1))).toMatchObject({ result: 'follow_up', acknowledged: true });
    now = new Date(now.getTime() + 10 * 60_000);
    expect(await receive(reply(2))).toMatchObject({ result: 'follow_up', acknowledged: false });
    now = new Date(now.getTime() + 60 * 60_000);
    expect(await receive(reply(3))).toMatchObject({ result: 'follow_up', acknowledged: true });
    expect((await outbox()).map((o) => o.moment)).toEqual(['ack', 'ack-followup', 'ack-followup']);
  });

  it('reopens a resolved ticket inside the window and opens a linked ticket after it', async () => {
    await open();
    await receive(question(1));
    const ticket = (await t.mesa.store.tickets.byKey('MDA-000001'))!;
    await t.mesa.store.transaction(async () => await t.mesa.lifecycle.resolve(await t.mesa.lifecycle.reload(ticket.id), now, 'agent:test'));
    now = new Date(now.getTime() + 2 * 86_400_000);
    const reopened = await receive(email({ from: 'ana@cliente.mx', to: 'mesadeayuda@proditmapac.com', subject: 'Re: [MDA-000001] Duda 1', messageId: 'again@cliente.mx' }, 'Sigue sin funcionar.'));
    expect(reopened).toMatchObject({ result: 'follow_up', ticketKey: 'MDA-000001', reopened: true, acknowledged: true });
    expect((await t.mesa.store.tickets.byKey('MDA-000001'))!.state).toBe('en_atencion');
    expect((await events('MDA-000001')).map((e) => e.type)).toContain('reopened');

    await t.mesa.store.transaction(async () => await t.mesa.lifecycle.resolve(await t.mesa.lifecycle.reload(ticket.id), now, 'agent:test'));
    now = new Date(now.getTime() + 8 * 86_400_000);
    const late = await receive(email({ from: 'ana@cliente.mx', to: 'mesadeayuda@proditmapac.com', subject: 'Re: [MDA-000001] Duda 1', messageId: 'late@cliente.mx' }, 'Volvió a pasar.'));
    expect(late).toMatchObject({ result: 'ticket_created', ticketKey: 'MDA-000002' });
    expect((await t.mesa.store.tickets.byKey('MDA-000002'))!.reopened_from_id).toBe(ticket.id);
    expect((await events('MDA-000001')).map((e) => e.type)).toContain('follow_up_ticket_opened');
    expect((await outbox()).map((o) => o.moment)).toEqual(['ack', 'ack-reopened', 'ack']);
  });

  it('keeps attachments content-addressed up to the size limit', async () => {
    await open((p) => { p.intake.attachmentMaxBytes = 10; });
    const raw = Buffer.from([
      'From: ana@cliente.mx', 'To: soportetecnico@proditmapac.com', 'Subject: captura', 'Message-ID: <att@cliente.mx>', 'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="X"', '', '--X', 'Content-Type: text/plain', '', 'Adjunto captura.',
      '--X', 'Content-Type: text/plain; name="chico.txt"', 'Content-Disposition: attachment; filename="chico.txt"', '', 'corto',
      '--X', 'Content-Type: image/png; name="grande.png"', 'Content-Disposition: attachment; filename="grande.png"', 'Content-Transfer-Encoding: base64', '', Buffer.alloc(64, 7).toString('base64'),
      '--X--', '',
    ].join('\r\n'));
    await receive(raw);
    const rows = (await peek(t).all('SELECT filename, content_type, size, sha256, stored FROM attachments ORDER BY id')) as Array<{ filename: string; size: number; sha256: string | null; stored: number }>;
    expect(rows.map((r) => [r.filename, r.size, r.stored])).toEqual([['chico.txt', 5, 1], ['grande.png', 64, 0]]);
    expect((await t.mesa.store.blobs.get(rows[0]!.sha256!)).toString()).toBe('corto');
  });

  it('never answers mail from our own mailboxes', async () => {
    await open();
    const outcome = await receive(email({ from: 'soportetecnico@proditmapac.com', to: 'mesadeayuda@proditmapac.com', subject: 'Reenvío', messageId: 'own@proditmapac.com' }, 'texto'));
    expect(outcome.result).toBe('automatic_recorded');
    expect((await outbox())).toHaveLength(0);
  });
});
