/**
 * One mailbox, read by one instance at a time: the keeper holds the mailbox's lease in the
 * database and runs an IMAP poller only while it does.
 *
 * Every `heartbeatMs` it takes or renews the lease (good for `ttlMs`). Taking it starts a fresh
 * poller, which loads the stored UIDVALIDITY/UID cursor and resumes there; losing it (another
 * instance took it after this one missed its renewals) stops the poller. A stop releases the
 * lease so another instance takes over at its next heartbeat; a dead instance's lease simply runs
 * out, so takeover comes within `ttlMs + heartbeatMs`.
 *
 * The lease alone cannot stop a paused instance from committing after its lease ran out; the
 * desk checks the lease inside each intake transaction (LeaseRepo.confirm) for that.
 */
import type { ImapPoller, ImapPollerStats, PollerLog } from './imap-poller.ts';
import type { MailboxShare } from './mailbox-share.ts';
import { isProcessAlive } from '../../process-alive.ts';

export interface MailboxLeases {
  acquire(mailbox: string, holder: string, ttlMs: number): Promise<boolean>;
  takeOver(mailbox: string, previous: string, holder: string, ttlMs: number): Promise<boolean>;
  holderOf(mailbox: string): Promise<string | null>;
  /** The holder of a lease that has not run out, or null. */
  liveHolderOf(mailbox: string): Promise<string | null>;
  release(mailbox: string, holder: string): Promise<void>;
}

/**
 * Holders are `name/pid/nonce`. A lease left by this same instance (same name) whose process is
 * gone from this host — a restart after kill -9 or a crash — is taken at once instead of waiting
 * out its TTL. Instance names must therefore be unique across hosts (MESA_INSTANCE, or the host
 * name by default).
 */
export function isDeadSibling(previous: string, holder: string, alive: (pid: number) => boolean = isProcessAlive): boolean {
  const [name, pid] = previous.split('/');
  const [ownName, ownPid] = holder.split('/');
  if (name !== ownName || pid === undefined || !/^\d+$/.test(pid) || pid === ownPid) return false;
  return !alive(Number(pid));
}


export interface MailboxKeeperOptions {
  mailbox: string;
  /** This process's name in the lease table (unique per start). */
  holder: string;
  leases: MailboxLeases;
  /** A new poller for each time the lease is taken (a stopped poller cannot start again). */
  newPoller: () => ImapPoller;
  heartbeatMs?: number;
  ttlMs?: number;
  /** This instance's fair share of the mailboxes (none: take every mailbox it can). */
  share?: MailboxShare;
  log: PollerLog;
}

export interface MailboxKeeperStats extends ImapPollerStats {
  /** Whether this instance holds the mailbox now. */
  holding: boolean;
}

/** Renewed every 5 s, good for 20 s: a dead holder's mailbox is taken over within 25 s. */
export const LEASE_HEARTBEAT_MS = 5_000;
export const LEASE_TTL_MS = 20_000;

export class MailboxKeeper {
  readonly mailbox: string;
  private poller: ImapPoller | null = null;
  private timer: NodeJS.Timeout | null = null;
  private beat: Promise<void> | null = null;
  private stopped = false;
  /** Monotonic time of the last successful renewal, to give up a lease we can no longer renew. */
  private renewedAt = 0;
  /** Counters of the pollers already retired, so the stats keep counting across takeovers. */
  private retired = { processed: 0, reconnects: 0 };
  private lastError: string | null = null;
  /** A poller being stopped: still counted, so the counters never step back. */
  private retiring: ImapPoller | null = null;
  private waiters: Array<() => void> = [];
  private readonly heartbeatMs: number;
  private readonly ttlMs: number;

  constructor(private readonly opts: MailboxKeeperOptions) {
    this.mailbox = opts.mailbox;
    this.heartbeatMs = opts.heartbeatMs ?? LEASE_HEARTBEAT_MS;
    this.ttlMs = opts.ttlMs ?? LEASE_TTL_MS;
    if (this.ttlMs < 2 * this.heartbeatMs) throw new RangeError(`lease TTL of ${opts.mailbox} must be at least two heartbeats`);
  }

  get holding(): boolean {
    return this.poller !== null;
  }

