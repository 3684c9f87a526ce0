import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pgDriver from 'pg';
import { formatTicketKey } from '../../src/domain/ticket-key.ts';
import type { NewTicket } from '../../src/domain/ticket.ts';
import { isStoreError } from '../../src/store/errors.ts';
import { Store } from '../../src/store/store.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';

/**
 * The store's behaviour, the same on both engines: every repository's round trip, the
 * transaction rule (all or nothing, savepoints undo only their own part), the races that unique
 * constraints settle, and the store's own error kinds.
 */
const NOW = Date.UTC(2026, 11, 7, 16, 0);

function ticket(contactId: number, over: Partial<NewTicket> = {}): NewTicket {
  return {
    channel: 'email', mailbox: 'soportetecnico', contactId, subject: 'No puedo facturar', description: 'Marca error al timbrar',
    severity: 3, type: 'incidente', category: 'tecnico', level: 1, customerChannel: 'email', cc: ['jefe@cliente.mx'], classification: { severity: 3 },
    etrAt: NOW + 3_600_000, warningDueAt: null, firstResponseDueAt: NOW + 600_000, nextEscalationDueAt: NOW + 1_800_000, nextUpdateDueAt: null,
    resolutionDueAt: NOW + 7_200_000, nextActionAt: NOW + 600_000, reopenedFromId: null, organisation: null, terms: null, ...over,
  };
}

