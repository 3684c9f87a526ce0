import { join } from 'node:path';
import { BlobStore } from './blob-store.ts';
import { CallRepo } from './call-repo.ts';
import { openDatabase, type Db } from './database.ts';
import { IntakeStateRepo } from './intake-state-repo.ts';
import { MessageRepo } from './message-repo.ts';
import { OutboxRepo } from './outbox-repo.ts';
import { ReportRepo } from './report-repo.ts';
import { TicketRepo } from './ticket-repo.ts';
import { WebRepo } from './web-repo.ts';

/**
 * The store boundary: everything the rest of Mesa knows about persistence goes through here,
 * so another backend (DESIGN §10) replaces this folder only.
 */
export class Store {
  readonly tickets: TicketRepo;
  readonly messages: MessageRepo;
  readonly outbox: OutboxRepo;
  readonly intake: IntakeStateRepo;
  readonly blobs: BlobStore;
  readonly calls: CallRepo;
  readonly web: WebRepo;
  /** Read-only counts for metrics, readiness and the CLI. */
  readonly reports: ReportRepo;

  constructor(readonly db: Db, dataDir: string, ticketPrefix: string) {
    this.tickets = new TicketRepo(db, ticketPrefix);
    this.messages = new MessageRepo(db);
    this.outbox = new OutboxRepo(db);
    this.intake = new IntakeStateRepo(db);
    this.blobs = new BlobStore(join(dataDir, 'blobs'));
    this.calls = new CallRepo(db);
    this.web = new WebRepo(db);
    this.reports = new ReportRepo(db);
  }

  static open(dataDir: string, ticketPrefix: string): Store {
    return new Store(openDatabase(join(dataDir, 'mesa.db')), dataDir, ticketPrefix);
  }

  /** Runs `fn` in one IMMEDIATE transaction (takes the write lock up front: no upgrade deadlock). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    this.db.close();
  }
}
