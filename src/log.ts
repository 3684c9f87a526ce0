import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON logs. Every operational event carries an `event` code (see README, "Log
 * events"). Bodies are never logged; these keys are redacted wherever they appear in case a
 * caller passes a whole object.
 */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino({
    level: options.level ?? process.env.MESA_LOG_LEVEL ?? 'info',
    base: { app: 'mesa' },
    redact: {
      paths: ['password', '*.password', 'secret', '*.secret', 'authToken', '*.authToken', 'text', 'html', 'body', '*.text', '*.html', '*.body', 'raw', 'source'],
      censor: '[redacted]',
    },
  }, options.destination as never);
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
