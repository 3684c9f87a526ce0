import { hostname } from 'node:os';
import { isProcessAlive } from '../process-alive.ts';
import type { Logger } from '../log.ts';
import type { OutboxRow } from '../store/outbox-repo.ts';
import type { Store } from '../store/store.ts';
import { SendError, type EmailSender } from './email-senders.ts';
import type { OutgoingEmail } from './outgoing-email.ts';
import type { OutgoingSms, SmsSender } from './sms-senders.ts';

export interface DispatcherOptions {
  maxAttempts: number;
  firstDelaySeconds: number;
  maxDelaySeconds: number;
  /** How long a claimed row is ours before another dispatcher may take it (crash recovery). */
  leaseSeconds?: number;
  batchSize?: number;
  /** Fallback wake-up while idle. */
  idlePollMs?: number;
}

/**
 * Delivers what the outbox holds. Rows are claimed with a lease in a short transaction, sent
 * outside any transaction, and settled in another: sent; retried with exponential backoff on a
 * transient failure; failed — kept, visible in `mesa outbox` and logged — on a permanent one or
 * when attempts run out. Nothing is ever dropped.
 */
export class OutboxDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private readonly opts: Required<DispatcherOptions>;
  private readonly owner = `${hostname()}:${process.pid}`;

  constructor(private readonly store: Store, private readonly email: EmailSender, private readonly log: Logger, private readonly clock: () => Date, opts: DispatcherOptions,
    private readonly sms: SmsSender | null = null) {
    // Small batches: a crash between a send and its settlement re-sends at most one batch.
    this.opts = { leaseSeconds: 300, batchSize: 10, idlePollMs: 5_000, ...opts };
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.recoverDeadLeases();
    this.kick();
  }

  /**
   * A dispatcher killed mid-send leaves rows in `sending` under its lease. Another instance
   * would wait for the lease to run out; on the same host we can tell at once that the owner
   * process is gone and take its rows back.
   */
  private async recoverDeadLeases(): Promise<void> {
    const now = this.clock().getTime();
    for (const owner of await this.store.outbox.leaseOwnersOn(hostname())) {
      const pid = Number(owner.slice(owner.lastIndexOf(':') + 1));
      if (pid === process.pid || isProcessAlive(pid)) continue;
      const n = await this.store.outbox.releaseLeases(owner, now);
      this.log.warn({ event: 'outbox.lease_recovered', owner, rows: n }, 'filas de un despachador caído devueltas a la cola');
    }
  }

  /** Asks for a pass soon (after a commit that queued something). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) { this.again = true; return; }
    this.running = this.runPasses().catch((err: unknown) => {
      this.log.warn({ event: 'outbox.pass_failed', error: (err as Error).message }, 'falló una pasada de la cola de salida; se reintentará');
    }).finally(() => {
      this.running = null;
      this.schedule();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    await this.email.close();
    await this.sms?.close();
  }

  /** Sends everything due now; resolves when nothing due is left (for tests and the CLI). */
  async drain(): Promise<void> {
    await this.running;
    await this.runPasses();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.store.outbox.nextDueAt().then((next) => {
      if (this.stopped || this.running) return;
      const wait = next === null ? this.opts.idlePollMs : Math.min(this.opts.idlePollMs, Math.max(0, next - this.clock().getTime()));
      this.arm(wait);
    }, (err: unknown) => {
      // The database is away: look again after the idle interval (it may be back by then).
      this.log.warn({ event: 'outbox.schedule_failed', error: (err as Error).message }, 'no se pudo consultar la cola de salida');
      this.arm(this.opts.idlePollMs);
    });
  }

  private arm(waitMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), waitMs);
    this.timer.unref();
  }

  private async runPasses(): Promise<void> {
    do {
      this.again = false;
      while (await this.pass() > 0) { /* keep going while there is work */ }
    } while (this.again && !this.stopped);
  }

  /**
   * One batch: claim, send concurrently (the SMTP pool bounds the parallelism), and settle each
   * row the moment its send finishes, in its own statement that commits by itself — never behind
   * another row's settling. A crash re-sends only what was accepted and not yet marked, and that
   * window is one round trip per row: a settlement that waited for the one before it (grouping
   * the rows that finished meanwhile) let a kill re-send every row of the group.
   */
  private async pass(): Promise<number> {
    const now = this.clock().getTime();
    const rows = await this.store.outbox.claimDue(now, this.opts.batchSize, this.opts.leaseSeconds * 1000, this.owner);
    if (rows.length === 0) return 0;
    await Promise.all(rows.map(async (row) => {
      const settlement = await this.deliver(row);
      await settlement.commit();
      settlement.log();
    }));
    return rows.length;
  }

  /** Routes a row to its channel's sender. */
  private async send(row: OutboxRow): Promise<{ sender: string; providerId: string | null }> {
    switch (row.channel) {
      case 'email':
        await this.email.send(JSON.parse(row.payload_json) as OutgoingEmail);
        return { sender: this.email.kind, providerId: null };
      case 'sms': {
        if (!this.sms) throw new SendError('no SMS sender configured', true);
        const { sid } = await this.sms.send(JSON.parse(row.payload_json) as OutgoingSms);
        return { sender: this.sms.kind, providerId: sid };
      }
      default:
        throw new SendError(`no sender for channel ${String(row.channel)}`, true);
    }
  }

  /** Sends one row; returns what to write (in the next settling transaction) and what to log after. */
  private async deliver(row: OutboxRow): Promise<Settlement> {
    const base = { outboxId: row.id, channel: row.channel, moment: row.moment, ticketId: row.ticket_id, attempts: row.attempts };
    try {
      const { sender, providerId } = await this.send(row);
      const at = this.clock().getTime();
      return {
        commit: () => this.store.outbox.markSent(row.id, at),
        log: () => this.log.info({ event: 'outbox.sent', ...base, sender, providerId }, 'mensaje enviado'),
      };
    } catch (err) {
      const e = err instanceof SendError ? err : new SendError((err as Error).message ?? String(err), false);
      if (e.permanent || row.attempts >= this.opts.maxAttempts) {
        return {
          commit: () => this.store.outbox.markFailed(row.id, e.message),
          log: () => this.log.error({ event: 'outbox.failed', ...base, permanent: e.permanent, error: e.message }, 'envío fallido definitivamente'),
        };
      }
      const delay = Math.min(this.opts.maxDelaySeconds, this.opts.firstDelaySeconds * 2 ** (row.attempts - 1));
      const retryAt = this.clock().getTime() + delay * 1000;
      return {
        commit: () => this.store.outbox.scheduleRetry(row.id, retryAt, e.message),
        log: () => this.log.warn({ event: 'outbox.retry', ...base, delaySeconds: delay, error: e.message }, 'envío reintentará'),
      };
    }
  }
}

/** A send's outcome: the row change to commit, and the log line once it is committed. */
interface Settlement { commit: () => Promise<void>; log: () => void }

