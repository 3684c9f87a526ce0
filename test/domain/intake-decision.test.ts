import { describe, it, expect } from 'vitest';
import type { AutomaticVerdict } from '../../src/domain/auto-reply.ts';
import type { BounceInfo } from '../../src/domain/bounce.ts';
import { decideIntake, type IntakeFacts, type IntakeRules } from '../../src/domain/intake-decision.ts';
import type { ThreadCandidate, ThreadResolution } from '../../src/domain/threading.ts';

const NOW = new Date('2026-03-10T18:00:00Z');
const DAY = 86_400_000;
const MIN = 60_000;
const RULES: IntakeRules = { reopenWindowDays: 7, autoReplyLimit: 5, followUpAckQuietMinutes: 60 };

const HUMAN: AutomaticVerdict = { is: false, kind: 'none', reason: null };
const OOF: AutomaticVerdict = { is: true, kind: 'auto_reply', reason: 'auto-submitted: auto-replied' };
const BOUNCE_VERDICT: AutomaticVerdict = { is: true, kind: 'bounce', reason: 'multipart/report delivery-status' };
const BOUNCE: BounceInfo = { originalMessageId: 'out-1@mesa.proditmapac.com', recipient: 'ana@cliente.mx', status: '5.1.1', hard: true, diagnostic: '550 5.1.1 user unknown' };

const ticket = (over: Partial<ThreadCandidate> = {}): ThreadCandidate => ({
  ticketId: 7, key: 'MDA-000007', state: 'en_atencion', customerEmail: 'ana@cliente.mx', cc: [], resolvedAt: null, ...over,
});
const threaded = (t: ThreadCandidate): ThreadResolution => ({ ticket: t, via: 'reference' });
const NO_THREAD: ThreadResolution = { ticket: null, ignoredSubjectTag: null };

function facts(over: Partial<IntakeFacts> = {}): IntakeFacts {
  return {
    from: 'ana@cliente.mx',
    automatic: HUMAN,
    bounce: null,
    bouncedTicketId: null,
    thread: NO_THREAD,
    fromOurselves: false,
    senderSuppressed: false,
    recentAutoReplies: 0,
    lastFollowUpAckAt: null,
    now: NOW,
    ...over,
  };
}

describe('decideIntake: automatic mail', () => {
  it('a bounce is tied to the ticket of the message it bounced', () => {
    expect(decideIntake(facts({ automatic: BOUNCE_VERDICT, bounce: BOUNCE, bouncedTicketId: 3, thread: threaded(ticket()) }), RULES))
      .toEqual({ kind: 'bounce', ticketId: 3, bounce: BOUNCE });
  });

  it('a bounce of a message we cannot find falls back to the threaded ticket, then to none', () => {
    expect(decideIntake(facts({ automatic: BOUNCE_VERDICT, bounce: BOUNCE, thread: threaded(ticket()) }), RULES))
      .toEqual({ kind: 'bounce', ticketId: 7, bounce: BOUNCE });
    expect(decideIntake(facts({ automatic: BOUNCE_VERDICT, bounce: BOUNCE, from: null }), RULES))
      .toEqual({ kind: 'bounce', ticketId: null, bounce: BOUNCE });
  });

  it('other automatic mail is recorded, on its ticket when threaded, and never acknowledged', () => {
    expect(decideIntake(facts({ automatic: OOF, thread: threaded(ticket()) }), RULES)).toEqual({ kind: 'record_automatic', ticketId: 7, verdict: OOF });
    expect(decideIntake(facts({ automatic: OOF }), RULES)).toEqual({ kind: 'record_automatic', ticketId: null, verdict: OOF });
  });

  it('an automatic verdict without parsed bounce details is recorded, not treated as a bounce', () => {
    expect(decideIntake(facts({ automatic: BOUNCE_VERDICT, bounce: null }), RULES)).toMatchObject({ kind: 'record_automatic', ticketId: null });
  });

  it('automatic mail without a sender is recorded rather than quarantined (bounces often have none)', () => {
    expect(decideIntake(facts({ automatic: OOF, from: null }), RULES).kind).toBe('record_automatic');
  });

  it('a bounce from a suppressed sender or ourselves is still a bounce', () => {
    expect(decideIntake(facts({ automatic: BOUNCE_VERDICT, bounce: BOUNCE, fromOurselves: true, senderSuppressed: true }), RULES).kind).toBe('bounce');
  });
});

