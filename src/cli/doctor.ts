/**
 * `mesa doctor`: checks, in order, everything Mesa needs before it can run, and prints a verdict
 * per item — the configuration, the templates, the data dir and database, each IMAP mailbox, the
 * SMTP server and Twilio — without changing anything (no migration is applied, no mail is read
 * or flagged, nothing is sent). Every network check has a timeout. Passwords and tokens never
 * appear in the output, even when a server quotes them back.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import twilio from 'twilio';
import { TEMPLATES_DIR } from '../app.ts';
import { ConfigError, loadConfig } from '../config/load-config.ts';
import type { Environment } from '../config/environment.ts';
import type { DeskPolicy } from '../domain/policy.ts';
import { PageRenderer } from '../http/page-renderer.ts';
import { TemplateRenderer } from '../outbound/template-renderer.ts';
import { smtpConnectionOptions } from '../outbound/email-senders.ts';
import { RedirectingRequestClient } from '../outbound/twilio-redirect.ts';
import { VoiceRenderer } from '../outbound/voice-renderer.ts';
import { Store } from '../store/store.ts';
import { EX } from './exit-codes.ts';
import type { Io } from './commands.ts';

export type Verdict = 'ok' | 'fail' | 'skipped';

export interface DoctorCheck {
  /** Stable id: config, templates, database, imap:<mailbox>, smtp, twilio, leases. */
  id: string;
  /** What the operator reads, e.g. "IMAP soportetecnico". */
  name: string;
  verdict: Verdict;
  /** The reason, in Spanish. */
  detail: string;
}

export interface DoctorOptions {
  /** Reads the environment (and `.env`); may throw ConfigError. */
  environment: () => Environment;
  /** Per network check, in milliseconds. */
  timeoutMs: number;
  /** Tests only: a local server that speaks Twilio's REST API (MESA_TWILIO_API_URL). */
  twilioApiBaseUrl?: string;
  /** Called as each check finishes, so a slow server shows the ones before it at once. */
  onCheck?: (c: DoctorCheck) => void;
}

const MARK: Record<Verdict, string> = { ok: '✔', fail: '✘', skipped: '–' };

