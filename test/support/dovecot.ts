/**
 * A private, throw-away Dovecot IMAP server for the real-server test tier.
 *
 * Each instance lives in its own temp dir (config, passwd-file, base_dir, state_dir, log,
 * maildirs) and listens on a free loopback port, so several test files can run instances side by
 * side and nothing in /etc/dovecot or the system service is used. Cleartext LOGIN/PLAIN is
 * allowed because it never leaves 127.0.0.1.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { freePort } from './free-port.ts';

export interface DovecotServer {
  host: string;
  port: number;
  /** user -> password */
  users: Record<string, string>;
  baseDir: string;
  stop(): Promise<void>;
  /** Stops and starts again on the SAME port with the same maildirs (open sessions are cut). */
  restart(): Promise<void>;
  /** Appends a message as `user` (creating `folder` if missing) and returns its UID. */
  appendRaw(user: string, raw: Buffer | string, folder?: string): Promise<number>;
}

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

// Everything started here and not yet cleaned up. If the test process exits without stop()
// (a failed beforeAll, a crash), the exit hook kills the instances and removes their dirs, so no
// orphaned master keeps running (its children would otherwise live on, re-parented to init).
const liveMasters = new Set<ChildProcess>();
const liveDirs = new Set<string>();
process.once('exit', () => {
  for (const child of liveMasters) killGroup(child, 'SIGKILL');
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});

export async function startDovecot(opts: { users?: string[] } = {}): Promise<DovecotServer> {
  const dovecotBin = findBinary('dovecot');
  const version = dovecotVersion(dovecotBin);
  const baseDir = mkdtempSync(join(tmpdir(), 'mesa-dovecot-'));
  liveDirs.add(baseDir);
  // mkdtemp gives 0700; the mail processes run unprivileged and must reach the maildirs below.
  chmodSync(baseDir, 0o711);
  const identity = mailIdentity();
  const mailDir = join(baseDir, 'mail');
  mkdirSync(mailDir);
  mkdirSync(join(baseDir, 'run'));
  mkdirSync(join(baseDir, 'state'));
  if (identity.chown) chownSync(mailDir, identity.uid, identity.gid);

  const users: Record<string, string> = {};
  for (const user of opts.users ?? ['mesadeayuda', 'soportetecnico']) {
    if (!/^[a-z0-9._-]+$/i.test(user)) throw new Error(`dovecot harness: unsupported user name ${user}`);
    users[user] = `clave-${randomBytes(6).toString('hex')}`;
  }
  const passwdFile = join(baseDir, 'passwd');
  writeFileSync(passwdFile, Object.entries(users).map(([u, p]) => `${u}:{PLAIN}${p}\n`).join(''), { mode: 0o644 });

  const configFile = join(baseDir, 'dovecot.conf');
  const logFile = join(baseDir, 'dovecot.log');
  let child: ChildProcess | null = null;
  let port = 0;

  // Picking a free port by binding 0 and closing races with other processes doing the same, so a
  // bind failure at start is retried on a fresh port.
  for (let attempt = 1; ; attempt++) {
    port = await freePort(HOST);
    writeFileSync(configFile, renderConfig({ version, baseDir, mailDir, passwdFile, logFile, port, identity }));
    try {
      child = await launch(dovecotBin, configFile, logFile, port);
      break;
    } catch (err) {
      if (attempt >= 3 || !/in use/i.test(String(err))) {
        rmSync(baseDir, { recursive: true, force: true });
        liveDirs.delete(baseDir);
        throw err;
      }
    }
  }

  const clients = new Map<string, ImapFlow>();
  const closeClients = async (): Promise<void> => {
    const all = [...clients.values()];
    clients.clear();
    await Promise.all(all.map(async (c) => {
      if (!c.usable) { c.close(); return; }
      await Promise.race([c.logout().catch(() => undefined), delay(2_000)]);
      c.close();
    }));
  };
  const server: DovecotServer = {
    host: HOST,
    port,
    users,
    baseDir,
    async stop() {
      await closeClients();
      await terminate(child);
      child = null;
      rmSync(baseDir, { recursive: true, force: true });
      liveDirs.delete(baseDir);
    },
    async restart() {
      await closeClients();
      await terminate(child);
      child = null;
      child = await launch(dovecotBin, configFile, logFile, port);
    },
    async appendRaw(user, raw, folder = 'INBOX') {
      const password = users[user];
      if (password === undefined) throw new Error(`dovecot harness: unknown user ${user}`);
      let client = clients.get(user);
      if (!client?.usable) {
        client?.close();
        client = new ImapFlow({ host: HOST, port, secure: false, auth: { user, pass: password }, logger: false, disableAutoIdle: true });
        client.on('error', () => undefined);
        await client.connect();
        clients.set(user, client);
      }
      if (folder.toUpperCase() !== 'INBOX') await client.mailboxCreate(folder);
      const res = await client.append(folder, typeof raw === 'string' ? Buffer.from(raw) : raw);
      if (!res || res.uid === undefined) throw new Error('dovecot harness: APPEND returned no UID (UIDPLUS expected)');
      return res.uid;
    },
  };
  return server;
}

