import type { SqlExecutor, SqlValue } from './sql.ts';

/**
 * The desk's tables in an order that respects their foreign keys, each with the key it is paged
 * by. Leases and rate-limit counters are left out on purpose: they describe running instances,
 * not the desk.
 */
export const DESK_TABLES: ReadonlyArray<{ name: string; key: string; identity: boolean }> = [
  { name: 'contacts', key: 'id', identity: true },
  { name: 'incidents', key: 'id', identity: true },
  { name: 'tickets', key: 'id', identity: true },
  { name: 'incident_updates', key: 'id', identity: true },
  { name: 'messages', key: 'id', identity: true },
  { name: 'attachments', key: 'id', identity: true },
  { name: 'events', key: 'id', identity: true },
  { name: 'etr_history', key: 'id', identity: true },
  { name: 'outbox', key: 'id', identity: true },
  { name: 'mailbox_cursors', key: 'mailbox', identity: false },
  { name: 'intake_failures', key: 'raw_sha256', identity: false },
  { name: 'quarantine', key: 'id', identity: true },
  { name: 'suppressed_addresses', key: 'address', identity: false },
  { name: 'calls', key: 'id', identity: true },
  { name: 'web_submissions', key: 'nonce', identity: false },
  { name: 'customer_digests', key: 'digest_key', identity: false },
];

type Row = Record<string, SqlValue>;
const NAME = /^[a-z_][a-z0-9_]*$/;

/** Whole-table reads and writes for `mesa db copy`: the only place rows move as they are. */
export class TransferRepo {
  constructor(private readonly sql: SqlExecutor, private readonly engine: 'sqlite' | 'postgres') {}

  async count(table: string): Promise<number> {
    return Number((await this.sql.get<{ n: number }>(`SELECT count(*) AS n FROM ${known(table).name}`))?.n ?? 0);
  }

  /** The next rows after `after` (keyset paging on the table's key), in key order. */
  async page(table: string, after: SqlValue | null, limit: number): Promise<Row[]> {
    const t = known(table);
    return after === null
      ? this.sql.all<Row>(`SELECT * FROM ${t.name} ORDER BY ${t.key} LIMIT ?`, [limit])
      : this.sql.all<Row>(`SELECT * FROM ${t.name} WHERE ${t.key} > ? ORDER BY ${t.key} LIMIT ?`, [after, limit]);
  }

  /** Inserts rows exactly as given (ids included), in one statement. */
  async insert(table: string, rows: readonly Row[]): Promise<void> {
    const t = known(table);
    const first = rows[0];
    if (!first) return;
    const columns = Object.keys(first);
    for (const c of columns) if (!NAME.test(c)) throw new Error(`unexpected column name ${c}`);
    const tuple = `(${columns.map(() => '?').join(', ')})`;
    await this.sql.run(`INSERT INTO ${t.name} (${columns.join(', ')}) VALUES ${rows.map(() => tuple).join(', ')}`,
      rows.flatMap((r) => columns.map((c) => r[c] ?? null)));
  }

  /** After inserting explicit ids: the next generated id continues after the largest one. */
  async continueIdentities(): Promise<void> {
    if (this.engine !== 'postgres') return;
    for (const t of DESK_TABLES.filter((x) => x.identity)) {
      await this.sql.get(`SELECT setval(pg_get_serial_sequence('${t.name}', 'id'), coalesce((SELECT max(id) FROM ${t.name}), 0) + 1, false)`);
    }
  }
}

function known(table: string): { name: string; key: string } {
  const t = DESK_TABLES.find((x) => x.name === table);
  if (!t) throw new Error(`not a desk table: ${table}`);
  return t;
}
