import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/store/database.ts';
import { ReportRepo } from '../../src/store/report-repo.ts';

/**
 * Metrics are scraped every few seconds for years: no count may read a whole growing table.
 * Every statement ReportRepo runs is captured with its arguments and its plan checked.
 */
describe('report queries stay cheap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mesa-report-'));
  const db = openDatabase(join(dir, 'mesa.db'));
  afterAll(() => { db.close(); rmSync(dir, { recursive: true, force: true }); });

  /** The same connection, recording each statement run through it with its arguments. */
  function recording(real: Db, runs: Array<{ sql: string; args: unknown[] }>): Db {
    return new Proxy(real, {
      get(target, key) {
        if (key === 'prepare') {
          return (sql: string) => {
            const stmt = target.prepare(sql);
            return new Proxy(stmt, {
              get(s, k) {
                const v = Reflect.get(s, k) as unknown;
                if (typeof v !== 'function') return v;
                if (k === 'all' || k === 'get' || k === 'run') return (...args: unknown[]) => { runs.push({ sql, args }); return (v as (...a: unknown[]) => unknown).apply(s, args); };
                return (v as (...a: unknown[]) => unknown).bind(s);
              },
            }) as Database.Statement;
          };
        }
        const v = Reflect.get(target, key) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  it('reads events, tickets and messages by rowid range or index only', () => {
    const runs: Array<{ sql: string; args: unknown[] }> = [];
    const reports = new ReportRepo(recording(db, runs));
    reports.ticketsByChannel(0);
    reports.automaticMailByKind(0);
    reports.slaEvents(0);
    reports.openTickets();
    reports.outboxBacklog();
    reports.outboxFailedByChannel();
    reports.openQuarantine();
    expect(runs.length).toBeGreaterThanOrEqual(10);
    for (const { sql, args } of runs) {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail).join(' | ');
      // A full scan of an append-only table would grow with every ticket and message ever seen.
      expect(plan, sql).not.toMatch(/\bSCAN (events|tickets|messages|outbox)\b/);
      if (/\bFROM events\b/.test(sql)) expect(plan, sql).toMatch(/SEARCH events/);
    }
  });
});
