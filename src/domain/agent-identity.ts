import type { AuthenticationVerdict } from './authentication-results.ts';
import type { DeskPolicy, Level, Person } from './policy.ts';
import { verifyToken } from './reply-token.ts';

/**
 * Who wrote a reply (DESIGN §6, issue 5): an agent is known by the signed token in the address
 * they replied to AND the From address that token was issued to. Either alone is not enough —
 * From is trivially forged, and a token can leak by forwarding — so a mismatch is rejected and
 * changes nothing. Where the desk asks for it (the optional stricter check), the receiving
 * server must also have authenticated the From domain (DKIM or SPF, `authentication-results.ts`):
 * a message that fails it is refused the same way.
 */
export type AgentIdentity =
  | { kind: 'none' }
  | { kind: 'agent'; ticketKey: string; person: Person; level: Level }
  | { kind: 'rejected'; reason: AgentRejectionReason; ticketKey: string | null; person: Person | null };

export type AgentRejectionReason = 'token_missing_or_wrong' | 'foreign_from' | 'not_authenticated';

export interface DirectoryEntry { person: Person; level: Level }

/** The attention levels' people, level by level (a person listed at two levels appears twice). */
export function levelDirectory(levels: DeskPolicy['levels']): DirectoryEntry[] {
  return ([1, 2, 3] as const).flatMap((level) => levels[level].people.map((person) => ({ person, level })));
}

export function identifyAgent(input: {
  from: string | null;
  /** Tokens in the recipient addresses that did not verify as customer tokens. */
  tokens: Array<{ ticketKey: string; token: string }>;
  directory: DirectoryEntry[];
  secret: string;
  /**
   * The receiving server's verdict on the From domain, when the stricter check applies to it;
   * null or absent when it does not (the default).
   */
  authentication?: AuthenticationVerdict | null;
}): AgentIdentity {
  const sender = findAgent(input.directory, input.from);
  if (sender) {
    // Tokens are signed for the address notices go to; any of the person's addresses may answer.
    const ok = input.tokens.find((t) => verifyToken(input.secret, t.ticketKey, { kind: 'agent', address: sender.person.email }, t.token));
    // Before the token's verdict: when the From itself is not vouched for, the message may not
    // be the agent's whatever it carries (and the agent is told exactly that).
    if (input.authentication && !input.authentication.pass) {
      return { kind: 'rejected', reason: 'not_authenticated', ticketKey: ok?.ticketKey ?? input.tokens[0]?.ticketKey ?? null, person: sender.person };
    }
    if (ok) return { kind: 'agent', ticketKey: ok.ticketKey, person: sender.person, level: sender.level };
    return { kind: 'rejected', reason: 'token_missing_or_wrong', ticketKey: input.tokens[0]?.ticketKey ?? null, person: sender.person };
  }
  // Not an agent's From: is one of the tokens an agent's? Then someone else is using it.
  for (const t of input.tokens) {
    const owner = input.directory.find((e) => verifyToken(input.secret, t.ticketKey, { kind: 'agent', address: e.person.email }, t.token));
    if (owner) return { kind: 'rejected', reason: 'foreign_from', ticketKey: t.ticketKey, person: owner.person };
  }
  return { kind: 'none' };
}

/** The directory entry whose address or one of whose aliases is `from` (case-insensitive). */
export function findAgent<E extends DirectoryEntry>(directory: E[], from: string | null | undefined): E | undefined {
  const address = from?.toLowerCase();
  if (!address) return undefined;
  return directory.find((e) => [e.person.email, ...(e.person.aliases ?? [])].some((a) => a.toLowerCase() === address));
}