interface MailIdentity { user: string; group: string; uid: number; gid: number; chown: boolean }

/**
 * As root, Dovecot refuses to run mail processes as root, so mail belongs to the `dovecot` system
 * user (it exists wherever the package is installed). As an ordinary user Dovecot can run
 * entirely under that user ("rootless" mode), with login and internal processes too.
 */
function mailIdentity(): MailIdentity {
  const me = userInfo();
  if (me.uid !== 0) {
    const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
    return { user: me.username, group, uid: me.uid, gid: me.gid, chown: false };
  }
  const uid = Number(execFileSync('id', ['-u', 'dovecot'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'dovecot'], { encoding: 'utf8' }).trim());
  const group = execFileSync('id', ['-gn', 'dovecot'], { encoding: 'utf8' }).trim();
  return { user: 'dovecot', group, uid, gid, chown: true };
}

interface ConfigInput {
  version: [number, number];
  baseDir: string;
  mailDir: string;
  passwdFile: string;
  logFile: string;
  port: number;
  identity: MailIdentity;
}

function renderConfig(c: ConfigInput): string {
  const root = c.identity.chown;
  const loginUser = root ? existingUser('dovenull') ?? 'dovecot' : c.identity.user;
  const common = [
    'protocols = imap',
    `listen = ${HOST}`,
    `base_dir = ${join(c.baseDir, 'run')}`,
    `state_dir = ${join(c.baseDir, 'state')}`,
    `log_path = ${c.logFile}`,
    // A distinct instance name keeps `ps` output and doveadm lookups of parallel instances apart.
    `instance_name = mesa-test-${c.port}`,
    'ssl = no',
    'auth_mechanisms = plain login',
    `default_internal_user = ${c.identity.user}`,
    `default_internal_group = ${c.identity.group}`,
    `default_login_user = ${loginUser}`,
    // System users such as `dovecot` sit below the default first_valid_uid of 500.
    'first_valid_uid = 1',
    // Dovecot notices new mail during IDLE by inotify; where that is unavailable it falls back
    // to polling, every 30 s by default, which is far too slow for the IDLE tests.
    'mailbox_idle_check_interval = 1 secs',
  ];
  // Without root, processes cannot chroot; these are the services that do by default.
  const rootless = root ? [] : ['service anvil {', '  chroot =', '}', 'service imap-login {', '  chroot =', '}'];
  if (c.version[0] === 2 && c.version[1] < 4) {
    return [
      ...common,
      'disable_plaintext_auth = no',
      `mail_location = maildir:${c.mailDir}/%u`,
      'passdb {',
      '  driver = passwd-file',
      `  args = scheme=PLAIN username_format=%u ${c.passwdFile}`,
      '}',
      'userdb {',
      '  driver = static',
      `  args = uid=${c.identity.uid} gid=${c.identity.gid} home=${c.mailDir}/%u`,
      '}',
      ...rootless,
      'service imap-login {',
      '  inet_listener imap {',
      `    address = ${HOST}`,
      `    port = ${c.port}`,
      '  }',
      '  inet_listener imaps {',
      '    port = 0',
      '  }',
      '}',
      // Several sessions per user at once (poller, test client, harness append client).
      'protocol imap {',
      '  mail_max_userip_connections = 100',
      '}',
      '',
    ].join('\n');
  }
  // Dovecot 2.4 renamed most settings; this branch follows its documented syntax but has not
  // been exercised here (the development machine has 2.3).
  return [
    'dovecot_config_version = 2.4.0',
    'dovecot_storage_version = 2.4.0',
    ...common,
    'auth_allow_cleartext = yes',
    'mail_driver = maildir',
    `mail_path = ${c.mailDir}/%{user}`,
    `passdb passwd-file {`,
    `  passwd_file_path = ${c.passwdFile}`,
    '}',
    'userdb static {',
    '  fields {',
    `    uid = ${c.identity.uid}`,
    `    gid = ${c.identity.gid}`,
    `    home = ${c.mailDir}/%{user}`,
    '  }',
    '}',
    ...rootless,
    'service imap-login {',
    '  inet_listener imap {',
    `    port = ${c.port}`,
    '  }',
    '  inet_listener imaps {',
    '    port = 0',
    '  }',
    '}',
    'protocol imap {',
    '  mail_max_userip_connections = 100',
    '}',
    '',
  ].join('\n');
}

