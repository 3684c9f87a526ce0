import { findAgent, identifyAgent, levelDirectory, type AgentIdentity, type DirectoryEntry } from '../domain/agent-identity.ts';
import { authenticationVerdict, requiresAuthentication, type AuthenticationVerdict } from '../domain/authentication-results.ts';
import { detectAutomatic, type OwnIdentity } from '../domain/auto-reply.ts';
import { parseBounce, type BounceInfo } from '../domain/bounce.ts';
import { classify, type Classification } from '../domain/classify.ts';
import { decideIntake, type IntakeDecision } from '../domain/intake-decision.ts';
import { headers, type InboundMail } from '../domain/mail.ts';
import type { DeskPolicy, MailboxPolicy } from '../domain/policy.ts';
import { extractThreadKeys, resolveThread, type ThreadCandidate, type ThreadKeys, type ThreadResolution } from '../domain/threading.ts';
import { visibleText, type VisibleText } from '../domain/visible-text.ts';
import type { Store } from '../store/store.ts';
import type { ThreadRow } from '../store/message-repo.ts';
import { formatIncidentKey, parseIncidentKey } from '../domain/ticket-key.ts';
import { Steps } from './steps.ts';

/**
 * DESIGN §5 for one parsed email, steps 2–7, as an ordered list of typed steps. Every step but
 * two is a pure domain function. The two reads are the "load" of load → decide → commit: one
 * query for threading (every ticket the keys name, and the referenced messages' ticket) and one
 * for what the decision needs to know about the sender and the thread. Used by intake (then
 * committed) and by `mesa explain` (not).
 */

export interface PipelineContext {
  policy: DeskPolicy;
  store: Store;
  secret: string;
  own: OwnIdentity;
}

interface StepContext extends PipelineContext {
  now: Date;
  directory: DirectoryEntry[];
}

