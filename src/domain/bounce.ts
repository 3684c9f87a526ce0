/**
 * Bounces: recognising a delivery status notification and reading out which of our messages
 * it bounces, for whom, and whether the address is dead for good.
 *
 * Two worlds exist. RFC 3464 DSNs (`multipart/report; report-type=delivery-status`) carry
 * machine-readable per-recipient fields; everything older or lazier (qmail, Exim, old Exchange,
 * many appliances) only writes prose around an SMTP reply. Both are read here: the structured
 * fields win, the prose fills the gaps.
 */
import { header, type InboundMail, type MailAttachment } from './mail.ts';

export interface BounceInfo {
  /** Message-ID (no angle brackets) of the message that bounced, when it could be found. */
  originalMessageId: string | null;
  /** Lower-cased address that could not be reached. */
  recipient: string | null;
  /**
   * RFC 3463 enhanced status, e.g. '5.1.1'. When the server reported none it is inferred from
   * the reply class and the reason (user unknown → x.1.1, mailbox full → x.2.2, ...), as
   * bounce processors conventionally do. A '2.x.x' status means a *success* report
   * (Action: delivered/relayed), not a failure.
   */
  status: string | null;
  /**
   * True when the address itself is dead: a permanent (5xx) failure whose reason is that the
   * mailbox or domain does not exist, has moved, or accepts no mail at all. Permanent refusals
   * of *this message* (spam filter, policy, size, authentication) are not hard: the address is
   * fine and a later, different message may pass. Mailbox full (x.2.2) is soft too even with a
   * 5 — people empty their mailboxes, so treating it as fatal would drop live customers.
   */
  hard: boolean;
  /** The server's own words (Diagnostic-Code or the SMTP reply line), trimmed. */
  diagnostic: string | null;
}

/** Body text is scanned up to this size: diagnostics sit at the top, and regexes stay cheap. */
const SCAN_LIMIT = 64_000;

const DSN_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const FEEDBACK_TYPES = new Set(['message/feedback-report']);
const RETURNED_TYPES = new Set(['message/rfc822', 'text/rfc822-headers', 'message/rfc822-headers', 'message/global', 'message/global-headers', 'message/partial']);

/** Local parts that only mail systems use to send. */
const DAEMON_LOCAL = /^(mailer-?daemon|mail-?daemon|mailerdaemon|post[-_.]?master|mdaemon|mail\.?delivery(?:\.?system)?)$/;
const DAEMON_NAME = /mail delivery (sub)?system|mailer[- ]?daemon|postmaster|mail administrator|mail delivery service|microsoft outlook|servicio de entrega|sistema de entrega/i;

/**
 * Subjects that bounce generators use. Anchored loosely: Exchange puts the original subject
 * after "Undeliverable:", others prefix with "Returned mail:" or stand alone.
 */
const BOUNCE_SUBJECT = new RegExp([
  'undeliver(ed|able)',
  'returned mail',
  'returned to sender',
  'delivery status notification',
  'delivery (has )?fail',
  'delivery failure',
  'delivery notification',
  'mail delivery failed',
  'message delivery failure',
  'failure notice',
  'non[- ]?delivery',
  'nondeliverable',
  'not delivered',
  'could not be delivered',
  "couldn't be delivered",
  'delayed mail',
  'delivery delayed',
  'warning: could not send',
  'mail system error',
  'unzustellbar',
  'non remis',
  'non recapitabile',
  'no se puede entregar',
  'no se pudo entregar',
  'imposible entregar',
  'mensaje no entregado',
  'correo no entregado',
  'no entregad[oa]',
  'entrega fallida',
  'error (en la|de) entrega',
  'notificaci[oó]n (del? )?estado de (la )?entrega',
  'notificaci[oó]n del estado del env[ií]o',
  'mensaje devuelto',
  'correo devuelto',
].join('|'), 'i');

/** Wording in the body of vendor bounces; corroborates a bounce subject or a daemon sender. */
const BOUNCE_BODY = /could not be delivered|couldn't be delivered|was not delivered|wasn't delivered|delivery (has )?failed|failed permanently|permanent (fatal )?errors?|undeliverable|not able to deliver|unable to deliver|wasn't able to deliver|delivery to the following recipients?|following (address|recipient)\(?e?s\)? failed|could not reach|no se (pudo|puede) entregar|no pudo ser entregado|error permanente|RCPT TO|mailbox unavailable|user unknown/i;