/**
 * Runs the master in the foreground so this process owns it and sees it exit, in a process
 * group of its own so that stopping it can reach every process of the instance.
 */
async function launch(bin: string, configFile: string, logFile: string, port: number): Promise<ChildProcess> {
  const child = spawn(bin, ['-F', '-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  liveMasters.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  let exited: string | null = null;
  child.once('exit', (code, signal) => { exited = `exited with ${signal ?? code}`; });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited !== null) {
      await terminate(child);
      throw new Error(`dovecot ${exited}: ${stderr.trim()} ${tail(logFile)}`);
    }
    if (await greets(port)) return child;
    if (Date.now() > deadline) {
      await terminate(child);
      throw new Error(`dovecot did not greet on port ${port} within ${START_TIMEOUT_MS} ms: ${stderr.trim()} ${tail(logFile)}`);
    }
    await delay(50);
  }
}

/** True once the port accepts a connection and answers with an IMAP `* OK` greeting. */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port });
    let buf = '';
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok); };
    socket.setTimeout(2_000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n')) done(buf.startsWith('* OK'));
    });
    socket.on('close', () => done(false));
  });
}

/**
 * SIGTERM to the whole process group, then SIGKILL for whatever is left. Signalling only the
 * master is not enough: Dovecot 2.3's master exits at once while a session's `imap` process,
 * orphaned, keeps its client connected for ten seconds or more, so a "restarted" server would
 * still be talking to clients through the old process.
 */
async function terminate(child: ChildProcess | null): Promise<void> {
  if (!child || child.pid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
  // Sessions get a moment to send their BYE before the rest of the group is killed.
  const deadline = Date.now() + 1_000;
  while (groupAlive(child) && Date.now() < deadline) await delay(25);
  killGroup(child, 'SIGKILL');
  // Bounded: where PID 1 does not reap orphans, killed members linger as zombies and still count.
  const reaped = Date.now() + 2_000;
  while (groupAlive(child) && Date.now() < reaped) await delay(10);
  liveMasters.delete(child);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function groupAlive(child: ChildProcess): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
}

function findBinary(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin'])) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} not found; run scripts/ensure-test-tools.sh (as root) first`);
}

function dovecotVersion(bin: string): [number, number] {
  const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
  const m = /^(\d+)\.(\d+)/.exec(out.trim());
  if (!m) throw new Error(`unrecognised dovecot --version output: ${out}`);
  return [Number(m[1]), Number(m[2])];
}

function existingUser(name: string): string | null {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
    return name;
  } catch {
    return null;
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
