import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReportRepo } from '../../src/store/report-repo.ts';
import type { SqlExecutor, SqlValue } from '../../src/store/sql.ts';
import { SqliteEngine } from '../../src/store/sqlite/engine.ts';

/**
 * Metrics are scraped every few seconds for years: no count may read a whole growing table.
 * Every statement ReportRepo runs is captured with its arguments and its plan checked.
 */
describe('report queries stay cheap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mesa-report-'));
  const engine = SqliteEngine.open(join(dir, 'mesa.db'));
  afterAll(async () => { await engine.close(); rmSync(dir, { recursive: true, force: true }); });

  /** The same engine, recording each statement run through it with its arguments. */
  function recording(real: SqlExecutor, runs: Array<{ sql: string; args: readonly SqlValue[] }>): SqlExecutor {
    return {
      all: (sql, params = []) => { runs.push({ sql, args: params }); return real.all(sql, params); },
      get: (sql, params = []) => { runs.push({ sql, args: params }); return real.get(sql, params); },
      run: (sql, params = []) => { runs.push({ sql, args: params }); return real.run(sql, params); },
    };
  }

  it('reads events, tickets and messages by rowid range or index only', async () => {
    const runs: Array<{ sql: string; args: readonly SqlValue[] }> = [];
    const reports = new ReportRepo(recording(engine, runs), engine.dialect);
    await reports.ticketsByChannel(0);
    await reports.automaticMailByKind(0);
    await reports.slaEvents(0);
    await reports.openTickets();
    await reports.outboxBacklog();
    await reports.outboxFailedByChannel();
    await reports.openQuarantine();
    expect(runs.length).toBeGreaterThanOrEqual(10);
    for (const { sql, args } of runs) {
      const plan = (await engine.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, args)).map((r) => r.detail).join(' | ');
      // A full scan of an append-only table would grow with every ticket and message ever seen.
      expect(plan, sql).not.toMatch(/\bSCAN (events|tickets|messages|outbox)\b/);
      if (/\bFROM events\b/.test(sql)) expect(plan, sql).toMatch(/SEARCH events/);
    }
  });
});
