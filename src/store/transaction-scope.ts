import { AsyncLocalStorage } from 'node:async_hooks';
import type { Engine } from './engine.ts';
import type { SqlExecutor, SqlValue } from './sql.ts';

/**
 * A table whose rows the desk writes and never changes, and whose writer needs nothing back
 * from the insert (no id): the ticket's events, its ETR history, message rows without
 * attachments. `pgTypes` names each column's type for PostgreSQL's array insert.
 */
export interface AppendTable {
  readonly name: string;
  readonly columns: readonly string[];
  readonly pgTypes: readonly string[];
}

export const EVENTS_TABLE: AppendTable = {
  name: 'events',
  columns: ['ticket_id', 'at', 'actor', 'type', 'data_json', 'reason'],
  pgTypes: ['bigint', 'bigint', 'text', 'text', 'text', 'text'],
};

export const ETR_HISTORY_TABLE: AppendTable = {
  name: 'etr_history',
  columns: ['ticket_id', 'at', 'etr_at', 'source', 'reason'],
  pgTypes: ['bigint', 'bigint', 'bigint', 'text', 'text'],
};

export const MESSAGES_TABLE: AppendTable = {
  name: 'messages',
  columns: ['ticket_id', 'direction', 'channel', 'mailbox', 'message_id', 'from_address', 'to_json', 'subject', 'author',
    'automatic_kind', 'automatic_reason', 'visible_text', 'body_text', 'raw_sha256', 'created_at'],
  pgTypes: ['bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'bigint'],
};

/**
 * Appended only where the engine hands out ids ahead (PostgreSQL's sequence, see `reserveId`):
 * the caller needs the new row's id at once (events name it), not the row in the table.
 */
export const OUTBOX_TABLE: AppendTable = {
  name: 'outbox',
  columns: ['id', 'ticket_id', 'channel', 'moment', 'recipient', 'message_id', 'payload_json', 'status', 'next_attempt_at', 'created_at'],
  pgTypes: ['bigint', 'bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'bigint', 'bigint'],
};

const TABLES = [EVENTS_TABLE, ETR_HISTORY_TABLE, MESSAGES_TABLE, OUTBOX_TABLE];

/** Ids a transaction took ahead from a sequence: the first call takes one, each next call twice as many, up to this. */
const MAX_RESERVED = 64;

interface Pending {
  /** False once the transaction ended: a timer started inside it must not append to it. */
  active: boolean;
  rows: Map<AppendTable, SqlValue[][]>;
  kept: Map<string, Promise<unknown>>;
  reserved: Map<string, { ids: number[]; next: number }>;
}

/**
 * What a transaction carries besides its connection, so that a message costs few round trips:
 *
 * - Rows appended inside it wait and go in together, one multi-row insert per table, when the
 *   transaction (or savepoint) ends — on PostgreSQL a round trip saved per row, which is most of
 *   what a message costs there. Whatever reads or writes such a table first sends what is
 *   waiting for it (each statement's text is checked for the table names), so a read inside the
 *   transaction still sees every row appended before it, and rows keep their order.
 * - Reads the caller marks as keepable (`keep`) are made once per transaction: for facts that
 *   the transaction's own writes do not change in any way that matters (see the callers).
 *
 * Outside a transaction an append is an ordinary insert and nothing is kept.
 */
export class TransactionScope implements SqlExecutor {
  private readonly context = new AsyncLocalStorage<Pending>();
  private readonly touches = new Map<string, AppendTable[]>();

  constructor(private readonly engine: Engine) {}

  async append(table: AppendTable, values: SqlValue[]): Promise<void> {
    const pending = this.pending();
    if (pending === undefined) return this.engine.insertRows(table, [values]);
    const rows = pending.rows.get(table);
    if (rows) rows.push(values);
    else pending.rows.set(table, [values]);
  }

  /** Whether a transaction is open in this context (appended rows then wait for its end). */
  get inTransaction(): boolean {
    return this.pending() !== undefined;
  }

  /**
   * The rows of `table` appended in this transaction and not yet written, in order (for a read
   * that must count them without sending them: see `getBeside`).
   */
  waiting(table: AppendTable): readonly SqlValue[][] {
    return this.pending()?.rows.get(table) ?? [];
  }

  /**
   * A read that leaves the rows waiting for `table` unsent: the caller adds `waiting(table)` to
   * what it reads. Every other append table it names is written first, as in `get`.
   */
  async getBeside<T>(table: AppendTable, sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    const pending = this.pending();
    if (pending !== undefined && pending.rows.size > 0) {
      for (const t of this.tablesIn(sql)) if (t !== table) await this.flushTable(pending, t);
    }
    return this.engine.get<T>(sql, params);
  }

  /**
   * The next id of `sequence` for a row about to be appended, from a block this transaction took
   * ahead with `takeSql` (a query of `id`s whose one parameter is how many: n ids in one round
   * trip, the block doubling each time it runs out). It sends no waiting rows. Ids left unused
   * when the transaction ends are never used: a gap, as a sequence allows.
   */
  async reserveId(sequence: string, takeSql: string): Promise<number> {
    const pending = this.pending();
    if (pending === undefined) throw new Error('reserveId needs a transaction');
    let block = pending.reserved.get(sequence);
    if (block === undefined || block.ids.length === 0) {
      const n = Math.min(MAX_RESERVED, block?.next ?? 1);
      const ids = (await this.engine.all<{ id: number }>(takeSql, [n])).map((r) => Number(r.id));
      block = { ids, next: n * 2 };
      pending.reserved.set(sequence, block);
    }
    return block.ids.shift() as number;
  }

  /** `load()` once per transaction under `key`; every time outside one. */
  keep<T>(key: string, load: () => Promise<T>): Promise<T> {
    const pending = this.pending();
    if (pending === undefined) return load();
    let kept = pending.kept.get(key) as Promise<T> | undefined;
    if (kept === undefined) {
      kept = load();
      pending.kept.set(key, kept);
      // A failed read is not kept: the next caller tries again.
      kept.catch(() => pending.kept.delete(key));
    }
    return kept;
  }

  async all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    await this.flushFor(sql);
    return this.engine.all<T>(sql, params);
  }

  async get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    await this.flushFor(sql);
    return this.engine.get<T>(sql, params);
  }

  async run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    await this.flushFor(sql);
    return this.engine.run(sql, params);
  }

  /**
   * `fn` in a transaction whose appended rows are written before it commits. Nested, it is a
   * savepoint: what waited from outside is written first, outside it, so that a savepoint
   * rolled back discards only rows appended inside it.
   */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const outer = this.pending();
    if (outer) {
      await this.flushAll(outer);
      return this.engine.transaction(async () => {
        try {
          const result = await fn();
          await this.flushAll(outer);
          return result;
        } catch (err) {
          outer.rows.clear();
          throw err;
        }
      });
    }
    return this.engine.transaction(() => {
      const pending: Pending = { active: true, rows: new Map(), kept: new Map(), reserved: new Map() };
      return this.context.run(pending, async () => {
        try {
          const result = await fn();
          await this.flushAll(pending);
          return result;
        } finally {
          pending.active = false;
        }
      });
    });
  }

  /** Writes every row waiting in this transaction now (a batch ending, to find a bad row). */
  async flush(): Promise<void> {
    const pending = this.pending();
    if (pending) await this.flushAll(pending);
  }

  private pending(): Pending | undefined {
    const p = this.context.getStore();
    return p?.active ? p : undefined;
  }

  private async flushFor(sql: string): Promise<void> {
    const pending = this.pending();
    if (pending === undefined || pending.rows.size === 0) return;
    for (const table of this.tablesIn(sql)) await this.flushTable(pending, table);
  }

  private async flushAll(pending: Pending): Promise<void> {
    for (const table of [...pending.rows.keys()]) await this.flushTable(pending, table);
  }

  private async flushTable(pending: Pending, table: AppendTable): Promise<void> {
    const rows = pending.rows.get(table);
    if (!rows) return;
    pending.rows.delete(table);
    await this.engine.insertRows(table, rows);
  }

  private tablesIn(sql: string): AppendTable[] {
    let found = this.touches.get(sql);
    if (found === undefined) {
      // Statement texts are few (IN lists vary a little); a bound keeps a surprise from growing it.
      if (this.touches.size >= 10_000) this.touches.clear();
      found = TABLES.filter((t) => new RegExp(`\\b${t.name}\\b`, 'i').test(sql));
      this.touches.set(sql, found);
    }
    return found;
  }
}
