import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ImapFlow } from 'imapflow';
import { startDovecot, type DovecotServer } from '../support/dovecot.ts';
import {
  ImapPoller, backoffDelay, planBatches, FETCH_BATCH_MESSAGES,
  type ImapDelivery, type ImapMailboxSettings, type MailboxCursor,
} from '../../src/intake/email/imap-poller.ts';

const USER = 'mesadeayuda';
const BODY_MARKER = 'CUERPO-PRIVADO';

let server: DovecotServer;
const pollers: ImapPoller[] = [];

beforeAll(async () => {
  server = await startDovecot();
});

afterEach(async () => {
  await Promise.all(pollers.splice(0).map((p) => p.stop()));
});

afterAll(async () => {
  await server?.stop();
});

interface Delivered { uid: number; uidValidity: number; messageId: string }

/** The "database": cursor and stored messages, updated together as the desk's transaction would. */
class MemoryDesk {
  readonly cursors = new Map<string, MailboxCursor>();
  readonly delivered: Delivered[] = [];
  readonly logs: { level: string; obj: object; msg?: string }[] = [];
  failing: ((at: ImapDelivery) => boolean) | null = null;
  failures = 0;

  readonly deps = {
    loadCursor: async (mailbox: string): Promise<MailboxCursor | null> => {
      const c = this.cursors.get(mailbox);
      return c ? { ...c } : null;
    },
    deliver: async (raw: Buffer, at: ImapDelivery): Promise<void> => {
      await Promise.resolve();
      if (this.failing?.(at)) {
        this.failures++;
        throw new Error('base de datos ocupada');
      }
      const messageId = /^Message-ID:\s*(\S+)/im.exec(raw.toString('utf8'))?.[1] ?? '(sin id)';
      this.delivered.push({ uid: at.uid, uidValidity: at.uidValidity, messageId });
      this.cursors.set(at.mailbox, { uidValidity: at.uidValidity, lastUid: at.uid });
    },
    log: {
      info: (obj: object, msg?: string) => { this.logs.push({ level: 'info', obj, msg }); },
      warn: (obj: object, msg?: string) => { this.logs.push({ level: 'warn', obj, msg }); },
      error: (obj: object, msg?: string) => { this.logs.push({ level: 'error', obj, msg }); },
      debug: (obj: object, msg?: string) => { this.logs.push({ level: 'debug', obj, msg }); },
    },
  };

  ids(): string[] {
    return this.delivered.map((d) => d.messageId);
  }

  events(): string[] {
    return this.logs.map((l) => (l.obj as { event?: string }).event ?? '');
  }
}

function rawMessage(id: string): string {
  return [
    'From: Cliente <cliente@ejemplo.mx>',
    `To: ${USER}@proditmapac.com`,
    `Subject: Falla ${id}`,
    `Message-ID: <${id}@ejemplo.mx>`,
    'Date: Mon, 2 Jun 2025 10:00:00 -0600',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `${BODY_MARKER} el sistema no responde (${id})`,
    '',
  ].join('\r\n');
}

async function appendMany(folder: string, prefix: string, count: number): Promise<number[]> {
  const uids: number[] = [];
  for (let i = 1; i <= count; i++) uids.push(await server.appendRaw(USER, rawMessage(`${prefix}-${i}`), folder));
  return uids;
}

function settingsFor(folder: string, over: Partial<ImapMailboxSettings> = {}): ImapMailboxSettings {
  return {
    name: USER,
    host: server.host,
    port: server.port,
    secure: false,
    user: USER,
    password: server.users[USER] as string,
    folder,
    processedFolder: null,
    pollIntervalMs: 600_000,
    ...over,
  };
}

function startPoller(desk: MemoryDesk, settings: ImapMailboxSettings): ImapPoller {
  const poller = new ImapPoller(settings, desk.deps);
  pollers.push(poller);
  poller.start();
  return poller;
}

async function stopPoller(poller: ImapPoller): Promise<void> {
  await poller.stop();
  pollers.splice(pollers.indexOf(poller), 1);
}

/** A separate session to look at the mailbox the way a human's mail client would. */
async function withClient<T>(fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const c = new ImapFlow({ host: server.host, port: server.port, secure: false, auth: { user: USER, pass: server.users[USER] as string }, logger: false, disableAutoIdle: true });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.logout();
  }
}

