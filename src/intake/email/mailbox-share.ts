/**
 * Shares the mailboxes out among the live instances: with M mailboxes and N instances alive,
 * each instance reads at most ceil(M / N) of them. Every instance renews its presence (the
 * `instances` table) on the lease heartbeat; an instance over its share gives up the mailbox it
 * took last, and one under its share takes a free one. So two instances on two mailboxes read
 * one each, and when one dies the other takes both once the dead one's presence and lease run out.
 */
export interface PresenceStore {
  present(holder: string, name: string, ttlMs: number): Promise<number>;
  absent(holder: string): Promise<void>;
}

export class MailboxShare {
  private live = 1;
  /** Keepers holding a mailbox, with when they took it. */
  private readonly holding = new Map<object, number>();
  private reserved = 0;

  constructor(private readonly opts: { presence: PresenceStore; holder: string; name: string; mailboxes: number; ttlMs: number }) {}

  /** Renews this instance's presence and learns how many are alive; a failure keeps the last count. */
  async beat(): Promise<void> {
    this.live = Math.max(1, await this.opts.presence.present(this.opts.holder, this.opts.name, this.opts.ttlMs));
  }

  async leave(): Promise<void> {
    await this.opts.presence.absent(this.opts.holder);
  }

  get fairShare(): number {
    return Math.ceil(this.opts.mailboxes / this.live);
  }

  /**
   * Whether a keeper without a mailbox may try to take one now. A yes reserves a place until
   * `settle` says whether the lease was taken, so keepers beating at once cannot all take one.
   */
  mayTake(): boolean {
    if (this.holding.size + this.reserved >= this.fairShare) return false;
    this.reserved++;
    return true;
  }

  settle(keeper: object, taken: boolean, at: number): void {
    this.reserved = Math.max(0, this.reserved - 1);
    if (taken) this.holding.set(keeper, at);
  }

  dropped(keeper: object): void {
    this.holding.delete(keeper);
  }

  /** Over the share, the mailbox taken last goes back, so another instance can take it. */
  shouldGiveUp(keeper: object): boolean {
    if (this.holding.size <= this.fairShare || !this.holding.has(keeper)) return false;
    const latest = [...this.holding.entries()].reduce((a, b) => (b[1] > a[1] ? b : a));
    return latest[0] === keeper;
  }
}
