import type { AgentIdentity, AgentRejectionReason } from './agent-identity.ts';
import type { AutomaticVerdict } from './auto-reply.ts';
import type { Level, Person } from './policy.ts';
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
  /** Whether the sender is an agent replying with their signed token (issue 5). */
  agent?: AgentIdentity;
  /** The ticket the agent's token names, as found by the desk. */
  agentTicket?: ThreadCandidate | null;
  /** The major incident the agent's token names instead (a reply to an incident's notice), as found by the desk. */
  agentIncident?: { id: number; key: string } | null;
  /** Error replies already sent to that agent inside the rate-limit window. */
  recentAgentErrors?: number;
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
  | { kind: 'follow_up'; ticket: ThreadCandidate; reopen: boolean; ack: AckPlan }
  | { kind: 'agent_reply'; ticket: ThreadCandidate; person: Person; level: Level }
  | { kind: 'incident_reply'; incident: { id: number; key: string }; person: Person; level: Level }
  | { kind: 'agent_rejected'; reason: AgentRejectionReason | 'unknown_ticket'; person: Person | null; ticket: ThreadCandidate | null; notify: boolean };

export function decideIntake(f: IntakeFacts, rules: IntakeRules): IntakeDecision {
  const threaded = f.thread.ticket;
  if (f.automatic.is) {
    if (f.bounce) return { kind: 'bounce', ticketId: f.bouncedTicketId ?? threaded?.ticketId ?? null, bounce: f.bounce };
    return { kind: 'record_automatic', ticketId: threaded?.ticketId ?? null, verdict: f.automatic };
  }
  if (!f.from) return { kind: 'quarantine', reason: 'no_sender' };
  // An agent's reply never becomes a customer message: it is applied, or refused with one
  // (rate-limited) error notice, and never relayed when refused.
  const agent = f.agent ?? { kind: 'none' };
  const notify = (f.recentAgentErrors ?? 0) < rules.autoReplyLimit;
  if (agent.kind === 'agent') {
    if (f.agentIncident) return { kind: 'incident_reply', incident: f.agentIncident, person: agent.person, level: agent.level };
    if (!f.agentTicket) return { kind: 'agent_rejected', reason: 'unknown_ticket', person: agent.person, ticket: null, notify: false };
    return { kind: 'agent_reply', ticket: f.agentTicket, person: agent.person, level: agent.level };
  }
  if (agent.kind === 'rejected') {
    return { kind: 'agent_rejected', reason: agent.reason, person: agent.person, ticket: f.agentTicket ?? threaded ?? null, notify };
  }

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
