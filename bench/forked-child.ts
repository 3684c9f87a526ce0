import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../test/support/smtp-sink.ts';

/** Benchmarks fork this same entry with an internal `__child` argument (see bench/run.ts). */
const RUN_FILE = fileURLToPath(new URL('./run.ts', import.meta.url));

/**
 * A forked child of a benchmark, spoken to over the IPC channel: the contenders run in processes
 * of their own so each one's CPU, heap and peak RSS are its own. A child reports a failure as a
 * `{ type: 'failed', error }` message.
 */
export class ForkedChild<In extends { type: string }, Out extends { type: string }> {
  /** Those alive, for an interrupted run to kill. */
  static readonly live = new Set<{ kill(): void }>();

  private readonly child: ChildProcess;
  private readonly inbox: Out[] = [];
  private exited: string | null = null;

  /** `args` after `__child`, e.g. ['ingest'] or ['webhook', 'mesa']; CPU profiles go to profileDir/profileName. */
  constructor(args: string[], profile: { dir: string; name: string } | null) {
    const prof = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profile.dir, profile.name)}`] : [];
    this.child = fork(RUN_FILE, ['__child', ...args], { execArgv: [...process.execArgv, ...prof], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: Out) => this.inbox.push(m));
    this.child.on('exit', (code, signal) => {
      this.exited = `exited with ${signal ?? code}`;
      ForkedChild.live.delete(this);
    });
    ForkedChild.live.add(this);
  }

  send(msg: In): void {
    this.child.send(msg);
  }

  /** The next message of `type`, failing fast if the child reported a failure or exited. */
  async next<T extends Out['type']>(type: T, timeoutMs = 60_000): Promise<Extract<Out, { type: T }>> {
    const found = await waitFor(() => {
      const failed = this.inbox.find((m) => m.type === 'failed');
      if (failed) throw new Error(`child failed: ${(failed as unknown as { error: string }).error}`);
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      if (this.exited) throw new Error(`child ${this.exited} before '${type}'`);
      return undefined;
    }, `child '${type}'`, timeoutMs);
    return found as Extract<Out, { type: T }>;
  }

  /** Sends `msg` and waits for the child's answer of type `answer`. */
  async ask<T extends Out['type']>(msg: In, answer: T, timeoutMs = 60_000): Promise<Extract<Out, { type: T }>> {
    this.send(msg);
    return this.next(answer, timeoutMs);
  }

  async exit(): Promise<void> {
    if (this.exited !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await gone;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.exited === null) this.child.kill('SIGKILL');
  }
}
