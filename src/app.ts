import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OwnIdentity } from './domain/auto-reply.ts';
import type { DeskPolicy } from './domain/policy.ts';
import { ConfigError, loadConfig } from './config/load-config.ts';
import { describeConfigChanges } from './config/config-diff.ts';
import { reloadablePolicy } from './config/live-config.ts';
import type { Environment } from './config/environment.ts';
import { Notices } from './desk/notices.ts';
import { AgentActions } from './desk/agent-actions.ts';
import { TicketLifecycle } from './desk/ticket-lifecycle.ts';
import { TicketOpening } from './desk/ticket-opening.ts';
import { IncidentLinking } from './desk/incident-linking.ts';
import { IncidentActions } from './desk/incident-actions.ts';
import { TicketTerms } from './desk/ticket-terms.ts';
import { EmailIntake, IntakeRetryLater, type IntakeOrigin, type IntakeOutcome, type StagedBatch } from './desk/email-intake.ts';
import { SlaClocks } from './desk/sla-clocks.ts';
import { buildHttpServer } from './http/server.ts';
import { checkReadiness, type Readiness } from './http/readiness.ts';
import { PageRenderer } from './http/page-renderer.ts';
import type { WebDeps } from './http/web-deps.ts';
import { registerStatusRoutes } from './http/status-routes.ts';
import { registerPanelRoutes } from './http/panel-routes.ts';
import { verifyTwilioSignatures } from './http/twilio-signature.ts';
import { PhoneIntake } from './desk/phone-intake.ts';
import { WebIntake } from './desk/web-intake.ts';
import { registerPortalRoutes } from './intake/web/portal-routes.ts';
import { registerVoiceRoutes } from './intake/phone/voice-routes.ts';
import { HeldWebhooks } from './intake/phone/held-webhooks.ts';
import { VoiceRenderer } from './outbound/voice-renderer.ts';
import { DropFolder } from './intake/email/drop-folder.ts';
import { ImapPoller, type ImapDelivery } from './intake/email/imap-poller.ts';
import { LEASE_HEARTBEAT_MS, LEASE_TTL_MS, MailboxKeeper } from './intake/email/mailbox-keeper.ts';
import { MailboxShare } from './intake/email/mailbox-share.ts';
import { createLogger, type Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { FileSender, SmtpSender, type EmailSender, type SmtpSettings } from './outbound/email-senders.ts';
import { OutboxDispatcher } from './outbound/outbox-dispatcher.ts';
import { FileSmsSender, TwilioSmsSender, type SmsSender } from './outbound/sms-senders.ts';
import { SlaSweep } from './desk/sla-sweep.ts';
import { IncidentClocks } from './desk/incident-clocks.ts';
import { IncidentSweep } from './desk/incident-sweep.ts';
import { CustomerDigests } from './desk/customer-digests.ts';
import cron, { type ScheduledTask } from 'node-cron';
import { TemplateRenderer } from './outbound/template-renderer.ts';
import { Store } from './store/store.ts';

/** How often held phone webhooks are offered to the database again. */
const HELD_REPLAY_MS = 2_000;

export const TEMPLATES_DIR = fileURLToPath(new URL('../templates', import.meta.url));

export interface MesaOptions {
  env: Environment;
  policy?: DeskPolicy;
  log?: Logger;
  /** The only source of "now" in the process; tests pass a fixed or stepping clock. */
  clock?: () => Date;
  /** Extra SMTP settings (tests lower timeouts). */
  smtp?: Partial<SmtpSettings>;
  /** Whether `start()` opens the HTTP port (tests use inject()). */
  listen?: boolean;
  /** Tests: base URL of a local server that speaks Twilio's REST API. */
  twilioApiBaseUrl?: string;
  /** Whether `start()` schedules the SLA sweep (tests drive `sweep.run(now)` themselves). */
  scheduleSweep?: boolean;
  /** How long `stop()` lets the dispatcher send what is due before giving up (default 15 s). */
  flushTimeoutMs?: number;
  /** Tests: faster mailbox-lease heartbeats (default 5 s, good for 20 s). */
  leaseTiming?: { heartbeatMs: number; ttlMs: number };
}

/**
 * The daemon, assembled: store, policy, desk, intake channels, outbox dispatcher and HTTP.
 * `Mesa.open` builds it without side effects beyond opening the database; `start` connects.
 */
export class Mesa {
  readonly store: Store;
  readonly policy: DeskPolicy;
  readonly log: Logger;
  readonly clock: () => Date;
  readonly intake: EmailIntake;
  readonly dispatcher: OutboxDispatcher;
  readonly http: FastifyInstance;
  /** One keeper per IMAP mailbox: it reads the mailbox while this instance holds its lease. */
  readonly mailboxes: MailboxKeeper[] = [];
  readonly dropFolder: DropFolder | null = null;
  readonly metrics: Metrics;
  readonly renderer: TemplateRenderer;
  readonly lifecycle: TicketLifecycle;
  /** Which major incident a report joins or opens (`mesa explain` asks it too). */
  readonly incidentLinking: IncidentLinking;
  /** Agents working major incidents (CLI and panel use it too). */
  readonly incidentActions: IncidentActions;
  readonly phone: PhoneIntake | null;
  readonly clocks: SlaClocks;
  readonly notices: Notices;
  /** Each ticket's service terms (organisation, contract, escalation matrix). */
  readonly terms: TicketTerms;
  readonly pages: PageRenderer;
  readonly sweep: SlaSweep;
  /** Major incidents' own clocks: cadence updates, new ETRs, escalation, digests (run after the SLA sweep). */
  readonly incidentSweep: IncidentSweep;
  /** Contracts' daily digests, sent after each sweep. */
  readonly digests: CustomerDigests;
  /**
   * Who this process is among the instances: `name` (MESA_INSTANCE or the host name) labels
   * logs, `/metrics` and `/readyz`; `holder` (name, pid and a nonce) is unique per start and is
   * what the mailbox leases record.
   */
  readonly instance: { name: string; holder: string };
  private sweepTask: ScheduledTask | null = null;
  /** Phone webhooks kept while the database was unavailable (null without the phone channel). */
  readonly heldCalls: HeldWebhooks | null = null;
  private heldTimer: NodeJS.Timeout | null = null;
  /** This instance's share of the mailboxes among the live instances (null without IMAP). */
  private readonly share: MailboxShare | null = null;
  private shareTiming = { heartbeatMs: LEASE_HEARTBEAT_MS, ttlMs: LEASE_TTL_MS };
  private shareTimer: NodeJS.Timeout | null = null;
  private readonly scheduleSweep: boolean;
  private readonly sender: EmailSender;

  private constructor(readonly env: Environment, opts: MesaOptions, store: Store, policy: DeskPolicy) {
    this.instance = { name: env.instanceName, holder: `${env.instanceName}/${process.pid}/${randomBytes(3).toString('hex')}` };
    this.log = (opts.log ?? createLogger()).child({ instance: env.instanceName });
    this.clock = opts.clock ?? (() => new Date());
    // A copy of our own: a reload (SIGHUP) replaces its sections in place, and every component
    // holds this same object, so each reads the new config at its next request or ticket.
    this.policy = { ...policy };
    this.store = store;
    this.renderer = new TemplateRenderer(TEMPLATES_DIR);
    const clocks = this.clocks = new SlaClocks(this.policy);
    const own = ownIdentity(this.policy);
    const terms = this.terms = new TicketTerms(this.policy, clocks);
    const notices = this.notices = new Notices({ store: this.store, policy: this.policy, renderer: this.renderer, terms, secret: env.secret, loopValue: this.policy.desk.messageIdDomain, linkBaseUrl: env.linkBaseUrl });
    this.lifecycle = new TicketLifecycle({ store: this.store, policy: this.policy, clocks, notices, terms });
    const incidentClocks = new IncidentClocks({ store: this.store, policy: this.policy, lifecycle: this.lifecycle, terms });
    const incidents = this.incidentLinking = new IncidentLinking({ store: this.store, policy: this.policy, clocks: incidentClocks });
    const incidentActions = this.incidentActions = new IncidentActions({ store: this.store, policy: this.policy, lifecycle: this.lifecycle, notices, linking: incidents, clocks: incidentClocks });
    const opening = new TicketOpening({ store: this.store, clocks, lifecycle: this.lifecycle, notices, terms, incidents });
    this.metrics = createMetrics(this.store, { mailboxes: () => this.mailboxes.map((k) => ({ mailbox: k.mailbox, stats: k.stats })), instance: env.instanceName });
    this.sender = env.smtp
      ? new SmtpSender({ ...env.smtp, ...opts.smtp }, this.store.blobs)
      : new FileSender(join(env.dataDir, 'outbox'), this.store.blobs);
    const r = this.policy.outbound.retry;
    const sms: SmsSender = env.twilio?.phoneNumber
      ? new TwilioSmsSender({ accountSid: env.twilio.accountSid, authToken: env.twilio.authToken, from: env.twilio.phoneNumber, apiBaseUrl: opts.twilioApiBaseUrl })
      : new FileSmsSender(join(env.dataDir, 'outbox', 'sms'));
    this.dispatcher = new OutboxDispatcher(this.store, this.sender, this.log.child({ component: 'outbox' }), this.clock, r, sms);
    this.sweep = new SlaSweep({ store: this.store, policy: this.policy, lifecycle: this.lifecycle, notices, log: this.log.child({ component: 'sweep' }), onOutbox: () => this.dispatcher.kick() });
    this.incidentSweep = new IncidentSweep({ store: this.store, clocks: incidentClocks, actions: incidentActions, log: this.log.child({ component: 'incident-sweep' }), onOutbox: () => this.dispatcher.kick() });
    this.digests = new CustomerDigests({ store: this.store, policy: this.policy, notices, clocks, terms, log: this.log.child({ component: 'digests' }) });
    this.intake = new EmailIntake({
      store: this.store, policy: this.policy, clocks, notices, lifecycle: this.lifecycle, opening,
      agents: new AgentActions({ store: this.store, policy: this.policy, lifecycle: this.lifecycle, notices, terms, incidents: incidentActions }),
      incidentActions,
      pipeline: { policy: this.policy, store: this.store, secret: env.secret, own },
      log: this.log.child({ component: 'intake' }),
      onOutbox: () => this.dispatcher.kick(),
    });
    if (env.imap) {
      const timing = opts.leaseTiming ?? { heartbeatMs: LEASE_HEARTBEAT_MS, ttlMs: LEASE_TTL_MS };
      const share = this.share = new MailboxShare({ presence: this.store.leases, holder: this.instance.holder, name: env.instanceName, mailboxes: this.policy.mailboxes.filter((m) => env.mailboxCredentials[m.id]).length, ttlMs: timing.ttlMs });
      this.shareTiming = timing;
      for (const mb of this.policy.mailboxes) {
        const cred = env.mailboxCredentials[mb.id];
        if (!cred) { this.log.warn({ event: 'imap.mailbox_skipped', mailbox: mb.id }, `sin credenciales IMAP para ${mb.id}`); continue; }
        const settings = {
          name: mb.id, host: env.imap.host, port: env.imap.port, secure: env.imap.secure, user: cred.user, password: cred.password,
          folder: mb.folder, processedFolder: mb.processedFolder, pollIntervalMs: mb.pollIntervalSeconds * 1000,
        };
        const holder = this.instance.holder;
        const origin = (at: ImapDelivery): IntakeOrigin => ({ kind: 'imap', mailbox: at.mailbox, uid: at.uid, uidValidity: at.uidValidity, holder });
        const log = this.log.child({ component: 'imap', mailbox: mb.id });
        this.mailboxes.push(new MailboxKeeper({
          mailbox: mb.id, holder, leases: this.store.leases, log, ...timing, share,
          newPoller: () => new ImapPoller(settings, {
            loadCursor: (m) => this.store.intake.cursor(m),
            deliver: async (raw, at) => { await this.receive(raw, origin(at)); },
            prepareBatch: (batch) => this.intake.stage(batch.map(({ raw, at }) => ({ raw, origin: origin(at) }))),
            deliverBatch: async (batch, prepared) => {
              const r = await this.receiveMany(batch.map(({ raw, at }) => ({ raw, origin: origin(at) })), prepared);
              return { committed: r.outcomes.length, error: r.failure?.error ?? null };
            },
            log,
          }),
        }));
      }
    } else {
      this.dropFolder = new DropFolder(join(env.dataDir, 'inbox'), async (raw) => { await this.receive(raw, { kind: 'drop', mailbox: null }); },
        this.log.child({ component: 'drop-folder' }), this.policy.intake.dropFolderPollSeconds * 1000);
    }
    this.http = buildHttpServer({ store: this.store, registry: this.metrics.registry, health: () => this.health(), readiness: () => this.readiness(), metrics: this.metrics, trustProxy: env.trustProxy });
    // Web pages (portal, customer status page, agents' panel), rendered server-side.
    this.pages = new PageRenderer(TEMPLATES_DIR, { name: this.policy.desk.name, phone: this.policy.desk.phone });
    const web: WebDeps = {
      store: this.store, policy: this.policy, lifecycle: this.lifecycle, notices, clocks, terms, pages: this.pages, incidents: incidentActions,
      secret: env.secret, panelToken: env.panelToken, linkBaseUrl: env.linkBaseUrl, clock: this.clock,
      log: this.log.child({ component: 'web' }), onOutbox: () => this.dispatcher.kick(),
    };
    registerStatusRoutes(this.http, web);
    registerPanelRoutes(this.http, web);
    const webIntake = new WebIntake({ store: this.store, policy: this.policy, lifecycle: this.lifecycle, opening, log: web.log, onOutbox: web.onOutbox });
    registerPortalRoutes(this.http, web, webIntake);
    this.phone = null;
    if (env.twilio) {
      // The phone channel: every /twilio route sits behind the signature check (fail closed).
      const phone = this.phone = new PhoneIntake({ store: this.store, policy: this.policy, lifecycle: this.lifecycle, opening, incidents, log: this.log.child({ component: 'phone' }), onOutbox: () => this.dispatcher.kick() });
      const voice = this.voice = new VoiceRenderer(TEMPLATES_DIR);
      const twilioSettings = env.twilio;
      const publicUrl = env.publicUrl as string;
      const log = this.log.child({ component: 'twilio' });
      const held = this.heldCalls = new HeldWebhooks(join(env.dataDir, 'held', 'twilio'), log);
      this.http.register(async (scope) => {
        verifyTwilioSignatures(scope, { authToken: twilioSettings.authToken, publicUrl, log });
        registerVoiceRoutes(scope, { phone, voice, policy: this.policy, businessClock: clocks.business, clock: this.clock, log, voiceName: this.policy.phone.voice, held });
      }, { prefix: '/twilio' });
    }
    this.listen = opts.listen ?? true;
    this.scheduleSweep = opts.scheduleSweep ?? true;
    this.flushTimeoutMs = opts.flushTimeoutMs ?? 15_000;
  }

  private readonly flushTimeoutMs: number;
  /** What the phone channel speaks (null without it); kept for a reload. */
  private voice: VoiceRenderer | null = null;

  /**
   * Reloads the config (default, organisations, local), the classification rules and every
   * template without a restart — what SIGHUP does. All of it is read and validated first; if
   * anything is invalid the running config stays as it was and the problems are logged, each
   * with its file, line, key (and organisation). Open tickets keep the terms recorded on them;
   * new tickets and every notice from now on use the new config. What only a restart can
   * change (`config/live-config.ts`) keeps its running value, and the log says so.
   */
  reload(): ReloadResult {
    let next: DeskPolicy;
    let fresh: { messages: TemplateRenderer; pages: PageRenderer; voice: VoiceRenderer | null };
    try {
      next = loadConfig(this.env.configDir, { mailboxAddresses: this.env.mailboxAddresses });
      fresh = {
        messages: new TemplateRenderer(TEMPLATES_DIR),
        pages: new PageRenderer(TEMPLATES_DIR, { name: next.desk.name, phone: next.desk.phone }),
        voice: this.voice ? new VoiceRenderer(TEMPLATES_DIR) : null,
      };
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
      this.log.error({ event: 'config.reload_failed', problems }, 'la configuración nueva no es válida: sigue en uso la anterior');
      return { ok: false, problems };
    }
    const { policy, needRestart } = reloadablePolicy(this.policy, next);
    const changes = describeConfigChanges(this.policy, policy);
    const schedule = this.policy.sla.sweepSchedule;
    Object.assign(this.policy, policy);
    this.clocks.reload();
    this.terms.reload();
    this.renderer.adopt(fresh.messages);
    this.pages.adopt(fresh.pages);
    if (fresh.voice) this.voice?.adopt(fresh.voice);
    if (this.sweepTask && this.policy.sla.sweepSchedule !== schedule) {
      void this.sweepTask.stop();
      this.sweepTask = cron.schedule(this.policy.sla.sweepSchedule, () => this.runSweep(), { noOverlap: true, name: 'mesa-sla-sweep' });
    }
    this.log.info({ event: 'config.reloaded', changes, needRestart }, 'configuración recargada');
    if (needRestart.length > 0) this.log.warn({ event: 'config.restart_needed', keys: needRestart }, 'hay cambios que solo se aplican al reiniciar');
    return { ok: true, changes, needRestart };
  }

  private readonly listen: boolean;

  static async open(env: Environment, opts: Omit<MesaOptions, 'env'> = {}): Promise<Mesa> {
    const policy = opts.policy ?? loadConfig(env.configDir, { mailboxAddresses: env.mailboxAddresses });
    const store = await Store.open(env.dataDir, policy.desk.ticketPrefix, env.databaseUrl);
    try {
      const shared = await shareSecrets(env, store, (opts.clock ?? (() => new Date()))());
      return new Mesa(shared, { ...opts, env: shared }, store, policy);
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  /** Every channel's way in: one raw message, one committed outcome (or a retry-later error). */
  async receive(raw: Buffer, origin: IntakeOrigin): Promise<IntakeOutcome> {
    const { outcomes, failure } = await this.receiveMany([{ raw, origin }]);
    if (failure) throw failure.error;
    return outcomes[0] as IntakeOutcome;
  }

  /** A batch in order, committed together; stops at the first message to retry later. */
  async receiveMany(items: Array<{ raw: Buffer; origin: IntakeOrigin }>, staged: Promise<StagedBatch> | null = null): ReturnType<EmailIntake['receiveMany']> {
    // Elapsed time for the latency histogram comes from the monotonic clock, not from `clock`
    // (which tests may freeze): it measures this process, not the desk's notion of "now".
    const started = performance.now();
    const work = this.intake.receiveMany(items, this.clock(), staged);
    this.inFlight.add(work);
    let result: Awaited<typeof work>;
    try {
      result = await work;
    } finally {
      this.inFlight.delete(work);
    }
    const seconds = (performance.now() - started) / 1000;
    items.slice(0, result.outcomes.length).forEach((item, i) => {
      this.metrics.intake.inc({ result: (result.outcomes[i] as IntakeOutcome).result, origin: item.origin.kind });
      this.metrics.ingestSeconds.observe({ origin: item.origin.kind }, seconds);
    });
    if (result.failure) {
      const kind = items[result.failure.index]?.origin.kind ?? 'imap';
      this.metrics.intake.inc({ result: result.failure.error instanceof IntakeRetryLater ? 'retry_later' : 'error', origin: kind });
    }
    return result;
  }

  async start(): Promise<void> {
    const mode = {
      intake: this.mailboxes.length > 0 ? `imap (${this.mailboxes.map((k) => k.mailbox).join(', ')})` : `carpeta ${this.dropFolder?.dir}`,
      outbound: this.env.smtp ? `smtp ${this.env.smtp.host}:${this.env.smtp.port}` : `archivos en ${join(this.env.dataDir, 'outbox')}`,
    };
    if (!this.env.imap || !this.env.smtp) {
      this.log.info({ event: 'mesa.embedded_defaults', ...mode }, `Mesa en modo local: correo entrante desde ${this.env.imap ? 'IMAP' : join(this.env.dataDir, 'inbox')}, saliente ${this.env.smtp ? 'por SMTP' : `a ${join(this.env.dataDir, 'outbox')}`}`);
    }
    await this.dispatcher.start();
    if (this.scheduleSweep) {
      // Catch up at once on whatever fell due while Mesa was down, then every minute.
      void this.runSweep();
      this.sweepTask = cron.schedule(this.policy.sla.sweepSchedule, () => this.runSweep(), { noOverlap: true, name: 'mesa-sla-sweep' });
    }
    if (this.share) {
      // Counted among the instances before taking any mailbox, so instances starting together
      // share the mailboxes out from the first heartbeat.
      const share = this.share;
      const beat = (): Promise<void> => share.beat().catch((err: Error) => {
        this.log.warn({ event: 'instances.presence_failed', error: err.message }, 'no se pudo renovar la presencia de esta instancia');
      });
      await beat();
      this.shareTimer = setInterval(() => { void beat(); }, this.shareTiming.heartbeatMs);
      this.shareTimer.unref();
    }
    for (const k of this.mailboxes) k.start();
    if (this.heldCalls && this.phone) {
      // Calls held during a database outage become tickets once it is back (tried every 2 s).
      const held = this.heldCalls;
      const phone = this.phone;
      this.heldTimer = setInterval(() => { void this.replayHeldCalls(held, phone); }, HELD_REPLAY_MS);
      this.heldTimer.unref();
      void this.replayHeldCalls(held, phone);
    }
    this.dropFolder?.start();
    if (this.listen) {
      const address = await this.http.listen({ port: this.env.httpPort, host: '0.0.0.0' });
      this.log.info({ event: 'http.listening', address }, `HTTP en ${address}`);
    }
    // Where the panel's token comes from (never the token itself): an operator needs to know.
    const panelToken = this.env.panelTokenSource === 'env' ? 'MESA_PANEL_TOKEN'
      : this.env.panelTokenSource === 'database' ? 'la base de datos (mesa panel-token lo muestra)' : join(this.env.dataDir, 'panel.token');
    this.log.info({ event: 'mesa.started', database: this.store.location, secretSource: this.env.secretSource, panelToken, ...mode }, `Mesa iniciada; panel en ${this.env.linkBaseUrl}/panel (token en ${panelToken})`);
  }

  private async replayHeldCalls(held: HeldWebhooks, phone: PhoneIntake): Promise<void> {
    try {
      await held.replay(phone);
    } catch (err) {
      this.log.error({ event: 'twilio.held_replay_failed', error: (err as Error).message }, 'fallo al registrar llamadas guardadas');
    }
  }

  /** One sweep at the shell's "now"; a failure is logged and the next tick tries again. */
  async runSweep(): Promise<void> {
    if (this.sweeping) return;
    const now = this.clock();
    this.sweeping = this.sweep.run(now).then(() => undefined, (err: Error) => {
      this.log.error({ event: 'sweep.failed', error: err.message }, 'fallo el barrido de SLA');
    }).then(() => this.incidentSweep.run(now)).then(() => undefined, (err: Error) => {
      this.log.error({ event: 'incident_sweep.failed', error: err.message }, 'fallo el barrido de incidentes mayores');
    }).then(() => this.digests.run(now)).then((d) => {
      if (d.emails > 0) this.dispatcher.kick();
    }, (err: Error) => {
      this.log.error({ event: 'digests.failed', error: err.message }, 'fallo el envío de resúmenes diarios');
    }).finally(() => { this.sweeping = null; });
    await this.sweeping;
  }

  private sweeping: Promise<void> | null = null;
  /** Intake batches between arrival and commit, for `stop()` to wait on. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopping: Promise<void> | null = null;

  /**
   * Graceful shutdown, in order: stop taking work (sweep schedule, IMAP pollers and the drop
   * folder after the batch in flight commits, HTTP after the requests in flight), wait for any
   * other intake in flight, let the dispatcher send what is due (at most `flushTimeoutMs`), then
   * close the store. Calling it again returns the same promise.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    await this.sweepTask?.destroy();
    this.sweepTask = null;
    if (this.heldTimer) clearInterval(this.heldTimer);
    this.heldTimer = null;
    await Promise.all([
      this.sweeping,
      ...this.mailboxes.map((k) => k.stop()),
      this.dropFolder?.stop(),
      this.http.close(),
    ]);
    await Promise.allSettled([...this.inFlight]);
    if (this.shareTimer) clearInterval(this.shareTimer);
    await this.share?.leave().catch(() => undefined);
    // A last pass over what is due, then the senders close; bounded, as a dead SMTP server could
    // hold a send for its whole timeout. What is left stays in the outbox for the next start.
    this.dispatcher.kick();
    const flushed = await Promise.race([
      this.dispatcher.stop().then(() => true, (err: Error) => {
        this.log.error({ event: 'outbox.stop_failed', error: err.message }, 'fallo al detener la cola de salida');
        return true;
      }),
      new Promise<false>((resolve) => setTimeout(resolve, this.flushTimeoutMs, false).unref()),
    ]);
    if (!flushed) {
      // A send is still in flight and will settle its rows when it returns: the store stays open
      // for it (the process is exiting; SQLite needs no close to stay consistent).
      this.log.warn({ event: 'mesa.flush_timeout', timeoutMs: this.flushTimeoutMs, backlog: await this.store.reports.outboxBacklog().catch(() => null) }, 'la cola de salida no terminó a tiempo; se enviará al reiniciar');
    } else {
      await this.store.close();
    }
    this.log.info({ event: 'mesa.stopped' }, 'Mesa detenida');
  }

  async health(): Promise<Record<string, unknown>> {
    return {
      imap: this.mailboxes.map((k) => ({ mailbox: k.mailbox, ...k.stats })),
      outbox: await this.store.outbox.counts(),
      quarantine: await this.store.reports.openQuarantine(),
    };
  }

  /** `/readyz`: see src/http/readiness.ts. */
  readiness(): Promise<Readiness> {
    return checkReadiness({
      store: this.store,
      instance: this.instance.name,
      stopping: this.stopping !== null,
      mailboxes: this.mailboxes.map((k) => ({ mailbox: k.mailbox, stats: k.stats })),
      intakeMode: this.dropFolder ? `carpeta local ${this.dropFolder.dir}` : 'sin buzones IMAP',
      outboxBacklog: () => this.store.reports.outboxBacklog(),
      backlogLimit: this.policy.operations.readyOutboxBacklog,
      secrets: [
        ...Object.values(this.env.mailboxCredentials).map((c) => c.password),
        this.env.smtp?.password ?? '', this.env.twilio?.authToken ?? '', this.env.secret, this.env.panelToken,
        this.env.databaseUrl === null ? '' : new URL(this.env.databaseUrl).password,
      ].filter((s) => s.length > 0),
    });
  }
}

/**
 * On PostgreSQL every instance must sign and check with the same secret and panel token: unless
 * the environment sets them, the first instance's become the desk's (stored in the database) and
 * the others adopt them. A SQLite desk keeps the files of its data directory.
 */
export async function shareSecrets(env: Environment, store: Store, now: Date): Promise<Environment> {
  const shared = store.sharedSecrets;
  if (shared === null) return env;
  let next = env;
  if (env.secretSource !== 'env') {
    const { value } = await shared.settle('secret', env.secret, now.getTime());
    next = { ...next, secret: value, secretSource: 'database' };
  }
  if (env.panelTokenSource !== 'env') {
    const { value } = await shared.settle('panel_token', env.panelToken, now.getTime());
    next = { ...next, panelToken: value, panelTokenSource: 'database' };
  }
  return next;
}

/** What a reload did: the changes it applied and those waiting for a restart, or why it applied none. */
export type ReloadResult = { ok: true; changes: string[]; needRestart: string[] } | { ok: false; problems: string[] };

export function ownIdentity(policy: DeskPolicy): OwnIdentity {
  return {
    loopHeader: policy.desk.loopHeader,
    // Empty: our loop header with *any* value counts, so the echo of another Mesa instance
    // (staging, a second desk) is not answered either. What we send carries our Message-ID domain as the value.
    loopValue: '',
    messageIdDomain: policy.desk.messageIdDomain,
    ownAddresses: policy.mailboxes.map((m) => m.address),
  };
}
