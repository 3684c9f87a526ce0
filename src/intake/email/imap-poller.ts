/**
 * One IMAP connection per mailbox that hands every new message to the desk exactly once.
 *
 * "Exactly once" rests on the cursor, not on IMAP flags: the desk stores each message and
 * advances `{uidValidity, lastUid}` in the same transaction, and this poller only ever asks for
 * UIDs above the cursor. `\Seen` (or the move to `processedFolder`) is set after the commit as a
 * courtesy to humans looking at the mailbox; if that step is lost, nothing is re-delivered.
 * UIDs are only meaningful within one UIDVALIDITY (RFC 3501 §2.3.1.1), so a new UIDVALIDITY
 * restarts from UID 1; the desk dedupes re-read messages by Message-ID.
 */
import { ImapFlow, type FetchMessageObject } from 'imapflow';

export interface ImapMailboxSettings {
  /** Mailbox id, e.g. 'mesadeayuda'. */
  name: string;
  host: string;
  port: number;
  secure: boolean;
  user: string;
  password: string;
  /** Folder to read, e.g. 'INBOX'. */
  folder: string;
  /** Move messages there after commit instead of only flagging `\Seen`; created if missing. */
  processedFolder: string | null;
  /** Safety poll, and the only trigger when the server does not offer IDLE. */
  pollIntervalMs: number;
}

export interface MailboxCursor { uidValidity: number; lastUid: number }

export interface ImapDelivery { mailbox: string; uid: number; uidValidity: number }

export interface PollerLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface ImapPollerDeps<Prepared = unknown> {
  loadCursor(mailbox: string): Promise<MailboxCursor | null>;
  /**
   * Processes one message and, IN THE SAME DB TRANSACTION, advances the cursor to
   * {uidValidity, uid}. Resolves after commit. Throws on a transient failure (then the poller
   * retries later). A message that can never be processed must be quarantined by the desk and
   * resolve, or it blocks the mailbox.
   */
  deliver(raw: Buffer, at: ImapDelivery): Promise<void>;
  /**
   * Optional group commit: delivers messages in order in one go and says how many of them (a
   * prefix) were committed, with the error that stopped the rest. Used, when present, for up to
   * `DELIVERY_GROUP` messages at a time.
   */
  deliverBatch?(items: Array<{ raw: Buffer; at: ImapDelivery }>, prepared: Promise<Prepared> | null): Promise<{ committed: number; error: unknown }>;
  /**
   * Optional: the work on a group that needs no transaction (storing, parsing). The poller
   * starts it for the next group while the current one commits, and hands its promise to
   * `deliverBatch` with that group.
   */
  prepareBatch?(items: Array<{ raw: Buffer; at: ImapDelivery }>): Promise<Prepared>;
  /** pino-compatible. */
  log: PollerLog;
}

export interface ImapPollerStats { connected: boolean; processed: number; reconnects: number; lastError: string | null }

/**
 * Messages committed together when the desk offers group commit: enough to amortise a commit,
 * few enough that the write lock is never held for long.
 */
export const DELIVERY_GROUP = 25;

/** At most this many sources are held in memory at once... */
export const FETCH_BATCH_MESSAGES = 200;
/** ...and at most about this many bytes (a single larger message still goes alone). */
export const FETCH_BATCH_BYTES = 64 * 1024 * 1024;

const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;
/**
 * A failed round (the desk could not commit: the database is down or busy) is retried sooner
 * than a lost connection: intake must be back within seconds of the database.
 */
const ROUND_RETRY_MAX_MS = 6_000;
const LOGOUT_TIMEOUT_MS = 5_000;
const STOP_ROUND_TIMEOUT_MS = 15_000;
const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
/**
 * imapflow enters IDLE only after the connection has been quiet this long (its default is 15 s).
 * Our commands come back to back within a round, so a short delay costs nothing and makes new
 * mail arrive within a fraction of a second of the previous round.
 */
const AUTO_IDLE_DELAY_MS = 100;

interface UidSize { uid: number; size: number }

/**
 * Splits a UID-ordered backlog into fetch batches bounded by count and bytes, so a 10k backlog
 * never has every source in memory. Pure; exported for its unit test.
 */
