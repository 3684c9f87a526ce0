import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../support/dovecot.ts';
import { email, testEnv } from '../support/mesa-harness.ts';
import { SmtpSink, waitFor } from '../support/smtp-sink.ts';

const MESSAGES = 1000;
const KILLS = 6;
const BIN = join(import.meta.dirname, '../../bin/mesa.js');

/**
 * The "nothing lost, nothing twice" promise under the worst stop there is: the real daemon
 * (`mesa start` in a child process) is killed with SIGKILL at random moments while it works
 * through a backlog of 1,000 mails in two IMAP mailboxes, then started again until done.
 */
describe('kill -9 while ingesting', () => {
  let dovecot: DovecotServer;
  let smtp: SmtpSink;
  let dataDir: string;
  let child: ChildProcess | null = null;

  beforeAll(async () => {
    dovecot = await startDovecot();
    smtp = new SmtpSink();
    await smtp.start();
    dataDir = mkdtempSync(join(tmpdir(), 'mesa-crash-'));
    for (let i = 0; i < MESSAGES; i++) {
      const box = i % 2 === 0 ? 'mesadeayuda' : 'soportetecnico';
      await dovecot.appendRaw(box, email({ from: `cliente${i}@crash.mx`, to: `${box}@proditmapac.com`, subject: `Reporte ${i}: no puedo entrar`, messageId: `crash-${i}@crash.mx` },
        `Mensaje número ${i}. No puedo entrar al portal desde ayer.`));
    }
  }, 120_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await smtp?.stop();
    await dovecot?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const startDaemon = (): ChildProcess => {
    const log = openSync(join(dataDir, 'daemon.log'), 'a');
    return spawn(process.execPath, [BIN, 'start'], {
      env: { ...process.env, ...testEnv(dataDir, { dovecot, smtp }), MESA_LOG_LEVEL: 'warn' },
      stdio: ['ignore', log, log],
    });
  };
  const count = (sql: string): number => {
    const db = new Database(join(dataDir, 'mesa.db'), { readonly: true, fileMustExist: true });
    try { return (db.prepare(sql).get() as { n: number }).n; } finally { db.close(); }
  };
  const inboundCount = (): number => { try { return count(`SELECT count(*) AS n FROM messages WHERE direction = 'in'`); } catch { return 0; } };

  it('loses nothing and duplicates no ticket', async () => {
    const progress: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const before = inboundCount();
      child = startDaemon();
      if (k % 3 === 0) {
        // A random moment, possibly still in start-up or mid-transaction.
        await new Promise((r) => setTimeout(r, 300 + Math.random() * 1200));
      } else {
        // Once it is committing again, a random moment inside the backlog.
        await waitFor(() => inboundCount() > before, 'progress after restart', 60_000);
        await new Promise((r) => setTimeout(r, Math.random() * 400));
      }
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      progress.push(inboundCount());
    }
    child = startDaemon();
    await waitFor(() => inboundCount() === MESSAGES, `${MESSAGES} messages processed`, 120_000);
    await waitFor(() => count(`SELECT count(*) AS n FROM outbox WHERE status <> 'sent'`) === 0, 'outbox empty', 60_000);
    child.kill('SIGTERM');
    await new Promise((r) => child!.once('exit', r));
    child = null;

    // Progress was made between kills, so the kills did land mid-backlog.
    expect(progress.some((n) => n > 0 && n < MESSAGES)).toBe(true);
    expect(count('SELECT count(*) AS n FROM tickets')).toBe(MESSAGES);
    expect(count(`SELECT count(DISTINCT message_id) AS n FROM messages WHERE direction = 'in'`)).toBe(MESSAGES);
    expect(count(`SELECT count(*) AS n FROM (SELECT ticket_id FROM outbox GROUP BY ticket_id HAVING count(*) <> 1)`)).toBe(0);
    expect(count('SELECT count(*) AS n FROM quarantine')).toBe(0);
    // Every customer got an ack. (A kill between SMTP's "250 OK" and the commit of "sent" can
    // send one twice — at-least-once delivery; the Message-ID lets mail clients fold it.)
    const acked = new Set(smtp.messages.map((m) => m.envelopeTo[0]));
    expect(acked.size).toBe(MESSAGES);
    const ids = new Set(smtp.messages.map((m) => m.parsed.messageId));
    expect(ids.size).toBe(MESSAGES);
    console.log(`crash test: progress after each kill ${progress.join(', ')}; SMTP deliveries ${smtp.messages.length} for ${MESSAGES} acks`);
  }, 300_000);
});
