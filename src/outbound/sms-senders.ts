import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import twilio from 'twilio';
import { SendError } from './email-senders.ts';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { RedirectingRequestClient } from './twilio-redirect.ts';

export interface OutgoingSms {
  /** E.164, e.g. +525512345678 */
  to: string;
  body: string;
  /** Our id for the message (idempotency, logs, file name); never sent to Twilio. */
  ref: string;
}

export interface SmsSender {
  readonly kind: string;
  send(sms: OutgoingSms): Promise<{ sid: string | null }>;
  close(): Promise<void>;
}

export interface TwilioSettings {
  accountSid: string;
  authToken: string;
  /** E.164 number, alphanumeric sender id, or a Messaging Service SID (`MG…`). */
  from: string;
  /** Tests only: base URL of a local fake, e.g. http://127.0.0.1:PORT. Unset in production. */
  apiBaseUrl?: string;
  timeoutMs?: number;
}

const E164 = /^\+[1-9]\d{6,14}$/;
const MESSAGING_SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;
/**
 * Twilio refuses a body longer than 1600 characters (error 21617, "concatenated message body
 * exceeds the 1600 character limit"); a long notice is better cut than lost, so we trim.
 */
export const SMS_MAX_CHARS = 1600;

/**
 * SMS through Twilio's Programmable Messaging (`messages.create`), best effort. A 4xx answer is
 * final: 21614 ("not a mobile number" — a landline), 21211 (invalid number), 21610 (recipient
 * replied STOP) and their kin will not change on a retry. 429 (rate limited), 5xx, timeouts and
 * network errors are transient and the dispatcher retries them with its backoff — the SDK's own
 * 429 auto-retry stays off so there is one retry policy, the outbox's.
 */
export class TwilioSmsSender implements SmsSender {
  readonly kind = 'twilio';
  private readonly http: RequestClient;
  private readonly client: ReturnType<typeof twilio>;

  constructor(private readonly s: TwilioSettings) {
    const timeout = s.timeoutMs ?? 30_000;
    // In production this is the very client the SDK would build for itself; we build it so that
    // close() can release its keep-alive sockets.
    this.http = s.apiBaseUrl ? new RedirectingRequestClient(s.apiBaseUrl, timeout) : new twilio.RequestClient({ timeout });
    this.client = twilio(s.accountSid, s.authToken, { httpClient: this.http, timeout, autoRetry: false });
  }

  async send(sms: OutgoingSms): Promise<{ sid: string | null }> {
    if (!E164.test(sms.to)) throw new SendError(`twilio: destination is not E.164 (ref ${sms.ref})`, true);
    const sender = MESSAGING_SERVICE_SID.test(this.s.from) ? { messagingServiceSid: this.s.from } : { from: this.s.from };
    try {
      const msg = await this.client.messages.create({ to: sms.to, body: trimSmsBody(sms.body), ...sender });
      return { sid: msg.sid ?? null };
    } catch (err) {
      throw this.toSendError(err);
    }
  }

  private toSendError(err: unknown): SendError {
    const e = err as { status?: unknown; code?: unknown; message?: unknown };
    const text = this.scrub(typeof e.message === 'string' ? e.message : String(err)).slice(0, 200);
    // RestException (legacy error JSON) and TwilioServiceException (RFC 9457) both carry the
    // HTTP status in `status` and Twilio's error code in `code`; axios network errors carry a
    // string `code` (ECONNREFUSED, ECONNABORTED) and no numeric status.
    if (typeof e.status === 'number') {
      const permanent = e.status >= 400 && e.status < 500 && e.status !== 429;
      const code = typeof e.code === 'number' || typeof e.code === 'string' ? e.code : '-';
      return new SendError(`twilio ${code} ${e.status}: ${text}`, permanent, e.status);
    }
    const code = typeof e.code === 'string' ? e.code : 'ESEND';
    return new SendError(`twilio ${code}: ${text}`, false, null);
  }

  /** Belt and braces: no error text leaves this class carrying the auth token. */
  private scrub(text: string): string {
    return this.s.authToken ? text.split(this.s.authToken).join('***') : text;
  }

  async close(): Promise<void> {
    const d = this.http.axios.defaults;
    for (const agent of [d.httpAgent, d.httpsAgent] as Array<{ destroy?: () => void } | undefined>) agent?.destroy?.();
  }
}

/**
 * Cuts a body to Twilio's limit. Twilio counts UTF-16 code units (a UCS-2 segment), so the cut is
 * by `length`, moved back one unit rather than split an emoji's surrogate pair.
 */
export function trimSmsBody(body: string): string {
  if (body.length <= SMS_MAX_CHARS) return body;
  const last = body.charCodeAt(SMS_MAX_CHARS - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? SMS_MAX_CHARS - 1 : SMS_MAX_CHARS;
  return body.slice(0, end);
}


/**
 * The embedded default: each SMS is written to `<dir>/<ref>.txt` (To, From, Body), so a newcomer
 * sees exactly what would be sent. Writing the same ref again overwrites: at-least-once delivery
 * from the outbox leaves one file.
 */
export class FileSmsSender implements SmsSender {
  readonly kind = 'file';

  constructor(private readonly dir: string, private readonly from = 'Mesa') {
    mkdirSync(dir, { recursive: true });
  }

  async send(sms: OutgoingSms): Promise<{ sid: string | null }> {
    if (!E164.test(sms.to)) throw new SendError(`file: destination is not E.164 (ref ${sms.ref})`, true);
    const safeRef = sms.ref.replace(/[^A-Za-z0-9._-]/g, '_');
    const file = join(this.dir, `${safeRef}.txt`);
    writeFileSync(`${file}.tmp`, `To: ${sms.to}\nFrom: ${this.from}\n\n${trimSmsBody(sms.body)}\n`);
    renameSync(`${file}.tmp`, file);
    return { sid: null };
  }

  async close(): Promise<void> {}
}
