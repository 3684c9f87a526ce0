/**
 * An email ready to send, as stored in the outbox's payload: rendering happened when the change
 * that caused it was committed, so the dispatcher only delivers.
 */
export interface OutgoingEmail {
  from: { name: string; address: string };
  to: string;
  /** Copied (an organisation's coordinator, by its contract); absent: none. */
  cc?: string[];
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
  /**
   * Files relayed with the message (an agent's attachments), by reference: the content stays in
   * the blob store and the sender reads it at send time, so the outbox row stays small.
   */
  attachments?: AttachmentRef[];
}

/** A stored blob to attach: its content address and how to name it. */
export interface AttachmentRef {
  /** SHA-256 of the content (hex): the blob's id, checked again when it is read. */
  sha256: string;
  filename: string | null;
  contentType: string;
  size: number;
}

/** An attachment's content, read by the sender just before composing. */
export interface LoadedAttachment { ref: AttachmentRef; content: Buffer }

/**
 * The nodemailer message options for an OutgoingEmail (shared by the SMTP and file senders).
 * `attachments` are the contents of `e.attachments`, in the same order, as the sender read them.
 */
export function toMailOptions(e: OutgoingEmail, attachments: LoadedAttachment[] = []): Record<string, unknown> {
  return {
    from: { name: e.from.name, address: e.from.address },
    to: e.to,
    ...(e.cc && e.cc.length > 0 ? { cc: e.cc } : {}),
    replyTo: e.replyTo,
    subject: e.subject,
    text: e.text,
    ...(e.html ? { html: e.html } : {}),
    messageId: `<${e.messageId}>`,
    ...(e.inReplyTo ? { inReplyTo: `<${e.inReplyTo}>` } : {}),
    ...(e.references.length > 0 ? { references: e.references.map((r) => `<${r}>`).join(' ') } : {}),
    headers: e.headers,
    ...(attachments.length > 0 ? {
      attachments: attachments.map(({ ref, content }) => ({
        ...(ref.filename ? { filename: ref.filename } : {}),
        contentType: ref.contentType,
        content,
        contentDisposition: 'attachment',
      })),
    } : {}),
    // Envelope sender: bounces come back to the mailbox that sent it, where intake ties them
    // to this message through its Message-ID.
    envelope: { from: e.from.address, to: [e.to, ...(e.cc ?? [])] },
  };
}
