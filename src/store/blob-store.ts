import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Content-addressed files: raw messages and attachments are stored once under their SHA-256
 * (`ab/abcdef…`: 256 folders hold millions of files comfortably on ext4 and XFS). Written
 * before the transaction that references them, via a temp file and
 * rename, so a crash leaves either the whole file or nothing; an orphan is harmless.
 */
export class BlobStore {
  /** Fan-out directories known to exist, so a put costs one stat, not a mkdir too. */
  private readonly madeDirs = new Set<string>();

  constructor(private readonly dir: string) {}

  put(content: Buffer): string {
    const sha = createHash('sha256').update(content).digest('hex');
    const path = this.pathOf(sha);
    if (!existsSync(path)) {
      const sub = join(this.dir, sha.slice(0, 2));
      if (!this.madeDirs.has(sub)) {
        mkdirSync(sub, { recursive: true });
        this.madeDirs.add(sub);
      }
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, content);
      renameSync(tmp, path);
    }
    return sha;
  }

  get(sha: string): Buffer {
    if (!/^[0-9a-f]{64}$/.test(sha)) throw new Error('invalid blob id');
    return readFileSync(this.pathOf(sha));
  }

  has(sha: string): boolean {
    return /^[0-9a-f]{64}$/.test(sha) && existsSync(this.pathOf(sha));
  }

  pathOf(sha: string): string {
    return join(this.dir, sha.slice(0, 2), sha);
  }
}