let pg: PostgresServer;
const dirs: string[] = [];
beforeAll(async () => { pg = await startPostgres(); }, 60_000);
afterAll(async () => {
  await pg?.remove();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const engines: Array<[string, () => Promise<Store>]> = [
  ['sqlite', async () => { const d = mkdtempSync(join(tmpdir(), 'mesa-store-')); dirs.push(d); return Store.open(d, 'MDA'); }],
  ['postgres', async () => { const d = mkdtempSync(join(tmpdir(), 'mesa-store-')); dirs.push(d); return Store.open(d, 'MDA', await pg.createDatabase()); }],
];

describe.each(engines)('store on %s', (name, open) => {
  let store: Store;
  beforeAll(async () => { store = await open(); }, 30_000);
  afterAll(async () => { await store?.close(); });

  it('names its engine and answers a ping and a write probe', async () => {
    expect(store.engineName).toBe(name);
    await store.ping();
    expect(await store.probeWrite()).toEqual({ ok: true });
  });

  it('creates a ticket with its key, events, ETR history, and reads them back with the same shapes', async () => {
    const contact = await store.tickets.contactForEmail('Ana@Cliente.mx', 'Ana', NOW);
    expect(contact).toEqual({ id: expect.any(Number), email: 'ana@cliente.mx', phone: null, name: 'Ana', organisation: null });
    const { id, key } = await store.transaction(async () => {
      const created = await store.tickets.create(ticket(contact.id), NOW);
      await store.tickets.event(created.id, NOW, 'system', 'created', { channel: 'email' }, 'clasificación');
      await store.tickets.recordEtr(created.id, NOW, NOW + 3_600_000, 'target', 'objetivo');
      return created;
    });
    expect(key).toMatch(/^MDA-\d{6}$/);
    const row = await store.tickets.byKey(key.toLowerCase());
    expect(row).toMatchObject({ id, key, state: 'nuevo', severity: 3, level: 1, etr_at: NOW + 3_600_000, created_at: NOW, paused_minutes: 0, resolved_at: null });
    expect(typeof row!.etr_at).toBe('number');
    expect(await store.tickets.events(id)).toEqual([{ id: expect.any(Number), at: NOW, actor: 'system', type: 'created', data_json: '{"channel":"email"}', reason: 'clasificación' }]);
    expect(await store.tickets.etrHistory(id)).toEqual([{ at: NOW, etr_at: NOW + 3_600_000, source: 'target', reason: 'objetivo' }]);
    await store.tickets.update(id, { state: 'en_atencion', paused_minutes: 12.5, assignee: 'ana.uno@proditma.mx' }, NOW + 1);
    expect(await store.tickets.byId(id)).toMatchObject({ state: 'en_atencion', paused_minutes: 12.5, assignee: 'ana.uno@proditma.mx', updated_at: NOW + 1 });
    expect((await store.tickets.listOpen()).map((t) => t.key)).toContain(key);
    expect((await store.tickets.list({ states: ['en_atencion'], limit: 10 })).map((t) => t.key)).toContain(key);
    expect(await store.tickets.list({ states: ['cerrado'], limit: 10 })).toEqual([]);
    expect(await store.tickets.dueIds(NOW + 600_000, 0, 10)).toContain(id);
    expect(await store.tickets.dueIds(NOW, 0, 10)).not.toContain(id);
  });

  it('threads by the first known reference in the order given, with one query for all of them', async () => {
    const c = await store.tickets.contactForEmail('luis@cliente.mx', 'Luis', NOW);
    const a = await store.tickets.create(ticket(c.id), NOW);
    const b = await store.tickets.create(ticket(c.id), NOW);
    const msg = (ticketId: number, messageId: string) => ({ ticketId, direction: 'in' as const, channel: 'email' as const, mailbox: null, messageId, fromAddress: 'luis@cliente.mx', to: [], subject: 's', author: 'customer' as const, automaticKind: null, automaticReason: null, visibleText: 't', bodyText: 't', rawSha256: null });
    await store.messages.insert(msg(a.id, `a-${name}@x`), NOW);
    const rowId = await store.messages.insert(msg(b.id, `b-${name}@x`), NOW);
    await store.messages.addAttachment(rowId, { filename: 'f.pdf', contentType: 'application/pdf', size: 3, sha256: null });
    expect((await store.messages.threadCandidates([], ['nadie@x', `b-${name}@x`, `a-${name}@x`])).byReference?.key).toBe(b.key);
    expect((await store.messages.threadCandidates([], [`a-${name}@x`, `b-${name}@x`])).byReference?.key).toBe(a.key);
    const both = await store.messages.threadCandidates([b.key.toLowerCase(), 'XX-999999'], [`a-${name}@x`]);
    expect([...both.byKey.keys()]).toEqual([b.key]);
    expect(both.byKey.get(b.key)).toMatchObject({ ticket_id: b.id, key: b.key, state: 'nuevo', customer_email: 'luis@cliente.mx', resolved_at: null });
    expect(both.byReference?.ticket_id).toBe(a.id);
    const none = await store.messages.threadCandidates([], []);
    expect(none.byKey.size).toBe(0);
    expect(none.byReference).toBeUndefined();
    expect(await store.messages.inboundExists(`a-${name}@x`)).toBe(true);
    expect(await store.messages.customerThreadIds(a.id)).toEqual([`a-${name}@x`]);
  });

  it('appends events, ETR history and message rows at the end of the transaction, visible to reads inside it, in order', async () => {
    const c = await store.tickets.contactForEmail('orden@cliente.mx', '', NOW);
    const t = await store.tickets.create(ticket(c.id), NOW);
    const msg = (messageId: string) => ({ ticketId: t.id, direction: 'in' as const, channel: 'email' as const, mailbox: null, messageId, fromAddress: 'orden@cliente.mx', to: [], subject: 's', author: 'customer' as const, automaticKind: null, automaticReason: null, visibleText: 'a\u0000b', bodyText: 'comillas " y \\ diagonal, {llaves}', rawSha256: null });
    await store.transaction(async () => {
      await store.tickets.event(t.id, NOW, 'system', 'uno', { n: 1 });
      await store.messages.record(msg(`r1-${name}@x`), NOW);
      // A read of the table sends what waited for it first.
      expect((await store.tickets.events(t.id)).map((e) => e.type)).toEqual(['uno']);
      await store.tickets.event(t.id, NOW, 'system', 'dos', { n: 2 }, 'razón');
      await store.tickets.recordEtr(t.id, NOW, NOW + 5, 'agent', 'el agente');
      // An insert that needs its id goes after the rows appended before it.
      await store.messages.insert(msg(`r2-${name}@x`), NOW);
      expect(await store.messages.customerThreadIds(t.id)).toEqual([`r1-${name}@x`, `r2-${name}@x`]);
      await store.tickets.event(t.id, NOW, 'system', 'tres');
    });
    expect((await store.tickets.events(t.id)).map((e) => [e.type, e.reason])).toEqual([['uno', null], ['dos', 'razón'], ['tres', null]]);
    expect(await store.tickets.etrHistory(t.id)).toEqual([{ at: NOW, etr_at: NOW + 5, source: 'agent', reason: 'el agente' }]);
    expect((await store.tickets.messagesOf(t.id)).map((m) => m.body_text)).toEqual(['comillas " y \\ diagonal, {llaves}', 'comillas " y \\ diagonal, {llaves}']);
  });

  it('discards the rows appended inside a savepoint that rolled back, keeps the ones before it', async () => {
    const c = await store.tickets.contactForEmail('savepoint@cliente.mx', '', NOW);
    const t = await store.tickets.create(ticket(c.id), NOW);
    await store.transaction(async () => {
      await store.tickets.event(t.id, NOW, 'system', 'antes');
      await expect(store.transaction(async () => {
        await store.tickets.event(t.id, NOW, 'system', 'deshecho');
        throw new Error('no');
      })).rejects.toThrow('no');
      await store.transaction(async () => { await store.tickets.event(t.id, NOW, 'system', 'dentro'); });
    });
    expect((await store.tickets.events(t.id)).map((e) => e.type)).toEqual(['antes', 'dentro']);
    // A bad appended row fails its transaction as a whole: nothing of it is left.
    await expect(store.transaction(async () => {
      await store.tickets.event(t.id, NOW, 'system', 'con_ticket');
      await store.tickets.event(987_654_321, NOW, 'system', 'sin_ticket');
    })).rejects.toThrow();
    expect((await store.tickets.events(t.id)).map((e) => e.type)).toEqual(['antes', 'dentro']);
  });

  it('answers the intake decision\'s questions about a sender in one query', async () => {
    const c = await store.tickets.contactForEmail('hechos@cliente.mx', '', NOW);
    const t = await store.tickets.create(ticket(c.id), NOW);
    const since = NOW - 60_000;
    const empty = { sender: null, agent: null, autoReplyMoments: ['ack', 'ack-followup'], since, ticketId: null, bouncedMessageId: null };
    expect(await store.intake.senderFacts(empty)).toEqual({ suppressed: false, recentAutoReplies: 0, recentAgentErrors: 0, lastFollowUpAckAt: null, bouncedTicketId: null, contact: null });
    // Inside a transaction rolled back at the end: the rows must not reach the outbox tests. On
    // PostgreSQL the queued rows are still waiting in memory when the facts are read: they count.
    const undo = new Error('undo');
    await expect(store.transaction(async () => {
    await store.outbox.enqueue({ ticketId: t.id, channel: 'email', moment: 'ack', recipient: 'hechos@cliente.mx', messageId: `f1-${name}@x`, payload: {} }, NOW);
    await store.outbox.enqueue({ ticketId: t.id, channel: 'email', moment: 'ack-followup', recipient: 'hechos@cliente.mx', messageId: `f2-${name}@x`, payload: {} }, NOW + 1);
    await store.outbox.enqueue({ ticketId: t.id, channel: 'email', moment: 'ack', recipient: 'hechos@cliente.mx', messageId: `f3-${name}@x`, payload: {} }, since - 1);
    await store.outbox.enqueue({ ticketId: t.id, channel: 'email', moment: 'agent-error', recipient: 'agente@proditma.mx', messageId: `f4-${name}@x`, payload: {} }, NOW);
    await store.intake.suppress('hechos@cliente.mx', 'hard_bounce', '5.1.1', null, NOW);
    expect(await store.intake.senderFacts({ ...empty, sender: 'Hechos@Cliente.mx', agent: 'agente@proditma.mx', ticketId: t.id, bouncedMessageId: `f2-${name}@x` }))
      .toEqual({ suppressed: true, recentAutoReplies: 2, recentAgentErrors: 1, lastFollowUpAckAt: NOW + 1, bouncedTicketId: t.id,
        contact: { id: c.id, email: 'hechos@cliente.mx', phone: null, name: '', organisation: null } });
    // Any other read of the outbox sees them too (they are written first).
    expect((await store.outbox.byMessageId(`f4-${name}@x`))?.recipient).toBe('agente@proditma.mx');
    expect(await store.intake.senderFacts({ ...empty, sender: 'hechos@cliente.mx' })).toMatchObject({ recentAutoReplies: 2 });
    throw undo;
    })).rejects.toBe(undo);
  });

  it('creates a new customer\'s contact with their first ticket, and finds one that appeared meanwhile', async () => {
    const fields = (({ contactId: _, ...rest }) => rest)(ticket(0));
    const first = await store.tickets.createWithContact(fields, { email: `Nueva-${name}@Cliente.mx`, name: 'Nora', organisation: 'acme' }, NOW);
    const contact = await store.tickets.contact(first.row.contact_id);
    expect(contact).toMatchObject({ email: `nueva-${name}@cliente.mx`, name: 'Nora', organisation: 'acme' });
    // A second "unknown" sender that is in fact known by now: the same contact, its name kept.
    const second = await store.tickets.createWithContact(fields, { email: `nueva-${name}@cliente.mx`, name: 'Otra', organisation: null }, NOW);
    expect(second.row.contact_id).toBe(first.row.contact_id);
    expect(await store.tickets.contact(first.row.contact_id)).toMatchObject({ name: 'Nora', organisation: 'acme' });
    expect(second.key).not.toBe(first.key);
  });

  it('gives messages queued in one transaction distinct ids, each found by it after the commit', async () => {
    const c = await store.tickets.contactForEmail(`ids-${name}@cliente.mx`, '', NOW);
    const t = await store.tickets.create(ticket(c.id), NOW);
    // Queued a year ahead, so that no claim in the other tests sees them due.
    const later = NOW + 365 * 86_400_000;
    const ids = await store.transaction(async () => {
      const out: number[] = [];
      for (let i = 0; i < 40; i++) out.push(await store.outbox.enqueue({ ticketId: t.id, channel: 'email', moment: 'ack', recipient: `ids-${name}@cliente.mx`, messageId: `ids-${i}-${name}@x`, payload: { i } }, later));
      return out;
    });
    expect(new Set(ids).size).toBe(40);
    for (const [i, id] of ids.entries()) expect((await store.outbox.byMessageId(`ids-${i}-${name}@x`))?.id).toBe(id);
  });

  it('commits rows, events and outbox together, or none of them', async () => {
    const c = await store.tickets.contactForEmail('todo@cliente.mx', '', NOW);
    const before = await store.tickets.count();
    const failing = store.transaction(async () => {
      const t = await store.tickets.create(ticket(c.id), NOW);
      await store.outbox.enqueue({ ticketId: t.id, channel: 'email', moment: 'ack', recipient: 'todo@cliente.mx', messageId: `ack-${name}@x`, payload: {} }, NOW);
      throw new Error('the desk changed its mind');
    });
    await expect(failing).rejects.toThrow('the desk changed its mind');
    expect(await store.tickets.count()).toBe(before);
    expect(await store.outbox.byMessageId(`ack-${name}@x`)).toBeUndefined();
  });

  it('undoes only a failed savepoint inside a transaction', async () => {
    const outcome = await store.transaction(async () => {
      await store.intake.suppress(`kept-${name}@x`, 'hard_bounce', '5.1.1', null, NOW);
      try {
        await store.transaction(async () => {
          await store.intake.suppress(`undone-${name}@x`, 'hard_bounce', '5.1.1', null, NOW);
          throw new Error('one message failed');
        });
      } catch { /* that message only */ }
      return 'committed';
    });
    expect(outcome).toBe('committed');
    expect(await store.intake.isSuppressed(`kept-${name}@x`)).toBe(true);
    expect(await store.intake.isSuppressed(`undone-${name}@x`)).toBe(false);
  });

  it('settles read-then-insert races with unique constraints: one contact, one open quarantine entry, one call', async () => {
    const contacts = await Promise.all(Array.from({ length: 8 }, (_, i) => store.tickets.contactForEmail(`race-${name}@cliente.mx`, i === 3 ? 'Rita' : '', NOW)));
    expect(new Set(contacts.map((c) => c.id)).size).toBe(1);
    expect((await store.tickets.contact(contacts[0]!.id))?.name).toBe('Rita');
    const phones = await Promise.all(Array.from({ length: 5 }, () => store.tickets.contactForPhone('+525512345678', NOW)));
    expect(new Set(phones.map((c) => c.id)).size).toBe(1);
    const sha = 'a'.repeat(64);
    const ids = await Promise.all(Array.from({ length: 6 }, () => store.intake.quarantine({ origin: 'imap', mailbox: 'mesadeayuda', rawSha: sha, reason: 'parse_failed', detail: null }, NOW)));
    expect(new Set(ids).size).toBe(1);
    await store.intake.resolveQuarantine(ids[0]!, NOW);
    const again = await store.intake.quarantine({ origin: 'imap', mailbox: 'mesadeayuda', rawSha: sha, reason: 'parse_failed', detail: null }, NOW);
    expect(again).not.toBe(ids[0]);
    await store.intake.reopenQuarantine(ids[0]!);
    expect((await store.intake.quarantined(ids[0]!))?.resolved_at).not.toBeNull();
    const calls = await Promise.all(Array.from({ length: 4 }, () => store.calls.touch(`CA-${name}`, { raw: '+525512345678', e164: '+525512345678' }, NOW)));
    expect(new Set(calls.map((c) => c.id)).size).toBe(1);
    expect(await store.calls.advanceStatus(`CA-${name}`, 'completed', 30, NOW)).toBe(true);
    expect(await store.calls.advanceStatus(`CA-${name}`, 'ringing', null, NOW)).toBe(false);
  });

  it('raises its own conflict kind for a duplicate key, whatever the engine', async () => {
    const c = await store.tickets.contactForEmail('web@cliente.mx', '', NOW);
    const t = await store.tickets.create(ticket(c.id, { channel: 'web' }), NOW);
    await store.web.recordSubmission(`nonce-${name}`, t.id, NOW);
    const err = await store.web.recordSubmission(`nonce-${name}`, t.id, NOW).catch((e: unknown) => e);
    expect(isStoreError(err, 'conflict')).toBe(true);
    expect(await store.web.submissionTicket(`nonce-${name}`)).toBe(t.id);
  });

  it('moves the mailbox cursor forward only, and restarts it on a new UIDVALIDITY', async () => {
    await store.intake.advanceCursor('mesadeayuda', 7, 10, NOW);
    await store.intake.advanceCursor('mesadeayuda', 7, 4, NOW);
    expect(await store.intake.cursor('mesadeayuda')).toEqual({ uidValidity: 7, lastUid: 10 });
    await store.intake.advanceCursor('mesadeayuda', 8, 2, NOW);
    expect(await store.intake.cursor('mesadeayuda')).toEqual({ uidValidity: 8, lastUid: 2 });
    expect(await store.intake.recordFailure('b'.repeat(64), 'E1', NOW)).toBe(1);
    expect(await store.intake.recordFailure('b'.repeat(64), 'E2', NOW)).toBe(2);
  });

  it('claims each due outbox row once even when two dispatchers claim at the same moment', async () => {
    for (let i = 0; i < 20; i++) await store.outbox.enqueue({ ticketId: null, channel: 'email', moment: 'ack', recipient: `claim${i}@x`, messageId: `claim-${name}-${i}@x`, payload: { i } }, NOW);
    const [a, b] = await Promise.all([store.outbox.claimDue(NOW, 15, 60_000, 'host:1'), store.outbox.claimDue(NOW, 15, 60_000, 'host:2')]);
    const ids = [...a, ...b].map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThanOrEqual(20);
    await store.outbox.markSent(a[0]!.id, NOW);
    expect((await store.outbox.counts()).sent).toBe(1);
    const facts = (moments: string[]) => store.intake.senderFacts({ sender: 'claim1@x', agent: null, autoReplyMoments: moments, since: NOW - 1, ticketId: null, bouncedMessageId: null });
    expect((await facts(['ack'])).recentAutoReplies).toBe(1);
    expect((await facts([])).recentAutoReplies).toBe(0);
    // A lease that ran out is taken again (the dispatcher that held it died).
    const retaken = await store.outbox.claimDue(NOW + 60_001, 50, 60_000, 'host:3');
    expect(retaken.length).toBe(ids.length - 1);
  });

  it('gives a mailbox lease to one holder at a time, until it runs out or is released', async () => {
    const mb = `buzon-${name}`;
    expect(await store.leases.acquire(mb, 'a/1/x', 60_000)).toBe(true);
    expect(await store.leases.acquire(mb, 'b/2/y', 60_000)).toBe(false);
    expect(await store.leases.acquire(mb, 'a/1/x', 60_000)).toBe(true); // a renewal
    const [held] = (await store.leases.list()).filter((l) => l.mailbox === mb);
    expect(held).toMatchObject({ holder: 'a/1/x', live: true });
    expect(await store.leases.confirm(mb, 'a/1/x')).toBe(true);
    expect(await store.leases.confirm(mb, 'b/2/y')).toBe(false);
    // Two instances at once: exactly one wins.
    const race = await Promise.all(['c/3/z', 'd/4/w'].map((h) => store.leases.acquire(`${mb}-race`, h, 60_000)));
    expect(race.filter(Boolean)).toHaveLength(1);
    // A lease that ran out (TTL 1 ms) goes to the next instance that asks.
    expect(await store.leases.acquire(`${mb}-short`, 'a/1/x', 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(await store.leases.acquire(`${mb}-short`, 'b/2/y', 60_000)).toBe(true);
    expect(await store.leases.holderOf(`${mb}-short`)).toBe('b/2/y');
    expect(await store.leases.liveHolderOf(`${mb}-short`)).toBe('b/2/y');
    expect(await store.leases.acquire(`${mb}-gone`, 'a/1/x', 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(await store.leases.liveHolderOf(`${mb}-gone`)).toBeNull();
    expect(await store.leases.liveHolderOf(`${mb}-never`)).toBeNull();
    // Taken over from a named holder only.
    expect(await store.leases.takeOver(mb, 'z/9/q', 'b/2/y', 60_000)).toBe(false);
    expect(await store.leases.takeOver(mb, 'a/1/x', 'b/2/y', 60_000)).toBe(true);
    await store.leases.release(mb, 'a/1/x'); // not the holder: nothing happens
    expect(await store.leases.holderOf(mb)).toBe('b/2/y');
    await store.leases.release(mb, 'b/2/y');
    expect(await store.leases.acquire(mb, 'a/1/x', 60_000)).toBe(true);
  });

  it('counts rate-limit hits in fixed windows shared by every caller', async () => {
    const key = `portal:ip:${name}`;
    const hits = await Promise.all(Array.from({ length: 5 }, () => store.rateLimits.hit(key, 60_000, NOW)));
    expect(hits.map((h) => h.hits).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(hits.every((h) => h.resetsAt === NOW + 60_000)).toBe(true);
    expect(await store.rateLimits.peek(key, NOW + 1)).toEqual({ hits: 5, resetsAt: NOW + 60_000 });
    // The window ends: the count starts over with the next request.
    expect(await store.rateLimits.hit(key, 60_000, NOW + 60_000)).toEqual({ hits: 1, resetsAt: NOW + 120_000 });
    expect(await store.rateLimits.prune(NOW + 120_000)).toBeGreaterThanOrEqual(1);
    expect(await store.rateLimits.peek(key, NOW + 120_000)).toEqual({ hits: 0, resetsAt: NOW + 120_000 });
  });

  it('keeps blobs by content address', async () => {
    const sha = await store.blobs.put(Buffer.from('hola'));
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    expect(await store.blobs.put(Buffer.from('hola'))).toBe(sha);
    expect((await store.blobs.get(sha)).toString()).toBe('hola');
    expect(await store.blobs.has(sha)).toBe(true);
    const missing = await store.blobs.get('c'.repeat(64)).catch((e: unknown) => e);
    expect((missing as { code?: string }).code).toBe('ENOENT');
    // Many at once, in order, repeats and already-stored ones included, over several statements.
    const contents = [...Array.from({ length: 120 }, (_, i) => Buffer.from(`blob ${i}`)), Buffer.from('hola'), Buffer.from('blob 3'), Buffer.alloc(5 * 1024 * 1024, 7)];
    const shas = await store.blobs.putMany(contents);
    expect(shas).toHaveLength(contents.length);
    expect(shas[120]).toBe(sha);
    expect(shas[121]).toBe(shas[3]);
    for (const i of [0, 49, 50, 119, 122]) expect((await store.blobs.get(shas[i]!)).equals(contents[i]!)).toBe(true);
    expect(await store.blobs.putMany([])).toEqual([]);
  });

  it('marks rows sent, each with its own time, only while still being sent', async () => {
    const ids: number[] = [];
    await store.transaction(async () => {
      for (let i = 0; i < 3; i++) ids.push(await store.outbox.enqueue({ ticketId: null, channel: 'email', moment: 'ack', recipient: `many${i}@x`, messageId: `many-${name}-${i}@x`, payload: {} }, NOW));
    });
    // Out of the claim tests' way: these rows are claimed here, far in the future, by their own owner.
    const claimed = (await store.outbox.claimDue(NOW + 10 * 86_400_000, 1000, 60_000, 'host:many')).filter((r) => ids.includes(r.id));
    expect(claimed).toHaveLength(3);
    await Promise.all([store.outbox.markSent(ids[0]!, NOW + 5), store.outbox.markSent(ids[2]!, NOW + 9), store.outbox.markSent(ids[1]!, NOW + 7)]);
    // Marked again (a late duplicate settlement): the first time stays.
    await Promise.all([store.outbox.markSent(ids[0]!, NOW + 99), store.outbox.markSent(ids[1]!, NOW + 99)]);
    const rows = await Promise.all([0, 1, 2].map((i) => store.outbox.byMessageId(`many-${name}-${i}@x`)));
    expect(rows.map((r) => [r?.status, r?.sent_at])).toEqual([['sent', NOW + 5], ['sent', NOW + 7], ['sent', NOW + 9]]);
  });

  it('counts for metrics', async () => {
    expect((await store.reports.ticketsByChannel(0)).rows.find((r) => r.channel === 'email')?.n).toBeGreaterThan(0);
    expect((await store.reports.openTickets()).every((r) => typeof r.n === 'number')).toBe(true);
    expect(await store.reports.outboxBacklog()).toBeGreaterThan(0);
    expect(await store.reports.openQuarantine()).toBe(1);
  });
});

describe('schema migrations', () => {
  it('migrates a fresh PostgreSQL database once when several instances start together', async () => {
    const url = await pg.createDatabase();
    const d = mkdtempSync(join(tmpdir(), 'mesa-store-')); dirs.push(d);
    const stores = await Promise.all(Array.from({ length: 3 }, () => Store.open(d, 'MDA', url)));
    try {
      await Promise.all(stores.map((s) => s.ping()));
      expect(await stores[0]!.tickets.count()).toBe(0);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('lets the doctor look at a PostgreSQL database without migrating it', async () => {
    const url = await pg.createDatabase();
    const fresh = await Store.inspect(tmpdir(), url);
    expect(fresh).toMatchObject({ version: 0, known: expect.any(Number), write: { ok: true } });
    expect(fresh!.serverVersion).toBeGreaterThanOrEqual(130000);
    expect(fresh!.where).toMatch(/^PostgreSQL 127\.0\.0\.1:\d+\/mesa_test_\d+$/);
    await (await Store.open(tmpdir(), 'MDA', url)).close();
    const current = await Store.inspect(tmpdir(), url);
    expect(current!.version).toBe(current!.known);
    const gone = await Store.inspect(tmpdir(), pg.url('no_such_db'));
    expect(gone!.write).toMatchObject({ ok: false, kind: 'unavailable', message: expect.stringMatching(/no_such_db/) });
  });

  it('refuses to start on a schema newer than itself, on both engines', async () => {
    const url = await pg.createDatabase();
    const d = mkdtempSync(join(tmpdir(), 'mesa-store-')); dirs.push(d);
    await (await Store.open(d, 'MDA', url)).close();
    await (await Store.open(d, 'MDA')).close();
    const { default: pgLib } = await import('pg');
    const client = new pgLib.Client({ connectionString: url });
    await client.connect();
    await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)');
    await client.end();
    const { default: Database } = await import('better-sqlite3');
    const file = new Database(join(d, 'mesa.db'));
    file.pragma('user_version = 999');
    file.close();
    await expect(Store.open(d, 'MDA', url)).rejects.toThrow(/versión 999.*más nuevo que esta versión de Mesa/);
    await expect(Store.open(d, 'MDA')).rejects.toThrow(/versión 999.*más nuevo que esta versión de Mesa/);
  });
});

describe('ticket keys from PostgreSQL\'s sequence', () => {
  it('are made in the insert the way formatTicketKey makes them, past six digits too', async () => {
    const d = mkdtempSync(join(tmpdir(), 'mesa-store-')); dirs.push(d);
    const url = await pg.createDatabase();
    const store = await Store.open(d, 'MDA', url);
    const client = new pgDriver.Client({ connectionString: url });
    try {
      const c = await store.tickets.contactForEmail('seis@cliente.mx', '', NOW);
      const first = await store.tickets.create(ticket(c.id), NOW);
      expect(first.key).toBe(formatTicketKey('MDA', first.id));
      await client.connect();
      await client.query(`SELECT setval(pg_get_serial_sequence('tickets', 'id'), 999998)`);
      const keys = [];
      for (let i = 0; i < 2; i++) {
        const t = await store.tickets.create(ticket(c.id), NOW);
        expect(t.row.key).toBe(t.key);
        keys.push([t.id, t.key]);
      }
      expect(keys).toEqual([[999_999, 'MDA-999999'], [1_000_000, formatTicketKey('MDA', 1_000_000)]]);
    } finally {
      await client.end();
      await store.close();
    }
  });
});

describe('PostgreSQL faults', () => {
  it('reports the database unavailable while the server is down, and works again when it is back', async () => {
    const d = mkdtempSync(join(tmpdir(), 'mesa-store-')); dirs.push(d);
    const store = await Store.open(d, 'MDA', await pg.createDatabase());
    try {
      await pg.stop('immediate');
      const err = await store.tickets.count().catch((e: unknown) => e);
      expect(isStoreError(err, 'unavailable')).toBe(true);
      expect(await store.probeWrite()).toMatchObject({ ok: false, kind: 'unavailable' });
      await pg.start();
      // The pool drops broken clients and connects anew.
      let count: number | null = null;
      for (let i = 0; i < 20 && count === null; i++) count = await store.tickets.count().catch(() => null);
      expect(count).toBe(0);
    } finally {
      await store.close();
    }
  }, 30_000);

  it('refuses a wrong database with a clear kind', async () => {
    const err = await Store.open(tmpdir(), 'MDA', pg.url('no_such_db')).catch((e: unknown) => e);
    expect(isStoreError(err, 'unavailable')).toBe(true);
    expect((err as Error).message).toMatch(/no_such_db/);
  });
});
