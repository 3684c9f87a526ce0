import { DIGESTS_AND_REPORT, incidents, incidentUpdates, INCIDENT_CLOCK, OUTBOX_BY_TICKET, TICKET_SERVICE_TERMS } from '../shared-migrations.ts';

/**
 * Versioned schema. Each entry runs once, in order, inside a transaction; `PRAGMA user_version`
 * records how far a database has come. Never edit a shipped migration: add the next one.
 *
 * Times are stored as integer milliseconds since the epoch (UTC): they sort and index well and
 * never carry a zone.
 */
export const MIGRATIONS: string[] = [
  /* 1: the email channel's foundation */ `
  CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    email TEXT UNIQUE,
    phone TEXT UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    organisation TEXT,
    created_at INTEGER NOT NULL
  );

  CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    key TEXT UNIQUE,
    channel TEXT NOT NULL CHECK (channel IN ('email','phone','web')),
    mailbox TEXT,
    contact_id INTEGER NOT NULL REFERENCES contacts(id),
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    severity INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 4),
    type TEXT NOT NULL CHECK (type IN ('incidente','solicitud')),
    category TEXT NOT NULL,
    level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 3),
    state TEXT NOT NULL CHECK (state IN ('nuevo','en_atencion','esperando_cliente','resuelto','cerrado')),
    customer_channel TEXT NOT NULL CHECK (customer_channel IN ('email','sms')),
    cc_json TEXT NOT NULL DEFAULT '[]',
    classification_json TEXT NOT NULL,
    etr_at INTEGER NOT NULL,
    first_response_due_at INTEGER,
    next_escalation_due_at INTEGER,
    next_update_due_at INTEGER,
    resolution_due_at INTEGER,
    reopened_from_id INTEGER REFERENCES tickets(id),
    resolved_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX tickets_contact ON tickets(contact_id, state);
  CREATE INDEX tickets_state ON tickets(state, created_at);

  CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER REFERENCES tickets(id),
    direction TEXT NOT NULL CHECK (direction IN ('in','out')),
    channel TEXT NOT NULL,
    mailbox TEXT,
    message_id TEXT NOT NULL,
    from_address TEXT,
    to_json TEXT NOT NULL DEFAULT '[]',
    subject TEXT NOT NULL DEFAULT '',
    -- customer | agent | automatic | bounce | system
    author TEXT NOT NULL,
    automatic_kind TEXT,
    automatic_reason TEXT,
    visible_text TEXT,
    body_text TEXT,
    raw_sha256 TEXT,
    created_at INTEGER NOT NULL
  );
  -- A Message-ID is processed once per direction: a re-read of the same mail is harmless.
  CREATE UNIQUE INDEX messages_message_id ON messages(message_id, direction);
  CREATE INDEX messages_ticket ON messages(ticket_id, created_at);

  CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    message_row_id INTEGER NOT NULL REFERENCES messages(id),
    filename TEXT,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT,
    stored INTEGER NOT NULL
  );
  CREATE INDEX attachments_message ON attachments(message_row_id);

  -- The ticket's history: append-only.
  CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    type TEXT NOT NULL,
    data_json TEXT NOT NULL DEFAULT '{}',
    reason TEXT
  );
  CREATE INDEX events_ticket ON events(ticket_id, id);
  CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
  CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

  CREATE TABLE etr_history (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    at INTEGER NOT NULL,
    etr_at INTEGER NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('target','history','agent','escalation')),
    reason TEXT NOT NULL
  );
  CREATE INDEX etr_history_ticket ON etr_history(ticket_id, id);

  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER REFERENCES tickets(id),
    channel TEXT NOT NULL CHECK (channel IN ('email','sms')),
    moment TEXT NOT NULL,
    recipient TEXT NOT NULL,
    message_id TEXT,
    payload_json TEXT NOT NULL,
    -- pending → sending → sent | failed; bounced when a DSN comes back for it
    status TEXT NOT NULL CHECK (status IN ('pending','sending','sent','failed','bounced')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until INTEGER,
    -- host:pid of the dispatcher holding the lease, so a restart can take back its own rows
    lease_owner TEXT,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
  );
  CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
  CREATE INDEX outbox_recipient ON outbox(recipient, moment, created_at);
  CREATE UNIQUE INDEX outbox_message_id ON outbox(message_id) WHERE message_id IS NOT NULL;

  CREATE TABLE mailbox_cursors (
    mailbox TEXT PRIMARY KEY,
    uid_validity INTEGER NOT NULL,
    last_uid INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );

  -- Failed attempts at processing one raw message, before it is quarantined.
  CREATE TABLE intake_failures (
    raw_sha256 TEXT PRIMARY KEY,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  );

  CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    mailbox TEXT,
    raw_sha256 TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT,
    created_at INTEGER NOT NULL,
    retried_at INTEGER,
    resolved_at INTEGER
  );
  CREATE UNIQUE INDEX quarantine_open_raw ON quarantine(raw_sha256) WHERE resolved_at IS NULL;

  CREATE TABLE suppressed_addresses (
    address TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    status TEXT,
    source_message_id TEXT,
    created_at INTEGER NOT NULL
  );
  `,
  /* 2: SLA clocks, escalation and the ETR (issue 3) */ `
  ALTER TABLE tickets ADD COLUMN level_since INTEGER;
  ALTER TABLE tickets ADD COLUMN warning_due_at INTEGER;
  ALTER TABLE tickets ADD COLUMN first_responded_at INTEGER;
  ALTER TABLE tickets ADD COLUMN first_response_breached_at INTEGER;
  ALTER TABLE tickets ADD COLUMN resolution_breached_at INTEGER;
  -- Waiting for the customer: when the clock stopped, and each deadline's remaining minutes.
  ALTER TABLE tickets ADD COLUMN paused_at INTEGER;
  ALTER TABLE tickets ADD COLUMN paused_remaining_json TEXT;
  ALTER TABLE tickets ADD COLUMN paused_minutes REAL NOT NULL DEFAULT 0;
  ALTER TABLE tickets ADD COLUMN last_customer_update_at INTEGER;
  -- Business minutes from creation to resolution, less pauses: what the ETR estimator learns from.
  ALTER TABLE tickets ADD COLUMN resolution_business_minutes REAL;
  ALTER TABLE tickets ADD COLUMN assignee TEXT;
  -- The earliest SLA deadline of an open ticket (NULL when none runs): the sweep's only index.
  ALTER TABLE tickets ADD COLUMN next_action_at INTEGER;
  UPDATE tickets SET level_since = created_at;
  -- Open tickets from before: the first sweep looks at each once and stores its real next deadline.
  UPDATE tickets SET next_action_at = created_at WHERE state IN ('nuevo', 'en_atencion');
  CREATE INDEX tickets_next_action ON tickets(next_action_at) WHERE next_action_at IS NOT NULL;
  CREATE INDEX tickets_resolution_history ON tickets(severity, category, resolved_at) WHERE resolution_business_minutes IS NOT NULL;
  `,
  /* 3: the phone channel (issue 4) */ `
  -- One row per Twilio call, keyed by CallSid: webhooks repeat and arrive out of order, so every
  -- change is an idempotent update and the status only moves forward (see status_rank).
  CREATE TABLE calls (
    id INTEGER PRIMARY KEY,
    call_sid TEXT NOT NULL UNIQUE,
    from_raw TEXT,
    from_e164 TEXT,
    status TEXT NOT NULL,
    status_rank INTEGER NOT NULL,
    menu_choice TEXT,
    speech TEXT,
    speech_confidence REAL,
    recording_sid TEXT UNIQUE,
    recording_url TEXT,
    recording_seconds INTEGER,
    duration_seconds INTEGER,
    ticket_id INTEGER REFERENCES tickets(id),
    abandoned INTEGER NOT NULL DEFAULT 0,
    callback_requested INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX calls_from ON calls(from_e164, created_at);
  CREATE INDEX calls_ticket ON calls(ticket_id);
  `,
  /* 4: the web portal */ `
  -- One row per accepted portal form, keyed by the nonce of its signed form-start token: a second
  -- POST of the same form (a refresh, a double click) finds its ticket instead of making another.
  CREATE TABLE web_submissions (
    nonce TEXT PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    created_at INTEGER NOT NULL
  );
  CREATE INDEX web_submissions_ticket ON web_submissions(ticket_id);
  `,
  /* 5: several instances (issue 11) */ `
  -- Who reads each mailbox: one instance at a time, for as long as it renews its lease. Times
  -- are the database's clock, the one clock every instance shares.
  CREATE TABLE mailbox_leases (
    mailbox TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    acquired_at INTEGER NOT NULL
  );
  -- The web's rate-limit counters (portal per IP and per address, panel login), one fixed window
  -- per key, shared by every instance behind the load balancer.
  CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    hits INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    window_ms INTEGER NOT NULL
  );
  `,
  /* 6: instances present, for sharing the mailboxes out (issue 11) */ `
  -- Every running instance renews its row; the mailboxes are shared out among the live ones.
  CREATE TABLE instances (
    holder TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    started_at INTEGER NOT NULL
  );
  `,
  /* 7: a ticket's outbox rows by moment (issue 11) */ OUTBOX_BY_TICKET,
  /* 8: service terms per organisation (issue 12) */ TICKET_SERVICE_TERMS,
  /* 9: daily customer digests sent, tickets by creation (issue 12) */ DIGESTS_AND_REPORT,
  /* 10: major incidents and the tickets linked to them (issue 13) */ incidents('INTEGER PRIMARY KEY'),
  /* 11: what each incident told its customers (issue 13) */ incidentUpdates('INTEGER PRIMARY KEY'),
  /* 12: an incident's own clock (issue 13) */ INCIDENT_CLOCK,
];
