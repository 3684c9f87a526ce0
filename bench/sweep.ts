/**
 * The SLA sweep benchmark (issue 3, "Proof"): the sweep's cost must follow the number of due
 * tickets, not the number of open ones.
 *
 * 1. 1,000,000 open tickets (BENCH_OPEN_TICKETS shrinks it), none due: median time of
 *    `mesa.sweep.run(now)` → `noneDueMs` (target ≤ 10 ms).
 * 2. 1,000 of them made due for escalation: one sweep that really escalates them (events, ETR
 *    re-estimated, notices to both levels and the customer, SMS to level 2) → `due1000Ms`.
 * 3. A fresh database with 10,000 open tickets, none due → `noneDue10kMs` (flat: ≈ step 1).
 *
 * Tickets are inserted straight into SQLite in large transactions: creating a million through
 * the desk would take hours. Their SLA columns still come from the desk's own code
 * (`TicketLifecycle.initialSla`, `nextActionAt`) for a spread of creation minutes, severities and
 * states, so the index holds what production would hold. The sweep itself runs on Mesa as
 * deployed: WAL, `synchronous = NORMAL`, no ANALYZE, dispatcher not started (queuing is
 * measured, sending is not).
 *
 *   node --import tsx bench/sweep.ts     (or `npm run bench -- sweep`)
 *
 * Ends with one JSON line: {"bench":"sweep","openTickets":…,"noneDueMs":…,"due1000Ms":…,"noneDue10kMs":…}
 */
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Mesa } from '../src/app.ts';
import { readEnvironment } from '../src/config/environment.ts';
import type { DeskPolicy, Severity } from '../src/domain/policy.ts';
import { nextActionAt } from '../src/domain/sla.ts';
import { formatTicketKey } from '../src/domain/ticket-key.ts';
import { silentLogger } from '../src/log.ts';
import { SQLITE_DIALECT } from '../src/store/sqlite/engine.ts';
import { testEnv, testPolicy } from '../test/support/mesa-harness.ts';
import { prng } from './prng.ts';

export interface SweepBenchResult { bench: 'sweep'; openTickets: number; noneDueMs: number; due1000Ms: number; noneDue10kMs: number }

const DEFAULT_OPEN = 1_000_000;
const DUE = 1_000;
const SMALL_OPEN = 10_000;
const NONE_DUE_RUNS = 21;
const INSERT_CHUNK = 50_000;
const CONTACTS = 5_000;
const WARM_UP = 50;
const SEED = 0x53574550; // "SWEP"
// Monday 30 November 2026, 12:00 in Mexico City: inside business hours, so every severity's clock runs.
const NOW = new Date('2026-11-30T12:00:00-06:00');
const MINUTE = 60_000;
const ORGANISATIONS = 50;


/**
 * One person per level, level 2 with a phone (severities 1–2 send SMS), one "responsable"; and
 * 50 organisations (issue 12), every other one with a contract that changes each severity's
 * times a little, every fifth with an escalation matrix of its own, so the tickets carry
 * recorded terms of many kinds, as a desk with contracts would hold.
 */
function benchPolicy(): DeskPolicy {
  return testPolicy((p) => {
    p.levels[1].people = [{ name: 'Ana Uno', email: 'ana.n1@proditmapac.com', phone: null }];
    p.levels[2].people = [{ name: 'Beto Dos', email: 'beto.n2@proditmapac.com', phone: '+525511110002' }];
    p.levels[3].people = [{ name: 'Carla Tres', email: 'carla.n3@proditmapac.com', phone: null }];
    p.responsables = [{ name: 'Dirección', email: 'direccion@proditmapac.com', phone: null }];
    p.organisations = Array.from({ length: ORGANISATIONS }, (_, k) => ({
      id: `org${k}`, name: `Organización ${k}`, match: { domains: [`empresa${k}.com.mx`], addresses: [], phones: [] },
      // Times only longer than the defaults' (nothing may be due at NOW), by 1–25 minutes.
      contract: k % 2 === 0 ? null : { until: null, calendar: null, customer: null, severities: Object.fromEntries(([1, 2, 3, 4] as const).map((sev) => [sev, {
        firstResponseMinutes: p.severities[sev].firstResponseMinutes + k / 2, resolutionMinutes: p.severities[sev].resolutionMinutes + k,
      }])) },
    }));
    p.matrices = Array.from({ length: ORGANISATIONS / 5 }, (_, j) => ({
      id: `matriz${j}`, organisation: `org${j * 5}`, category: null, levels: { 2: [{ name: `Especialista ${j}`, email: `esp${j}@proditmapac.com`, phone: null }] }, fallback: null,
    }));
  });
}

