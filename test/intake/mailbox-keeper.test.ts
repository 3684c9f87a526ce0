import { describe, expect, it } from 'vitest';
import { isDeadSibling, MailboxKeeper } from '../../src/intake/email/mailbox-keeper.ts';
import { MailboxShare } from '../../src/intake/email/mailbox-share.ts';
import { silentLogger } from '../../src/log.ts';

describe('mailbox keeper', () => {
  const alive = (pids: number[]) => (pid: number) => pids.includes(pid);

  it('takes over at once only the lease of a dead process of the same instance', () => {
    expect(isDeadSibling('mesa-1/100/aa', 'mesa-1/200/bb', alive([200]))).toBe(true);
    expect(isDeadSibling('mesa-1/100/aa', 'mesa-1/200/bb', alive([100, 200]))).toBe(false); // still running
    expect(isDeadSibling('mesa-2/100/aa', 'mesa-1/200/bb', alive([200]))).toBe(false); // another instance: wait out its TTL
    expect(isDeadSibling('mesa-1/200/aa', 'mesa-1/200/bb', alive([]))).toBe(false); // our own pid
    expect(isDeadSibling('raro', 'mesa-1/200/bb', alive([]))).toBe(false);
  });

  it('refuses a TTL shorter than two heartbeats', () => {
    const leases = { acquire: async () => true, takeOver: async () => true, holderOf: async () => null, liveHolderOf: async () => null, release: async () => {} };
    expect(() => new MailboxKeeper({ mailbox: 'x', holder: 'a/1/b', leases, newPoller: () => { throw new Error('no'); }, heartbeatMs: 1_000, ttlMs: 1_500, log: silentLogger() }))
      .toThrow(/at least two heartbeats/);
  });

  it('spends its share on a free mailbox, not on one another live instance reads', async () => {
    // One place in the share (two mailboxes, two instances). Trying the busy mailbox is slow (its
    // holder's commit holds the row); if that attempt kept the place, the free one would wait.
    const share = new MailboxShare({ presence: { present: async () => 2, absent: async () => {} }, holder: 'a/1/b', name: 'a', mailboxes: 2, ttlMs: 100 });
    await share.beat();
    const tried: string[] = [];
    const leases = {
      acquire: async (mailbox: string) => {
        tried.push(mailbox);
        if (mailbox === 'ocupado') { await new Promise((r) => setTimeout(r, 1_000)); return false; }
        return true;
      },
      takeOver: async () => false, holderOf: async () => null, release: async () => {},
      liveHolderOf: async (mailbox: string) => (mailbox === 'ocupado' ? 'b/2/c' : null),
    };
    const poller = () => ({ stats: { connected: true, processed: 0, reconnects: 0, lastError: null }, start() {}, async stop() {}, async drain() {} }) as never;
    const keepers = ['ocupado', 'libre'].map((mailbox) => new MailboxKeeper({ mailbox, holder: 'a/1/b', leases, share, newPoller: poller, heartbeatMs: 20, ttlMs: 60, log: silentLogger() }));
    for (const k of keepers) k.start();
    await new Promise((r) => setTimeout(r, 80));
    expect(keepers.map((k) => k.holding)).toEqual([false, true]);
    expect(tried).not.toContain('ocupado');
    await Promise.all(keepers.map((k) => k.stop()));
  });

  it('stops reading when it cannot renew for a whole TTL, and reads again once it can', async () => {
    let up = true;
    const started: string[] = [];
    const leases = {
      acquire: async () => { if (!up) throw new Error('database down'); return true; },
      takeOver: async () => false, holderOf: async () => null, liveHolderOf: async () => null, release: async () => {},
    };
    const fakePoller = () => {
      const id = `p${started.length + 1}`;
      started.push(id);
      return { stats: { connected: true, processed: 1, reconnects: 0, lastError: null }, start() {}, async stop() {}, async drain() {} } as never;
    };
    const keeper = new MailboxKeeper({ mailbox: 'x', holder: 'a/1/b', leases, newPoller: fakePoller, heartbeatMs: 20, ttlMs: 60, log: silentLogger() });
    keeper.start();
    await new Promise((r) => setTimeout(r, 30));
    expect(keeper.holding).toBe(true);
    up = false;
    await new Promise((r) => setTimeout(r, 150));
    expect(keeper.holding).toBe(false);
    expect(keeper.stats).toMatchObject({ holding: false, processed: 1 });
    up = true;
    await new Promise((r) => setTimeout(r, 60));
    expect(keeper.holding).toBe(true);
    expect(started).toEqual(['p1', 'p2']);
    expect(keeper.stats.processed).toBe(2);
    await keeper.stop();
    expect(keeper.holding).toBe(false);
  });
});