/** Runs every check in order; never throws. */
export async function runDoctor(opts: DoctorOptions): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const secrets: string[] = [];
  // A very short "secret" would blank out ordinary words; real ones are longer.
  const scrub = (text: string): string => secrets.reduce((t, s) => (s.length >= 6 ? t.split(s).join('***') : t), text);
  const add = (id: string, name: string, verdict: Verdict, detail: string): void => {
    const c = { id, name, verdict, detail: scrub(detail) };
    checks.push(c);
    opts.onCheck?.(c);
  };

  // 1. Configuration: the environment (secrets, servers) and the YAML policy.
  let env: Environment | null = null;
  let policy: DeskPolicy | null = null;
  try {
    env = opts.environment();
    secrets.push(...Object.values(env.mailboxCredentials).map((c) => c.password), env.smtp?.password ?? '', env.twilio?.authToken ?? '', env.secret, env.panelToken);
    policy = loadConfig(env.configDir, { mailboxAddresses: env.mailboxAddresses });
    const files = ['default.yaml', 'local.yaml'].filter((f) => existsSync(join(env!.configDir, f)));
    add('config', 'Configuración', 'ok', `${files.map((f) => join(env!.configDir, f)).join(' + ')}; buzones: ${policy.mailboxes.map((m) => m.id).join(', ')}; `
      + `entrada ${env.imap ? `IMAP ${env.imap.host}:${env.imap.port}` : 'carpeta local'}, salida ${env.smtp ? `SMTP ${env.smtp.host}:${env.smtp.port}` : 'a archivos'}, teléfono ${env.twilio ? 'Twilio' : 'no'}`);
  } catch (err) {
    add('config', 'Configuración', 'fail', err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message);
  }

  // 2. Templates: messages, voice and web pages compile (the same classes Mesa starts with).
  try {
    const messages = new TemplateRenderer(TEMPLATES_DIR);
    const voice = new VoiceRenderer(TEMPLATES_DIR);
    new PageRenderer(TEMPLATES_DIR);
    const locale = policy?.desk.locale;
    if (locale && !messages.locales().includes(locale)) {
      add('templates', 'Plantillas', 'fail', `no hay plantillas para el idioma del escritorio "${locale}" en ${TEMPLATES_DIR} (hay: ${messages.locales().join(', ')})`);
    } else {
      const first = messages.locales()[0];
      add('templates', 'Plantillas', 'ok', `${first ? messages.moments(locale ?? first).length : 0} momentos de mensaje (${messages.locales().join(', ')}), ${voice.names().length} textos de voz y las páginas web compilan`);
    }
  } catch (err) {
    add('templates', 'Plantillas', 'fail', (err as Error).message);
  }

  // 3. Data dir and database.
  let databaseOk = false;
  if (!env) add('database', 'Base de datos', 'skipped', 'omitido: la configuración no es válida');
  else {
    const db = await checkDatabase(env.dataDir, env.databaseUrl);
    databaseOk = db[0] === 'ok';
    add('database', 'Base de datos', ...db);
  }

  // 4. Each IMAP mailbox.
  if (!env || !policy) {
    add('imap', 'IMAP', 'skipped', 'omitido: la configuración no es válida');
  } else if (!env.imap) {
    add('imap', 'IMAP', 'skipped', `omitido: IMAP_HOST no está definido; el correo entra por la carpeta ${join(env.dataDir, 'inbox')}`);
  } else {
    for (const mb of policy.mailboxes) {
      const cred = env.mailboxCredentials[mb.id];
      const prefix = mb.id.toUpperCase();
      if (!cred) { add(`imap:${mb.id}`, `IMAP ${mb.id}`, 'fail', `sin credenciales: defina ${prefix}_USER y ${prefix}_PASSWORD (este buzón no se leería)`); continue; }
      add(`imap:${mb.id}`, `IMAP ${mb.id}`, ...await checkImap(env.imap, cred, mb.folder, opts.timeoutMs));
    }
  }

  // 5. SMTP.
  if (!env) add('smtp', 'SMTP', 'skipped', 'omitido: la configuración no es válida');
  else if (!env.smtp) add('smtp', 'SMTP', 'skipped', `omitido: SMTP_HOST no está definido; el correo saliente se escribe en ${join(env.dataDir, 'outbox')}`);
  else add('smtp', 'SMTP', ...await checkSmtp(env.smtp, opts.timeoutMs));

  // 6. Twilio.
  if (!env) add('twilio', 'Twilio', 'skipped', 'omitido: la configuración no es válida');
  else if (!env.twilio) add('twilio', 'Twilio', 'skipped', `omitido: TWILIO_ACCOUNT_SID no está definido; sin teléfono, los SMS se escriben en ${join(env.dataDir, 'outbox', 'sms')}`);
  else add('twilio', 'Twilio', ...await checkTwilio(env.twilio, opts.timeoutMs, opts.twilioApiBaseUrl));

  // 7. Which instance reads which mailbox (several instances share one PostgreSQL).
  if (env && policy && env.imap && databaseOk) add('leases', 'Lectores de buzones', ...await checkLeases(env, policy));

  return checks;
}

/** `mesa doctor [--json] [--timeout S]`: 0 when every check passes, 78 for a bad configuration, 69 otherwise. */
export async function doctorCommand(opts: { json?: boolean; timeout?: string }, io: Io, environment: () => Environment, twilioApiBaseUrl?: string): Promise<number> {
  const seconds = opts.timeout === undefined ? 10 : Number(opts.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 300) { io.err(`mesa doctor: --timeout inválido "${opts.timeout}" (segundos, de 1 a 300)`); return EX.USAGE; }
  const width = 22;
  const checks = await runDoctor({
    environment, timeoutMs: seconds * 1000, twilioApiBaseUrl,
    onCheck: opts.json ? undefined : (c) => io.out(`${MARK[c.verdict]} ${c.name.padEnd(width)} ${c.detail}`),
  });
  const failed = checks.filter((c) => c.verdict === 'fail');
  if (opts.json) {
    io.out(JSON.stringify({ ok: failed.length === 0, checks }, null, 2));
  } else {
    io.out('');
    io.out(failed.length === 0
      ? 'Resultado: todo en orden.'
      : `Resultado: ${failed.length} ${failed.length === 1 ? 'problema' : 'problemas'} (${failed.map((c) => c.name).join(', ')}).`);
  }
  if (failed.length === 0) return EX.OK;
  return failed.some((c) => c.id === 'config') ? EX.CONFIG : EX.UNAVAILABLE;
}

type Result = [Verdict, string];

/**
 * Who holds each mailbox's lease, read only when the schema is current (opening the store then
 * changes nothing). Informational: no holder just means no instance is running.
 */
async function checkLeases(env: Environment, policy: DeskPolicy): Promise<Result> {
  const inspected = await Store.inspect(env.dataDir, env.databaseUrl);
  if (inspected === null || inspected.version !== inspected.known) return ['skipped', 'omitido: el esquema se pondrá al día al iniciar'];
  const store = await Store.open(env.dataDir, policy.desk.ticketPrefix, env.databaseUrl);
  try {
    const leases = new Map((await store.leases.list()).map((l) => [l.mailbox, l]));
    return ['ok', policy.mailboxes.map((m) => {
      const l = leases.get(m.id);
      return `${m.id}: ${l === undefined ? 'sin lector' : `${l.holder}${l.live ? '' : ' (vencido: otra instancia lo tomará)'}`}`;
    }).join('; ')];
  } catch (err) {
    return ['fail', `no se pudieron leer los lectores de buzones: ${(err as Error).message}`];
  } finally {
    await store.close();
  }
}