/** What customers write about, by severity: [subject, description, type, category]. */
const KINDS: Record<Severity, ReadonlyArray<readonly [string, string, 'incidente' | 'solicitud', string]>> = {
  1: [['Portal caído para todos', 'El portal no carga para nadie desde hace unos minutos, marca error 503.', 'incidente', 'disponibilidad'],
    ['Acceso no autorizado a una cuenta', 'Detectamos movimientos que nadie de la oficina hizo, creemos que hackearon la cuenta.', 'incidente', 'seguridad']],
  2: [['Varios usuarios no pueden facturar', 'A todo el equipo le marca error al timbrar, no hay alternativa.', 'incidente', 'tecnico'],
    ['Urgente: no se procesan los pagos', 'Los pagos de hoy no aparecen aplicados, urge revisarlo.', 'incidente', 'pagos']],
  3: [['No puedo subir archivos', 'Al subir el archivo de conciliación me marca error, solo a mí.', 'incidente', 'tecnico'],
    ['El sistema está muy lento', 'Cada pantalla tarda más de un minuto en cargar desde ayer.', 'incidente', 'tecnico']],
  4: [['¿Cómo descargo mi constancia?', 'No encuentro la opción para descargar la constancia en el portal.', 'solicitud', 'general'],
    ['Alta de un usuario nuevo', 'Solicitamos el alta de un usuario para el área de compras.', 'solicitud', 'cuentas']],
};

/**
 * Fills a fresh data directory with `n` open tickets, none due at NOW; returns the open Mesa and
 * the bench's own connection to its file (bulk loading row by row through the desk would take
 * hours for a million tickets; the rows are built from the desk's own SLA code).
 */
