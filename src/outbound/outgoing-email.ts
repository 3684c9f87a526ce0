/**
 * An email ready to send, as stored in the outbox's payload: rendering happened when the change
 * that caused it was committed, so the dispatcher only delivers.
 */
export interface OutgoingEmail {
  from: { name: string; address: string };
  to: string;
  replyTo: string;
  subject: string;
  text: string;
  html: string | null;
  /** Without angle brackets. */
  messageId: string;
  inReplyTo: string | null;
  references: string[];
  /** Extra headers: Auto-Submitted, X-Auto-Response-Suppress, the loop header. */
  headers: Record<string, string>;
}

/** The nodemailer message options for an OutgoingEmail (shared by the SMTP and file senders). */
export function toMailOptions(e: OutgoingEmail): Record<string, unknown> {
  return {
    from: { name: e.from.name, address: e.from.address },
    to: e.to,
    replyTo: e.replyTo,
    subject: e.subject,
    text: e.text,
    ...(e.html ? { html: e.html } : {}),
    messageId: `<${e.messageId}>`,
    ...(e.inReplyTo ? { inReplyTo: `<${e.inReplyTo}>` } : {}),
    ...(e.references.length > 0 ? { references: e.references.map((r) => `<${r}>`).join(' ') } : {}),
    headers: e.headers,
    // Envelope sender: bounces come back to the mailbox that sent it, where intake ties them
    // to this message through its Message-ID.
    envelope: { from: e.from.address, to: [e.to] },
  };
}
