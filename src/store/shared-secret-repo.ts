import type { SqlExecutor } from './sql.ts';

/**
 * Secrets that several instances must agree on (the token-signing secret, the panel token) when
 * the environment does not set them: PostgreSQL only, where instances share nothing but the
 * database. SQLite keeps them as files in the data directory.
 */
export class SharedSecretRepo {
  constructor(private readonly sql: SqlExecutor) {}

  /** The stored value of `name`; `candidate` is stored first if there is none (the first instance wins). */
  async settle(name: string, candidate: string, now: number): Promise<{ value: string; created: boolean }> {
    const inserted = await this.sql.run('INSERT INTO shared_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING', [name, candidate, now]);
    const row = await this.sql.get<{ value: string }>('SELECT value FROM shared_secrets WHERE name = ?', [name]);
    return { value: (row as { value: string }).value, created: inserted > 0 };
  }

  /** Stores `value` as `name` (`mesa db copy` carries a SQLite desk's secrets over). */
  async put(name: string, value: string, now: number): Promise<void> {
    await this.sql.run('INSERT INTO shared_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value, now]);
  }
}