async function folderState(folder: string): Promise<{ uidValidity: number; messages: { uid: number; seen: boolean }[] }> {
  return withClient(async (c) => {
    const mb = await c.mailboxOpen(folder, { readOnly: true });
    const messages = mb.exists === 0 ? [] : (await c.fetchAll('1:*', { uid: true, flags: true })).map((m) => ({ uid: m.uid, seen: m.flags?.has('\\Seen') ?? false }));
    return { uidValidity: Number(mb.uidValidity), messages };
  });
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('planBatches / backoffDelay', () => {
  it('bounds batches by count and by bytes, keeping UID order and an oversized message alone', () => {
    const items = Array.from({ length: 450 }, (_, i) => ({ uid: i + 1, size: 1_000 }));
    const batches = planBatches(items);
    expect(batches.map((b) => b.length)).toEqual([FETCH_BATCH_MESSAGES, FETCH_BATCH_MESSAGES, 50]);
    expect(batches.flat()).toEqual(items.map((i) => i.uid));

    const sized = planBatches([{ uid: 1, size: 60 }, { uid: 2, size: 50 }, { uid: 3, size: 500 }, { uid: 4, size: 10 }], 10, 100);
    expect(sized).toEqual([[1], [2], [3], [4]]);
    expect(planBatches([], 10, 100)).toEqual([]);
  });

  it('doubles from about 1 s to a 60 s ceiling with bounded jitter', () => {
    expect(backoffDelay(0, 0.5)).toBe(1_000);
    expect(backoffDelay(3, 0.5)).toBe(8_000);
    expect(backoffDelay(30, 0.5)).toBe(60_000);
    expect(backoffDelay(0, 0)).toBe(800);
    expect(backoffDelay(30, 1)).toBe(72_000);
  });
});

describe('ImapPoller against a real Dovecot', () => {
  it('delivers each message once, in UID order, then flags it \\Seen and advances the cursor', async () => {
    const uids = await appendMany('Basico', 'basico', 3);
    const desk = new MemoryDesk();
    const poller = startPoller(desk, settingsFor('Basico'));
    await poller.drain();

    const state = await folderState('Basico');
    expect(desk.delivered.map((d) => d.uid)).toEqual(uids);
    expect(desk.ids()).toEqual(['<basico-1@ejemplo.mx>', '<basico-2@ejemplo.mx>', '<basico-3@ejemplo.mx>']);
    expect(desk.delivered.every((d) => d.uidValidity === state.uidValidity)).toBe(true);
    expect(state.messages).toEqual(uids.map((uid) => ({ uid, seen: true })));
    expect(desk.cursors.get(USER)).toEqual({ uidValidity: state.uidValidity, lastUid: uids[2] });
    expect(poller.stats).toMatchObject({ connected: true, processed: 3, reconnects: 0, lastError: null });
    // Neither bodies nor the password reach the logs.
    const logged = JSON.stringify(desk.logs);
    expect(logged).not.toContain(BODY_MARKER);
    expect(logged).not.toContain(server.users[USER]);
  });

  it('a second run over the same mailbox and cursor delivers nothing new', async () => {
    await appendMany('Segunda', 'segunda', 2);
    const desk = new MemoryDesk();
    const first = startPoller(desk, settingsFor('Segunda'));
    await first.drain();
    await stopPoller(first);
    expect(desk.delivered).toHaveLength(2);

    // The cursor now equals the highest UID, the case where `N:*` still returns that message.
    const second = startPoller(desk, settingsFor('Segunda'));
    await second.drain();
    await second.drain();
    expect(desk.delivered).toHaveLength(2);
    expect(second.stats.processed).toBe(0);
  });

  it('resumes after a cursor in the middle of the folder', async () => {
    const uids = await appendMany('Reanudar', 'reanudar', 5);
    const { uidValidity } = await folderState('Reanudar');
    const desk = new MemoryDesk();
    desk.cursors.set(USER, { uidValidity, lastUid: uids[2] as number });
    const poller = startPoller(desk, settingsFor('Reanudar'));
    await poller.drain();

    expect(desk.delivered.map((d) => d.uid)).toEqual(uids.slice(3));
    const state = await folderState('Reanudar');
    // Messages before the cursor were not touched.
    expect(state.messages.map((m) => m.seen)).toEqual([false, false, false, true, true]);
  });

  it('picks up a message appended while idling, without waiting for the safety poll', async () => {
    await appendMany('Idle', 'idle', 1);
    const desk = new MemoryDesk();
    const poller = startPoller(desk, settingsFor('Idle', { pollIntervalMs: 600_000 }));
    await poller.drain();
    expect(desk.delivered).toHaveLength(1);
    // Past imapflow's auto-IDLE delay, so the session is in IDLE when the message lands.
    await new Promise((r) => setTimeout(r, 1_500));

    const t0 = Date.now();
    await server.appendRaw(USER, rawMessage('idle-2'), 'Idle');
    await waitFor('IDLE delivery', () => desk.delivered.length === 2, 10_000);
    const latency = Date.now() - t0;
    expect(desk.ids()).toEqual(['<idle-1@ejemplo.mx>', '<idle-2@ejemplo.mx>']);
    expect(latency).toBeLessThan(10_000);
    console.info(`IDLE delivery latency: ${latency} ms`);
  });

  it('a failing delivery leaves the message unflagged, stops the batch, and is retried', async () => {
    const uids = await appendMany('Fallo', 'fallo', 3);
    const desk = new MemoryDesk();
    desk.failing = (at) => at.uid === uids[1];
    const poller = startPoller(desk, settingsFor('Fallo'));
    await waitFor('first failure', () => desk.failures >= 1);

    expect(desk.delivered.map((d) => d.uid)).toEqual([uids[0]]);
    const during = await folderState('Fallo');
    expect(during.messages.map((m) => m.seen)).toEqual([true, false, false]);
    expect(poller.stats.lastError).toContain('base de datos ocupada');
    expect(desk.events()).toContain('imap.deliver_failed');

    desk.failing = null;
    await poller.drain();
    expect(desk.delivered.map((d) => d.uid)).toEqual(uids);
    const after = await folderState('Fallo');
    expect(after.messages.map((m) => m.seen)).toEqual([true, true, true]);
  });

  it('reconnects after Dovecot restarts and carries on without re-delivering', async () => {
    await appendMany('Reinicio', 'reinicio', 2);
    const desk = new MemoryDesk();
    const poller = startPoller(desk, settingsFor('Reinicio'));
    await poller.drain();
    expect(desk.delivered).toHaveLength(2);

    const t0 = Date.now();
    await server.restart();
    const restartMs = Date.now() - t0;
    await waitFor('reconnect', () => poller.stats.reconnects >= 1 && poller.stats.connected, 20_000);
    console.info(`Dovecot restart ${restartMs} ms, poller back after ${Date.now() - t0} ms`);
    await server.appendRaw(USER, rawMessage('reinicio-3'), 'Reinicio');
    await poller.drain();
    expect(desk.ids()).toEqual(['<reinicio-1@ejemplo.mx>', '<reinicio-2@ejemplo.mx>', '<reinicio-3@ejemplo.mx>']);
    expect(desk.events()).toContain('imap.disconnected');
  });

  it('moves processed messages to processedFolder, creating it', async () => {
    const uids = await appendMany('Entrada', 'mover', 3);
    const desk = new MemoryDesk();
    const poller = startPoller(desk, settingsFor('Entrada', { processedFolder: 'Procesados' }));
    await poller.drain();

    expect(desk.delivered.map((d) => d.uid)).toEqual(uids);
    expect((await folderState('Entrada')).messages).toEqual([]);
    const moved = await folderState('Procesados');
    expect(moved.messages).toHaveLength(3);
    expect(moved.messages.every((m) => m.seen)).toBe(true);

    // New mail keeps flowing, and the emptied folder (where `N:*` matches nothing) is no error.
    await server.appendRaw(USER, rawMessage('mover-4'), 'Entrada');
    await poller.drain();
    expect(desk.ids().at(-1)).toBe('<mover-4@ejemplo.mx>');
    expect((await folderState('Procesados')).messages).toHaveLength(4);
    expect(poller.stats.lastError).toBeNull();
  });

  it('re-reads from UID 1 when the folder is recreated with a new UIDVALIDITY (poller stopped)', async () => {
    await appendMany('Validez', 'viejo', 2);
    const desk = new MemoryDesk();
    const first = startPoller(desk, settingsFor('Validez'));
    await first.drain();
    await stopPoller(first);
    const before = desk.cursors.get(USER);

    await withClient(async (c) => { await c.mailboxDelete('Validez'); await c.mailboxCreate('Validez'); });
    const newUid = await server.appendRaw(USER, rawMessage('nuevo-1'), 'Validez');
    const { uidValidity } = await folderState('Validez');
    expect(uidValidity).not.toBe(before?.uidValidity);
    expect(newUid).toBe(1);

    const second = startPoller(desk, settingsFor('Validez'));
    await second.drain();
    expect(desk.ids()).toEqual(['<viejo-1@ejemplo.mx>', '<viejo-2@ejemplo.mx>', '<nuevo-1@ejemplo.mx>']);
    expect(desk.delivered[2]).toMatchObject({ uid: 1, uidValidity });
    expect(desk.cursors.get(USER)).toEqual({ uidValidity, lastUid: 1 });
    expect(desk.events()).toContain('imap.uidvalidity_changed');
  });

  it('re-reads from UID 1 when the folder it is watching is recreated under it', async () => {
    await appendMany('EnVivo', 'antes', 3);
    const desk = new MemoryDesk();
    // Dovecot keeps serving the deleted folder's view to a session that had it selected; the
    // safety poll's re-SELECT is what notices.
    const poller = startPoller(desk, settingsFor('EnVivo', { pollIntervalMs: 300 }));
    await poller.drain();
    const before = desk.cursors.get(USER);

    await withClient(async (c) => { await c.mailboxDelete('EnVivo'); await c.mailboxCreate('EnVivo'); });
    await server.appendRaw(USER, rawMessage('despues-1'), 'EnVivo');
    await server.appendRaw(USER, rawMessage('despues-2'), 'EnVivo');
    const { uidValidity } = await folderState('EnVivo');
    expect(uidValidity).not.toBe(before?.uidValidity);

    await waitFor('re-read of the new folder', () => desk.delivered.length === 5, 20_000);
    await poller.drain();
    expect(desk.ids().slice(3)).toEqual(['<despues-1@ejemplo.mx>', '<despues-2@ejemplo.mx>']);
    expect(desk.delivered.slice(3).map((d) => [d.uid, d.uidValidity])).toEqual([[1, uidValidity], [2, uidValidity]]);
  });

  it('works through a backlog larger than one fetch batch in UID order', async () => {
    const count = FETCH_BATCH_MESSAGES * 2 + 50;
    const t0 = Date.now();
    const uids = await appendMany('Rezago', 'rezago', count);
    const appendMs = Date.now() - t0;
    const desk = new MemoryDesk();
    const poller = startPoller(desk, settingsFor('Rezago'));
    const t1 = Date.now();
    await poller.drain();
    console.info(`backlog of ${count}: append ${appendMs} ms, delivered in ${Date.now() - t1} ms`);

    expect(desk.delivered.map((d) => d.uid)).toEqual(uids);
    expect(new Set(desk.ids()).size).toBe(count);
    expect((await folderState('Rezago')).messages.every((m) => m.seen)).toBe(true);
  });

  it('keeps retrying with backoff while the server is unreachable, and stop() leaves nothing behind', async () => {
    const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    // Sessions of earlier tests may still be closing; let them go before counting.
    await new Promise((r) => setTimeout(r, 300));
    const baseline = sockets();
    const desk = new MemoryDesk();
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const poller = startPoller(desk, settingsFor('INBOX', { port: 1 }));
    await waitFor('a reconnect attempt', () => poller.stats.reconnects >= 1 && poller.stats.lastError !== null, 10_000);
    expect(poller.stats.connected).toBe(false);
    expect(desk.events()).toContain('imap.connect_failed');
    await stopPoller(poller);

    const connected = startPoller(desk, settingsFor('INBOX'));
    await connected.drain();
    await stopPoller(connected);
    await waitFor('sockets released', () => sockets() <= baseline, 2_000);
    expect(sockets()).toBe(baseline);
    expect(connected.stats.connected).toBe(false);
  });
});