describe('decideIntake: human mail', () => {
  it('quarantines a message without a sender', () => {
    expect(decideIntake(facts({ from: null }), RULES)).toEqual({ kind: 'quarantine', reason: 'no_sender' });
    expect(decideIntake(facts({ from: '' }), RULES)).toEqual({ kind: 'quarantine', reason: 'no_sender' });
    expect(decideIntake(facts({ from: null, thread: threaded(ticket()) }), RULES)).toEqual({ kind: 'quarantine', reason: 'no_sender' });
  });

  it('opens a new ticket and acknowledges it', () => {
    expect(decideIntake(facts(), RULES)).toEqual({ kind: 'new_ticket', previous: null, ack: { send: true, moment: 'ack' } });
  });

  it('adds a follow-up to an open ticket and acknowledges it', () => {
    const t = ticket({ state: 'en_atencion' });
    expect(decideIntake(facts({ thread: threaded(t) }), RULES)).toEqual({ kind: 'follow_up', ticket: t, reopen: false, ack: { send: true, moment: 'ack-followup' } });
  });

  it.each(['nuevo', 'en_atencion', 'esperando_cliente'])('a follow-up on a "%s" ticket does not reopen', (state) => {
    expect(decideIntake(facts({ thread: threaded(ticket({ state })) }), RULES)).toMatchObject({ kind: 'follow_up', reopen: false });
  });

  describe('on a resolved ticket', () => {
    const resolvedAgo = (ms: number) => ticket({ state: 'resuelto', resolvedAt: new Date(NOW.getTime() - ms) });

    it('reopens it within the window', () => {
      const t = resolvedAgo(2 * DAY);
      expect(decideIntake(facts({ thread: threaded(t) }), RULES)).toEqual({ kind: 'follow_up', ticket: t, reopen: true, ack: { send: true, moment: 'ack-reopened' } });
    });

    it('reopens it on the last millisecond of the window', () => {
      expect(decideIntake(facts({ thread: threaded(resolvedAgo(7 * DAY)) }), RULES)).toMatchObject({ kind: 'follow_up', reopen: true });
    });

    it('opens a new ticket referencing it past the window', () => {
      const t = resolvedAgo(7 * DAY + 1);
      expect(decideIntake(facts({ thread: threaded(t) }), RULES)).toEqual({ kind: 'new_ticket', previous: t, ack: { send: true, moment: 'ack' } });
    });

    it('with a window of 0 days, any later message opens a new ticket', () => {
      expect(decideIntake(facts({ thread: threaded(resolvedAgo(1)) }), { ...RULES, reopenWindowDays: 0 }).kind).toBe('new_ticket');
    });

    it('reopens when the resolution time is unknown', () => {
      expect(decideIntake(facts({ thread: threaded(ticket({ state: 'resuelto', resolvedAt: null })) }), RULES)).toMatchObject({ kind: 'follow_up', reopen: true });
    });

    it('the quiet period of follow-up acks does not silence the reopening ack', () => {
      const d = decideIntake(facts({ thread: threaded(resolvedAgo(DAY)), lastFollowUpAckAt: new Date(NOW.getTime() - MIN) }), RULES);
      expect(d).toMatchObject({ kind: 'follow_up', reopen: true, ack: { send: true, moment: 'ack-reopened' } });
    });
  });

  it('a message on a closed ticket opens a new ticket referencing it, however recent', () => {
    const t = ticket({ state: 'cerrado', resolvedAt: new Date(NOW.getTime() - MIN) });
    expect(decideIntake(facts({ thread: threaded(t) }), RULES)).toEqual({ kind: 'new_ticket', previous: t, ack: { send: true, moment: 'ack' } });
  });
});