  get stats(): MailboxKeeperStats {
    const live = (this.poller ?? this.retiring)?.stats;
    return {
      holding: this.holding,
      connected: live?.connected ?? false,
      processed: this.retired.processed + (live?.processed ?? 0),
      reconnects: this.retired.reconnects + (live?.reconnects ?? 0),
      lastError: live?.lastError ?? this.lastError,
    };
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.heartbeat(), this.heartbeatMs);
    this.timer.unref();
    this.heartbeat();
  }

  /** Stops reading and gives the mailbox up for another instance. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beat;
    if (this.poller) {
      await this.retire();
      await this.opts.leases.release(this.mailbox, this.opts.holder).catch((err: unknown) => {
        this.opts.log.warn({ event: 'lease.release_failed', mailbox: this.mailbox, err: (err as Error).message }, 'could not release the mailbox lease; it runs out by itself');
      });
    }
    for (const w of this.waiters.splice(0)) w();
  }

  /**
   * Everything on the server when called has been delivered — by this instance, which must hold
   * (or come to hold, within `timeoutMs`) the mailbox.
   */
  async drain(timeoutMs = 30_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    if (!this.poller) await this.untilHolding(timeoutMs);
    if (!this.poller) throw new Error(`mailbox ${this.mailbox} is held by another instance`);
    await this.poller.drain(Math.max(1, deadline - performance.now()));
  }

  private untilHolding(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.waiters.push(() => { clearTimeout(timer); resolve(); });
    });
  }

  /** One renewal at a time; a beat still in flight (a slow database) makes the next one skip. */
  private heartbeat(): void {
    if (this.beat || this.stopped) return;
    this.beat = this.renew().finally(() => { this.beat = null; });
  }

  private async renew(): Promise<void> {
    const { log, holder, share } = this.opts;
    const mailbox = this.mailbox;
    if (this.poller && share?.shouldGiveUp(this)) {
      // More mailboxes here than this instance's share: hand this one to another instance.
      log.info({ event: 'lease.rebalanced', mailbox, holder }, 'mailbox lease given up for another instance');
      await this.retire();
      await this.opts.leases.release(mailbox, holder).then(
        () => log.info({ event: 'lease.released', mailbox, holder }, 'mailbox lease released for another instance'),
        (err: unknown) => log.warn({ event: 'lease.release_failed', mailbox, err: (err as Error).message }, 'could not release the mailbox lease; it runs out by itself'));
      return;
    }
    if (!this.poller && share !== undefined) {
      // A mailbox another live instance reads is not worth a place in this instance's share:
      // trying it would hold the place (the attempt waits on the holder's commit) while a free
      // mailbox waits. A plain read, never blocked by the holder's lock.
      const current = await this.opts.leases.liveHolderOf(mailbox).catch(() => null);
      if (current !== null && current !== holder && !isDeadSibling(current, holder)) return;
    }
    const reserved = !this.poller && share !== undefined ? share.mayTake() : false;
    if (!this.poller && share !== undefined && !reserved) return; // at its share: leave it to others
    let held: boolean;
    try {
      held = await this.opts.leases.acquire(mailbox, holder, this.ttlMs);
      if (!held && !this.poller) {
        const previous = await this.opts.leases.holderOf(mailbox);
        if (previous !== null && isDeadSibling(previous, holder)) {
          held = await this.opts.leases.takeOver(mailbox, previous, holder, this.ttlMs);
          if (held) log.info({ event: 'lease.reclaimed', mailbox, previous }, 'mailbox lease of a dead process of this instance taken over');
        }
      }
    } catch (err) {
      if (reserved) share?.settle(this, false, performance.now());
      this.lastError = (err as Error).message;
      // Unable to renew: past the TTL another instance may hold it, so stop reading rather than
      // risk two readers. The poller would not commit anyway (the desk confirms the lease).
      if (this.poller && performance.now() - this.renewedAt >= this.ttlMs) {
        log.warn({ event: 'lease.expired', mailbox, err: this.lastError }, 'mailbox lease could not be renewed; stopped reading');
        await this.retire();
      }
      return;
    }
    if (reserved) share?.settle(this, held, performance.now());
    if (this.stopped) return;
    if (held) {
      this.renewedAt = performance.now();
      if (!this.poller) {
        log.info({ event: 'lease.acquired', mailbox, holder }, 'mailbox lease taken; reading it');
        const poller = this.poller = this.opts.newPoller();
        poller.start();
        for (const w of this.waiters.splice(0)) w();
      }
    } else if (this.poller) {
      log.warn({ event: 'lease.lost', mailbox, holder }, 'mailbox lease taken by another instance; stopped reading');
      await this.retire();
    }
  }

  private async retire(): Promise<void> {
    const poller = this.poller;
    if (!poller) return;
    this.poller = null;
    this.opts.share?.dropped(this);
    this.retiring = poller;
    await poller.stop();
    this.retired.processed += poller.stats.processed;
    this.retired.reconnects += poller.stats.reconnects;
    this.lastError = poller.stats.lastError;
    this.retiring = null;
  }
}
