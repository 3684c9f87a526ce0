/**
 * A private, throw-away PostgreSQL cluster for the real-server test tier.
 *
 * Each instance is a fresh `initdb` in its own temp dir (data dir, server log and Unix socket),
 * listening on a free loopback port, so several test files can run clusters side by side and
 * nothing under /etc/postgresql, /var/run/postgresql or the system service is used. Debian's
 * binaries are called directly from /usr/lib/postgresql/<version>/bin, bypassing the
 * pg_ctlcluster wrappers, which only manage clusters registered under /etc.
 *
 * Authentication is `trust` for the superuser `mesa`: the server only listens on 127.0.0.1 and
 * on a socket inside a private directory, and the whole cluster is deleted afterwards.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { isProcessAlive } from '../../src/process-alive.ts';
import { freePort } from './free-port.ts';

const { Client } = pg;
const run = promisify(execFile);

export interface PostgresServer {
  host: string;
  port: number;
  user: string;
  dataDir: string;
  /** postgres://mesa@127.0.0.1:<port>/<db> */
  url(database?: string): string;
  /** CREATE DATABASE with a unique name (e.g. mesa_test_<n>), returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** pg_ctl stop -m <mode>  (mode 'fast' | 'immediate') */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** pg_ctl start again on the same port and data dir */
  start(): Promise<void>;
  /** stop (fast) and remove the temp dir; safe to call twice */
  remove(): Promise<void>;
}

const HOST = '127.0.0.1';
const USER = 'mesa';
const PG_ROOT = '/usr/lib/postgresql';
/** Seconds pg_ctl waits for the server to come up or go down. */
const PG_CTL_WAIT_S = 30;

// Clusters started here and not yet removed. If the test process exits without remove() (a failed
// beforeAll, a crash), the postmaster would keep running on its own, since pg_ctl detaches it;
// the exit hook stops each one (synchronously, as an exit hook must) and deletes its dir.
const live = new Map<string, () => void>();
process.once('exit', () => {
  for (const cleanup of live.values()) cleanup();
});

/** The pid of the test process that started a cluster, kept in the cluster's dir. */
const OWNER_FILE = 'owner.pid';

/**
 * Clusters whose test process is gone. Vitest ends its fork workers with a signal, and a run
 * killed from outside (a timeout, ^C) dies the same way: neither reaches the exit hook, and the
 * postmasters would run on, each costing CPU to every later run. Any `mesa-pg-*` dir whose
 * owner pid no longer exists is stopped and deleted — by every new cluster's start, and by the
 * suite's global setup before and after the run (`test/support/global-setup.ts`).
 */
export async function reapOrphanClusters(opts: { waitForOwnersMs?: number } = {}): Promise<void> {
  const dirs = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('mesa-pg-'));
  if (dirs().length === 0) return;
  // After a run the workers may still be on their way out: give their pids a moment to go.
  const deadline = Date.now() + (opts.waitForOwnersMs ?? 0);
  while (Date.now() < deadline && dirs().some((n) => { const o = ownerOf(join(tmpdir(), n)); return o !== null && isProcessAlive(o); })) {
    await new Promise((r) => setTimeout(r, 100));
  }
  reapOrphans(findPostgresBin(), runnerFor());
}

/** An immediate stop if the cluster in `dir` is running (synchronous: exit hooks use it), then its dir deleted. */
function stopAndDelete(bin: string, runner: Runner, dir: string): void {
  try {
    const [cmd, args] = runner.wrap(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    execFileSync(cmd, args, { cwd: dir, stdio: 'ignore' });
  } catch {
    // Not running.
  }
  rmSync(dir, { recursive: true, force: true });
}

function ownerOf(dir: string): number | null {
  try {
    const n = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

function reapOrphans(bin: string, runner: Runner): void {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith('mesa-pg-'))) {
    const dir = join(tmpdir(), name);
    const owner = ownerOf(dir);
    // No owner file: being created, or from before owner files: not ours to judge.
    if (owner === null || isProcessAlive(owner)) continue;
    stopAndDelete(bin, runner, dir);
  }
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBin();
  const runner = runnerFor();
  reapOrphans(bin, runner);
  const dir = mkdtempSync(join(tmpdir(), 'mesa-pg-'));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  if (runner.owner) chownSync(dir, runner.owner.uid, runner.owner.gid);
  const c: Cluster = { bin, dir, dataDir: join(dir, 'data'), logFile: join(dir, 'log'), runner };
  // Last resort, also for the exit hook: an immediate stop if anything is running, then delete.
  const destroy = (): void => {
    stopAndDelete(bin, runner, dir);
    live.delete(dir);
  };
  live.set(dir, destroy);

  let port = 0;
  try {
    await initdb(c);
    // Picking a free port by binding 0 and closing races with other processes doing the same, so
    // a bind failure at start is retried on a fresh port.
    for (let attempt = 1; ; attempt++) {
      port = await freePort(HOST);
      try {
        await pgCtlStart(c, port);
        break;
      } catch (err) {
        if (attempt >= 3 || !/already in use/i.test(String(err))) throw err;
      }
    }
  } catch (err) {
    destroy();
    throw err;
  }

  let running = true;
  let removed = false;
  let databases = 0;
  const url = (database = 'postgres'): string => `postgres://${USER}@${HOST}:${port}/${database}`;
  const server: PostgresServer = {
    host: HOST,
    port,
    user: USER,
    dataDir: c.dataDir,
    url,
    async createDatabase(name) {
      const db = name ?? `mesa_test_${++databases}`;
      if (!/^[a-z_][a-z0-9_]*$/.test(db)) throw new Error(`postgres harness: unsupported database name ${db}`);
      const client = new Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${db}"`);
      } finally {
        await client.end();
      }
      return url(db);
    },
    async stop(mode = 'fast') {
      if (!running) return;
      await exec(c, 'pg_ctl', ['-D', c.dataDir, '-m', mode, '-t', String(PG_CTL_WAIT_S), '-w', 'stop']);
      running = false;
    },
    async start() {
      if (removed) throw new Error('postgres harness: start() after remove()');
      if (running) return;
      await pgCtlStart(c, port);
      running = true;
    },
    async remove() {
      if (removed) return;
      removed = true;
      try {
        await server.stop('fast');
      } catch (err) {
        destroy();
        throw err;
      }
      rmSync(dir, { recursive: true, force: true });
      live.delete(dir);
    },
  };
  return server;
}

