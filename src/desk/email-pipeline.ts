import { findAgent, identifyAgent, type AgentIdentity, type DirectoryEntry } from '../domain/agent-identity.ts';
import { authenticationVerdict, requiresAuthentication, type AuthenticationVerdict } from '../domain/authentication-results.ts';
import { detectAutomatic, type AutomaticVerdict, type OwnIdentity } from '../domain/auto-reply.ts';
import { parseBounce, type BounceInfo } from '../domain/bounce.ts';
import { classify, type Classification } from '../domain/classify.ts';
import { decideIntake, type IntakeDecision } from '../domain/intake-decision.ts';
import { headers, type InboundMail } from '../domain/mail.ts';
import type { DeskPolicy, MailboxPolicy } from '../domain/policy.ts';
import { extractThreadKeys, resolveThread, type ThreadCandidate, type ThreadKeys, type ThreadResolution } from '../domain/threading.ts';
import { visibleText, type VisibleText } from '../domain/visible-text.ts';
import type { Store } from '../store/store.ts';
import type { ThreadRow } from '../store/message-repo.ts';

/**
 * DESIGN §5 for one parsed email, steps 2–7, in order. Every step but one is a pure domain
 * function; the exception is the thread lookup, the desk's single read between extracting the
 * keys and resolving them. Used by intake (then committed) and by `mesa explain` (not).
 */

export interface EmailAnalysis {
  mail: InboundMail;
  mailbox: MailboxPolicy;
  automatic: AutomaticVerdict;
  bounce: BounceInfo | null;
  threadKeys: ThreadKeys;
  thread: ThreadResolution;
  visible: VisibleText;
  classification: Classification;
  /**
   * The receiving server's verdict on an agent's From domain, when the stricter check
   * (`agents.requireAuthentication`) applies to it; null otherwise.
   */
  authentication: AuthenticationVerdict | null;
  agent: AgentIdentity;
  decision: IntakeDecision;
}

export interface PipelineContext {
  policy: DeskPolicy;
  store: Store;
  secret: string;
  own: OwnIdentity;
}

export async function analyzeEmail(mail: InboundMail, mailbox: MailboxPolicy, ctx: PipelineContext, now: Date): Promise<EmailAnalysis> {
  const { policy, store } = ctx;
  // 2. automatic mail?
  const automatic = detectAutomatic(mail, ctx.own);
  const bounce = automatic.kind === 'bounce' ? parseBounce(mail) : null;
  // 3. thread: extract keys (pure) → look them up (the one read) → resolve (pure)
  const threadKeys = extractThreadKeys(mail, {
    prefix: policy.desk.ticketPrefix,
    secret: ctx.secret,
    mailboxAddresses: policy.mailboxes.map((m) => m.address),
  });
  const thread = resolveThread({
    byToken: threadKeys.tokenTicketKey ? await candidateByKey(store, threadKeys.tokenTicketKey) : null,
    byReference: candidate(await store.messages.ticketByReference(threadKeys.referencedIds)),
    bySubject: threadKeys.subjectTicketKeys[0] ? await candidateByKey(store, threadKeys.subjectTicketKeys[0]) : null,
  }, mail.from?.address ?? null);
  // 5. visible text
  const visible = visibleText({ text: mail.text, html: mail.html });
  // 6. classify (only meaningful for a new ticket, but cheap and useful in `explain`)
  const classification = classify({ subject: mail.subject, text: visible.text, mailbox }, policy.classification.rules, policy.classification.minimumScore);
  // 4. who: an agent (signed token AND the From it was issued to), or a customer
  const from = mail.from?.address ?? null;
  const directory = ([1, 2, 3] as const).flatMap((level) => policy.levels[level].people.map((person) => ({ person, level })));
  const authentication = agentAuthentication(mail, from, directory, policy);
  const agent = identifyAgent({ from, tokens: threadKeys.otherTokens, directory, secret: ctx.secret, authentication });
  // For a refused agent reply the subject tag may name the ticket: it only decides which ticket
  // the refusal is recorded on (nothing changes), so trusting it is harmless here.
  const agentKey = agent.kind === 'none' ? null : agent.ticketKey ?? threadKeys.subjectTicketKeys[0] ?? null;
  const agentTicket = agentKey ? await candidateByKey(store, agentKey) : null;
  const agentAddress = agent.kind === 'agent' || agent.kind === 'rejected' ? agent.person?.email ?? null : null;
  // 7. decide
  const windowStart = now.getTime() - policy.outbound.autoReplyLimit.windowMinutes * 60_000;
  const bounced = bounce?.originalMessageId ? await store.outbox.byMessageId(bounce.originalMessageId) : undefined;
  const lastFollowUpAck = thread.ticket ? await store.outbox.lastQueuedAt(thread.ticket.ticketId, 'ack-followup') : null;
  const decision = decideIntake({
    from,
    automatic,
    bounce,
    bouncedTicketId: bounced?.ticket_id ?? null,
    thread,
    fromOurselves: from !== null && ctx.own.ownAddresses.includes(from),
    senderSuppressed: from !== null && await store.intake.isSuppressed(from),
    recentAutoReplies: from === null ? 0 : await store.outbox.countRecent(from, AUTO_REPLY_MOMENTS, windowStart),
    lastFollowUpAckAt: lastFollowUpAck === null ? null : new Date(lastFollowUpAck),
    agent,
    agentTicket,
    recentAgentErrors: agentAddress === null ? 0 : await store.outbox.countRecent(agentAddress, ['agent-error'], windowStart),
    now,
  }, {
    reopenWindowDays: policy.desk.reopenWindowDays,
    autoReplyLimit: policy.outbound.autoReplyLimit.count,
    followUpAckQuietMinutes: policy.outbound.followUpAckQuietMinutes,
  });
  return { mail, mailbox, automatic, bounce, threadKeys, thread, visible, classification, authentication, agent, decision };
}

