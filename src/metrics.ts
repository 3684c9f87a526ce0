import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from './store/store.ts';

/** What the metrics read from the running daemon at scrape time (IMAP pollers are added after the registry). */
export interface MetricSources {
  mailboxes(): Array<{ mailbox: string; stats: { connected: boolean; reconnects: number; holding?: boolean } }>;
  /** MESA_INSTANCE (or the host name): every series carries it as `mesa_instance`. */
  instance?: string;
}

export interface Metrics {
  registry: Registry;
  intake: Counter<'result' | 'origin'>;
  /** Seconds from a message's arrival in `Mesa.receiveMany` to its commit. */
  ingestSeconds: Histogram<'origin'>;
  /** Seconds to answer a webhook or portal request (`/twilio/*`, `/soporte-tecnico`), by route template. */
  webhookSeconds: Histogram<'route' | 'method' | 'status'>;
}

/** Routes whose latency is measured: Twilio's webhooks (Twilio gives up after 15 s) and the web portal. */
export function isWebhookRoute(url: string | undefined): url is string {
  return url !== undefined && (url.startsWith('/twilio/') || url === '/soporte-tecnico' || url.startsWith('/soporte-tecnico/'));
}

/**
 * Prometheus metrics: one registry per Mesa instance (tests run several in one process).
 *
 * Counts that must survive a restart come from the database at scrape time. Tickets, messages
 * and events are append-only, so their counters are kept incrementally: each scrape adds the rows
 * after the last id it saw (see ReportRepo), and a restarted Mesa starts again from the whole
 * table — the series never go down, and Prometheus' rate() works across restarts.
 */
export function createMetrics(store: Store, sources: MetricSources = { mailboxes: () => [] }): Metrics {
  const registry = new Registry();
  // Not `instance`: Prometheus sets that one to the scrape target. Desk-wide series (tickets,
  // outbox) read the shared database, so every instance reports the same values: aggregate them
  // with max(), not sum().
  if (sources.instance) registry.setDefaultLabels({ mesa_instance: sources.instance });
  collectDefaultMetrics({ register: registry, prefix: 'mesa_' });
  const reports = store.reports;
  const intake = new Counter({ name: 'mesa_intake_messages_total', help: 'Inbound messages by outcome', labelNames: ['result', 'origin'] as const, registers: [registry] });
  const ingestSeconds = new Histogram({
    name: 'mesa_ingest_seconds', help: 'Seconds from arrival of an inbound message to the commit of its outcome', labelNames: ['origin'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry],
  });
  const webhookSeconds = new Histogram({
    name: 'mesa_webhook_seconds', help: 'Seconds to answer a Twilio webhook or a portal request, by route', labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15], registers: [registry],
  });

  const contacts = new Tally<{ channel: string }>((after) => reports.ticketsByChannel(after), (r) => r.channel);
  dbCounter(registry, 'mesa_contacts_total', 'Contacts turned into new tickets, by channel (email, phone, web)', ['channel'], () => contacts.values((r) => ({ channel: r.channel })));

  const automatic = new Tally<{ kind: string }>((after) => reports.automaticMailByKind(after), (r) => r.kind);
  dbCounter(registry, 'mesa_automatic_mail_total', 'Inbound automatic mail recorded and not answered, by kind (bounce, auto_reply, list, loop)', ['kind'],
    () => automatic.values((r) => ({ kind: r.kind })));

  const sla = new Tally<{ type: string; by: string; toLevel: number | null }>((after) => reports.slaEvents(after), (r) => `${r.type}|${r.by}|${r.toLevel ?? ''}`);
  dbCounter(registry, 'mesa_escalations_total', 'Escalations to a higher level, by who decided (sla: the sweep; agent: a command) and the level reached', ['by', 'to_level'],
    () => sla.values((r) => ({ by: r.by, to_level: String(r.toLevel ?? '') }), (r) => r.type === 'escalated'));
  dbCounter(registry, 'mesa_sla_breaches_total', 'SLA breaches, by kind (first_response, resolution)', ['kind'],
    () => sla.values((r) => ({ kind: r.type === 'first_response_breached' ? 'first_response' : 'resolution' }), (r) => r.type !== 'escalated'));

  new Gauge({
    name: 'mesa_tickets_open', help: 'Open tickets by state, severity and level', labelNames: ['state', 'severity', 'level'] as const, registers: [registry],
    async collect() {
      // Read first, then replace: a reset before the await would show an empty gauge to a scrape in between.
      await keepOnOutage(async () => {
        const rows = await reports.openTickets();
        this.reset();
        for (const r of rows) this.set({ state: r.state, severity: String(r.severity), level: String(r.level) }, r.n);
      });
    },
  });
  new Gauge({
    name: 'mesa_outbox_messages', help: 'Outbox rows by status', labelNames: ['status'] as const, registers: [registry],
    async collect() {
      await keepOnOutage(async () => {
        for (const [status, n] of Object.entries(await store.outbox.counts())) this.set({ status }, n);
      });
    },
  });
  new Gauge({
    name: 'mesa_outbox_backlog', help: 'Outbound messages waiting to be sent (pending, retrying or being sent)', registers: [registry],
    async collect() { await keepOnOutage(async () => { this.set(await reports.outboxBacklog()); }); },
  });
  new Gauge({
    name: 'mesa_outbox_failed', help: 'Outbound messages that failed for good, by channel', labelNames: ['channel'] as const, registers: [registry],
    async collect() {
      await keepOnOutage(async () => {
        const rows = await reports.outboxFailedByChannel();
        this.reset();
        for (const channel of ['email', 'sms']) this.set({ channel }, 0);
        for (const r of rows) this.set({ channel: r.channel }, r.n);
      });
    },
  });
  new Gauge({
    name: 'mesa_quarantine_open', help: 'Quarantined messages not yet resolved', registers: [registry],
    async collect() { await keepOnOutage(async () => { this.set(await reports.openQuarantine()); }); },
  });
  new Gauge({
    name: 'mesa_imap_connected', help: 'Whether each IMAP mailbox is connected (1) or not (0)', labelNames: ['mailbox'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const m of sources.mailboxes()) this.set({ mailbox: m.mailbox }, m.stats.connected ? 1 : 0);
    },
  });
  new Gauge({
    name: 'mesa_imap_reconnects', help: 'IMAP reconnections of each mailbox since this process started', labelNames: ['mailbox'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const m of sources.mailboxes()) this.set({ mailbox: m.mailbox }, m.stats.reconnects);
    },
  });
  new Gauge({
    name: 'mesa_imap_mailbox_held', help: 'Whether this instance holds the mailbox lease and reads it (1) or another instance does (0)', labelNames: ['mailbox'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const m of sources.mailboxes()) this.set({ mailbox: m.mailbox }, m.stats.holding === false ? 0 : 1);
    },
  });
  new Gauge({
    name: 'mesa_database_up', help: 'Whether the database answered this scrape (1) or not (0)', labelNames: ['engine'] as const, registers: [registry],
    async collect() {
      this.reset();
      this.set({ engine: store.engineName }, await store.ping().then(() => 1, () => 0));
    },
  });
  return { registry, intake, ingestSeconds, webhookSeconds };
}