interface Cluster {
  /** e.g. /usr/lib/postgresql/15/bin */
  bin: string;
  /** The temp dir: holds data/, log and the Unix socket. */
  dir: string;
  dataDir: string;
  logFile: string;
  runner: Runner;
}

/** Highest-versioned Debian PostgreSQL installation, e.g. /usr/lib/postgresql/15/bin. */
function findPostgresBin(): string {
  const versions = existsSync(PG_ROOT)
    ? readdirSync(PG_ROOT).filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(PG_ROOT, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error(`PostgreSQL server binaries not found under ${PG_ROOT}/*/bin; install them once as root: apt-get install -y postgresql`);
  }
  return join(PG_ROOT, newest, 'bin');
}

interface Runner {
  /** The command line that runs `program args` as the right user. */
  wrap(program: string, args: string[]): [string, string[]];
  /** Set when the programs run as another user, who must then own the temp dir. */
  owner: { uid: number; gid: number } | null;
}

/**
 * PostgreSQL refuses to run as root (initdb and postgres exit with "cannot be run as root"), so
 * as root everything runs as the `postgres` system user the Debian package creates, and the temp
 * dir is handed over to it. `runuser` (util-linux, always on Debian) switches user without a
 * password or a shell in between, so arguments need no quoting, and sets HOME, USER and the
 * supplementary groups for postgres. As an ordinary user the programs simply run as that user.
 */
function runnerFor(): Runner {
  if (process.getuid?.() !== 0) return { wrap: (program, args) => [program, args], owner: null };
  const runuser = ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find((p) => existsSync(p));
  if (runuser === undefined) throw new Error('postgres harness: running as root needs runuser (util-linux) to switch to the postgres user');
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { wrap: (program, args) => [runuser, ['-u', 'postgres', '--', program, ...args]], owner: { uid, gid } };
}

/**
 * C.UTF-8 gives byte-order collation (no dependence on the machine's locales) with UTF-8 ctype.
 * Where that locale is missing initdb fails, and plain C (still UTF8-encoded) is used instead.
 */
async function initdb(c: Cluster): Promise<void> {
  // --no-sync: a throw-away cluster need not survive a power cut, so initdb need not fsync its
  // ~40 MB of files before returning.
  const base = ['-D', c.dataDir, '-U', USER, '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'];
  try {
    await exec(c, 'initdb', [...base, '--locale=C.UTF-8']);
  } catch (err) {
    if (!/locale/i.test(String(err))) throw err;
    rmSync(c.dataDir, { recursive: true, force: true });
    await exec(c, 'initdb', [...base, '--locale=C']);
  }
}

/**
 * Starts the server on `port` with its socket in the private dir. fsync and full-page writes are
 * off: they only protect data against an OS crash or power loss, which a test cluster never has
 * to survive, and they make commits and CREATE DATABASE much cheaper. A crash of the server alone
 * (`stop('immediate')`) still loses nothing committed: the WAL was written to the kernel at commit
 * and is replayed on start. synchronous_commit stays on for exactly that reason: turned off, a
 * commit returns before its WAL leaves PostgreSQL's shared memory, and an immediate stop right
 * after it loses the transaction (with fsync off, keeping it on costs almost nothing).
 */
async function pgCtlStart(c: Cluster, port: number): Promise<void> {
  const options = `-c listen_addresses=${HOST} -p ${port} -k ${c.dir} -c fsync=off -c full_page_writes=off`;
  await exec(c, 'pg_ctl', ['-D', c.dataDir, '-l', c.logFile, '-o', options, '-t', String(PG_CTL_WAIT_S), '-w', 'start']);
}

/**
 * Runs one of the cluster's programs to completion, from inside the temp dir: started from
 * root's cwd (often /root) the postgres user could not enter its working directory and every
 * program would complain. A failure names the command and carries the end of its stderr and of
 * the server log, where pg_ctl leaves the actual reason.
 */
async function exec(c: Cluster, program: string, args: string[]): Promise<void> {
  const [cmd, argv] = c.runner.wrap(join(c.bin, program), args);
  try {
    await run(cmd, argv, { cwd: c.dir, encoding: 'utf8' });
  } catch (err) {
    const e = err as { stderr?: string; code?: number | string; signal?: string | null };
    const hint = c.runner.owner ? ` It ran as the postgres user, who must be able to traverse every parent of ${c.dir}.` : '';
    throw new Error(
      `postgres harness: \`${[cmd, ...argv].map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(' ')}\` failed (${e.signal ?? e.code}).${hint}\n` +
        `--- stderr ---\n${tail(e.stderr ?? '')}\n--- server log ---\n${tail(readOrEmpty(c.logFile))}`,
      { cause: err },
    );
  }
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tail(text: string): string {
  return text.trimEnd().split('\n').slice(-15).join('\n');
}
