import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * Where a phase's CPU went on this machine (Linux `/proc`): how busy all cores were, and how
 * much of it each group of processes used — PostgreSQL's server processes, Dovecot's, and this
 * benchmark's own parent process (the SMTP sink parses every message it accepts). The Mesa
 * children report their own CPU. Used to tell "Mesa is slow" from "the machine is full".
 */
export interface CpuSnapshot { at: number; busyTicks: number; totalTicks: number; byGroup: Map<string, number>; parentUs: number }

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

const GROUPS: Array<[string, RegExp]> = [
  ['postgresql', /^postgres$/],
  ['dovecot', /^(dovecot|imap|imap-login|auth|anvil|log|config|stats|indexer|indexer-worker)$/],
];

export function cpuSnapshot(): CpuSnapshot {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const busy = user + nice + system + irq + softirq + steal;
  const byGroup = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { continue; }
    // comm is in parentheses and may hold spaces; the fields after it are fixed.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const group = GROUPS.find(([, re]) => re.test(comm))?.[0];
    if (!group) continue;
    const ticks = Number(rest[11]) + Number(rest[12]); // utime, stime
    byGroup.set(group, (byGroup.get(group) ?? 0) + ticks);
  }
  const u = process.cpuUsage();
  return { at: Date.now(), busyTicks: busy, totalTicks: busy + idle + iowait, byGroup, parentUs: u.user + u.system };
}

/** Cores in use on average between two snapshots: the whole machine, and each group. */
export function coresBetween(a: CpuSnapshot, b: CpuSnapshot): { machine: number; cores: number; groups: Record<string, number> } {
  const seconds = (b.at - a.at) / 1000;
  const cores = availableParallelism();
  const total = b.totalTicks - a.totalTicks;
  const groups: Record<string, number> = {};
  for (const [g, ticks] of b.byGroup) groups[g] = round2((ticks - (a.byGroup.get(g) ?? 0)) / TICKS_PER_SECOND / seconds);
  groups['bench parent (SMTP sink, IMAP appends)'] = round2((b.parentUs - a.parentUs) / 1e6 / seconds);
  return { machine: total > 0 ? round2(((b.busyTicks - a.busyTicks) / total) * cores) : 0, cores, groups };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
