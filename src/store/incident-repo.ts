import { OPEN_STATES_SQL } from './ticket-repo.ts';
import { placeholders, type SqlDialect, type SqlExecutor } from './sql.ts';

export type IncidentState = 'abierto' | 'resuelto';

export interface IncidentRow {
  id: number;
  state: IncidentState;
  category: string;
  organisation: string | null;
  title: string;
  signature_json: string;
  etr_at: number;
  opened_at: number;
  opened_by: string;
  reason: string;
  resolved_at: number | null;
  updated_at: number;
}

export interface NewIncident {
  category: string;
  organisation: string | null;
  title: string;
  signature: readonly string[];
  etrAt: number;
  openedBy: string;
  reason: string;
}

/** A recent open ticket as incident detection reads it. */
export interface ReportRow {
  id: number;
  created_at: number;
  category: string;
  severity: number;
  organisation: string | null;
  report_words: string;
}

/** Major incidents (issue 13) and the tickets' links to them. */
export class IncidentRepo {
  constructor(private readonly sql: SqlExecutor, private readonly dialect: SqlDialect) {}

  /**
   * Holds, until the transaction ends, the decision about which incident reports of `category`
   * join: two instances opening tickets of one outage take turns, so they open one incident,
   * not two. (SQLite's single writer needs nothing.)
   */
  async lockCategory(category: string): Promise<void> {
    if (this.dialect.transactionLock !== null) await this.sql.get(this.dialect.transactionLock, [`mesa-incident:${category}`]);
  }

  async open(i: NewIncident, now: number): Promise<IncidentRow> {
    return await this.sql.get<IncidentRow>(`INSERT INTO incidents (state, category, organisation, title, signature_json, etr_at, opened_at, opened_by, reason, updated_at)
      VALUES ('abierto', ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    [i.category, i.organisation, i.title, JSON.stringify(i.signature), i.etrAt, now, i.openedBy, i.reason, now]) as IncidentRow;
  }

  async byId(id: number): Promise<IncidentRow | undefined> {
    return this.sql.get<IncidentRow>('SELECT * FROM incidents WHERE id = ?', [id]);
  }

  async openOnes(): Promise<IncidentRow[]> {
    return this.sql.all<IncidentRow>(`SELECT * FROM incidents WHERE state = 'abierto' ORDER BY id`);
  }

  /** Open tickets of `category` opened since `since`, with their words, linked to no incident. */
  async unlinkedReports(category: string, severities: readonly number[], since: number): Promise<ReportRow[]> {
    if (severities.length === 0) return [];
    return this.sql.all<ReportRow>(`SELECT id, created_at, category, severity, organisation, report_words FROM tickets
      WHERE created_at >= ? AND category = ? AND incident_id IS NULL AND report_words IS NOT NULL
        AND state IN (${OPEN_STATES_SQL}) AND severity IN (${placeholders(severities.length)})
      ORDER BY created_at, id`, [since, category, ...severities]);
  }

  async linkedCount(incidentId: number): Promise<number> {
    return Number((await this.sql.get<{ n: number }>('SELECT count(*) AS n FROM tickets WHERE incident_id = ?', [incidentId]))?.n ?? 0);
  }
}
