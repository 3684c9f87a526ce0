import { header, type InboundMail } from './mail.ts';
import { parseTaggedAddress, verifyToken } from './reply-token.ts';
import { subjectTags } from './ticket-key.ts';

/**
 * Step 3 of the pipeline, in two pure halves around the desk's one database lookup:
 * `extractThreadKeys` reads what in the mail could name a ticket; the desk looks those keys up;
 * `resolveThread` decides which (if any) ticket the mail joins, in the order DESIGN §5.3 sets:
 * signed token, then our Message-IDs, then a subject tag — the tag only from the ticket's
 * customer or one of its CCs, because anyone can type a ticket number into a subject.
 */

export interface ThreadKeys {
  /** Ticket named by a correctly signed customer token in a recipient address. */
  tokenTicketKey: string | null;
  /** Plus-addresses whose token did not verify (forged, or signed with an old secret). */
  badTokens: string[];
  /**
   * Tokens that did not verify as customer tokens (maybe agents' — that check needs the From
   * address too, see `agent-identity.ts`), with the ticket each names.
   */
  otherTokens: Array<{ ticketKey: string; token: string }>;
  /** In-Reply-To first, then References from newest to oldest. */
  referencedIds: string[];
  subjectTicketKeys: string[];
}

export interface ThreadKeyContext {
  prefix: string;
  secret: string;
  /** Our mailbox addresses (lower-case), the base of every reply address. */
  mailboxAddresses: string[];
}

export function extractThreadKeys(mail: InboundMail, ctx: ThreadKeyContext): ThreadKeys {
  const recipients = [
    ...mail.to.map((a) => a.address),
    ...mail.cc.map((a) => a.address),
    ...['delivered-to', 'x-original-to', 'envelope-to'].flatMap((h) => (header(mail, h) ? [stripBrackets(header(mail, h) as string)] : [])),
  ];
  let tokenTicketKey: string | null = null;
  const badTokens: string[] = [];
  const otherTokens: Array<{ ticketKey: string; token: string }> = [];
  for (const address of recipients) {
    const tag = parseTaggedAddress(address, ctx.prefix);
    if (!tag || !ctx.mailboxAddresses.includes(tag.base)) continue;
    if (verifyToken(ctx.secret, tag.ticketKey, { kind: 'customer' }, tag.token)) {
      tokenTicketKey ??= tag.ticketKey;
    } else {
      badTokens.push(address);
      otherTokens.push({ ticketKey: tag.ticketKey, token: tag.token });
    }
  }
  const referencedIds = [...new Set([...mail.inReplyTo, ...[...mail.references].reverse()])];
  return { tokenTicketKey, badTokens, otherTokens, referencedIds, subjectTicketKeys: subjectTags(ctx.prefix, mail.subject) };
}

/** What the desk found for the keys: the ticket each one names, if any. */
export interface ThreadCandidate {
  ticketId: number;
  key: string;
  state: string;
  customerEmail: string | null;
  cc: string[];
  resolvedAt: Date | null;
}

export interface ThreadLookup {
  byToken: ThreadCandidate | null;
  byReference: ThreadCandidate | null;
  bySubject: ThreadCandidate | null;
}

export type ThreadResolution =
  | { ticket: ThreadCandidate; via: 'token' | 'reference' | 'subject' }
  | { ticket: null; ignoredSubjectTag: string | null };

export function resolveThread(lookup: ThreadLookup, fromAddress: string | null): ThreadResolution {
  if (lookup.byToken) return { ticket: lookup.byToken, via: 'token' };
  if (lookup.byReference) return { ticket: lookup.byReference, via: 'reference' };
  const tagged = lookup.bySubject;
  if (tagged) {
    const from = fromAddress?.toLowerCase() ?? null;
    const known = from !== null && (from === tagged.customerEmail || tagged.cc.includes(from));
    if (known) return { ticket: tagged, via: 'subject' };
    return { ticket: null, ignoredSubjectTag: tagged.key };
  }
  return { ticket: null, ignoredSubjectTag: null };
}

function stripBrackets(v: string): string {
  return v.replace(/^.*<([^>]+)>.*$/, '$1').trim().toLowerCase();
}