/** The data dir takes a file; the database, when it exists, opens, has a schema this Mesa knows and takes the write lock. */
async function checkDatabase(dataDir: string, databaseUrl: string | null): Promise<Result> {
  const probe = join(dataDir, `.mesa-doctor-${process.pid}`);
  try {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(probe, 'ok');
    rmSync(probe, { force: true });
  } catch (err) {
    return ['fail', `no se puede escribir en ${dataDir}: ${(err as Error).message}`];
  }
  const db = await Store.inspect(dataDir, databaseUrl);
  if (db === null) return ['ok', `${dataDir} admite escritura; ${join(dataDir, 'mesa.db')} se creará al iniciar`];
  if (db.serverVersion !== undefined && db.serverVersion !== null && db.serverVersion < 130000) {
    return ['fail', `${db.where}: PostgreSQL ${Math.floor(db.serverVersion / 10000)} es demasiado antiguo; Mesa necesita la versión 13 o posterior`];
  }
  if (db.version !== null && db.version > db.known) return ['fail', `${db.where}: esquema versión ${db.version}, más nuevo que este Mesa (${db.known}); actualice Mesa`];
  if (db.version === null || db.write === null) {
    if (db.version !== null) return ['fail', `${db.where}: esquema versión ${db.version}, más nuevo que este Mesa (${db.known}); actualice Mesa`];
    return ['fail', `${db.where}: ${db.write?.ok === false ? db.write.message : 'no se pudo leer'}`];
  }
  if (!db.write.ok) {
    const why = db.write.kind === 'busy' ? 'ocupada por otro proceso' : db.write.engineCode === 'SQLITE_READONLY' ? 'de solo lectura' : 'sin escritura';
    return ['fail', `${db.where}: base de datos ${why}: ${db.write.message}`];
  }
  const pending = db.known - db.version;
  const server = db.serverVersion ? ` (PostgreSQL ${Math.floor(db.serverVersion / 10000)})` : '';
  return ['ok', `${db.where}${server}: esquema versión ${db.version}${pending === 0 ? ' (al día)' : `, ${pending} ${pending === 1 ? 'migración se aplicará' : 'migraciones se aplicarán'} al iniciar`}; admite escritura`];
}

async function checkImap(server: NonNullable<Environment['imap']>, cred: { user: string; password: string }, folder: string, timeoutMs: number): Promise<Result> {
  const where = `${cred.user} en ${server.host}:${server.port}${server.secure ? ' (TLS)' : ''}`;
  const client = new ImapFlow({
    host: server.host, port: server.port, secure: server.secure, auth: { user: cred.user, pass: cred.password },
    logger: false, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs, disableAutoIdle: true,
  });
  // An emitted error without a listener would crash the command; the awaited call reports it.
  client.on('error', () => {});
  try {
    await withTimeout(client.connect(), timeoutMs);
    // EXAMINE (read-only): nothing is flagged or moved.
    const box = await withTimeout(client.mailboxOpen(folder, { readOnly: true }), timeoutMs);
    return ['ok', `${where}: carpeta ${folder} abierta (${box.exists} ${box.exists === 1 ? 'mensaje' : 'mensajes'})`];
  } catch (err) {
    return ['fail', `${where}: ${describeImapError(err, folder, timeoutMs)}`];
  } finally {
    if (client.usable) await withTimeout(client.logout(), 2_000).catch(() => undefined);
    client.close();
  }
}

function describeImapError(err: unknown, folder: string, timeoutMs: number): string {
  const e = err as { code?: string; authenticationFailed?: boolean; mailboxMissing?: boolean; serverResponseCode?: string; responseText?: string; tlsFailed?: boolean; message?: string };
  const server = e.responseText ? ` (servidor: ${e.responseText})` : '';
  if (e.authenticationFailed || e.serverResponseCode === 'AUTHENTICATIONFAILED') return `autenticación rechazada: revise usuario y contraseña${server}`;
  if (e.mailboxMissing || e.serverResponseCode === 'NONEXISTENT') return `la carpeta ${folder} no existe${server}`;
  return describeNetworkError(e, timeoutMs) ?? `${e.message ?? String(err)}${server}`;
}

