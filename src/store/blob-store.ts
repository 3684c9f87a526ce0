import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SqlExecutor } from './sql.ts';

/** Content-addressed bytes (raw messages, attachments, recordings), named by their SHA-256. */
export interface BlobStore {
  /** Stores the bytes (once: the same content is stored once) and returns their SHA-256. */
  put(content: Buffer): Promise<string>;
  /** Several at once (a fetch batch's raw messages), in order; the same as `put` for each. */
  putMany(contents: readonly Buffer[]): Promise<string[]>;
  get(sha: string): Promise<Buffer>;
  has(sha: string): Promise<boolean>;
  /** Every stored blob's SHA-256 (`mesa db copy`). */
  list(): AsyncIterable<string>;
}

export function sha256Hex(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

export function isBlobId(sha: string): boolean {
  return /^[0-9a-f]{64}$/.test(sha);
}

/**
 * The SQLite engine's blobs: files (`ab/abcdef…`: 256 folders hold millions of files comfortably
 * on ext4 and XFS). Written before the transaction that references them, via a temp file and
 * rename, so a crash leaves either the whole file or nothing; an orphan is harmless. The file
 * calls are synchronous on purpose: a few KB each, cheaper than a trip through the thread pool.
 */
export class FileBlobStore implements BlobStore {
  /** Fan-out directories known to exist, so a put costs one stat, not a mkdir too. */
  private readonly madeDirs = new Set<string>();

  constructor(private readonly dir: string) {}

  async put(content: Buffer): Promise<string> {
    const sha = sha256Hex(content);
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

  async putMany(contents: readonly Buffer[]): Promise<string[]> {
    const shas: string[] = [];
    for (const c of contents) shas.push(await this.put(c));
    return shas;
  }

  async get(sha: string): Promise<Buffer> {
    if (!isBlobId(sha)) throw new Error('invalid blob id');
    return readFileSync(this.pathOf(sha));
  }

  async has(sha: string): Promise<boolean> {
    return isBlobId(sha) && existsSync(this.pathOf(sha));
  }

  async *list(): AsyncIterable<string> {
    if (!existsSync(this.dir)) return;
    for (const sub of readdirSync(this.dir).filter((d) => /^[0-9a-f]{2}$/.test(d)).sort()) {
      for (const f of readdirSync(join(this.dir, sub)).sort()) if (isBlobId(f)) yield f;
    }
  }

  pathOf(sha: string): string {
    return join(this.dir, sha.slice(0, 2), sha);
  }
}

const BLOBS_PER_STATEMENT = 50;
const BYTES_PER_STATEMENT = 4 * 1024 * 1024;

/**
 * Blobs in the database itself (PostgreSQL), so instances on several hosts need no shared disk.
 * Written outside the transaction that references them, like the files: an orphan is harmless.
 */
export class SqlBlobStore implements BlobStore {
  constructor(private readonly sql: SqlExecutor, private readonly clock: () => number = Date.now) {}

  async put(content: Buffer): Promise<string> {
    const sha = sha256Hex(content);
    await this.sql.run('INSERT INTO blobs (sha256, content, created_at) VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING', [sha, content, this.clock()]);
    return sha;
  }

  /**
   * One statement per group of blobs instead of one per blob (each an autocommit transaction);
   * groups stay under a few megabytes so no single statement has to hold a huge batch.
   */
  async putMany(contents: readonly Buffer[]): Promise<string[]> {
    const shas = contents.map((c) => sha256Hex(c));
    const unique = new Map<string, Buffer>();
    for (const [i, c] of contents.entries()) unique.set(shas[i] as string, c);
    let group: Array<[string, Buffer]> = [];
    let bytes = 0;
    const write = async (): Promise<void> => {
      if (group.length === 0) return;
      const now = this.clock();
      await this.sql.run(`INSERT INTO blobs (sha256, content, created_at) VALUES ${group.map(() => '(?, ?, ?)').join(', ')} ON CONFLICT (sha256) DO NOTHING`,
        group.flatMap(([sha, content]) => [sha, content, now]));
      group = [];
      bytes = 0;
    };
    for (const entry of unique) {
      if (group.length >= BLOBS_PER_STATEMENT || (bytes > 0 && bytes + entry[1].length > BYTES_PER_STATEMENT)) await write();
      group.push(entry);
      bytes += entry[1].length;
    }
    await write();
    return shas;
  }

  async get(sha: string): Promise<Buffer> {
    if (!isBlobId(sha)) throw new Error('invalid blob id');
    const row = await this.sql.get<{ content: Buffer }>('SELECT content FROM blobs WHERE sha256 = ?', [sha]);
    // Like a missing file: senders treat ENOENT as a permanent failure.
    if (!row) throw Object.assign(new Error(`blob ${sha.slice(0, 12)} not found`), { code: 'ENOENT' });
    return row.content;
  }

  async has(sha: string): Promise<boolean> {
    return isBlobId(sha) && (await this.sql.get('SELECT 1 AS x FROM blobs WHERE sha256 = ?', [sha])) !== undefined;
  }

  async *list(): AsyncIterable<string> {
    let after = '';
    for (;;) {
      const rows = await this.sql.all<{ sha256: string }>('SELECT sha256 FROM blobs WHERE sha256 > ? ORDER BY sha256 LIMIT 1000', [after]);
      for (const r of rows) yield r.sha256;
      if (rows.length < 1000) return;
      after = (rows[rows.length - 1] as { sha256: string }).sha256;
    }
  }
}
