import { mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../log.ts';

/**
 * The embedded-defaults intake: `*.eml` files dropped into `data/inbox/` are processed in name
 * order and moved to `data/inbox/procesados/` once their outcome is committed. A file whose
 * processing must be retried stays where it is for the next scan.
 */
export class DropFolder {
  private timer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;
  readonly doneDir: string;

  constructor(
    readonly dir: string,
    private readonly deliver: (raw: Buffer, file: string) => Promise<void>,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {
    this.doneDir = join(dir, 'procesados');
    mkdirSync(this.doneDir, { recursive: true });
  }

  start(): void {
    const tick = (): void => {
      this.scanning = this.scan().then(() => undefined, () => undefined).finally(() => {
        this.scanning = null;
        if (this.timer !== null) { this.timer = setTimeout(tick, this.intervalMs); this.timer.unref(); }
      });
    };
    this.timer = setTimeout(tick, 0);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.scanning;
  }

  /** Processes every file present now; returns how many were committed. */
  async scan(): Promise<number> {
    let done = 0;
    const files = readdirSync(this.dir).filter((f) => f.endsWith('.eml')).sort();
    for (const f of files) {
      const path = join(this.dir, f);
      try {
        await this.deliver(readFileSync(path), f);
        renameSync(path, join(this.doneDir, f));
        done++;
      } catch (err) {
        this.log.warn({ event: 'drop.retry_later', file: f, error: (err as Error).message }, 'archivo se reintentará');
      }
    }
    return done;
  }
}
