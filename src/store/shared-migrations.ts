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