/**
 * The optional stricter check, for a From that is one of the agents' addresses in a domain the
 * policy names: what our receiving servers' Authentication-Results say about that domain.
 */
function agentAuthentication(mail: InboundMail, from: string | null, directory: DirectoryEntry[], policy: DeskPolicy): AuthenticationVerdict | null {
  const rule = policy.agents.requireAuthentication;
  if (!rule.enabled || from === null || !findAgent(directory, from)) return null;
  const domain = from.slice(from.lastIndexOf('@') + 1).toLowerCase();
  if (!requiresAuthentication(domain, rule)) return null;
  return authenticationVerdict(headers(mail, 'authentication-results'), domain, rule.trustedAuthservIds);
}

/** Moments that are automatic replies, counted for the per-recipient rate limit. */
export const AUTO_REPLY_MOMENTS = ['ack', 'ack-after-hours', 'ack-followup', 'ack-reopened'];

async function candidateByKey(store: Store, key: string): Promise<ThreadCandidate | null> {
  const t = await store.tickets.byKey(key);
  if (!t) return null;
  const c = await store.tickets.contact(t.contact_id);
  return { ticketId: t.id, key: t.key, state: t.state, customerEmail: c?.email ?? null, cc: JSON.parse(t.cc_json) as string[], resolvedAt: t.resolved_at === null ? null : new Date(t.resolved_at) };
}

function candidate(row: ThreadRow | undefined): ThreadCandidate | null {
  if (!row) return null;
  return { ticketId: row.ticket_id, key: row.key, state: row.state, customerEmail: row.customer_email, cc: JSON.parse(row.cc_json) as string[], resolvedAt: row.resolved_at === null ? null : new Date(row.resolved_at) };
}

/** Which configured mailbox a message belongs to when the channel does not say (pipe, drop). */
export function mailboxFor(mail: InboundMail, policy: DeskPolicy, hint: string | null): MailboxPolicy {
  if (hint) {
    const m = policy.mailboxes.find((x) => x.id === hint);
    if (m) return m;
  }
  const recipients = [...mail.to, ...mail.cc].map((a) => a.address.replace(/\+[^@]*@/, '@'));
  return policy.mailboxes.find((m) => recipients.includes(m.address)) ?? (policy.mailboxes[0] as MailboxPolicy);
}
