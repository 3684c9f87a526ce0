import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbCopyCommand } from '../../src/cli/commands.ts';
import { readEnvironment } from '../../src/config/environment.ts';
import { statusPath } from '../../src/domain/status-link.ts';
import { peek } from '../support/db-peek.ts';
import { email, startTestMesa, testEnv, type TestMesa } from '../support/mesa-harness.ts';
import { startPostgres, type PostgresServer } from '../support/postgres.ts';

/**
 * `mesa db copy`: a SQLite desk with tickets from every channel, raw messages, a quarantined
 * message and its generated secret moves into an empty PostgreSQL database; counts are verified,
 * and a Mesa started on PostgreSQL carries on where the SQLite one stopped.
 */
describe('mesa db copy', () => {
  let pg: PostgresServer;
  let source: TestMesa;
  let url: string;
  const now = new Date('2026-11-30T16:00:00Z');
  const noSecrets = { MESA_SECRET: undefined, MESA_PANEL_TOKEN: undefined };

  beforeAll(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase();
    // Generated secret in the data dir, as `npm start` leaves it.
    source = await startTestMesa({ start: false, databaseUrl: null, clock: () => now, env: noSecrets });
    for (let i = 0; i < 30; i++) {
      await source.mesa.receive(email({ from: `c${i}@copia.mx`, to: 'soportetecnico@proditmapac.com', subject: `Falla ${i}`, messageId: `copia-${i}@copia.mx` }, `No funciona el portal, caso ${i}. \u0000`), { kind: 'pipe', mailbox: null });
    }
    await source.mesa.receive(Buffer.from('esto no es un correo'), { kind: 'pipe', mailbox: null });
    await source.mesa.phone?.ticketForCall('CA1', '+525511112222', { speech: 'no hay internet' }, now);
    await source.mesa.store.close();
  }, 60_000);

  afterAll(async () => {
    if (source) rmSync(source.dataDir, { recursive: true, force: true });
    await pg?.remove();
  });

  it('copies every table and blob, verifies the counts, and the desk carries on on PostgreSQL', async () => {
    const env = readEnvironment({ ...testEnv(source.dataDir, {}), ...noSecrets });
    const out: string[] = [];
    const err: string[] = [];
    const ticks: number[] = [];
    const code = await dbCopyCommand(env, { to: url }, { out: (s) => out.push(s), err: (s) => err.push(s) }, (total) => {
      ticks.push(total);
      return { tick: () => { ticks.push(1); }, stop: () => {} };
    });
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/tickets\s+30\s+30\s+✔/);
    expect(text).toMatch(/quarantine\s+1\s+1\s+✔/);
    expect(text).toMatch(/blobs\s+31\s+31\s+✔/);
    expect(text).toContain('todas las cuentas coinciden');
    expect(ticks.length - 1).toBe(ticks[0]); // the bar went all the way

    // The same rows on the other side, the NUL of a broken mail aside.
    const fromSqlite = (await peek({ dataDir: source.dataDir }).all('SELECT key, subject, etr_at FROM tickets ORDER BY id')) as unknown[];
    const fromPg = (await peek({ dataDir: source.dataDir, databaseUrl: url }).all('SELECT key, subject, etr_at FROM tickets ORDER BY id')) as unknown[];
    expect(fromPg).toEqual(fromSqlite);

    // A Mesa on PostgreSQL (another host: empty data dir, no secret in the environment) goes on:
    // the next ticket number follows, the raw messages are there, old status links still open.
    const moved = await startTestMesa({ start: false, databaseUrl: url, clock: () => now, env: noSecrets });
    try {
      expect(moved.mesa.env.secret).toBe(env.secret);
      const next = await moved.mesa.receive(email({ from: 'nuevo@copia.mx', to: 'soportetecnico@proditmapac.com', subject: 'Otra falla', messageId: 'copia-nueva@copia.mx' }, 'Tampoco funciona.'), { kind: 'pipe', mailbox: null });
      expect((next as { ticketKey: string }).ticketKey).toBe('MDA-000031');
      const first = (await moved.mesa.store.tickets.byKey('MDA-000001'))!;
      const raw = (await peek(moved).get('SELECT raw_sha256 FROM messages WHERE ticket_id = ? ORDER BY id LIMIT 1', first.id)) as { raw_sha256: string };
      expect((await moved.mesa.store.blobs.get(raw.raw_sha256)).toString()).toContain('caso 0');
      const page = await moved.mesa.http.inject({ method: 'GET', url: statusPath(env.secret, 'MDA-000001') });
      expect(page.statusCode).toBe(200);
    } finally {
      await moved.stop();
    }

    // Copying again into a desk that has data is refused.
    const again = await dbCopyCommand(env, { to: url }, { out: () => {}, err: (s) => err.push(s) }, () => ({ tick: () => {}, stop: () => {} }));
    expect(again).toBe(73);
    expect(err.join('\n')).toContain('ya tiene datos');
  }, 120_000);
});
