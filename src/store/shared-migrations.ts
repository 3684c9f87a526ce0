/**
 * Migrations whose SQL both engines read alike (no types that differ, no engine-only syntax),
 * written once and placed in each engine's list at its own version number.
 */

/** SQLite schema 7, PostgreSQL 4. */
export const OUTBOX_BY_TICKET = `
  -- The intake decision asks, for every message, when the thread's ticket last got a follow-up
  -- acknowledgment; the ticket's page lists its messages.
  CREATE INDEX outbox_ticket ON outbox(ticket_id, moment, created_at);
  `;

/** SQLite schema 8, PostgreSQL 5. */
export const TICKET_SERVICE_TERMS = `
  -- The organisation a ticket's customer belongs to, and the terms that applied when it was
  -- opened (contract targets per severity, escalation matrix, and why): recorded, so that a
  -- later config change never silently rewrites an open ticket's deadlines.
  ALTER TABLE tickets ADD COLUMN organisation TEXT;
  ALTER TABLE tickets ADD COLUMN terms_json TEXT;
  CREATE INDEX tickets_organisation ON tickets(organisation, created_at);
  `;

/** SQLite schema 9, PostgreSQL 6. */
export const DIGESTS_AND_REPORT = `
  -- One row per organisation and local day whose daily digest was sent: the first instance to
  -- insert it sends that day's digest, every other one (and every later sweep) skips it.
  CREATE TABLE customer_digests (
    digest_key TEXT PRIMARY KEY, -- organisation/day: one key, so mesa db copy can page by it
    organisation TEXT NOT NULL,
    day TEXT NOT NULL,
    sent_at BIGINT NOT NULL
  );
  -- The compliance report reads the tickets opened in a period.
  CREATE INDEX tickets_created ON tickets(created_at);
  `;
