import { pino } from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

/** Keys whose values never reach a log line: secrets, credentials and message content. */
const SECRET_KEYS = ['password', 'pass', 'secret', 'authToken', 'token', 'panelToken', 'apiKey', 'authorization', 'cookie', 'credentials'];
const CONTENT_KEYS = ['text', 'html', 'body', 'raw', 'source', 'speech', 'description'];

/**
 * Content keys at the top level and one object down; secret keys up to three objects down
 * (`env.mailboxCredentials.soportetecnico.password`); request headers.
 */
export const REDACT_PATHS: string[] = [
  ...[...SECRET_KEYS, ...CONTENT_KEYS].flatMap((k) => [k, `*.${k}`]),
  ...SECRET_KEYS.flatMap((k) => [`*.*.${k}`, `*.*.*.${k}`]),
  'headers.authorization', 'headers.cookie', '*.headers.authorization', '*.headers.cookie',
];

export interface LoggerOptions {
  level?: string;
  destination?: NodeJS.WritableStream;
  /** Human-readable lines (pino-pretty) instead of JSON; default from `prettyLogsWanted()`. */
  pretty?: boolean;
}

/**
 * Pretty logs when `MESA_LOG_PRETTY` says so (1/true or 0/false), otherwise when
 * `NODE_ENV=development`. Production and tests get JSON, one event a line.
 */
export function prettyLogsWanted(env: Record<string, string | undefined> = process.env): boolean {
  const v = env.MESA_LOG_PRETTY?.trim().toLowerCase();
  if (v) return ['1', 'true', 'yes', 'si', 'sí'].includes(v);
  return env.NODE_ENV === 'development';
}

/**
 * Structured JSON logs. Every operational event carries an `event` code (see README, "Log
 * events"). Bodies are never logged; the keys above are redacted wherever they appear in case a
 * caller passes a whole object. In development the same events are printed by pino-pretty, in
 * this process and synchronously (no worker thread: nothing is lost on a forced exit).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const settings: pino.LoggerOptions = {
    level: options.level ?? process.env.MESA_LOG_LEVEL ?? 'info',
    base: { app: 'mesa' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  if (options.pretty ?? prettyLogsWanted()) {
    const out = options.destination ?? process.stdout;
    // The standard streams go by file descriptor, which pino-pretty writes synchronously.
    const destination = out === process.stdout ? 1 : out === process.stderr ? 2 : out;
    const colorize = typeof destination === 'number' && Boolean((out as NodeJS.WriteStream).isTTY);
    return pino(settings, pretty({ destination, sync: true, colorize, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l', ignore: 'pid,hostname,app' }));
  }
  return pino(settings, options.destination as never);
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
