import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mesa } from '../src/app.ts';
import { readEnvironment } from '../src/config/environment.ts';
import { createLogger } from '../src/log.ts';
import { email, startTestMesa, testEnv, testPolicy } from './support/mesa-harness.ts';
import { SmtpSink, waitFor } from './support/smtp-sink.ts';

const mail = (id: string) => email({ from: 'Ana <ana@cliente.mx>', to: 'mesadeayuda@proditmapac.com', subject: 'Duda', messageId: `${id}@cliente.mx` }, 'Una pregunta sobre mi constancia.');
const pipe = { kind: 'pipe' as const, mailbox: null };

/** The message as multipart/mixed with a binary attachment of `bytes`. */
function withAttachment(raw: Buffer, bytes: number): Buffer {
  const text = raw.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  const headers = text.slice(0, split).split('\r\n').filter((h) => !/^Content-(Type|Transfer-Encoding):/i.test(h));
  const data = Buffer.alloc(bytes, 7).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from([...headers, 'Content-Type: multipart/mixed; boundary="b1"', '', '--b1', 'Content-Type: text/plain; charset=utf-8', '', text.slice(split + 4),
    '--b1', 'Content-Type: application/octet-stream; name="datos.bin"', 'Content-Transfer-Encoding: base64', '', data, '--b1--', ''].join('\r\n'));
}

/** Mesa.stop(): the message in flight commits, what it queued is sent, then everything closes. */
describe('graceful stop', () => {
  let smtp: SmtpSink;
  beforeAll(async () => { smtp = new SmtpSink(); await smtp.start(); });
  afterAll(async () => { await smtp?.stop(); });

  it('lets the intake in flight commit and sends its acknowledgment before closing', async () => {
    const t = await startTestMesa({ smtp });
    // A few MB of attachment: parsing it takes far longer than the rest of the stop sequence.
    const received = t.mesa.receive(withAttachment(mail('stop-1'), 4 * 1024 * 1024), pipe);
    const stopped = t.mesa.stop();
    // A second call is the same shutdown, not a second one.
    expect(t.mesa.stop()).toBe(stopped);
    await expect(received).resolves.toMatchObject({ result: 'ticket_created' });
    await stopped;
    expect(smtp.to('ana@cliente.mx')).toHaveLength(1);
    expect(t.mesa.store.isOpen).toBe(false);
    rmSync(t.dataDir, { recursive: true, force: true });
  });

  it('gives up on a send that hangs after the flush timeout, leaving the row for the next start', async () => {
    // An SMTP server that accepts the connection and never greets.
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => { sockets.add(s); s.on('error', () => {}); });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const dataDir = mkdtempSync(join(tmpdir(), 'mesa-stop-'));
    const lines: string[] = [];
    const log = createLogger({ level: 'info', pretty: false, destination: new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(...chunk.toString().trim().split('\n')); cb(); } }) });
    const env = readEnvironment(testEnv(dataDir, { smtp: { port: (silent.address() as AddressInfo).port } as SmtpSink }));
    const mesa = await Mesa.open(env, { log, listen: false, scheduleSweep: false, policy: testPolicy(), smtp: { connectionTimeoutMs: 60_000 }, flushTimeoutMs: 200 });
    try {
      await mesa.start();
      await mesa.receive(mail('stop-2'), pipe);
      await waitFor(() => sockets.size > 0, 'the dispatcher connecting');
      await mesa.stop();
      const events = lines.map((l) => (JSON.parse(l) as { event?: string }).event);
      expect(events).toContain('mesa.flush_timeout');
      expect(events[events.length - 1]).toBe('mesa.stopped');
      // The store stays open for the send still in flight; its row is still to be sent.
      expect(mesa.store.isOpen).toBe(true);
      expect((await mesa.store.outbox.counts()).sent).toBe(0);
    } finally {
      // Refuse new sessions and cut the hanging ones: the sends fail, their rows go back to the queue.
      silent.close();
      for (const s of sockets) s.destroy();
      await waitFor(async () => (await mesa.store.outbox.counts()).sending === 0, 'the hung sends to settle');
      await mesa.store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
