import type { DeskPolicy } from '../domain/policy.ts';

/**
 * What a running Mesa can take from a reloaded config (SIGHUP) and what waits for a restart.
 *
 * Everything the desk reads per request or per ticket follows a reload: severities, levels,
 * people, organisations, contracts, matrices, rules, business hours, SLA and ETR settings,
 * messages' limits, the panel's warning. What was wired into connections or identities at
 * start does not: the mailboxes (IMAP sessions, our own addresses), the ticket prefix, the
 * Message-ID domain and loop header (how we recognise our own mail), the intake's poll and
 * retry settings, the outbox's retry policy, the phone voice, the portal's rate limits and the
 * panel's session length (registered with the routes). Those keep their running values; the
 * reload says which ones changed.
 */
const RESTART_ONLY: ReadonlyArray<{ name: string; get: (p: DeskPolicy) => unknown; keep: (next: DeskPolicy, running: DeskPolicy) => DeskPolicy }> = [
  { name: 'mailboxes', get: (p) => p.mailboxes, keep: (n, r) => ({ ...n, mailboxes: r.mailboxes }) },
  {
    name: 'desk.ticketPrefix, desk.messageIdDomain, desk.loopHeader',
    get: (p) => [p.desk.ticketPrefix, p.desk.messageIdDomain, p.desk.loopHeader],
    keep: (n, r) => ({ ...n, desk: { ...n.desk, ticketPrefix: r.desk.ticketPrefix, messageIdDomain: r.desk.messageIdDomain, loopHeader: r.desk.loopHeader } }),
  },
  { name: 'intake', get: (p) => p.intake, keep: (n, r) => ({ ...n, intake: r.intake }) },
  { name: 'outbound.retry', get: (p) => p.outbound.retry, keep: (n, r) => ({ ...n, outbound: { ...n.outbound, retry: r.outbound.retry } }) },
  { name: 'phone.voice', get: (p) => p.phone.voice, keep: (n, r) => ({ ...n, phone: { ...n.phone, voice: r.phone.voice } }) },
  { name: 'web.portal', get: (p) => p.web.portal, keep: (n, r) => ({ ...n, web: { ...n.web, portal: r.web.portal } }) },
  { name: 'web.panel.sessionHours', get: (p) => p.web.panel.sessionHours, keep: (n, r) => ({ ...n, web: { ...n.web, panel: { ...n.web.panel, sessionHours: r.web.panel.sessionHours } } }) },
];

/**
 * The policy to run after a reload: the new one, with the running values of what only a
 * restart can change, and the names of those that differ (to log).
 */
export function reloadablePolicy(running: DeskPolicy, next: DeskPolicy): { policy: DeskPolicy; needRestart: string[] } {
  let policy = next;
  const needRestart: string[] = [];
  for (const r of RESTART_ONLY) {
    if (JSON.stringify(r.get(running)) === JSON.stringify(r.get(next))) continue;
    needRestart.push(r.name);
    policy = r.keep(policy, running);
  }
  return { policy, needRestart };
}
