/**
 * Every error code Mesa raises, in one place, with what it means for an operator. Expected
 * outcomes (a duplicate message, an unknown ticket, a quarantined mail) are return values, not
 * errors; these are the failures.
 */
export const ERROR_CODES = {
  MESA_CONFIG_INVALID: 'configuration or environment failed validation; the message names the file, line and key',
  MESA_INTAKE_RETRY: 'processing an inbound message failed; it is offered again and quarantined after intake.maxAttempts',
  MESA_SEND_TEMPORARY: 'an outgoing message could not be sent now (SMTP 4xx, Twilio 429/5xx, refused or dropped connection); retried with backoff',
  MESA_SEND_PERMANENT: 'an outgoing message was refused for good (SMTP 5xx; Twilio 4xx such as 21614 landline); the outbox row stays failed and visible',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class MesaError extends Error {
  constructor(readonly code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MesaError';
  }
}