/** Marks where the returned copy of the original message begins inside a prose bounce. */
const RETURNED_COPY = /^[ \t\-=*_#>]*(below this line is a copy of the message|this is a copy of the message|original message (headers|follows)|original message\s*-|returned message|message headers follow|(the )?headers? of the original message|copy of the original message|included is a copy|original-message|mensaje original|encabezados del mensaje original)/im;

/** Where the message is a bounce, the short reason code; null otherwise. Used by `detectAutomatic`. */
export function bounceReason(mail: InboundMail): string | null {
  try {
    return bounceReasonUnsafe(mail);
  } catch {
    return null;
  }
}

function bounceReasonUnsafe(mail: InboundMail): string | null {
  const reportType = (mail.contentTypeParams['report-type'] ?? '').toLowerCase();
  const types = mail.attachments.map((a) => a.contentType);
  if (reportType === 'delivery-status' || reportType === 'global-delivery-status' || types.some((t) => DSN_TYPES.has(t))) {
    return 'multipart/report delivery-status';
  }
  // RFC 5965 abuse reports (ARF) are the mail system telling us about one of our messages,
  // like a bounce; the decision step sees status null and hard false.
  if (reportType === 'feedback-report' || types.some((t) => FEEDBACK_TYPES.has(t))) return 'multipart/report feedback-report';
  // Exim names the failed addresses in a header of its own; Exchange flags its NDRs.
  if (header(mail, 'x-failed-recipients')) return 'x-failed-recipients';
  if (header(mail, 'x-ms-exchange-message-is-ndr') !== undefined) return 'exchange ndr';

  const daemon = isDaemonSender(mail);
  const subject = BOUNCE_SUBJECT.test(mail.subject);
  const body = BOUNCE_BODY.test(bodyText(mail).slice(0, 8000));
  const returned = types.some((t) => RETURNED_TYPES.has(t));
  if (daemon === 'daemon' && (subject || body || returned || isNullReturnPath(mail))) return 'sender mailer-daemon';
  if (daemon === 'daemon' && isMailerDaemonLocal(mail)) return 'sender mailer-daemon';
  // The original message sent back by a sender that accepts no replies is a bounce in all but
  // name (carriers' gateways write the prose in their own language).
  if (returned && (isNullReturnPath(mail) || NO_REPLY_LOCAL.test(localPart(mail.from?.address ?? '')))) return 'returned message';
  // A bounce-looking subject alone could be a customer forwarding one to us ("Fwd: Undeliverable:
  // ...") — require a second, machine-made sign.
  if (subject && !/^\s*(fwd?|rv|reenv(iado)?|tr|wg)\s*:/i.test(mail.subject)
    && (isNullReturnPath(mail) || returned || daemon !== null || (body && autoSubmitted(mail)))) {
    return 'bounce subject';
  }
  return null;
}

/**
 * `null` when not a bounce. Pure and total: malformed input yields partial information or
 * null, never an exception.
 */
export function parseBounce(mail: InboundMail): BounceInfo | null {
  try {
    const reason = bounceReasonUnsafe(mail);
    if (reason === null) return null;
    return readBounce(mail, reason);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------

interface RecipientFields {
  finalRecipient: string | null;
  originalRecipient: string | null;
  action: string | null;
  status: string | null;
  diagnostic: string | null;
}

function readBounce(mail: InboundMail, reason: string): BounceInfo {
  const text = bodyText(mail).slice(0, SCAN_LIMIT);
  const { head: prose, quoted } = splitReturnedCopy(text);
  const own = excludedAddresses(mail);

  if (reason === 'multipart/report feedback-report') return readFeedback(mail, text, own);

  const dsn = pickRecipientBlock(dsnBlocks(mail, text));
  const vendor = readProse(prose, own, mail);

  let recipient = dsn?.finalRecipient ?? dsn?.originalRecipient ?? vendor.recipient;
  if (recipient !== null && own.has(recipient)) recipient = vendor.recipient;
  recipient ??= returnedHeaderAddress(mail, quoted, 'to', own);

  const diagnostic = clean(dsn?.diagnostic ?? null) ?? vendor.diagnostic;
  let status = dsn?.status ?? null;
  const diagStatus = findStatus(diagnostic ?? '');
  // The Status field is the *reporting* MTA's summary ("5.0.0" when it does not know better,
  // "4.4.7" when it gave up retrying); the remote server's own code quoted in Diagnostic-Code
  // says why. Same class, so the permanence verdict does not change.
  if (diagStatus && (status === null || diagStatus[0] === status[0])) status = diagStatus;
  status ??= vendor.status;

  const action = (dsn?.action ?? '').toLowerCase();
  const replyCode = findReplyCode(diagnostic ?? '') ?? vendor.replyCode;
  const cause = classify(diagnostic, status, `${mail.subject}\n${prose}`);
  const cls = failureClass(action, status, replyCode, `${mail.subject}\n${prose}`);
  if (status === null && cls !== null) status = inferStatus(cls, cause);
  // A server that accepted RCPT TO has already said the mailbox exists; "user unknown" after
  // DATA is a content filter dressed up (or a broken MTA), not proof the address is dead.
  const afterData = /in reply to end of data|after end of data|after data:|reply to data command/i.test(`${diagnostic ?? ''}\n${prose.slice(0, 8000)}`);
  const hard = cls === '5' && HARD_CAUSES.has(cause) && !afterData;

  return {
    originalMessageId: originalMessageId(mail, quoted),
    recipient,
    status,
    hard,
    diagnostic,
  };
}

function readFeedback(mail: InboundMail, text: string, own: Set<string>): BounceInfo {
  const report = mail.attachments.find((a) => FEEDBACK_TYPES.has(a.contentType));
  const fields = report ? parseFieldBlock(asText(report)) : new Map<string, string>();
  const rcpt = fields.get('original-rcpt-to') ?? null;
  const type = fields.get('feedback-type') ?? null;
  const { quoted } = splitReturnedCopy(text);
  return {
    originalMessageId: originalMessageId(mail, quoted),
    recipient: firstAddress(rcpt ?? '') ?? returnedHeaderAddress(mail, quoted, 'to', own),
    status: null,
    hard: false,
    diagnostic: type ? `feedback-type: ${type}` : 'feedback-report',
  };
}

// --- RFC 3464 fields ---------------------------------------------------------------------------

/**
 * The per-recipient blocks of every delivery-status part. Some generators put the fields in a
 * text/plain part instead; the prose is searched for them as a fallback.
 */
function dsnBlocks(mail: InboundMail, text: string): RecipientFields[] {
  const out: RecipientFields[] = [];
  const sources = mail.attachments.filter((a) => DSN_TYPES.has(a.contentType)).map(asText);
  if (sources.length === 0 && /^\s*(final|original)-recipient\s*:/im.test(text)) sources.push(text);
  for (const src of sources) {
    for (const block of src.split(/\r?\n[ \t]*\r?\n/)) {
      const f = parseFieldBlock(block);
      const fr = f.get('final-recipient');
      const or = f.get('original-recipient');
      if (fr === undefined && or === undefined && !f.has('action')) continue;
      out.push({
        finalRecipient: fr ? firstAddress(stripType(fr)) : null,
        originalRecipient: or ? firstAddress(stripType(or)) : null,
        action: f.get('action')?.trim() ?? null,
        status: findStatus(f.get('status') ?? ''),
        diagnostic: f.has('diagnostic-code') ? stripType(f.get('diagnostic-code') ?? '') : null,
      });
    }
  }
  return out;
}

/** The first recipient that failed; a DSN may also list delivered or delayed ones. */
function pickRecipientBlock(blocks: RecipientFields[]): RecipientFields | null {
  return blocks.find((b) => /fail/i.test(b.action ?? ''))
    ?? blocks.find((b) => b.status?.startsWith('5'))
    ?? blocks[0] ?? null;
}

/** RFC 822-style "Name: value" lines with folding; keys lower-cased, first value wins. */
function parseFieldBlock(block: string): Map<string, string> {
  const out = new Map<string, string>();
  const unfolded = block.replace(/\r?\n[ \t]+/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    const m = /^([A-Za-z][A-Za-z0-9-]*)\s*:\s*(.*)$/.exec(line);
    if (m && !out.has((m[1] as string).toLowerCase())) out.set((m[1] as string).toLowerCase(), (m[2] as string).trim());
  }
  return out;
}

/** "rfc822; user@x" → "user@x"; "smtp; 550 ..." → "550 ..." (RFC 3464 address-type / diagnostic-type). */
function stripType(v: string): string {
  return v.replace(/^\s*[A-Za-z0-9-]+\s*;\s*/, '');
}

// --- prose bounces -----------------------------------------------------------------------------

interface ProseFacts {
  recipient: string | null;
  status: string | null;
  replyCode: string | null;
  diagnostic: string | null;
}

/**
 * Vendor formats, in decreasing order of trust for the recipient:
 *  - Exim's `X-Failed-Recipients` header;
 *  - Postfix/qmail: a line starting `<user@host>:`;
 *  - `RCPT TO:<user@host>` quoted from the SMTP transcript;
 *  - a line holding just an address (Exim, Gmail, Exchange "user@host on 3/10/2010");
 *  - any other address near the top that is neither ours nor the daemon's.
 * The diagnostic is the first line carrying an SMTP reply code or enhanced status.
 */
function readProse(prose: string, own: Set<string>, mail: InboundMail): ProseFacts {
  const usable = (a: string | null): a is string => a !== null && !own.has(a) && !isDaemonAddress(a);
  const candidates: (string | null)[] = [];
  const xfr = header(mail, 'x-failed-recipients');
  if (xfr) candidates.push(firstAddress(xfr));
  for (const m of prose.matchAll(/^[ \t]*<([^<>\s@]+@[^<>\s]+)>:?/gm)) candidates.push(norm(m[1]));
  for (const m of prose.matchAll(/RCPT TO:?\s*<?([^<>\s@]+@[^<>\s]+?)>?(?:\s|$)/gi)) candidates.push(norm(m[1]));
  for (const line of prose.split(/\r?\n/)) {
    // Short lines only: keeps the line pattern's backtracking bounded on hostile input.
    if (line.length > 300 || !line.includes('@')) continue;
    const m = /^[ \t>]*(?:"[^"]*"\s*|[^\s<>@]+\s+)?<?(?:mailto:)?([^\s<>@:"]+@[^\s<>:"]+?)>?(?:\s+on\s+.*|\s*[:.]?)[ \t]*$/i.exec(line);
    if (m) candidates.push(norm(m[1]));
  }
  candidates.push(...addressesIn(prose, 50));
  const recipient = candidates.find(usable) ?? null;

  const line = diagnosticLine(prose);
  return {
    recipient,
    status: findStatus(line ?? '') ?? findStatus(prose),
    replyCode: findReplyCode(line ?? ''),
    diagnostic: line,
  };
}

/**
 * The SMTP reply as the server phrased it. Prose bounces wrap it over several lines, so the
 * line with the code is joined with indented continuations.
 */
function diagnosticLine(prose: string): string | null {
  const lines = prose.split(/\r?\n/);
  const isReply = (l: string): boolean => /(?<![\w./-])[245]\d\d(?![\w.])|(?<![\d.])[245]\.\d{1,3}\.\d{1,3}(?![\d]|\.\d)/.test(l)
    && !/^\s*(received|date|arrival-date|message-id|x-[\w-]+|content-[\w-]+)\s*:/i.test(l)
    && !/\b\d{1,2}:\d\d:\d\d\b/.test(l);
  const at = lines.findIndex(isReply);
  if (at < 0) return reasonAfterRecipient(lines);
  let out = (lines[at] as string).trim();
  for (let i = at + 1; i < lines.length && i < at + 4; i++) {
    const next = lines[i] as string;
    if (!/^[ \t]+\S/.test(next) || /^\s*<[^>]+@[^>]+>:/.test(next) || isReply(next) && /^\s*\S+@\S+\s*$/.test(next)) break;
    out += ` ${next.trim()}`;
  }
  return clean(out);
}

/**
 * Without an SMTP code, Exim, Exchange 2003 and qmail still put the reason on the line(s) right
 * under the failed address: "  user@host\n    The recipient name is not recognized".
 */
function reasonAfterRecipient(lines: string[]): string | null {
  const at = lines.findIndex((l) => /^\s*(?:<[^<>\s]+@[^<>\s]+>:?|[^\s<>@]+@[^\s<>@]+(?:\s+on\s.*)?)\s*$/.test(l));
  if (at < 0) return null;
  const out: string[] = [];
  for (let i = at + 1; i < lines.length && out.length < 3; i++) {
    const l = (lines[i] as string).trim();
    if (l === '') { if (out.length > 0) break; continue; }
    if (/@/.test(l) && /^\S+@\S+$/.test(l)) break;
    out.push(l);
  }
  return clean(out.join(' '));
}

// --- status, class and cause ---------------------------------------------------------------

function findStatus(s: string): string | null {
  const m = /(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d]|\.\d)/.exec(s);
  return m ? `${m[1]}.${m[2]}.${m[3]}` : null;
}

function findReplyCode(s: string): string | null {
  const m = /(?<![\w./-])([245]\d\d)(?![\w.])/.exec(s);
  return m ? (m[1] as string) : null;
}

type Cause = 'userunknown' | 'hostunknown' | 'hasmoved' | 'notaccept' | 'mailboxfull' | 'expired' | 'sender' | 'policy' | 'other';
const HARD_CAUSES = new Set<Cause>(['userunknown', 'hostunknown', 'hasmoved', 'notaccept']);

/** Wording of the remote server beats the status subject: "550 5.2.1 ... User Unknown" is a dead address. */
const CAUSE_WORDS: [Cause, RegExp][] = [
  // Complaints about *our* side (sender address, IP reputation, rate, authentication) come
  // first: servers often wrap them in a 5.1.1 or "recipient rejected" that says nothing of the
  // recipient's mailbox.
  ['sender', /sender (address|domain)|domain of sender|from address|envelope sender|mail from/i],
  ['policy', /black ?list|block ?list|blocked|banned|spam|policy|open relay|not authori[sz]ed|reputation|refused due to|recipient preferences|too many|rate limit|dmarc|\bspf\b|dkim|authentication|unauthenticated|virus|content rejected|relay(ing)? (denied|not permitted)|redundant/i],
  ['mailboxfull', /mailbox (is )?full|over ?quota|quota exceeded|exceeded (its|the|his|her)? ?(storage|quota)|insufficient (system )?storage|mailbox size limit|mail ?box has exceeded|buz[oó]n (est[aá] )?lleno|cuota excedida/i],
  ['hostunknown', /host (or domain name )?not found|host unknown|unknown host|domain (name )?not found|no such domain|domain does not exist|unrouteable address|nxdomain|no mx (record|host)|domain .{0,40}(is )?not (a )?valid|dominio no existe/i],
  ['notaccept', /does not accept (e-?)?mail|null mx|accepts no mail|no smtp service|couldn't find a mail exchanger|find any mx|no mail exchanger/i],
  ['hasmoved', /has moved|no longer (at|with)|address (has )?changed/i],
  ['userunknown', /user unknown|unknown user|no such (user|mailbox|recipient|account)|user (does not|doesn't) exist|(mailbox|account|address|recipient|user)( [\w@.<>-]+)? (does not|doesn't) exist|(recipient|mailbox|user|address|account) (was )?not found|recipnotfound|unknown (local[- ]part|recipient|mailbox|address)|invalid (recipient|mailbox|address|user)|(mailbox|address|user) (is )?(invalid|unavailable)|not a valid (mailbox|user|recipient)|email account that you tried to reach does not exist|(doesn't|does not) have an? [\w.-]+ account|recipient name is not recognized|no mailbox here|mailbox not found|not our customer|recipient rejected|usuario (desconocido|no existe)|la cuenta .{0,30}no existe|direcci[oó]n .{0,30}no (existe|se encontr[oó])/i],
  ['expired', /retry timeout exceeded|delivery time expired|message expired|too long in queue|giving up|could not be delivered for \d+|has been delayed|delivery delayed|will (continue to )?(retry|try)/i],
];

function classify(diagnostic: string | null, status: string | null, prose: string): Cause {
  const byWords = (s: string): Cause | null => CAUSE_WORDS.find(([, re]) => re.test(s))?.[0] ?? null;
  // x.1.7 / x.1.8 name the *sender's* address as the problem, whatever the prose says.
  if (status && /^\d\.1\.[78]$/.test(status)) return 'sender';
  if (diagnostic) {
    const c = byWords(diagnostic);
    if (c) return c;
  }
  if (status) {
    const detail = status.slice(2);
    if (detail === '1.7' || detail === '1.8') return 'sender';
    if (detail === '1.1') return 'userunknown';
    if (detail === '1.2') return 'hostunknown';
    if (detail === '1.6') return 'hasmoved';
    if (detail === '1.10') return 'notaccept';
    if (detail === '2.2') return 'mailboxfull';
    if (detail === '4.7') return 'expired';
  }
  return byWords(prose.slice(0, 4000)) ?? 'other';
}

/** '5' permanent, '4' transient, '2' success report; null when nothing tells. */
function failureClass(action: string, status: string | null, reply: string | null, prose: string): '2' | '4' | '5' | null {
  if (action === 'delayed') return '4';
  if (action === 'delivered' || action === 'relayed' || action === 'expanded') return '2';
  const fromCode = (status ?? reply ?? '')[0];
  if (fromCode === '2' || fromCode === '4' || fromCode === '5') {
    // A transient reply that the MTA stopped retrying is, for the sender, a permanent failure;
    // but the address is not proven dead, so the class stays 4 and `hard` false.
    return fromCode;
  }
  if (action === 'failed') return '5';
  if (/permanent|fatal|failed permanently|error permanente|gave up|giving up/i.test(prose.slice(0, 4000))) return '5';
  if (/temporar|delayed|will retry|will be retried|still being retried|warning only|still trying|retrasad|demorad|se reintentar/i.test(prose.slice(0, 4000))) return '4';
  // A bounce that says nothing about retrying is a final failure report.
  return '5';
}

function inferStatus(cls: '2' | '4' | '5', cause: Cause): string {
  if (cls === '2') return '2.0.0';
  const detail: Record<Cause, string> = {
    userunknown: '1.1', hostunknown: '1.2', hasmoved: '1.6', notaccept: '1.10', mailboxfull: '2.2', expired: '4.7', sender: '1.8', policy: '7.0', other: '0.0',
  };
  return `${cls}.${detail[cause]}`;
}

// --- the original message ------------------------------------------------------------------

/**
 * The Message-ID of the bounced message: from the returned message or its headers (RFC 3462
 * third part), else from headers quoted in the prose, else from In-Reply-To/References, which
 * Exchange and some others set on their NDRs.
 */
function originalMessageId(mail: InboundMail, quoted: string): string | null {
  for (const a of mail.attachments) {
    if (!RETURNED_TYPES.has(a.contentType)) continue;
    const id = messageIdIn(headerBlock(asText(a)));
    if (id) return id;
  }
  for (const src of [quoted, bodyText(mail).slice(0, SCAN_LIMIT)]) {
    for (const m of src.matchAll(/^[ \t>]*Message-ID\s*:\s*(.*)$/gim)) {
      const id = messageIdIn(`Message-ID: ${m[1] ?? ''}`);
      if (id) return id;
    }
  }
  return mail.inReplyTo[0] ?? mail.references[mail.references.length - 1] ?? null;
}

function messageIdIn(block: string): string | null {
  const unfolded = block.replace(/\r?\n[ \t]+/g, ' ');
  const m = /^[ \t>]*Message-ID\s*:\s*<?\s*([^\s<>]+@[^\s<>]+?)\s*>?\s*$/im.exec(unfolded)
    ?? /^[ \t>]*Message-ID\s*:\s*<([^<>\s]+)>/im.exec(unfolded);
  return m ? (m[1] as string) : null;
}

/** The header section of a returned message (everything up to the first blank line). */
function headerBlock(s: string): string {
  const m = /\r?\n[ \t]*\r?\n/.exec(s);
  return m ? s.slice(0, m.index) : s;
}

function returnedHeaderAddress(mail: InboundMail, quoted: string, name: string, own: Set<string>): string | null {
  const sources = mail.attachments.filter((a) => RETURNED_TYPES.has(a.contentType)).map((a) => headerBlock(asText(a)));
  sources.push(quoted);
  for (const src of sources) {
    const f = parseFieldBlock(src);
    const a = firstAddress(f.get(name) ?? '');
    if (a && !own.has(a)) return a;
  }
  return null;
}

function splitReturnedCopy(text: string): { head: string; quoted: string } {
  const marker = RETURNED_COPY.exec(text);
  // Headers pasted without a marker line: the first "Received:"/"Return-Path:" at column 0.
  const hdr = /^(Return-Path|Received|DKIM-Signature)\s*:/im.exec(text);
  const cut = Math.min(marker?.index ?? Infinity, hdr?.index ?? Infinity);
  if (!Number.isFinite(cut) || cut === 0) return { head: text, quoted: text };
  return { head: text.slice(0, cut), quoted: text.slice(cut) };
}

// --- senders and helpers -------------------------------------------------------------------

/** 'daemon' for mailer-daemon/postmaster-like senders; null otherwise. */
export function isDaemonSender(mail: InboundMail): 'daemon' | null {
  const from = mail.from;
  if (from && (isDaemonAddress(from.address) || DAEMON_NAME.test(from.name))) return 'daemon';
  // "From: MAILER-DAEMON <>" or a bare "From: mailer-daemon" leave no parsable address.
  if (!from?.address.includes('@') && /mailer-?daemon|postmaster|mail delivery/i.test(header(mail, 'from') ?? '')) return 'daemon';
  const rp = firstAddress(header(mail, 'return-path') ?? '');
  if (rp && isDaemonAddress(rp)) return 'daemon';
  return null;
}

function isMailerDaemonLocal(mail: InboundMail): boolean {
  const from = mail.from?.address.includes('@') ? `${mail.from.address} ${mail.from.name}` : header(mail, 'from') ?? '';
  return /(^|[\s<"])(mailer-?daemon|mail-?daemon)\b|mail delivery (sub)?system/i.test(from);
}

function localPart(address: string): string {
  return (address.split('@')[0] ?? '').toLowerCase();
}

/** Senders that by convention never read replies. Spanish variants are common in Mexico. */
export const NO_REPLY_LOCAL = /(^|[-_.+])(no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply|no[-_.]?responder|no[-_.]?responda|no[-_.]?contestar|no[-_.]?conteste|no[-_.]?response|no[-_.]?respuesta)([-_.+]|$)/;

function isDaemonAddress(address: string): boolean {
  return DAEMON_LOCAL.test(localPart(address));
}

/** RFC 5321 §4.5.5: notifications go out with a null reverse-path, seen here as `Return-Path: <>`. */
export function isNullReturnPath(mail: InboundMail): boolean {
  const rp = header(mail, 'return-path');
  return rp !== undefined && /^<\s*>$/.test(rp.trim());
}

function autoSubmitted(mail: InboundMail): boolean {
  const v = header(mail, 'auto-submitted');
  return v !== undefined && !/^\s*no\b/i.test(v);
}

/** The bounce's own addressees and sender: never the failed recipient. */
function excludedAddresses(mail: InboundMail): Set<string> {
  const s = new Set<string>();
  if (mail.from) s.add(mail.from.address);
  // Only the visible addressees: some agents (DragonFly) put the *failed* recipient in
  // X-Original-To, so envelope headers cannot be trusted to name us.
  for (const a of [...mail.to, ...mail.cc, ...mail.replyTo]) s.add(a.address);
  return s;
}

function bodyText(mail: InboundMail): string {
  if (mail.text.trim().length > 0) return mail.text;
  if (!mail.html) return '';
  return mail.html.slice(0, SCAN_LIMIT * 2)
    .replace(/<(br|\/p|\/div|\/tr|\/li)[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&nbsp;/g, ' ').replace(/&amp;/g, '&');
}

function asText(a: MailAttachment): string {
  return a.content.subarray(0, SCAN_LIMIT).toString('utf8');
}

function firstAddress(s: string): string | null {
  return addressesIn(s, 1)[0] ?? null;
}

const LOCAL_CHAR = /[A-Za-z0-9._%+'=/!#$&*?^`{|}~-]/;
const DOMAIN_CHAR = /[A-Za-z0-9.-]/;

/**
 * Addresses in free text, lower-cased, in order. Scans from each '@' outwards with bounded
 * lengths (RFC 5321: 64-octet local part, 255-octet domain) instead of one big regex, whose
 * backtracking is quadratic on long runs of letters.
 */
function addressesIn(s: string, limit: number): string[] {
  const out: string[] = [];
  for (let at = s.indexOf('@'); at >= 0 && out.length < limit; at = s.indexOf('@', at + 1)) {
    let a = at;
    while (a > 0 && at - a < 64 && LOCAL_CHAR.test(s[a - 1] as string)) a--;
    let b = at + 1;
    while (b < s.length && b - at <= 255 && DOMAIN_CHAR.test(s[b] as string)) b++;
    const local = s.slice(a, at).replace(/^\.+/, '');
    const domain = s.slice(at + 1, b).replace(/[.-]+$/, '');
    if (local !== '' && /[A-Za-z0-9]/.test(domain)) out.push(`${local}@${domain}`.toLowerCase());
  }
  return out;
}

function norm(s: string | undefined): string | null {
  return s ? firstAddress(s) : null;
}

function clean(s: string | null): string | null {
  if (s === null) return null;
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length === 0 ? null : t.slice(0, 500);
}
