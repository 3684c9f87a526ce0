import { prepared, type Db } from './database.ts';
import { OPEN_STATES_SQL, type TicketState } from './ticket-repo.ts';

/** The SLA events counted for metrics: every escalation (by the sweep or an agent) and both breaches. */
export const SLA_EVENT_TYPES = ['escalated', 'first_response_breached', 'resolution_breached'] as const;

/** Counts found in rows `(after, upTo]`; the caller adds them to what it counted before. */
export interface CountsSince<K> { upTo: number; rows: Array<K & { n: number }> }

/**
 * Read-only counts for `/metrics` and `/readyz`. Every query is cheap at scrape time:
 *
 * - tickets, messages and events are append-only (nothing is ever deleted, a ticket's channel
 *   and a message's automatic kind never change), so their counts are taken *incrementally* by
 *   rowid: `WHERE id > @after AND id <= @upTo` is a search on the primary key whose cost follows
 *   the rows added since the last scrape (the first scrape after a start reads them all once);
 * - open tickets go through `tickets_state`, the outbox backlog through `outbox_due`, open
 *   quarantine through its partial index `quarantine_open_raw`.
 *
 * `test/store/report-repo.test.ts` checks each plan with EXPLAIN QUERY PLAN.
 */
export class ReportRepo {
  constructor(private readonly db: Db) {}

  /** The highest rowid of an append-only table (O(1): the last entry of the rowid b-tree). */
  maxId(table: 'tickets' | 'messages' | 'events'): number {
    return (prepared(this.db, `SELECT coalesce(max(id), 0) AS m FROM ${table}`).get() as { m: number }).m;
  }

  /** Tickets created, by channel, among ids `(after, upTo]`: "contacts by channel". */
  ticketsByChannel(after: number, upTo = this.maxId('tickets')): CountsSince<{ channel: string }> {
    const rows = prepared(this.db, 'SELECT channel, count(*) AS n FROM tickets WHERE id > ? AND id <= ? GROUP BY channel').all(after, upTo) as Array<{ channel: string; n: number }>;
    return { upTo, rows };
  }

  /** Inbound automatic mail (bounce, auto_reply, list, loop), by kind, among ids `(after, upTo]`. */
  automaticMailByKind(after: number, upTo = this.maxId('messages')): CountsSince<{ kind: string }> {
    const rows = prepared(this.db, `SELECT automatic_kind AS kind, count(*) AS n FROM messages
      WHERE id > ? AND id <= ? AND direction = 'in' AND automatic_kind IS NOT NULL GROUP BY automatic_kind`).all(after, upTo) as Array<{ kind: string; n: number }>;
    return { upTo, rows };
  }

  /**
   * Escalations and breaches among event ids `(after, upTo]`: `by` is `sla` for the sweep, `agent`
   * for a person's command; `toLevel` is the level escalated to (null for breaches).
   */
  slaEvents(after: number, upTo = this.maxId('events')): CountsSince<{ type: string; by: 'sla' | 'agent'; toLevel: number | null }> {
    const rows = prepared(this.db, `SELECT type, CASE WHEN actor = 'system' THEN 'sla' ELSE 'agent' END AS by,
        CASE WHEN type = 'escalated' THEN json_extract(data_json, '$.to') END AS toLevel, count(*) AS n
      FROM events WHERE id > ? AND id <= ? AND type IN (${SLA_EVENT_TYPES.map((t) => `'${t}'`).join(', ')})
      GROUP BY 1, 2, 3`).all(after, upTo) as Array<{ type: string; by: 'sla' | 'agent'; toLevel: number | null; n: number }>;
    return { upTo, rows };
  }

  /** Open tickets by state, severity and level (through `tickets_state`: cost follows the open tickets). */
  openTickets(): Array<{ state: TicketState; severity: number; level: number; n: number }> {
    return prepared(this.db, `SELECT state, severity, level, count(*) AS n FROM tickets
      WHERE state IN (${OPEN_STATES_SQL}) GROUP BY state, severity, level`).all() as never;
  }

  /** Rows waiting to be sent (pending, including those waiting out a retry delay, and sending). */
  outboxBacklog(): number {
    return (prepared(this.db, `SELECT count(*) AS n FROM outbox WHERE status IN ('pending', 'sending')`).get() as { n: number }).n;
  }

  /** Final send failures by channel (a 5xx, a Twilio 4xx, or attempts exhausted). */
  outboxFailedByChannel(): Array<{ channel: string; n: number }> {
    return prepared(this.db, `SELECT channel, count(*) AS n FROM outbox WHERE status = 'failed' GROUP BY channel`).all() as never;
  }

  openQuarantine(): number {
    return (prepared(this.db, 'SELECT count(*) AS n FROM quarantine WHERE resolved_at IS NULL').get() as { n: number }).n;
  }

}
