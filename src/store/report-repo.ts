import type { TicketRow, TicketState } from '../domain/ticket.ts';

/** A ticket as the compliance report reads it. */
export type SlaReportSource = Pick<TicketRow, 'id' | 'organisation' | 'category' | 'severity' | 'created_at' | 'terms_json'
  | 'first_response_due_at' | 'first_responded_at' | 'first_response_breached_at'
  | 'resolution_due_at' | 'resolved_at' | 'resolution_breached_at' | 'resolution_business_minutes'> & { escalations: number };
import type { SqlDialect, SqlExecutor } from './sql.ts';
import { OPEN_STATES_SQL } from './ticket-repo.ts';

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
  constructor(private readonly sql: SqlExecutor, private readonly dialect: SqlDialect) {}

  /** The highest rowid of an append-only table (O(1): the last entry of the rowid b-tree). */
  async maxId(table: 'tickets' | 'messages' | 'events'): Promise<number> {
    return Number((await this.sql.get<{ m: number }>(`SELECT coalesce(max(id), 0) AS m FROM ${table}`))?.m ?? 0);
  }

  /** Tickets created, by channel, among ids `(after, upTo]`: "contacts by channel". */
  async ticketsByChannel(after: number, upTo?: number): Promise<CountsSince<{ channel: string }>> {
    upTo ??= await this.maxId('tickets');
    const rows = await this.sql.all<{ channel: string; n: number }>('SELECT channel, count(*) AS n FROM tickets WHERE id > ? AND id <= ? GROUP BY channel', [after, upTo]);
    return { upTo, rows: numeric(rows) };
  }

  /** Inbound automatic mail (bounce, auto_reply, list, loop), by kind, among ids `(after, upTo]`. */
  async automaticMailByKind(after: number, upTo?: number): Promise<CountsSince<{ kind: string }>> {
    upTo ??= await this.maxId('messages');
    const rows = await this.sql.all<{ kind: string; n: number }>(`SELECT automatic_kind AS kind, count(*) AS n FROM messages
      WHERE id > ? AND id <= ? AND direction = 'in' AND automatic_kind IS NOT NULL GROUP BY automatic_kind`, [after, upTo]);
    return { upTo, rows: numeric(rows) };
  }

  /**
   * Escalations and breaches among event ids `(after, upTo]`: `by` is `sla` for the sweep, `agent`
   * for a person's command; `toLevel` is the level escalated to (null for breaches).
   */
  async slaEvents(after: number, upTo?: number): Promise<CountsSince<{ type: string; by: 'sla' | 'agent'; toLevel: number | null }>> {
    upTo ??= await this.maxId('events');
    const rows = await this.sql.all<{ type: string; by: 'sla' | 'agent'; toLevel: number | null; n: number }>(`SELECT type, CASE WHEN actor = 'system' THEN 'sla' ELSE 'agent' END AS "by",
        CASE WHEN type = 'escalated' THEN ${this.dialect.jsonNumber('data_json', 'to')} END AS "toLevel", count(*) AS n
      FROM events WHERE id > ? AND id <= ? AND type IN (${SLA_EVENT_TYPES.map((t) => `'${t}'`).join(', ')})
      GROUP BY 1, 2, 3`, [after, upTo]);
    return { upTo, rows: numeric(rows).map((r) => ({ ...r, toLevel: r.toLevel === null ? null : Number(r.toLevel) })) };
  }

  /**
   * The tickets opened in `[from, to)` with what the compliance report needs of each, and the
   * number of escalations each had (through `tickets_created` and `events_ticket`).
   */
  async ticketsOpenedBetween(from: number, to: number): Promise<SlaReportSource[]> {
    return this.sql.all<SlaReportSource>(`SELECT t.id, t.organisation, t.category, t.severity, t.created_at, t.terms_json,
        t.first_response_due_at, t.first_responded_at, t.first_response_breached_at,
        t.resolution_due_at, t.resolved_at, t.resolution_breached_at, t.resolution_business_minutes,
        (SELECT count(*) FROM events e WHERE e.ticket_id = t.id AND e.type = 'escalated') AS escalations
      FROM tickets t WHERE t.created_at >= ? AND t.created_at < ? ORDER BY t.id`, [from, to]);
  }

  /** Open tickets by state, severity and level (through `tickets_state`: cost follows the open tickets). */
  async openTickets(): Promise<Array<{ state: TicketState; severity: number; level: number; n: number }>> {
    return numeric(await this.sql.all<{ state: TicketState; severity: number; level: number; n: number }>(`SELECT state, severity, level, count(*) AS n FROM tickets
      WHERE state IN (${OPEN_STATES_SQL}) GROUP BY state, severity, level`));
  }

  /** Rows waiting to be sent (pending, including those waiting out a retry delay, and sending). */
  async outboxBacklog(): Promise<number> {
    return Number((await this.sql.get<{ n: number }>(`SELECT count(*) AS n FROM outbox WHERE status IN ('pending', 'sending')`))?.n ?? 0);
  }

  /** Final send failures by channel (a 5xx, a Twilio 4xx, or attempts exhausted). */
  async outboxFailedByChannel(): Promise<Array<{ channel: string; n: number }>> {
    return numeric(await this.sql.all<{ channel: string; n: number }>(`SELECT channel, count(*) AS n FROM outbox WHERE status = 'failed' GROUP BY channel`));
  }

  async openQuarantine(): Promise<number> {
    return Number((await this.sql.get<{ n: number }>('SELECT count(*) AS n FROM quarantine WHERE resolved_at IS NULL'))?.n ?? 0);
  }
}

/** PostgreSQL's count(*) is a bigint, which its driver hands over as a string. */
function numeric<T extends { n: number }>(rows: T[]): T[] {
  return rows.map((r) => ({ ...r, n: Number(r.n) }));
}
