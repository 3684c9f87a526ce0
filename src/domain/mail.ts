/**
 * The inbound email as the pipeline sees it: parsed once at the edge (see
 * `intake/email/parse-mail.ts`) into plain data, so every later step is a pure function.
 */

export interface MailAddress {
  /** Lower-cased address, e.g. `cliente@example.com`. */
  address: string;
  /** Display name, '' when absent. */
  name: string;
}

export interface MailAttachment {
  filename: string | null;
  /** Lower-cased MIME type, e.g. `message/delivery-status`. */
  contentType: string;
  size: number;
  content: Buffer;
  /** True for inline parts referenced from the HTML (cid:), which are not user attachments. */
  related: boolean;
}

export interface InboundMail {
  /** Message-ID without angle brackets; synthesised from the source's hash when missing. */
  messageId: string;
  messageIdSynthesized: boolean;
  from: MailAddress | null;
  replyTo: MailAddress[];
  to: MailAddress[];
  cc: MailAddress[];
  subject: string;
  date: Date | null;
  /** Message-IDs without angle brackets, in header order. */
  inReplyTo: string[];
  references: string[];
  /**
   * Every header line, unfolded and decoded, keyed by lower-cased name; values keep header
   * order. `header(mail, 'auto-submitted')` reads the first value.
   */
  headers: Record<string, string[]>;
  /** Lower-cased top-level MIME type, e.g. `multipart/report`. */
  contentType: string;
  /** Parameters of the top-level Content-Type, lower-cased keys (e.g. `report-type`). */
  contentTypeParams: Record<string, string>;
  /** Plain text body ('' when the message had only HTML and it could not be converted). */
  text: string;
  html: string | null;
  attachments: MailAttachment[];
  /** Size in bytes of the raw source. */
  rawSize: number;
}

/** First value of a header, or undefined. Header names are case-insensitive. */
export function header(mail: Pick<InboundMail, 'headers'>, name: string): string | undefined {
  return mail.headers[name.toLowerCase()]?.[0];
}

/** All values of a header (e.g. several `Received` lines). */
export function headers(mail: Pick<InboundMail, 'headers'>, name: string): string[] {
  return mail.headers[name.toLowerCase()] ?? [];
}
