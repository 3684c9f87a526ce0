import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from './load-config.ts';

/** Deployment settings and secrets, from the environment (see `.env.example`). */
export interface Environment {
  dataDir: string;
  /**
   * MESA_DATABASE_URL: a `postgres://` URL puts the desk in PostgreSQL (several instances share
   * it); null keeps it in SQLite under the data dir. May hold a password: never logged.
   */
  databaseUrl: string | null;
  configDir: string;
  httpPort: number;
  publicUrl: string | null;
  /** HMAC key for reply tokens and status links. Never logged. */
  secret: string;
  /** `database`: shared by the instances on one PostgreSQL (see Mesa.open). */
  secretSource: 'env' | 'generated' | 'data-dir' | 'database';
  /** Operator token for the agents' panel (/panel). Never logged. */
  panelToken: string;
  panelTokenSource: 'env' | 'generated' | 'data-dir' | 'database';
  /** MESA_INSTANCE, else the host name: labels this instance in logs, `/metrics`, `/readyz` and the mailbox leases. */
  instanceName: string;
  /** Peers whose X-Forwarded-For is believed (MESA_TRUST_PROXY; default the loopback proxy). */
  trustProxy: boolean | string[];
  /** Base of every link Mesa puts in messages and pages: MESA_PUBLIC_URL, else http://localhost:port. */
  linkBaseUrl: string;
  imap: { host: string; port: number; secure: boolean } | null;
  mailboxCredentials: Record<string, { user: string; password: string }>;
  mailboxAddresses: Record<string, string>;
  smtp: { host: string; port: number; secure: boolean; user: string | null; password: string | null } | null;
  twilio: { accountSid: string; authToken: string; phoneNumber: string | null } | null;
}

type Env = Record<string, string | undefined>;

const MAILBOX_ENV: Record<string, string> = { mesadeayuda: 'MESADEAYUDA', soportetecnico: 'SOPORTETECNICO' };

