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

/**
 * SQLite schema 10, PostgreSQL 7. The engines spell only the id differently: `identity` is
 * SQLite's rowid alias or PostgreSQL's identity column (BIGINT has integer affinity in SQLite).
 */
export function incidents(identity: string): string {
  return `
  -- A major incident: one outage many customers report. Its ETR is every linked ticket's ETR.
  CREATE TABLE incidents (
    id ${identity},
    state TEXT NOT NULL CHECK (state IN ('abierto','resuelto')),
    category TEXT NOT NULL,
    organisation TEXT,           -- set: it may only gather that organisation's reports
    title TEXT NOT NULL,
    signature_json TEXT NOT NULL, -- the words that define it
    etr_at BIGINT NOT NULL,
    opened_at BIGINT NOT NULL,
    opened_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    resolved_at BIGINT,
    updated_at BIGINT NOT NULL
  );
  CREATE INDEX incidents_open ON incidents(state, category);
  ALTER TABLE tickets ADD COLUMN incident_id BIGINT REFERENCES incidents(id);
  -- A report's significant words (JSON array), read back when a burst is looked for.
  ALTER TABLE tickets ADD COLUMN report_words TEXT;
  CREATE INDEX tickets_incident ON tickets(incident_id);
  `;
}

/**
 * SQLite schema 11, PostgreSQL 8: what an incident told its customers, in order — its ETR
 * changes, the agents' updates, its resolution. The status page shows it; fan-out reads it.
 */
export function incidentUpdates(identity: string): string {
  return `
  CREATE TABLE incident_updates (
    id ${identity},
    incident_id BIGINT NOT NULL REFERENCES incidents(id),
    at BIGINT NOT NULL,
    author TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('opened','update','etr','note','resolved','linked','unlinked')),
    text TEXT,                  -- the public words (null for a bare ETR change)
    etr_at BIGINT,              -- the incident's ETR after this update
    reason TEXT,
    recipients INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX incident_updates_incident ON incident_updates(incident_id, id);
  -- The title the public status page and customers see (an agent's #titulo); null: a neutral one.
  ALTER TABLE incidents ADD COLUMN public_title TEXT;
  `;
}

/**
 * SQLite schema 12, PostgreSQL 9: an incident's own clock. Its linked tickets have none; it
 * updates their customers, escalates and re-estimates for all of them, at the pace of the most
 * demanding linked contract (`domain/incident-clock.ts`). Open incidents from before start
 * at the ETR: the sweep picks them up then (or at once, when it has passed) and sets the rest.
 */
export const INCIDENT_CLOCK = `
  ALTER TABLE incidents ADD COLUMN level INTEGER NOT NULL DEFAULT 2;
  ALTER TABLE incidents ADD COLUMN level_since BIGINT;
  ALTER TABLE incidents ADD COLUMN next_update_due_at BIGINT;
  ALTER TABLE incidents ADD COLUMN next_escalation_due_at BIGINT;
  ALTER TABLE incidents ADD COLUMN next_digest_at BIGINT;
  -- Linked count the level's last notice or digest reported: a digest says how many joined since.
  ALTER TABLE incidents ADD COLUMN digest_linked INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE incidents ADD COLUMN next_action_at BIGINT;
  UPDATE incidents SET level_since = opened_at, next_action_at = etr_at WHERE state = 'abierto';
  CREATE INDEX incidents_due ON incidents(next_action_at) WHERE state = 'abierto';
  `;
