/**
 * Step 2 of the pipeline: is this mail written by a machine? Such mail is recorded but never
 * answered (answering an autoresponder is how mail loops start — RFC 3834 §2).
 *
 * This module only *detects*; deciding what to do with each kind is the decision step's job.
 * Evidence is gathered from every rule and the strongest kind wins:
 * bounce > loop > auto_reply > list. A bounce must win because it carries work to do (mark a
 * delivery failed) while still being "automatic"; a list message with an autoresponder's
 * subject is still an auto-reply for our purposes.
 */
import { header, headers, type InboundMail } from './mail.ts';
import { bounceReason, isDaemonSender, isNullReturnPath, NO_REPLY_LOCAL } from './bounce.ts';

export type AutomaticKind = 'bounce' | 'auto_reply' | 'list' | 'loop' | 'none';

export interface AutomaticVerdict {
  is: boolean;
  kind: AutomaticKind;
  /** Short code-ish explanation of the rule that decided, e.g. 'precedence: bulk'. */
  reason: string | null;
}

export interface OwnIdentity {
  /** Header we stamp on everything we send, e.g. 'X-Mesa-Loop'. */
  loopHeader: string;
  loopValue: string;
  /** Domain of the Message-IDs we generate. */
  messageIdDomain: string;
  /** Our own mailbox addresses (lower-case). */
  ownAddresses: string[];
}

const NONE: AutomaticVerdict = { is: false, kind: 'none', reason: null };
const RANK: Record<AutomaticKind, number> = { bounce: 4, loop: 3, auto_reply: 2, list: 1, none: 0 };


/**
 * Out-of-office subjects, mostly as Outlook/Exchange, Gmail and Zimbra write them in the
 * languages the desk meets. They are only counted together with a second sign (see below),
 * because a person can write "Fuera de la oficina" in a subject too.
 */
const OOF_SUBJECT = new RegExp([
  'respuesta autom[aá]tica',
  'fuera de (la )?oficina',
  'ausente de la oficina',
  'aviso de ausencia',
  'estoy de vacaciones',
  'automatic reply',
  'auto[- ]?reply',
  'auto[- ]?response',
  'autoresponder',
  'out of (the )?office',
  'on vacation',
  'vacation reply',
  'away from (the|my) office',
  'abwesenheitsnotiz',
  'automatische antwort',
  'r[ée]ponse automatique',
  "absent du bureau",
  'risposta automatica',
  'resposta autom[aá]tica',
  'automatisch antwoord',
  'afwezigheidsbericht',
].join('|'), 'i');

/** The prefixes Outlook/Exchange, Zimbra and others put before the original subject. */
const OOF_PREFIX = /^\s*(respuesta autom[aá]tica|fuera de (la )?oficina|automatic reply|auto[- ]?reply|auto[- ]?response|out of (the )?office( reply)?|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique|risposta automatica|resposta autom[aá]tica|automatisch antwoord)\s*:/i;

/**
 * Body wording of out-of-office replies; corroborates an OOF subject. Deliberately not the
 * subject phrases again ("fuera de la oficina"), which a customer may well use in both places
 * ("la VPN no conecta cuando trabajo fuera de la oficina").
 */
