/**
 * sysexits(3) codes, which mail servers understand when they pipe a message into `mesa ingest`:
 * 75 (TEMPFAIL) makes Postfix/Exim keep the message and retry; anything else non-zero bounces it.
 */
export const EX = {
  OK: 0,
  USAGE: 64,
  DATAERR: 65,
  NOINPUT: 66,
  /** A service Mesa needs (IMAP, SMTP, Twilio) cannot be reached: `mesa doctor`. */
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  CANTCREAT: 73,
  IOERR: 74,
  TEMPFAIL: 75,
  CONFIG: 78,
} as const;