/** The usual connection failures, in words; null for anything else. */
function describeNetworkError(e: { code?: string; tlsFailed?: boolean; message?: string }, timeoutMs: number): string | null {
  // nodemailer wraps socket errors as ESOCKET/ECONNECTION with Node's code in the message.
  const code = (['ESOCKET', 'ECONNECTION', 'EDNS'].includes(e.code ?? '') ? /\b(E[A-Z_]{4,})\b/.exec(e.message ?? '')?.[1] : undefined) ?? e.code ?? '';
  if (code === 'ECONNREFUSED') return 'conexión rechazada (¿el servidor está detenido o el puerto es otro?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'no se encontró el servidor (DNS)';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'el servidor no es alcanzable desde aquí';
  if (code === 'ECONNRESET' || code === 'EConnectionClosed' || code === 'NoConnection') return 'el servidor cerró la conexión';
  if (code === 'ETIMEDOUT' || code === 'MESA_TIMEOUT' || /TIMEOUT/.test(code)) return `sin respuesta en ${Math.round(timeoutMs / 1000)} s`;
  if (e.tlsFailed || /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_)/.test(code)) return `error de TLS: ${e.message ?? code}`;
  return null;
}

async function checkSmtp(s: NonNullable<Environment['smtp']>, timeoutMs: number): Promise<Result> {
  const where = `${s.host}:${s.port}${s.secure ? ' (TLS)' : ''}`;
  // The same connection settings as SmtpSender, without the pool: one connection, EHLO, AUTH, QUIT.
  const transport = nodemailer.createTransport(smtpConnectionOptions(s, timeoutMs, timeoutMs));
  try {
    await withTimeout(transport.verify(), timeoutMs);
    return ['ok', `${where} responde${s.user ? `; autenticado como ${s.user}` : ' (sin autenticación)'}`];
  } catch (err) {
    const e = err as { code?: string; responseCode?: number; response?: string; message?: string };
    if (e.code === 'EAUTH') return ['fail', `${where}: autenticación rechazada para ${s.user ?? '(sin usuario)'}${e.response ? ` (servidor: ${e.response.slice(0, 200)})` : ''}`];
    const known = describeNetworkError(e, timeoutMs) ?? (e.code === 'ECONNECTION' || e.code === 'ESOCKET' ? `no se pudo conectar: ${e.message ?? e.code}` : null);
    return ['fail', `${where}: ${known ?? `${e.responseCode ? `${e.responseCode} ` : ''}${(e.message ?? String(err)).slice(0, 200)}`}`];
  } finally {
    transport.close();
  }
}

async function checkTwilio(t: NonNullable<Environment['twilio']>, timeoutMs: number, apiBaseUrl?: string): Promise<Result> {
  const http = apiBaseUrl ? new RedirectingRequestClient(apiBaseUrl, timeoutMs) : new twilio.RequestClient({ timeout: timeoutMs });
  const client = twilio(t.accountSid, t.authToken, { httpClient: http, timeout: timeoutMs, autoRetry: false });
  try {
    const account = await withTimeout(client.api.v2010.accounts(t.accountSid).fetch(), timeoutMs);
    const sms = t.phoneNumber ? `SMS desde ${t.phoneNumber}` : 'sin TWILIO_PHONE_NUMBER: los SMS se escriben en archivos';
    if (account.status !== 'active') return ['fail', `la cuenta ${t.accountSid} ("${account.friendlyName}") está ${account.status}, no activa`];
    return ['ok', `cuenta ${t.accountSid} ("${account.friendlyName}") activa; ${sms}`];
  } catch (err) {
    const e = err as { status?: number; code?: number | string; message?: string };
    if (e.status === 401 || e.code === 20003) return ['fail', `credenciales rechazadas por Twilio (error ${e.code ?? e.status}): revise TWILIO_ACCOUNT_SID y TWILIO_AUTH_TOKEN`];
    if (e.status === 404) return ['fail', `la cuenta ${t.accountSid} no existe (error ${e.code ?? 404})`];
    if (typeof e.status === 'number') return ['fail', `Twilio respondió ${e.status}${e.code ? ` (error ${e.code})` : ''}: ${(e.message ?? '').slice(0, 200)}`];
    const known = describeNetworkError({ code: typeof e.code === 'string' ? e.code : undefined, message: e.message }, timeoutMs);
    return ['fail', `no se pudo hablar con Twilio: ${known ?? (e.message ?? String(err)).slice(0, 200)}`];
  } finally {
    const d = http.axios.defaults;
    for (const agent of [d.httpAgent, d.httpsAgent] as Array<{ destroy?: () => void } | undefined>) agent?.destroy?.();
  }
}


function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`sin respuesta en ${Math.round(ms / 1000)} s`), { code: 'MESA_TIMEOUT' })), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
