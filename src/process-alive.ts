/**
 * Whether a process with this pid exists on this host (signal 0 probes without signalling).
 * Crash recovery asks it of the pid recorded with a claim (an outbox lease, a mailbox lease) to
 * take back at once what a dead process of this host held.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as { code?: string }).code === 'EPERM';
  }
}
