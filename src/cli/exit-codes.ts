/**
 * sysexits(3) codes, which mail servers understand when they pipe a message into `mesa ingest`:
 * 75 (TEMPFAIL) makes Postfix/Exim keep the message and retry; anything else non-zero bounces it.
 */
export const EX = {
  OK: 0,
  USAGE: 64,
  DATAERR: 65,
  NOINPUT: 66,
  SOFTWARE: 70,
  CANTCREAT: 73,
  IOERR: 74,
  TEMPFAIL: 75,
  CONFIG: 78,
} as const;
