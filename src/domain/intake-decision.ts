import type { AutomaticVerdict } from './auto-reply.ts';
import type { BounceInfo } from './bounce.ts';
import type { ThreadCandidate, ThreadResolution } from './threading.ts';

/**
 * Step 7: from the facts the earlier steps established, what happens to one inbound message.
 * Detection ("this is an auto-reply") happened before; here is the decision ("do not answer").
 */

export interface IntakeFacts {
  from: string | null;
  automatic: AutomaticVerdict;
  bounce: BounceInfo | null;
  /** The ticket of the outgoing message a bounce refers to, when we sent it. */
  bouncedTicketId: number | null;
  thread: ThreadResolution;
  /** True when the sender is one of our own mailboxes or agents' automatic addresses. */
  fromOurselves: boolean;
  senderSuppressed: boolean;
  /** Automatic replies we already queued to this sender inside the rate-limit window. */
  recentAutoReplies: number;
  /** When we last acknowledged a follow-up on the threaded ticket. */
  lastFollowUpAckAt: Date | null;
  now: Date;
}

export interface IntakeRules {
  reopenWindowDays: number;
  autoReplyLimit: number;
  followUpAckQuietMinutes: number;
}

export type AckPlan =
  | { send: true; moment: 'ack' | 'ack-followup' | 'ack-reopened' }
  | { send: false; reason: 'sender_suppressed' | 'rate_limited' | 'quiet_period' | 'from_ourselves' };

export type IntakeDecision =
  | { kind: 'quarantine'; reason: 'no_sender' }
  | { kind: 'bounce'; ticketId: number | null; bounce: BounceInfo }
  | { kind: 'record_automatic'; ticketId: number | null; verdict: AutomaticVerdict }
  | { kind: 'new_ticket'; previous: ThreadCandidate | null; ack: AckPlan }
  | { kind: 'follow_up'; ticket: ThreadCandidate; reopen: boolean; ack: AckPlan };

export function decideIntake(f: IntakeFacts, rules: IntakeRules): IntakeDecision {
  const threaded = f.thread.ticket;
  if (f.automatic.is) {
    if (f.bounce) return { kind: 'bounce', ticketId: f.bouncedTicketId ?? threaded?.ticketId ?? null, bounce: f.bounce };
    return { kind: 'record_automatic', ticketId: threaded?.ticketId ?? null, verdict: f.automatic };
  }
  if (!f.from) return { kind: 'quarantine', reason: 'no_sender' };

  const gate = (moment: 'ack' | 'ack-followup' | 'ack-reopened'): AckPlan => {
    if (f.fromOurselves) return { send: false, reason: 'from_ourselves' };
    if (f.senderSuppressed) return { send: false, reason: 'sender_suppressed' };
    if (f.recentAutoReplies >= rules.autoReplyLimit) return { send: false, reason: 'rate_limited' };
    return { send: true, moment };
  };

  if (threaded) {
    if (threaded.state === 'cerrado' || (threaded.state === 'resuelto' && !withinReopenWindow(threaded, f.now, rules))) {
      return { kind: 'new_ticket', previous: threaded, ack: gate('ack') };
    }
    const reopen = threaded.state === 'resuelto';
    if (reopen) return { kind: 'follow_up', ticket: threaded, reopen, ack: gate('ack-reopened') };
    const quiet = f.lastFollowUpAckAt !== null
      && f.now.getTime() - f.lastFollowUpAckAt.getTime() < rules.followUpAckQuietMinutes * 60_000;
    return { kind: 'follow_up', ticket: threaded, reopen, ack: quiet ? { send: false, reason: 'quiet_period' } : gate('ack-followup') };
  }
  return { kind: 'new_ticket', previous: null, ack: gate('ack') };
}

function withinReopenWindow(t: ThreadCandidate, now: Date, rules: IntakeRules): boolean {
  if (!t.resolvedAt) return true;
  return now.getTime() - t.resolvedAt.getTime() <= rules.reopenWindowDays * 86_400_000;
}