async function seed(dataDir: string, n: number, log: (s: string) => void): Promise<{ mesa: Mesa; db: Database.Database }> {
  const mesa = await Mesa.open(readEnvironment(testEnv(dataDir, {})), { log: silentLogger(), listen: false, scheduleSweep: false, policy: benchPolicy(), clock: () => NOW });
  const db = new Database(join(dataDir, 'mesa.db'));
  db.pragma('busy_timeout = 5000');
  const prefix = mesa.policy.desk.ticketPrefix;
  const rnd = prng(SEED ^ n);
  const t0 = performance.now();
  // Bulk load only: the sweep is timed after this is put back to what Mesa sets.
  db.pragma('synchronous = OFF');

  const insertContact = db.prepare('INSERT INTO contacts (id, email, phone, name, organisation, created_at) VALUES (?, ?, NULL, ?, ?, ?)');
  db.transaction(() => {
    // Contacts of 211 companies; the first 50 are the organisations with their own terms.
    for (let c = 1; c <= CONTACTS; c++) insertContact.run(c, `cliente${c}@empresa${c % 211}.com.mx`, `Cliente ${c}`, c % 211 < ORGANISATIONS ? `org${c % 211}` : null, NOW.getTime() - 90 * 86_400_000);
  })();

  // SLA columns from the desk's own code, for each severity × state × creation minute (the
  // last 10 minutes, so that nothing is due yet even for severity 1's 15-minute first response).
  type Sla = Awaited<ReturnType<Mesa['lifecycle']['initialSla']>>;
  const slaCache = new Map<string, { sla: Sla; next: number; terms: string | null; organisation: string | null }>();
  const key = (company: number, severity: Severity, category: string, minutesAgo: number, responded: boolean): string => `${company}|${severity}|${category}|${minutesAgo}|${responded}`;
  // Companies past the 50 organisations share the general terms: one entry (-1) stands for them.
  for (const company of [-1, ...Array.from({ length: ORGANISATIONS }, (_, k) => k)]) for (const severity of [1, 2, 3, 4] as const) for (const [, , , category] of KINDS[severity]) for (let minutesAgo = 0; minutesAgo < 10; minutesAgo++) for (const responded of [false, true]) {
    {
      const created = new Date(NOW.getTime() - minutesAgo * MINUTE);
      const terms = mesa.terms.forNew({ email: company < 0 ? 'alguien@otra.com.mx' : `x@empresa${company}.com.mx`, phone: null }, category, created);
      const sla = await mesa.lifecycle.initialSla(terms, severity, category, created);
      const d = (x: number | null) => (x === null ? null : new Date(x));
      const next = nextActionAt({
        warningDueAt: d(sla.warningDueAt), nextEscalationDueAt: d(sla.nextEscalationDueAt), nextUpdateDueAt: d(sla.nextUpdateDueAt),
        firstResponseDueAt: d(sla.firstResponseDueAt), resolutionDueAt: d(sla.resolutionDueAt),
        state: responded ? 'en_atencion' : 'nuevo', level: 1, etrAt: sla.etr.at,
        firstRespondedAt: responded ? created : null, firstResponseBreachedAt: null, resolutionBreachedAt: null,
      });
      if (next === null || next.getTime() <= NOW.getTime()) throw new Error(`bench setup: severity ${severity} ticket would be due`);
      const general = terms.organisation === null && terms.matrix === null;
      slaCache.set(key(company, severity, category, minutesAgo, responded), { sla, next: next.getTime(), terms: general ? null : JSON.stringify(terms), organisation: terms.organisation?.id ?? null });
    }
  }
  const slaFor = (contact: number, severity: Severity, category: string, minutesAgo: number, responded: boolean) =>
    slaCache.get(key(contact % 211 < ORGANISATIONS ? contact % 211 : -1, severity, category, minutesAgo, responded))!;

  const insert = db.prepare(`INSERT INTO tickets (id, key, channel, mailbox, contact_id, subject, description, severity, type, category, level, state,
    customer_channel, cc_json, classification_json, etr_at, first_response_due_at, next_escalation_due_at, next_update_due_at, resolution_due_at,
    created_at, updated_at, level_since, warning_due_at, first_responded_at, paused_minutes, next_action_at, organisation, terms_json)
    VALUES (?, ?, 'email', ?, ?, ?, ?, ?, ?, ?, 1, ?, 'email', '[]', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`);
  const insertEtr = db.prepare('INSERT INTO etr_history (ticket_id, at, etr_at, source, reason) VALUES (?, ?, ?, ?, ?)');
  for (let start = 1; start <= n; start += INSERT_CHUNK) {
    db.transaction(() => {
      for (let id = start; id < Math.min(start + INSERT_CHUNK, n + 1); id++) {
        const r = rnd();
        const severity: Severity = r < 0.05 ? 1 : r < 0.2 ? 2 : r < 0.65 ? 3 : 4;
        const [subject, description, type, category] = KINDS[severity][id % 2]!;
        const minutesAgo = Math.floor(rnd() * 10);
        const responded = rnd() < 0.5;
        const contact = 1 + (id % CONTACTS);
        const { sla, next, terms, organisation } = slaFor(contact, severity, category, minutesAgo, responded);
        const created = NOW.getTime() - minutesAgo * MINUTE;
        const classification = JSON.stringify({ severity, type, category, level: 1, reasons: [], decidedBy: { severity: 'rules', type: 'rules', category: 'rules', level: 'level 1 makes first contact' } });
        insert.run(id, formatTicketKey(prefix, id), severity <= 3 ? 'soportetecnico' : 'mesadeayuda', contact, `${subject} (#${id})`, description,
          severity, type, category, responded ? 'en_atencion' : 'nuevo', classification, sla.etrAt, sla.firstResponseDueAt, sla.nextEscalationDueAt,
          sla.nextUpdateDueAt, sla.resolutionDueAt, created, created, created, sla.warningDueAt, responded ? created + MINUTE : null, next, organisation, terms);
        insertEtr.run(id, created, sla.etrAt, sla.etr.source, sla.etr.reason);
      }
    })();
    const done = Math.min(start + INSERT_CHUNK - 1, n);
    if (n >= 500_000 && done % 250_000 === 0) log(`  … ${done.toLocaleString('en')} tickets`);
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.pragma('synchronous = NORMAL');
  const due = (db.prepare('SELECT count(*) AS n FROM tickets WHERE next_action_at <= ?').get(NOW.getTime()) as { n: number }).n;
  if (due !== 0) throw new Error(`bench setup: ${due} tickets due`);
  const mb = statSync(join(dataDir, 'mesa.db')).size / 2 ** 20;
  log(`  ${n.toLocaleString('en')} open tickets inserted in ${((performance.now() - t0) / 1000).toFixed(1)} s (database ${mb.toFixed(0)} MB)`);
  return { mesa, db };
}

interface Timing { median: number; min: number; max: number }

/** Median of `runs` timed sweeps at NOW (after one untimed warm-up); each must find nothing. */
async function timeNoneDue(mesa: Mesa, runs: number): Promise<Timing> {
  await mesa.sweep.run(NOW);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await mesa.sweep.run(NOW);
    ms.push(performance.now() - t0);
    if (r.tickets !== 0) throw new Error(`a none-due sweep acted on ${r.tickets} tickets`);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)]!, min: ms[0]!, max: ms[ms.length - 1]! };
}

