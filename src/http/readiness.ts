import type { Store } from '../store/store.ts';

/** One line of `/readyz`: what was checked, whether it passed, and why not (in Spanish, no secrets). */
export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail: string;
  [extra: string]: unknown;
}

export interface Readiness {
  ready: boolean;
  /** Which instance answered (MESA_INSTANCE or the host name). */
  instance: string;
  /** Names of the checks that failed, e.g. ['imap:soportetecnico', 'outbox']. */
  failing: string[];
  checks: ReadinessCheck[];
}

export interface ReadinessInput {
  store: Pick<Store, 'probeWrite' | 'engineName'>;
  instance: string;
  /** Set once shutdown has begun: a stopping instance takes no more traffic. */
  stopping: boolean;
  /** `holding: false`: another instance holds the mailbox's lease; this one stands by for it. */
  mailboxes: Array<{ mailbox: string; stats: { connected: boolean; reconnects: number; lastError: string | null; holding?: boolean } }>;
  /** How intake works when there is no IMAP (the drop folder), for the report. */
  intakeMode: string;
  outboxBacklog: () => Promise<number>;
  backlogLimit: number;
  /** Strings never to show (passwords, tokens), replaced wherever an error text quotes them. */
  secrets: readonly string[];
}

/**
 * `/readyz`: whether this instance can do its job now. Ready when the database takes the write
 * lock, every IMAP mailbox it holds is connected (one another instance holds is fine) and the outbox backlog is within
 * `operations.readyOutboxBacklog`. Each failing check is named, with the reason.
 */
export async function checkReadiness(input: ReadinessInput): Promise<Readiness> {
  // A very short "secret" would blank out ordinary words; real ones are longer.
  const scrub = (text: string): string => input.secrets.reduce((t, s) => (s.length >= 6 ? t.split(s).join('***') : t), text);
  const checks: ReadinessCheck[] = [];
  if (input.stopping) checks.push({ name: 'process', ok: false, detail: 'Mesa se está deteniendo' });
  checks.push(await checkDatabaseWritable(input.store, scrub));
  if (input.mailboxes.length === 0) {
    checks.push({ name: 'intake', ok: true, detail: input.intakeMode });
  }
  for (const m of input.mailboxes) {
    const base = { name: `imap:${m.mailbox}`, mailbox: m.mailbox, connected: m.stats.connected, reconnects: m.stats.reconnects, lastError: m.stats.lastError === null ? null : scrub(m.stats.lastError) };
    checks.push(m.stats.holding === false
      ? { ...base, ok: true, holding: false, detail: 'en espera: lo lee otra instancia' }
      : m.stats.connected
      ? { ...base, ok: true, detail: 'conectado' }
      : { ...base, ok: false, detail: `sin conexión${base.lastError ? `: ${base.lastError}` : ' (conectando)'}` });
  }
  try {
    const backlog = await input.outboxBacklog();
    checks.push({ name: 'outbox', ok: backlog <= input.backlogLimit, backlog, limit: input.backlogLimit,
      detail: backlog <= input.backlogLimit ? `${backlog} por enviar` : `${backlog} mensajes por enviar (límite ${input.backlogLimit})` });
  } catch (err) {
    checks.push({ name: 'outbox', ok: false, detail: `no se pudo contar la cola de salida: ${scrub((err as Error).message)}` });
  }
  const failing = checks.filter((c) => !c.ok).map((c) => c.name);
  return { ready: failing.length === 0, instance: input.instance, failing, checks };
}

/**
 * Proves the database can be written now: the store takes the write lock and rolls back at once
 * (SQLite: `BEGIN IMMEDIATE`, which fails on a read-only file or a lock held by another process
 * past a short wait).
 */
async function checkDatabaseWritable(store: Pick<Store, 'probeWrite' | 'engineName'>, scrub: (s: string) => string = (s) => s): Promise<ReadinessCheck> {
  const probe = await store.probeWrite();
  if (probe.ok) return { name: 'database', ok: true, engine: store.engineName, detail: 'admite escritura' };
  if (probe.kind === 'closed') return { name: 'database', ok: false, engine: store.engineName, detail: probe.message };
  const why = probe.kind === 'busy' ? 'ocupada por otro proceso' : probe.engineCode === 'SQLITE_READONLY' ? 'de solo lectura' : 'sin escritura';
  return { name: 'database', ok: false, engine: store.engineName, detail: `base de datos ${why}: ${scrub(probe.message)}`, code: probe.engineCode };
}