/**
 * Running totals over an append-only table, grouped by a key: each `refresh()` adds the rows
 * counted after the last id seen.
 */
class Tally<R extends object> {
  private after = 0;
  private readonly totals = new Map<string, { row: R; n: number }>();

  /** The refresh in flight: scrapes that overlap wait for it, so no rows are counted twice. */
  private refreshing: Promise<void> = Promise.resolve();

  constructor(private readonly since: (after: number) => Promise<{ upTo: number; rows: Array<R & { n: number }> }>, private readonly key: (r: R) => string) {}

  async values<L extends Record<string, string>>(labels: (r: R) => L, keep: (r: R) => boolean = () => true): Promise<Array<{ labels: L; n: number }>> {
    this.refreshing = this.refreshing.catch(() => {}).then(() => this.refresh());
    await this.refreshing;
    // Several label sets may fold into one (e.g. a breach by kind only): sum them.
    const out = new Map<string, { labels: L; n: number }>();
    for (const { row, n } of this.totals.values()) {
      if (!keep(row)) continue;
      const l = labels(row);
      const k = JSON.stringify(l);
      const o = out.get(k);
      if (o) o.n += n; else out.set(k, { labels: l, n });
    }
    return [...out.values()];
  }

  private async refresh(): Promise<void> {
    const { upTo, rows } = await this.since(this.after);
    for (const r of rows) {
      const k = this.key(r);
      const entry = this.totals.get(k);
      if (entry) entry.n += r.n; else this.totals.set(k, { row: r, n: r.n });
    }
    this.after = Math.max(this.after, upTo);
  }
}

/**
 * A counter whose value is read from the database at scrape time (it survives restarts). Exposed
 * with the counter type so rate() and increase() apply.
 */
function dbCounter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[], read: () => Promise<Array<{ labels: Record<L, string>; n: number }>>): void {
  new Counter<L>({
    name, help, labelNames, registers: [registry],
    async collect() {
      await keepOnOutage(async () => {
        const values = await read();
        this.reset();
        for (const { labels, n } of values) if (n > 0) this.inc(labels as never, n);
      });
    },
  });
}

/**
 * A series read from the database keeps its last values while the database does not answer, so
 * `/metrics` still answers during an outage (and says so in `mesa_database_up`).
 */
async function keepOnOutage(read: () => Promise<void>): Promise<void> {
  try {
    await read();
  } catch {
    // The last values stand.
  }
}