describe('decideIntake: acknowledgment gates', () => {
  const open = threaded(ticket());

  it('never acknowledges ourselves', () => {
    expect(decideIntake(facts({ fromOurselves: true }), RULES)).toMatchObject({ kind: 'new_ticket', ack: { send: false, reason: 'from_ourselves' } });
    expect(decideIntake(facts({ fromOurselves: true, thread: open }), RULES)).toMatchObject({ kind: 'follow_up', ack: { send: false, reason: 'from_ourselves' } });
  });

  it('never acknowledges a suppressed sender, but still records the message', () => {
    expect(decideIntake(facts({ senderSuppressed: true }), RULES)).toEqual({ kind: 'new_ticket', previous: null, ack: { send: false, reason: 'sender_suppressed' } });
  });

  it('rate-limits at the configured count, not before', () => {
    expect(decideIntake(facts({ recentAutoReplies: 4 }), RULES)).toMatchObject({ ack: { send: true } });
    expect(decideIntake(facts({ recentAutoReplies: 5 }), RULES)).toMatchObject({ ack: { send: false, reason: 'rate_limited' } });
    expect(decideIntake(facts({ recentAutoReplies: 500 }), RULES)).toMatchObject({ kind: 'new_ticket', ack: { send: false, reason: 'rate_limited' } });
  });

  it('rate-limits reopening acks too', () => {
    const resolved = threaded(ticket({ state: 'resuelto', resolvedAt: new Date(NOW.getTime() - DAY) }));
    expect(decideIntake(facts({ thread: resolved, recentAutoReplies: 5 }), RULES)).toMatchObject({ reopen: true, ack: { send: false, reason: 'rate_limited' } });
  });

  it('checks ourselves before suppression before the rate limit', () => {
    expect(decideIntake(facts({ fromOurselves: true, senderSuppressed: true, recentAutoReplies: 9 }), RULES)).toMatchObject({ ack: { reason: 'from_ourselves' } });
    expect(decideIntake(facts({ senderSuppressed: true, recentAutoReplies: 9 }), RULES)).toMatchObject({ ack: { reason: 'sender_suppressed' } });
  });

  it('acknowledges follow-ups at most once per quiet period', () => {
    const at = (minutesAgo: number) => decideIntake(facts({ thread: open, lastFollowUpAckAt: new Date(NOW.getTime() - minutesAgo * MIN) }), RULES);
    expect(at(1)).toMatchObject({ kind: 'follow_up', ack: { send: false, reason: 'quiet_period' } });
    expect(at(59.99)).toMatchObject({ ack: { send: false, reason: 'quiet_period' } });
    expect(at(60)).toMatchObject({ ack: { send: true, moment: 'ack-followup' } });
    expect(at(600)).toMatchObject({ ack: { send: true, moment: 'ack-followup' } });
  });

  it('a quiet period of 0 minutes never silences', () => {
    expect(decideIntake(facts({ thread: open, lastFollowUpAckAt: NOW }), { ...RULES, followUpAckQuietMinutes: 0 })).toMatchObject({ ack: { send: true } });
  });

  it('the quiet period does not apply to new tickets', () => {
    expect(decideIntake(facts({ lastFollowUpAckAt: NOW }), RULES)).toMatchObject({ kind: 'new_ticket', ack: { send: true, moment: 'ack' } });
  });

  it('after the quiet period the other gates still apply', () => {
    const d = decideIntake(facts({ thread: open, lastFollowUpAckAt: new Date(NOW.getTime() - DAY), recentAutoReplies: 5 }), RULES);
    expect(d).toMatchObject({ ack: { send: false, reason: 'rate_limited' } });
  });
});
