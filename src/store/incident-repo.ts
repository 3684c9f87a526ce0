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
  /** What the public and customers read as its title (`#titulo`); null: a neutral one. */
  public_title: string | null;
  /** Its own clock (`domain/incident-clock.ts`): the level holding it, since when, its deadlines. */
  level: number;
  level_since: number | null;
  next_update_due_at: number | null;
  next_escalation_due_at: number | null;
  next_digest_at: number | null;
  /** Linked count the level was last told (its opening notice or a digest). */
  digest_linked: number;
  next_action_at: number | null;
}

/** The clock columns an incident's changes may set. */
export type IncidentClockUpdate = Partial<Pick<IncidentRow, 'etr_at' | 'level' | 'level_since' | 'next_update_due_at' | 'next_escalation_due_at' | 'next_digest_at' | 'digest_linked' | 'next_action_at'>>;
const CLOCK_COLUMNS: ReadonlySet<string> = new Set(['etr_at', 'level', 'level_since', 'next_update_due_at', 'next_escalation_due_at', 'next_digest_at', 'digest_linked', 'next_action_at']);

export interface NewIncident {
  category: string;
  organisation: string | null;
  title: string;
  signature: readonly string[];
  etrAt: number;
  openedBy: string;
  reason: string;
  /** The level it is notified to, and holds it first. */
  level: number;
  nextDigestAt: number | null;
  /** Its first deadline (`IncidentClocks.opening`). */
  nextActionAt: number | null;
  /** Linked count its opening notice reports. */
  notifiedLinked: number;
}

export type IncidentUpdateKind = 'opened' | 'update' | 'etr' | 'note' | 'resolved' | 'linked' | 'unlinked';

/** One entry of what an incident told its customers (or of its links, for the record). */
export interface IncidentUpdateRow {
  id: number;
  incident_id: number;
  at: number;
  author: string;
  kind: IncidentUpdateKind;
  text: string | null;
  etr_at: number | null;
  reason: string | null;
  recipients: number;
}

export interface NewIncidentUpdate {
  author: string;
  kind: IncidentUpdateKind;
  text: string | null;
  etrAt: number | null;
  reason: string | null;
  recipients?: number;
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
    return await this.sql.get<IncidentRow>(`INSERT INTO incidents (state, category, organisation, title, signature_json, etr_at, opened_at, opened_by, reason, updated_at,
        level, level_since, next_digest_at, digest_linked, next_action_at)
      VALUES ('abierto', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    [i.category, i.organisation, i.title, JSON.stringify(i.signature), i.etrAt, now, i.openedBy, i.reason, now,
      i.level, now, i.nextDigestAt, i.notifiedLinked, i.nextActionAt]) as IncidentRow;
  }

  /** The incident, locked until the transaction ends on PostgreSQL (the sweep, a clock change). */
  async lockedById(id: number): Promise<IncidentRow | undefined> {
    return this.sql.get<IncidentRow>(`SELECT * FROM incidents WHERE id = ? ${this.dialect.forUpdate}`, [id]);
  }

  /** Changes clock columns (a fixed whitelist) and `updated_at`. */
  async updateClock(id: number, changes: IncidentClockUpdate, now: number): Promise<void> {
    const cols = Object.keys(changes).filter((c) => CLOCK_COLUMNS.has(c));
    if (cols.length === 0) return;
    await this.sql.run(`UPDATE incidents SET ${cols.map((c) => `${c} = ?`).join(', ')}, updated_at = ? WHERE id = ?`,
      [...cols.map((c) => changes[c as keyof IncidentClockUpdate] ?? null), now, id]);
  }

  /** Open incidents with a deadline come by `now`, in id order (there are a handful at most). */
  async dueIds(now: number): Promise<number[]> {
    return (await this.sql.all<{ id: number }>(`SELECT id FROM incidents WHERE state = 'abierto' AND next_action_at <= ? ORDER BY id`, [now])).map((r) => Number(r.id));
  }

  /** The distinct terms of its open linked tickets (severity and stored terms): the contracts its clock keeps pace with. */
  async linkedTerms(incidentId: number): Promise<Array<{ severity: number; terms_json: string | null }>> {
    return this.sql.all(`SELECT DISTINCT severity, terms_json FROM tickets WHERE incident_id = ? AND state IN (${OPEN_STATES_SQL})`, [incidentId]);
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

  async setPublicTitle(id: number, title: string, now: number): Promise<void> {
    await this.sql.run('UPDATE incidents SET public_title = ?, updated_at = ? WHERE id = ?', [title, now, id]);
  }

  async resolve(id: number, now: number): Promise<void> {
    await this.sql.run(`UPDATE incidents SET state = 'resuelto', resolved_at = ?, updated_at = ?, next_action_at = NULL WHERE id = ?`, [now, now, id]);
  }

  async addUpdate(incidentId: number, u: NewIncidentUpdate, now: number): Promise<void> {
    await this.sql.run(`INSERT INTO incident_updates (incident_id, at, author, kind, text, etr_at, reason, recipients) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [incidentId, now, u.author, u.kind, u.text, u.etrAt, u.reason, u.recipients ?? 0]);
    await this.sql.run('UPDATE incidents SET updated_at = ? WHERE id = ?', [now, incidentId]);
  }

  /** Its updates, oldest first. */
  async updates(incidentId: number): Promise<IncidentUpdateRow[]> {
    return this.sql.all<IncidentUpdateRow>('SELECT * FROM incident_updates WHERE incident_id = ? ORDER BY id', [incidentId]);
  }

  /** Ids of the open tickets linked to it, in order: the customers an update goes to. */
  async linkedOpenIds(incidentId: number): Promise<number[]> {
    return (await this.sql.all<{ id: number }>(`SELECT id FROM tickets WHERE incident_id = ? AND state IN (${OPEN_STATES_SQL}) ORDER BY id`, [incidentId])).map((r) => Number(r.id));
  }

  /** Open incidents and the recently resolved ones (since `since`), newest first: the status page and the panel. */
  async listed(since: number): Promise<IncidentRow[]> {
    return this.sql.all<IncidentRow>(`SELECT * FROM incidents WHERE state = 'abierto' OR resolved_at >= ? ORDER BY opened_at DESC, id DESC`, [since]);
  }

  /** The first ticket linked to it (the one that opened it): the incident's notices are rendered with it. */
  async firstLinkedId(incidentId: number): Promise<number | null> {
    const row = await this.sql.get<{ id: number }>('SELECT min(id) AS id FROM tickets WHERE incident_id = ?', [incidentId]);
    return row?.id == null ? null : Number(row.id);
  }

  async linkedCount(incidentId: number): Promise<number> {
    return Number((await this.sql.get<{ n: number }>('SELECT count(*) AS n FROM tickets WHERE incident_id = ?', [incidentId]))?.n ?? 0);
  }
}