export const EMAIL_STEPS = Steps.from<StepContext, { mail: InboundMail; mailbox: MailboxPolicy }>()
  // 2. automatic mail? A bounce is also read for what it reports.
  .then('automatic', ({ mail }, c) => detectAutomatic(mail, c.own))
  .then('bounce', ({ mail, automatic }): BounceInfo | null => (automatic.kind === 'bounce' ? parseBounce(mail) : null))
  // 3. the thread's keys: reply token, references, subject tag.
  .then('threadKeys', ({ mail }, c) => extractThreadKeys(mail, {
    prefix: c.policy.desk.ticketPrefix,
    secret: c.secret,
    mailboxAddresses: c.policy.mailboxes.map((m) => m.address),
  }))
  // 4. who: an agent (signed token AND the From it was issued to), or a customer. The stricter
  // check applies to agents' domains the policy names: what our receiving servers said.
  .then('authentication', ({ mail }, c): AuthenticationVerdict | null => agentAuthentication(mail, mail.from?.address ?? null, c.directory, c.policy))
  .then('agent', ({ mail, threadKeys, authentication }, c) => identifyAgent({ from: mail.from?.address ?? null, tokens: threadKeys.otherTokens, directory: c.directory, secret: c.secret, authentication }))
  // The one read for threading: every ticket a key names (token, subject tag, agent's token)
  // and the ticket of the referenced messages.
  .then('candidates', ({ threadKeys, agent }, c) => c.store.messages.threadCandidates(
    [threadKeys.tokenTicketKey, threadKeys.subjectTicketKeys[0], agentTicketKey(agent, threadKeys)].filter((k): k is string => typeof k === 'string'),
    threadKeys.referencedIds,
  ))
  .then('thread', ({ mail, threadKeys, candidates }): ThreadResolution => resolveThread({
    byToken: byKey(candidates.byKey, threadKeys.tokenTicketKey),
    byReference: candidates.byReference ? candidate(candidates.byReference) : null,
    bySubject: byKey(candidates.byKey, threadKeys.subjectTicketKeys[0] ?? null),
  }, mail.from?.address ?? null))
  // For a refused agent reply the subject tag may name the ticket: it only decides which ticket
  // the refusal is recorded on (nothing changes), so trusting it is harmless here.
  .then('agentTicket', ({ agent, threadKeys, candidates }) => byKey(candidates.byKey, agentTicketKey(agent, threadKeys)))
  // A reply to a major incident's notice: its token names the incident (issue 13).
  .then('agentIncident', async ({ agent }, c) => {
    const id = agent.kind === 'agent' ? parseIncidentKey(agent.ticketKey) : null;
    const row = id === null ? undefined : await c.store.incidents.byId(id);
    return row ? { id: row.id, key: formatIncidentKey(row.id) } : null;
  })
  // 5. visible text
  .then('visible', ({ mail }): VisibleText => visibleText({ text: mail.text, html: mail.html }))
  // 6. classify (only meaningful for a new ticket, but cheap and useful in `explain`)
  .then('classification', ({ mail, visible, mailbox }, c): Classification => classify({ subject: mail.subject, text: visible.text, mailbox }, c.policy.classification.rules, c.policy.classification.minimumScore))
  // The second read: the sender's suppression and reply counts, the thread's last follow-up ack.
  .then('facts', ({ mail, agent, thread, bounce }, c) => c.store.intake.senderFacts({
    sender: mail.from?.address ?? null,
    agent: agent.kind === 'agent' || agent.kind === 'rejected' ? agent.person?.email ?? null : null,
    autoReplyMoments: AUTO_REPLY_MOMENTS,
    since: c.now.getTime() - c.policy.outbound.autoReplyLimit.windowMinutes * 60_000,
    ticketId: thread.ticket?.ticketId ?? null,
    bouncedMessageId: bounce?.originalMessageId ?? null,
  }))
  // 7. decide
  .then('decision', (s, c): IntakeDecision => {
    const from = s.mail.from?.address ?? null;
    return decideIntake({
      from,
      automatic: s.automatic,
      bounce: s.bounce,
      bouncedTicketId: s.facts.bouncedTicketId,
      thread: s.thread,
      fromOurselves: from !== null && c.own.ownAddresses.includes(from),
      senderSuppressed: from !== null && s.facts.suppressed,
      recentAutoReplies: from === null ? 0 : s.facts.recentAutoReplies,
      lastFollowUpAckAt: s.facts.lastFollowUpAckAt === null ? null : new Date(s.facts.lastFollowUpAckAt),
      agent: s.agent,
      agentTicket: s.agentTicket,
      agentIncident: s.agentIncident,
      recentAgentErrors: s.facts.recentAgentErrors,
      now: c.now,
    }, {
      reopenWindowDays: c.policy.desk.reopenWindowDays,
      autoReplyLimit: c.policy.outbound.autoReplyLimit.count,
      followUpAckQuietMinutes: c.policy.outbound.followUpAckQuietMinutes,
    });
  });

/** Everything the steps found, field by field under each step's name. */
export type EmailAnalysis = Awaited<ReturnType<typeof EMAIL_STEPS.run>>;

export async function analyzeEmail(mail: InboundMail, mailbox: MailboxPolicy, ctx: PipelineContext, now: Date): Promise<EmailAnalysis> {
  const directory = agentDirectory(ctx.policy);
  return await EMAIL_STEPS.run({ mail, mailbox }, { ...ctx, now, directory });
}

/**
 * Everyone who may answer as an agent: the levels' people, then people who appear only in an
 * escalation matrix (at the first level they serve there). A person listed twice counts once.
 */
function agentDirectory(policy: DeskPolicy): DirectoryEntry[] {
  const entries: DirectoryEntry[] = levelDirectory(policy.levels);
  const known = new Set(entries.map((e) => e.person.email));
  for (const m of policy.matrices) {
    for (const level of [1, 2, 3] as const) {
      for (const person of m.levels[level] ?? []) {
        if (known.has(person.email)) continue;
        known.add(person.email);
        entries.push({ person, level });
      }
    }
  }
  return entries;
}

function agentTicketKey(agent: AgentIdentity, keys: ThreadKeys): string | null {
  return agent.kind === 'none' ? null : agent.ticketKey ?? keys.subjectTicketKeys[0] ?? null;
}

function byKey(found: Map<string, ThreadRow>, key: string | null): ThreadCandidate | null {
  const row = key === null ? undefined : found.get(key.toUpperCase());
  return row ? candidate(row) : null;
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


function candidate(row: ThreadRow): ThreadCandidate {
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
