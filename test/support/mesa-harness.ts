import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mesa } from '../../src/app.ts';
import { replyAddress, signToken } from '../../src/domain/reply-token.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { readEnvironment } from '../../src/config/environment.ts';
import type { DeskPolicy } from '../../src/domain/policy.ts';
import { silentLogger } from '../../src/log.ts';
import type { DovecotServer } from './dovecot.ts';
import type { SmtpSink } from './smtp-sink.ts';
import { startPostgres, type PostgresServer } from './postgres.ts';

export const REPO_CONFIG = join(import.meta.dirname, '../../config');
/** The public URL tests configure; Twilio requests are signed against it. */
export const TEST_PUBLIC_URL = 'https://mesa.example.com';

/** The environment variables a deployment would set, pointing at the test's own servers. */
export function testEnv(dataDir: string, peers: { dovecot?: DovecotServer; smtp?: SmtpSink; twilio?: { accountSid: string; authToken: string; phoneNumber: string }; databaseUrl?: string | null }): Record<string, string> {
  const env: Record<string, string> = { MESA_DATA_DIR: dataDir, MESA_CONFIG_DIR: REPO_CONFIG, MESA_HTTP_PORT: '0', MESA_SECRET: 'test-secret-0123456789abcdef' };
  if (peers.databaseUrl) env.MESA_DATABASE_URL = peers.databaseUrl;
  if (peers.dovecot) {
    Object.assign(env, { IMAP_HOST: peers.dovecot.host, IMAP_PORT: String(peers.dovecot.port), IMAP_TLS: 'false' });
    for (const [user, password] of Object.entries(peers.dovecot.users)) {
      env[`${user.toUpperCase()}_USER`] = user;
      env[`${user.toUpperCase()}_PASSWORD`] = password;
    }
  }
  if (peers.smtp) Object.assign(env, { SMTP_HOST: '127.0.0.1', SMTP_PORT: String(peers.smtp.port), SMTP_TLS: 'false' });
  if (peers.twilio) Object.assign(env, { TWILIO_ACCOUNT_SID: peers.twilio.accountSid, TWILIO_AUTH_TOKEN: peers.twilio.authToken, TWILIO_PHONE_NUMBER: peers.twilio.phoneNumber, MESA_PUBLIC_URL: TEST_PUBLIC_URL });
  return env;
}

/** The repo's default policy with test-friendly timings (fast polls and retries). */
export function testPolicy(patch: (p: DeskPolicy) => void = () => {}): DeskPolicy {
  const p = structuredClone(loadConfig(REPO_CONFIG)) as DeskPolicy;
  for (const m of p.mailboxes) m.pollIntervalSeconds = 1;
  p.outbound.retry = { maxAttempts: 5, firstDelaySeconds: 0.2, maxDelaySeconds: 1 };
  p.intake.dropFolderPollSeconds = 0.2;
  patch(p);
  return p;
}

/**
 * The engine the desk runs on in this test run: `MESA_TEST_STORE=postgres` puts every test Mesa
 * in its own database on a private PostgreSQL cluster (one per test process), so the same suites
 * prove both engines.
 */
export const TEST_STORE: 'sqlite' | 'postgres' = process.env.MESA_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

let sharedPostgres: Promise<PostgresServer> | null = null;

/** A fresh database for one test Mesa when the run is on PostgreSQL; null on SQLite. */
export async function testDatabaseUrl(): Promise<string | null> {
  if (TEST_STORE !== 'postgres') return null;
  sharedPostgres ??= startPostgres();
  return (await sharedPostgres).createDatabase();
}

export interface TestMesa { mesa: Mesa; dataDir: string; databaseUrl: string | null; stop(): Promise<void> }

export async function startTestMesa(opts: {
  dovecot?: DovecotServer; smtp?: SmtpSink; twilio?: { accountSid: string; authToken: string; phoneNumber: string; url: string };
  clock?: () => Date; policy?: DeskPolicy; dataDir?: string; start?: boolean; databaseUrl?: string | null;
  /** Changes to the environment variables (`undefined` removes one). */
  env?: Record<string, string | undefined>;
  leaseTiming?: { heartbeatMs: number; ttlMs: number };
} = {}): Promise<TestMesa> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'mesa-test-'));
  const databaseUrl = opts.databaseUrl !== undefined ? opts.databaseUrl : await testDatabaseUrl();
  const env = readEnvironment({ ...testEnv(dataDir, { ...opts, databaseUrl }), ...opts.env });
  const mesa = await Mesa.open(env, { log: silentLogger(), listen: false, scheduleSweep: false, policy: opts.policy ?? testPolicy(), clock: opts.clock, smtp: { connectionTimeoutMs: 2_000 }, twilioApiBaseUrl: opts.twilio?.url, leaseTiming: opts.leaseTiming });
  if (opts.start !== false) await mesa.start();
  return {
    mesa,
    dataDir,
    databaseUrl,
    async stop() {
      await mesa.stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A plain RFC 5322 message for tests. */
export function email(h: { from: string; to: string; subject: string; messageId?: string; inReplyTo?: string; references?: string; extra?: Record<string, string>; date?: string }, body: string): Buffer {
  const lines = [
    `From: ${h.from}`,
    `To: ${h.to}`,
    `Subject: ${h.subject}`,
    `Date: ${h.date ?? 'Mon, 30 Nov 2026 10:00:00 -0600'}`,
    ...(h.messageId ? [`Message-ID: <${h.messageId}>`] : []),
    ...(h.inReplyTo ? [`In-Reply-To: <${h.inReplyTo}>`] : []),
    ...(h.references ? [`References: ${h.references}`] : []),
    ...Object.entries(h.extra ?? {}).map(([k, v]) => `${k}: ${v}`),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    body,
  ];
  return Buffer.from(lines.join('\r\n'));
}

/**
 * The Reply-To a notice gives `agent` for ticket `key`: the mailbox plus a token signed for that
 * ticket and that agent (what an agent's mail client answers to).
 */
export function agentReplyAddress(secret: string, key: string, agent: string, mailbox = 'soportetecnico@proditmapac.com'): string {
  return replyAddress(mailbox, key, signToken(secret, key, { kind: 'agent', address: agent }));
}