export function readEnvironment(env: Env = process.env, cwd = process.cwd()): Environment {
  const problems: string[] = [];
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(cwd, p));
  const dataDir = abs(value(env, 'MESA_DATA_DIR') ?? './data');
  const configDir = abs(value(env, 'MESA_CONFIG_DIR') ?? './config');
  const databaseUrl = value(env, 'MESA_DATABASE_URL') ?? null;
  if (databaseUrl !== null && !/^postgres(ql)?:\/\/[^/]/i.test(databaseUrl)) {
    problems.push('environment: MESA_DATABASE_URL: not a postgres:// URL (postgres://user:password@host:port/database); leave it unset for SQLite in the data dir');
  }
  const port = (name: string, fallback: number): number => {
    const v = value(env, name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!/^\d{1,5}$/.test(v) || n > 65535) problems.push(`environment: ${name}: "${v}" is not a port number`);
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const v = value(env, name)?.toLowerCase();
    if (v === undefined) return fallback;
    if (['1', 'true', 'yes', 'si', 'sí'].includes(v)) return true;
    if (['0', 'false', 'no'].includes(v)) return false;
    problems.push(`environment: ${name}: "${v}" is not true/false`);
    return fallback;
  };
  const publicUrl = value(env, 'MESA_PUBLIC_URL') ?? null;
  if (publicUrl !== null && !/^https?:\/\//.test(publicUrl)) problems.push(`environment: MESA_PUBLIC_URL: "${publicUrl}" is not an http(s) URL`);

  const imapHost = value(env, 'IMAP_HOST');
  const imapSecure = bool('IMAP_TLS', true);
  const imap = imapHost ? { host: imapHost, port: port('IMAP_PORT', imapSecure ? 993 : 143), secure: imapSecure } : null;
  const mailboxCredentials: Environment['mailboxCredentials'] = {};
  const mailboxAddresses: Record<string, string> = {};
  for (const [id, prefix] of Object.entries(MAILBOX_ENV)) {
    const address = value(env, `${prefix}_ADDRESS`);
    if (address) mailboxAddresses[id] = address.toLowerCase();
    const user = value(env, `${prefix}_USER`);
    const password = value(env, `${prefix}_PASSWORD`);
    if (user && password) mailboxCredentials[id] = { user, password };
    else if (imap && (user || password)) problems.push(`environment: ${prefix}_USER and ${prefix}_PASSWORD go together`);
  }
  const smtpHost = value(env, 'SMTP_HOST');
  const smtpSecure = bool('SMTP_TLS', false);
  const smtp = smtpHost
    ? { host: smtpHost, port: port('SMTP_PORT', smtpSecure ? 465 : 587), secure: smtpSecure, user: value(env, 'SMTP_USER') ?? null, password: value(env, 'SMTP_PASSWORD') ?? null }
    : null;
  const sid = value(env, 'TWILIO_ACCOUNT_SID');
  const token = value(env, 'TWILIO_AUTH_TOKEN');
  // The phone channel is on when an account is configured; its webhooks cannot be verified
  // without the auth token and the public URL Twilio signs, so both are then required.
  if (sid && !token) problems.push('environment: TWILIO_AUTH_TOKEN is required when TWILIO_ACCOUNT_SID is set (every Twilio webhook signature is checked with it)');
  if (sid && !publicUrl) problems.push('environment: MESA_PUBLIC_URL is required when TWILIO_ACCOUNT_SID is set (Twilio signs the public URL of each webhook)');
  const twilio = sid && token ? { accountSid: sid, authToken: token, phoneNumber: value(env, 'TWILIO_PHONE_NUMBER') ?? null } : null;
  const httpPort = port('MESA_HTTP_PORT', 8080);
  const instanceName = value(env, 'MESA_INSTANCE') ?? hostname();
  if (!/^[\w.-]{1,64}$/.test(instanceName)) problems.push(`environment: MESA_INSTANCE: "${instanceName}" must be 1 to 64 letters, digits, dots, dashes or underscores`);
  const trustProxy = parseTrustProxy(value(env, 'MESA_TRUST_PROXY'), problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const { secret, source } = loadSecret('MESA_SECRET', value(env, 'MESA_SECRET'), join(dataDir, 'secret.key'));
  const panel = loadSecret('MESA_PANEL_TOKEN', value(env, 'MESA_PANEL_TOKEN'), join(dataDir, 'panel.token'));
  const linkBaseUrl = (publicUrl ?? `http://localhost:${httpPort || 8080}`).replace(/\/+$/, '');
  return { dataDir, databaseUrl, configDir, httpPort, publicUrl, secret, secretSource: source, panelToken: panel.secret, panelTokenSource: panel.source, linkBaseUrl, trustProxy, imap, mailboxCredentials, mailboxAddresses, smtp, twilio, instanceName };
}

/** `false`, or a comma list of addresses, CIDRs and fastify's names (default `loopback`). */
function parseTrustProxy(v: string | undefined, problems: string[]): Environment['trustProxy'] {
  if (v === undefined) return ['loopback'];
  if (/^(false|no|0)$/i.test(v)) return false;
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  const ok = list.every((s) => /^(loopback|linklocal|uniquelocal)$/.test(s) || /^[0-9a-f.:]+(\/\d{1,3})?$/i.test(s));
  if (!ok || list.length === 0) problems.push(`environment: MESA_TRUST_PROXY: "${v}" is not false or a list of addresses/CIDRs (e.g. loopback,10.0.0.0/8)`);
  return list;
}

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/**
 * MESA_SECRET signs reply tokens and status links; losing it invalidates every Reply-To already
 * sent. MESA_PANEL_TOKEN opens the agents' panel. When one is not set we generate it into the
 * data dir on first start (mode 0600) and reuse it afterwards.
 */
function loadSecret(name: string, fromEnv: string | undefined, file: string): { secret: string; source: Environment['secretSource'] } {
  if (fromEnv) {
    if (fromEnv.length < 16) throw new ConfigError([`environment: ${name}: must be at least 16 characters`]);
    return { secret: fromEnv, source: 'env' };
  }
  const dataDir = dirname(file);
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored.length < 16) throw new ConfigError([`${file}: stored secret is shorter than 16 characters`]);
    return { secret: stored, source: 'data-dir' };
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return { secret, source: 'generated' };
}
