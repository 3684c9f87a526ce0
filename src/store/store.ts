import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FileBlobStore, SqlBlobStore, type BlobStore } from './blob-store.ts';
import { CallRepo } from './call-repo.ts';
import { IntakeStateRepo } from './intake-state-repo.ts';
import { LeaseRepo } from './lease-repo.ts';
import { RateLimitRepo } from './rate-limit-repo.ts';
import { SharedSecretRepo } from './shared-secret-repo.ts';
import { TransferRepo } from './transfer-repo.ts';
import { MessageRepo } from './message-repo.ts';
import { OutboxRepo } from './outbox-repo.ts';
import { IncidentRepo } from './incident-repo.ts';
import { ReportRepo } from './report-repo.ts';
import { TransactionScope } from './transaction-scope.ts';
import { SqliteEngine } from './sqlite/engine.ts';
import { describeUrl, PostgresEngine, postgresLocation } from './postgres/engine.ts';
import type { Engine } from './engine.ts';
import { TicketRepo } from './ticket-repo.ts';
import { WebRepo } from './web-repo.ts';
import type { SchemaInspection, WriteProbe } from './engine.ts';

export type { SchemaInspection, WriteProbe };

/**
 * The store boundary: everything the rest of Mesa knows about persistence goes through here.
 * Repositories are async and engine-neutral; the engine underneath (SQLite embedded, PostgreSQL
 * shared) runs their SQL.
 *
 * Transactions are ambient: every repository call made inside `transaction`'s callback (in its
 * async context, however deep) joins that transaction, so the desk's rule "rows + events +
 * outbox in one commit" needs no handle threaded through every function. A `transaction`
 * inside another is a savepoint: it undoes only its own writes when it throws.
 */
export class Store {
  readonly tickets: TicketRepo;
  readonly messages: MessageRepo;
  readonly outbox: OutboxRepo;
  readonly incidents: IncidentRepo;
  readonly intake: IntakeStateRepo;
  readonly blobs: BlobStore;
  readonly calls: CallRepo;
  readonly web: WebRepo;
  /** Which instance reads which mailbox. */
  readonly leases: LeaseRepo;
  /** The web's rate-limit counters. */
  readonly rateLimits: RateLimitRepo;
  /** Secrets shared by instances; null on SQLite (they are files in the data directory there). */
  readonly sharedSecrets: SharedSecretRepo | null;
  /** Read-only counts for metrics, readiness and the CLI. */
  readonly reports: ReportRepo;
  /** Whole tables as they are, for `mesa db copy`. */
  readonly transfer: TransferRepo;

  private readonly appended: TransactionScope;

  private constructor(private readonly engine: Engine, blobs: BlobStore, ticketPrefix: string) {
    const sql = new TransactionScope(engine);
    this.appended = sql;
    const dialect = engine.dialect;
    this.tickets = new TicketRepo(sql, dialect, ticketPrefix);
    this.messages = new MessageRepo(sql);
    this.outbox = new OutboxRepo(sql, dialect);
    this.incidents = new IncidentRepo(sql, dialect);
    this.intake = new IntakeStateRepo(sql, dialect);
    this.blobs = blobs;
    this.calls = new CallRepo(sql, dialect);
    this.web = new WebRepo(sql);
    this.leases = new LeaseRepo(sql, dialect);
    this.rateLimits = new RateLimitRepo(sql);
    this.sharedSecrets = dialect.name === 'postgres' ? new SharedSecretRepo(sql) : null;
    this.reports = new ReportRepo(sql, dialect);
    this.transfer = new TransferRepo(sql, dialect.name);
  }

  /**
   * Opens the desk's database, created and migrated as needed: PostgreSQL when `url` is a
   * `postgres://` URL (blobs in the database), else SQLite under `dataDir` (blobs as files).
   */
  static async open(dataDir: string, ticketPrefix: string, url: string | null = null): Promise<Store> {
    if (url !== null && isPostgresUrl(url)) {
      const engine = await PostgresEngine.open(url);
      return new Store(engine, new SqlBlobStore(engine), ticketPrefix);
    }
    const engine = SqliteEngine.open(join(dataDir, 'mesa.db'));
    return new Store(engine, new FileBlobStore(join(dataDir, 'blobs')), ticketPrefix);
  }

  /**
   * The database under `dataDir` as `mesa doctor` sees it, opened without migrating; null when
   * there is none yet (it is created at the first start).
   */
  static async inspect(dataDir: string, url: string | null = null): Promise<(SchemaInspection & { where: string; serverVersion?: number | null }) | null> {
    if (url !== null && isPostgresUrl(url)) {
      return { where: postgresLocation(describeUrl(url)), ...(await PostgresEngine.inspect(url)) };
    }
    const file = join(dataDir, 'mesa.db');
    if (!existsSync(file)) return null;
    return { where: file, ...(await SqliteEngine.inspect(file)) };
  }

  /** Which engine holds the desk, for logs, `/readyz` and `/metrics`. */
  get engineName(): 'sqlite' | 'postgres' {
    return this.engine.dialect.name;
  }

  get isOpen(): boolean {
    return this.engine.isOpen;
  }

  /** Where the desk's data is, e.g. `SQLite /srv/mesa/data/mesa.db` (never a password). */
  get location(): string {
    return this.engine.location;
  }

  schemaVersion(): Promise<{ current: number; known: number }> {
    return this.engine.schemaVersion();
  }

  /** Runs `fn` in one transaction (SQLite: BEGIN IMMEDIATE, taking the write lock up front). */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    return this.appended.transaction(() => fn(this));
  }

  /**
   * Writes now the rows this transaction appended so far (events, ETR history, message rows go
   * in together at its end otherwise): for a caller that must know which of its steps a bad row
   * belongs to.
   */
  flush(): Promise<void> {
    return this.appended.flush();
  }

  /** A cheap round trip: is the database there? */
  async ping(): Promise<void> {
    await this.engine.get('SELECT 1 AS ok');
  }

  /** Whether the database takes a write now (the write lock, rolled back at once). */
  probeWrite(): Promise<WriteProbe> {
    return this.engine.probeWrite();
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}
