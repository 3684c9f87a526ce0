import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import { MesaError } from '../errors.ts';
import { toMailOptions, type LoadedAttachment, type OutgoingEmail } from './outgoing-email.ts';

/** Thrown by a sender; `permanent` failures are not retried. */
export class SendError extends MesaError {
  constructor(message: string, readonly permanent: boolean, readonly responseCode: number | null = null) {
    super(permanent ? 'MESA_SEND_PERMANENT' : 'MESA_SEND_TEMPORARY', message);
  }
}

export interface EmailSender {
  readonly kind: string;
  send(email: OutgoingEmail): Promise<void>;
  close(): Promise<void>;
}

export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  user: string | null;
  password: string | null;
  /** Tests use a low greeting timeout; defaults suit real servers. */
  connectionTimeoutMs?: number;
}

/**
 * SMTP through nodemailer's pool (one connection reused for many messages).
 * A 5xx reply is final (RFC 5321: permanent negative completion); a 4xx reply, a refused or
 * dropped connection or a timeout is transient and retried by the dispatcher.
 */
export class SmtpSender implements EmailSender {
  readonly kind = 'smtp';
  private readonly transport: Transporter;

  constructor(s: SmtpSettings, private readonly blobs: BlobReader) {
    this.transport = nodemailer.createTransport({ pool: true, maxConnections: 2, maxMessages: Infinity, ...smtpConnectionOptions(s, s.connectionTimeoutMs ?? 30_000, 60_000) });
  }

  async send(email: OutgoingEmail): Promise<void> {
    const attachments = await loadAttachments(email, this.blobs);
    try {
      // Compose the whole message into one buffer first and hand it over raw: streamed
      // composition writes the socket once per MIME chunk, and on this path the write syscalls
      // cost more than the composing.
      const options = toMailOptions(email, attachments);
      const raw = await new MailComposer(options).compile().build();
      await this.transport.sendMail({ envelope: options.envelope as { from: string; to: string[] }, raw });
    } catch (err) {
      const e = err as { responseCode?: number; code?: string; message?: string };
      const code = typeof e.responseCode === 'number' ? e.responseCode : null;
      const permanent = code !== null && code >= 500 && code < 600;
      // The server's text may quote the recipient; keep the code and a short message only.
      throw new SendError(`${e.code ?? 'ESEND'} ${code ?? ''} ${(e.message ?? '').slice(0, 200)}`.trim(), permanent, code);
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

/**
 * The embedded default: every message is written as a real `.eml` file under `data/outbox/`,
 * so a newcomer sees exactly what would be sent.
 */
export class FileSender implements EmailSender {
  readonly kind = 'file';
  private readonly transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });

  constructor(private readonly dir: string, private readonly blobs: BlobReader) {
    mkdirSync(dir, { recursive: true });
  }

  async send(email: OutgoingEmail): Promise<void> {
    const info = (await this.transport.sendMail(toMailOptions(email, await loadAttachments(email, this.blobs)))) as unknown as { message: Buffer };
    const safeId = email.messageId.replace(/[^A-Za-z0-9._-]/g, '_');
    const file = join(this.dir, `${safeId}.eml`);
    writeFileSync(`${file}.tmp`, info.message);
    renameSync(`${file}.tmp`, file);
  }

  async close(): Promise<void> {}
}

/** Where senders read attachment content from: the store's content-addressed blobs. */
export interface BlobReader { get(sha256: string): Promise<Buffer> }

/**
 * The attachments an email references, read from the blob store at send time and checked
 * against their content address. A blob that is gone will not come back (a permanent failure,
 * kept and reported like any other); other read errors are retried.
 */
export async function loadAttachments(email: OutgoingEmail, blobs: BlobReader): Promise<LoadedAttachment[]> {
  const loaded: LoadedAttachment[] = [];
  for (const ref of email.attachments ?? []) {
    const id = ref.sha256.slice(0, 12);
    let content: Buffer;
    try {
      content = await blobs.get(ref.sha256);
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'EIO';
      throw new SendError(`attachment ${id} unreadable: ${code}`, code === 'ENOENT' || code === 'EISDIR');
    }
    if (createHash('sha256').update(content).digest('hex') !== ref.sha256) {
      throw new SendError(`attachment ${id} does not match its content address`, true);
    }
    loaded.push({ ref, content });
  }
  return loaded;
}

/**
 * How Mesa connects to its SMTP server (the sender's pool and `mesa doctor` alike): certificates
 * are verified (implicit TLS and STARTTLS) except on loopback, where a local relay or the test
 * server has none worth checking.
 */
export function smtpConnectionOptions(s: SmtpSettings, connectMs: number, socketMs: number): Record<string, unknown> {
  return {
    host: s.host,
    port: s.port,
    secure: s.secure,
    ...(s.user ? { auth: { user: s.user, pass: s.password ?? '' } } : {}),
    connectionTimeout: connectMs,
    greetingTimeout: connectMs,
    socketTimeout: socketMs,
    tls: { rejectUnauthorized: !isLoopback(s.host) },
    logger: false,
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