const OOF_BODY = /\b(i am|i'm|i will be) (currently )?(out of|away|on (vacation|leave|holiday))|will (be back|return on)|limited access to (e-?mail|my e-?mail)|(estoy|estar[eé]|me encuentro) (fuera|ausente|de vacaciones)|regresar[eé] el|a mi regreso|acceso limitado a(l)? correo|responder[eé] (su|tu|a su|a tu) (correo|mensaje)/i;

export function detectAutomatic(mail: InboundMail, own: OwnIdentity): AutomaticVerdict {
  try {
    return strongest(evidence(mail, own));
  } catch {
    return NONE;
  }
}

function strongest(found: AutomaticVerdict[]): AutomaticVerdict {
  let best = NONE;
  for (const v of found) if (RANK[v.kind] > RANK[best.kind]) best = v;
  return best;
}

function ev(kind: Exclude<AutomaticKind, 'none'>, reason: string): AutomaticVerdict {
  return { is: true, kind, reason };
}

function evidence(mail: InboundMail, own: OwnIdentity): AutomaticVerdict[] {
  const out: AutomaticVerdict[] = [];

  const bounce = bounceReason(mail);
  if (bounce) out.push(ev('bounce', bounce));

  // --- our own mail coming back ---------------------------------------------------------------
  const loopValues = headers(mail, own.loopHeader).map((v) => v.trim().toLowerCase());
  if (loopValues.length > 0 && (own.loopValue === '' || loopValues.includes(own.loopValue.trim().toLowerCase()))) {
    out.push(ev('loop', 'loop header'));
  }
  // A synthesised id carries whatever domain the parser was given, possibly ours: only an id
  // the sender actually wrote counts.
  const idDomain = own.messageIdDomain.trim().toLowerCase();
  if (idDomain !== '' && !mail.messageIdSynthesized && mail.messageId.toLowerCase().endsWith(`@${idDomain}`)) {
    out.push(ev('loop', 'own message-id domain'));
  }
  const ownAddresses = new Set(own.ownAddresses.map((a) => a.trim().toLowerCase()));
  if (mail.from && ownAddresses.has(mail.from.address)) out.push(ev('loop', 'own address sender'));
  // procmail/majordomo convention: X-Loop carries the address of the system that handled it.
  for (const v of headers(mail, 'x-loop')) {
    if ([...ownAddresses].some((a) => v.toLowerCase().includes(a))) out.push(ev('loop', 'x-loop own address'));
  }

  // --- RFC 3834 and the usual autoresponder headers ------------------------------------------
  const autoSubmitted = (header(mail, 'auto-submitted') ?? '').trim().toLowerCase();
  // RFC 3834 §5: any value but "no" (parameters after ';' are allowed) marks automatic mail.
  if (autoSubmitted !== '' && !/^no\b/.test(autoSubmitted)) {
    out.push(ev('auto_reply', `auto-submitted: ${autoSubmitted.split(/[;\s]/)[0] ?? autoSubmitted}`));
  }
  for (const name of ['x-autoreply', 'x-autorespond', 'x-autoresponder', 'x-autogenerated', 'x-autoreply-from', 'x-mail-autoreply', 'x-fc-machinegenerated', 'x-cr-hashedpuzzle-autoreply']) {
    const v = header(mail, name);
    if (v !== undefined && !/^\s*(no|false|0)\s*$/i.test(v)) out.push(ev('auto_reply', name));
  }
  const precedence = (header(mail, 'precedence') ?? '').trim().toLowerCase();
  if (precedence === 'auto_reply' || precedence === 'auto-reply') out.push(ev('auto_reply', `precedence: ${precedence}`));
  else if (precedence === 'bulk' || precedence === 'junk' || precedence === 'list') out.push(ev('list', `precedence: ${precedence}`));

  // RFC 8098 read receipts are answers written by software, not by the person.
  if ((mail.contentTypeParams['report-type'] ?? '').toLowerCase() === 'disposition-notification'
    || mail.attachments.some((a) => a.contentType === 'message/disposition-notification')) {
    out.push(ev('auto_reply', 'multipart/report disposition-notification'));
  }

  // RFC 5321 §4.5.5 / RFC 3834 §3.3: notifications are sent with a null reverse-path.
  const nullPath = isNullReturnPath(mail);
  if (nullPath) out.push(ev('auto_reply', 'null return-path'));

  const local = (mail.from?.address ?? '').split('@')[0] ?? '';
  if (NO_REPLY_LOCAL.test(local)) out.push(ev('auto_reply', 'sender no-reply'));
  else if (!bounce && isDaemonSender(mail)) out.push(ev('auto_reply', /postmaster/i.test(local) ? 'sender postmaster' : 'sender mailer-daemon'));

  /*
   * X-Auto-Response-Suppress is a *request* ("do not send me OOF/auto-replies"), not a claim
   * that the message is automatic. Exchange stamps it on its own OOFs, but Outlook also puts
   * `X-Auto-Response-Suppress: All` / `RN, NRN, OOF` on meeting requests and responses and on
   * some ordinary mail a person wrote. Counting it alone would silently swallow real customer
   * mail, so it only corroborates an out-of-office subject.
   */
  const suppress = (header(mail, 'x-auto-response-suppress') ?? '').toLowerCase();
  const suppressesReplies = /\b(all|autoreply|oof)\b/.test(suppress);
  if (OOF_SUBJECT.test(mail.subject)) {
    const body = (mail.text || mail.html || '').slice(0, 4000);
    // "Respuesta automática: <original subject>" is a prefix only software writes; a phrase
    // merely somewhere in the subject needs the body to read like an absence notice.
    const generatedPrefix = OOF_PREFIX.test(mail.subject)
      && (suppressesReplies || header(mail, 'x-ms-exchange-inbox-rules-loop') !== undefined || mail.inReplyTo.length > 0);
    if (generatedPrefix || OOF_BODY.test(body)) out.push(ev('auto_reply', 'out-of-office subject'));
  }

  // --- mailing lists (RFC 2369 / RFC 2919) ---------------------------------------------------
  const listHeader = ['list-id', 'list-unsubscribe', 'list-post', 'x-mailing-list', 'mailing-list', 'x-beenthere', 'x-mailman-version', 'x-mlserver', 'x-ml-name'].find((n) => header(mail, n) !== undefined);
  if (listHeader && !isOwnList(mail, ownAddresses)) out.push(ev('list', listHeader));

  return out;
}

/**
 * The desk's own mailbox may itself be a group (Google Groups, Microsoft 365 groups), which
 * stamps List-Id/List-Post on every customer message it relays. A list whose posting address
 * or id is ours is not a foreign mailing list.
 */
function isOwnList(mail: InboundMail, ownAddresses: Set<string>): boolean {
  if (ownAddresses.size === 0) return false;
  const post = (header(mail, 'list-post') ?? '').toLowerCase();
  const id = (header(mail, 'list-id') ?? '').toLowerCase();
  for (const a of ownAddresses) {
    if (post.includes(a)) return true;
    // RFC 2919 list-ids are conventionally the posting address with '@' turned into '.'.
    if (id.includes(`<${a.replace('@', '.')}>`)) return true;
  }
  return false;
}