/**
 * Makes `count` random tickets due for escalation — their level-1 budget ran out a minute ago,
 * the 80 % warning already sent — and times the one sweep that escalates them all. A first,
 * untimed sweep of a few other tickets warms up the JIT and the compiled templates, so the
 * figure is the steady cost per ticket and both database sizes are compared alike.
 */
async function timeDue(mesa: Mesa, db: Database.Database, open: number, count: number): Promise<{ ms: number; queued: number }> {
  const rnd = prng(SEED + open);
  const ids = new Set<number>();
  while (ids.size < count + WARM_UP) ids.add(1 + Math.floor(rnd() * open));
  const all = [...ids];
  const past = NOW.getTime() - MINUTE;
  const makeDue = db.prepare('UPDATE tickets SET warning_due_at = NULL, next_escalation_due_at = ?, next_action_at = ? WHERE id = ?');
  const sweep = async (batch: number[]): Promise<{ ms: number; queued: number }> => {
    db.transaction(() => { for (const id of batch) makeDue.run(past, past, id); })();
    const outbox = (): number => (db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
    const before = outbox();
    const t0 = performance.now();
    const swept = await mesa.sweep.run(NOW);
    const ms = performance.now() - t0;
    if (swept.tickets !== batch.length || swept.actions.escalate !== batch.length) throw new Error(`expected ${batch.length} escalations, the sweep did ${JSON.stringify(swept)}`);
    return { ms, queued: outbox() - before };
  };
  await sweep(all.slice(0, WARM_UP));
  return await profiled(`sweep-due-${open}`, () => sweep(all.slice(WARM_UP)));
}

/**
 * With BENCH_CPU_PROFILE=DIR, the timed sweep alone (not the seeding, not the warm-up) is
 * written as a .cpuprofile to DIR, for Chrome DevTools or any profile reader.
 */
async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_CPU_PROFILE;
  if (!dir) return await run();
  const session = new Session();
  session.connect();
  const post = (method: string): Promise<unknown> => new Promise((resolve, reject) => session.post(method, (err, result) => (err ? reject(err) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.start');
  try {
    return await run();
  } finally {
    const { profile } = await post('Profiler.stop') as { profile: unknown };
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

const fmt = (ms: number): string => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : ms < 1000 ? `${ms.toFixed(2)} ms` : `${(ms / 1000).toFixed(2)} s`);
const round = (ms: number): number => Math.round(ms * 1000) / 1000;

export async function runSweepBench(opts: { openTickets: number }): Promise<SweepBenchResult> {
  const log = (s: string): void => console.log(s);
  const open = opts.openTickets;
  const dirs: string[] = [];
  const mesas: Array<{ mesa: Mesa; db: Database.Database }> = [];
  const close = async (m: { mesa: Mesa; db: Database.Database }): Promise<void> => { m.db.close(); await m.mesa.store.close(); };
  const fresh = (): string => { const d = mkdtempSync(join(tmpdir(), 'mesa-bench-sweep-')); dirs.push(d); return d; };
  try {
    log(`sweep benchmark: ${open.toLocaleString('en')} open tickets, then ${DUE.toLocaleString('en')} due; ${SMALL_OPEN.toLocaleString('en')} open for comparison; `
      + `${availableParallelism()} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}`);

    const seeded = await seed(fresh(), open, log);
    mesas.push(seeded);
    const big = seeded.mesa;
    const plan = seeded.db.prepare(`EXPLAIN QUERY PLAN ${SQLITE_DIALECT.dueTicketsSql}`)
      .all(NOW.getTime(), 0, 500) as Array<{ detail: string }>;
    log(`  due query plan: ${plan.map((p) => p.detail).join('; ')}`);
    const noneDue = await timeNoneDue(big, NONE_DUE_RUNS);
    log(`  none due: median ${fmt(noneDue.median)} (min ${fmt(noneDue.min)}, max ${fmt(noneDue.max)}, ${NONE_DUE_RUNS} runs)`);

    const dueCount = Math.min(DUE, open);
    const due1000 = await timeDue(big, seeded.db, open, dueCount);
    log(`  ${dueCount.toLocaleString('en')} due: ${fmt(due1000.ms)} (${(due1000.ms / dueCount).toFixed(2)} ms per ticket; ${dueCount} escalations, ${due1000.queued} messages queued)`);
    const afterDue = await timeNoneDue(big, NONE_DUE_RUNS);
    log(`  none due again: median ${fmt(afterDue.median)}`);
    await close(seeded);
    mesas.pop();

    const seededSmall = await seed(fresh(), SMALL_OPEN, log);
    mesas.push(seededSmall);
    const small = seededSmall.mesa;
    const noneDue10k = await timeNoneDue(small, NONE_DUE_RUNS);
    log(`  ${SMALL_OPEN.toLocaleString('en')} open, none due: median ${fmt(noneDue10k.median)} (min ${fmt(noneDue10k.min)}, max ${fmt(noneDue10k.max)})`);
    // Not in the JSON: the same 1,000 escalations among fewer open tickets, to see that their cost does not depend on it either.
    const due1000Small = await timeDue(small, seededSmall.db, SMALL_OPEN, dueCount);
    log(`  ${SMALL_OPEN.toLocaleString('en')} open, ${dueCount.toLocaleString('en')} due: ${fmt(due1000Small.ms)}`);

    const verdict = noneDue.median <= 10 ? 'within' : 'OVER';
    log(`summary: none due ${fmt(noneDue.median)} with ${open.toLocaleString('en')} open vs ${fmt(noneDue10k.median)} with ${SMALL_OPEN.toLocaleString('en')} open `
      + `(${verdict} the 10 ms target); ${dueCount.toLocaleString('en')} due ${fmt(due1000.ms)} among ${open.toLocaleString('en')}, ${fmt(due1000Small.ms)} among ${SMALL_OPEN.toLocaleString('en')}`);
    return { bench: 'sweep', openTickets: open, noneDueMs: round(noneDue.median), due1000Ms: round(due1000.ms), noneDue10kMs: round(noneDue10k.median) };
  } finally {
    for (const m of mesas) await close(m);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** `BENCH_OPEN_TICKETS` (default 1,000,000), for whoever runs the benchmark. */
export function sweepBenchOpenTickets(): number {
  const v = process.env.BENCH_OPEN_TICKETS;
  if (v === undefined || v === '') return DEFAULT_OPEN;
  const n = Number(v);
  if (!Number.isInteger(n) || n < DUE) throw new Error(`BENCH_OPEN_TICKETS must be an integer ≥ ${DUE}, not "${v}"`);
  return n;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runSweepBench({ openTickets: sweepBenchOpenTickets() }).then(
    (result) => {
      console.log(JSON.stringify(result));
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