export function planBatches(items: readonly UidSize[], maxMessages = FETCH_BATCH_MESSAGES, maxBytes = FETCH_BATCH_BYTES): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  for (const { uid, size } of items) {
    if (current.length > 0 && (current.length >= maxMessages || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(uid);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Exponential backoff, 1 s doubling to `maxMs` (60 s), with ±20 % jitter so mailboxes do not reconnect in step. */
export function backoffDelay(attempt: number, random: number, maxMs = BACKOFF_MAX_MS): number {
  const base = Math.min(maxMs, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt));
  return Math.round(base * (0.8 + 0.4 * random));
}

type RoundResult = 'caught-up' | 'failed';

interface DrainWaiter { round: number; resolve: () => void; reject: (err: Error) => void }

export class ImapPoller<Prepared = unknown> {
  readonly stats: ImapPollerStats = { connected: false, processed: 0, reconnects: 0, lastError: null };

  private readonly settings: ImapMailboxSettings;
  private readonly deps: ImapPollerDeps<Prepared>;
  private client: ImapFlow | null = null;
  private started = false;
  private stopped = false;
  /** Where this connection has got to; reloaded from the desk's cursor on every (re)connect. */
  private position: MailboxCursor = { uidValidity: 0, lastUid: 0 };
  private connectAttempts = 0;
  private retryAttempts = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  /** A trigger (EXISTS, poll, drain) arrived that no round has served yet. */
  private dirty = false;
  /** The next round re-SELECTs the folder instead of a NOOP (set by the safety poll). */
  private reselect = false;
  private running = false;
  /** The rounds in progress, for stop() to wait on. */
  private round: Promise<void> | null = null;
  private roundsStarted = 0;
  private drainWaiters: DrainWaiter[] = [];

  constructor(settings: ImapMailboxSettings, deps: ImapPollerDeps<Prepared>) {
    if (!Number.isFinite(settings.pollIntervalMs) || settings.pollIntervalMs < 100) {
      throw new RangeError(`pollIntervalMs of mailbox ${settings.name} must be at least 100 ms`);
    }
    this.settings = Object.freeze({ ...settings });
    this.deps = deps;
  }

  /** Connects in the background; failures are logged and retried with backoff. */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.connect();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimers();
    // Let a delivery in flight reach its commit rather than cutting it off mid-transaction.
    if (this.round) await Promise.race([this.round, sleep(STOP_ROUND_TIMEOUT_MS)]);
    const client = this.client;
    this.client = null;
    this.stats.connected = false;
    if (client) {
      if (client.usable) await Promise.race([client.logout().catch(() => undefined), sleep(LOGOUT_TIMEOUT_MS)]);
      client.close();
    }
    for (const w of this.drainWaiters.splice(0)) w.reject(new Error('poller stopped'));
    this.deps.log.info({ event: 'imap.stopped', mailbox: this.settings.name }, 'IMAP poller stopped');
  }

  /**
   * Resolves once a round that started after this call has caught up with the mailbox, i.e.
   * everything present on the server when drain() was called has been delivered.
   */
  drain(timeoutMs = DEFAULT_DRAIN_TIMEOUT_MS): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('poller stopped'));
    return new Promise<void>((resolve, reject) => {
      const waiter: DrainWaiter = {
        round: this.roundsStarted + 1,
        resolve: () => { clearTimeout(timer); resolve(); },
        reject: (err) => { clearTimeout(timer); reject(err); },
      };
      const timer = setTimeout(() => {
        this.drainWaiters = this.drainWaiters.filter((w) => w !== waiter);
        reject(new Error(`drain of ${this.settings.name} timed out after ${timeoutMs} ms (last error: ${this.stats.lastError ?? 'none'})`));
      }, timeoutMs);
      timer.unref();
      this.drainWaiters.push(waiter);
      this.trigger();
    });
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { settings, deps } = this;
    const client = new ImapFlow({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      auth: { user: settings.user, pass: settings.password },
      // imapflow's own logger would log protocol traffic; bodies and secrets must stay out of logs.
      logger: false,
      autoIdleDelay: AUTO_IDLE_DELAY_MS,
      connectionTimeout: 30_000,
    });
    this.client = client;
    // Without an 'error' listener an emitted error would crash the process; 'close' follows it.
    client.on('error', (err: Error) => {
      this.stats.lastError = describe(err);
      deps.log.warn({ event: 'imap.connection_error', mailbox: settings.name, err: describe(err) }, 'IMAP connection error');
    });
    client.on('close', () => this.onClose(client));
    client.on('exists', () => this.trigger());
    // imapflow re-emits mailboxOpen when a re-SELECT reveals a new UIDVALIDITY.
    client.on('mailboxOpen', (mb) => {
      if (mb.path === settings.folder) this.adoptUidValidity(Number(mb.uidValidity));
    });

    try {
      await client.connect();
      if (settings.processedFolder !== null) await client.mailboxCreate(settings.processedFolder);
      const mailbox = await client.mailboxOpen(settings.folder);
      if (this.stopped || this.client !== client) {
        client.close();
        return;
      }
      this.position = initialPosition(await deps.loadCursor(settings.name), Number(mailbox.uidValidity), (from) => {
        deps.log.warn({ event: 'imap.uidvalidity_changed', mailbox: settings.name, previous: from, current: Number(mailbox.uidValidity) },
          'UIDVALIDITY changed; re-reading the folder from UID 1');
      });
      this.connectAttempts = 0;
      this.stats.connected = true;
      deps.log.info({ event: 'imap.connected', mailbox: settings.name, folder: settings.folder, uidValidity: this.position.uidValidity,
        lastUid: this.position.lastUid, idle: client.capabilities.has('IDLE') }, 'IMAP mailbox connected');
      this.pollTimer = setInterval(() => {
        this.reselect = true;
        this.trigger();
      }, settings.pollIntervalMs);
      this.pollTimer.unref();
      this.trigger();
    } catch (err) {
      if (this.stopped || this.client !== client) return;
      this.stats.lastError = describe(err);
      deps.log.warn({ event: 'imap.connect_failed', mailbox: settings.name, err: describe(err) }, 'IMAP connect failed');
      client.close();
      // A connection that never opened may not emit 'close'; onClose() ignores a second call.
      this.onClose(client);
    }
  }

  private onClose(client: ImapFlow): void {
    if (this.client !== client) return;
    this.client = null;
    this.stats.connected = false;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.stopped) return;
    const wait = backoffDelay(this.connectAttempts++, Math.random());
    this.deps.log.warn({ event: 'imap.disconnected', mailbox: this.settings.name, retryInMs: wait }, 'IMAP connection closed; reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.stats.reconnects++;
      void this.connect();
    }, wait);
    this.reconnectTimer.unref();
  }

  private adoptUidValidity(current: number): void {
    if (!this.stats.connected || current === this.position.uidValidity) return;
    this.deps.log.warn({ event: 'imap.uidvalidity_changed', mailbox: this.settings.name, previous: this.position.uidValidity, current },
      'UIDVALIDITY changed; re-reading the folder from UID 1');
    this.position = { uidValidity: current, lastUid: 0 };
  }

  /** Asks for a round; rounds never overlap, and a trigger during a round causes one more. */
  private trigger(): void {
    this.dirty = true;
    if (this.running || this.stopped || !this.stats.connected || this.retryTimer) return;
    this.running = true;
    this.round = this.runRounds();
  }

  private async runRounds(): Promise<void> {
    try {
      while (this.dirty && !this.stopped && this.client && this.stats.connected) {
        this.dirty = false;
        const id = ++this.roundsStarted;
        const result = await this.processNew(this.client);
        if (result === 'failed') {
          this.scheduleRetry();
          return;
        }
        this.retryAttempts = 0;
        const ready = this.drainWaiters.filter((w) => w.round <= id);
        this.drainWaiters = this.drainWaiters.filter((w) => w.round > id);
        for (const w of ready) w.resolve();
      }
    } finally {
      // Cleared in the same tick as the last `dirty` check: a trigger arriving after this point
      // starts a new round instead of being lost behind one that has already decided to end.
      this.running = false;
    }
  }

  /** After a failed round the next one waits out a backoff, whatever triggers arrive meanwhile. */
  private scheduleRetry(): void {
    if (this.stopped || !this.stats.connected) return;
    const wait = backoffDelay(this.retryAttempts++, Math.random(), ROUND_RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.trigger();
    }, wait);
    this.retryTimer.unref();
  }

  /** One round: every message above the cursor, in UID order, batch by batch. */
  private async processNew(client: ImapFlow): Promise<RoundResult> {
    const { settings, deps } = this;
    try {
      // A session sees messages added by others only once the server syncs its view, which
      // happens around commands like NOOP (RFC 3501 §6.1.2) but not before a FETCH; without
      // this the FETCH below would miss mail that arrived since the last command.
      if (this.reselect) {
        // The safety poll also re-SELECTs: a session whose folder was deleted and recreated
        // under it may keep serving the old view (Dovecot does) with no notification, and only
        // a fresh SELECT reports the new UIDVALIDITY.
        this.reselect = false;
        await client.mailboxOpen(settings.folder);
      } else {
        await client.noop();
      }
      const mailbox = client.mailbox;
      if (mailbox && mailbox.path === settings.folder) this.adoptUidValidity(Number(mailbox.uidValidity));
      const from = this.position.lastUid + 1;
      // `N:*` always matches the highest-UID message, even when its UID is below N (RFC 3501
      // §6.4.8), so the listing is filtered rather than trusted.
      const listing = await client.fetchAll(`${from}:*`, { uid: true, size: true }, { uid: true });
      const pending = listing
        .filter((m) => m.uid >= from)
        .map((m) => ({ uid: m.uid, size: m.size ?? 0 }))
        .sort((a, b) => a.uid - b.uid);
      if (pending.length > 0) deps.log.debug({ event: 'imap.backlog', mailbox: settings.name, count: pending.length, from }, 'new messages');

      for (const batch of planBatches(pending)) {
        if (this.stopped) return 'failed';
        const first = batch[0] as number;
        const last = batch[batch.length - 1] as number;
        // Collected before any other command: issuing commands while a FETCH is still streaming
        // is not safe with every imapflow version.
        const fetched = await client.fetchAll(`${first}:${last}`, { uid: true, source: true }, { uid: true });
        const byUid = new Map<number, FetchMessageObject>(fetched.map((m) => [m.uid, m]));
        fetched.length = 0;
        const delivered: number[] = [];
        let failed = false;
        const items: Array<{ raw: Buffer; at: ImapDelivery }> = [];
        for (const uid of batch) {
          const source = byUid.get(uid)?.source;
          // Expunged between the listing and the fetch: nothing to deliver, and the next
          // delivery moves the cursor past it.
          if (byUid.get(uid) === undefined) continue;
          if (!source) {
            this.noteFailure(uid, new Error('FETCH returned no source'));
            failed = true;
            break;
          }
          items.push({ raw: source, at: { mailbox: settings.name, uid, uidValidity: this.position.uidValidity } });
        }
        byUid.clear();
        const done = (at: ImapDelivery): void => {
          this.position = { uidValidity: at.uidValidity, lastUid: at.uid };
          this.stats.processed++;
          delivered.push(at.uid);
        };
        // The next group is prepared while the current one commits.
        const prepare = (from: number): Promise<Prepared> | null => {
          if (!deps.prepareBatch || from >= items.length) return null;
          const p = deps.prepareBatch(items.slice(from, from + DELIVERY_GROUP));
          p.catch(() => undefined); // consumed by deliverBatch; unheard if delivery stopped before it
          return p;
        };
        let prepared = prepare(0);
        for (let i = 0; i < items.length && !failed; ) {
          if (this.stopped) { failed = true; break; }
          if (deps.deliverBatch) {
            const group = items.slice(i, i + DELIVERY_GROUP);
            const current = prepared;
            prepared = prepare(i + DELIVERY_GROUP);
            let result: { committed: number; error: unknown };
            try {
              result = await deps.deliverBatch(group, current);
            } catch (err) {
              result = { committed: 0, error: err };
            }
            group.slice(0, result.committed).forEach((item) => done(item.at));
            if (result.committed < group.length) {
              this.noteFailure((group[result.committed] as { at: ImapDelivery }).at.uid, result.error ?? new Error('delivery stopped'));
              failed = true;
            }
            i += group.length;
          } else {
            const item = items[i] as { raw: Buffer; at: ImapDelivery };
            try {
              await deps.deliver(item.raw, item.at);
              done(item.at);
            } catch (err) {
              this.noteFailure(item.at.uid, err);
              failed = true;
            }
            i++;
          }
        }
        items.length = 0;
        await this.markProcessed(client, delivered);
        if (failed) return 'failed';
      }
      return 'caught-up';
    } catch (err) {
      this.stats.lastError = describe(err);
      deps.log.warn({ event: 'imap.round_failed', mailbox: settings.name, err: describe(err) }, 'IMAP round failed');
      return 'failed';
    }
  }

  private noteFailure(uid: number, err: unknown): void {
    this.stats.lastError = describe(err);
    this.deps.log.error({ event: 'imap.deliver_failed', mailbox: this.settings.name, uid, uidValidity: this.position.uidValidity, err: describe(err) },
      'message delivery failed; will retry');
  }

  /**
   * Post-commit bookkeeping for humans. Failure here is only logged: the cursor has already
   * moved, so the messages will not be delivered again either way. Never deletes or expunges:
   * MOVE (RFC 6851) removes only the messages it moved.
   */
  private async markProcessed(client: ImapFlow, uids: number[]): Promise<void> {
    if (uids.length === 0) return;
    const set = uids.join(',');
    try {
      await client.messageFlagsAdd(set, ['\\Seen'], { uid: true });
      if (this.settings.processedFolder !== null) await client.messageMove(set, this.settings.processedFolder, { uid: true });
    } catch (err) {
      this.deps.log.warn({ event: 'imap.mark_failed', mailbox: this.settings.name, count: uids.length, err: describe(err) },
        'could not flag/move processed messages');
    }
  }

  private clearTimers(): void {
    for (const t of [this.reconnectTimer, this.retryTimer]) if (t) clearTimeout(t);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.reconnectTimer = this.retryTimer = this.pollTimer = null;
  }
}

function initialPosition(cursor: MailboxCursor | null, uidValidity: number, onChange: (previous: number) => void): MailboxCursor {
  if (cursor === null) return { uidValidity, lastUid: 0 };
  if (cursor.uidValidity !== uidValidity) {
    onChange(cursor.uidValidity);
    return { uidValidity, lastUid: 0 };
  }
  return { uidValidity, lastUid: cursor.lastUid };
}

/** Error text for logs and stats: message and code only, never a command or response body. */
function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => { setTimeout(resolve, ms).unref(); });
}
