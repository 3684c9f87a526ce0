import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mesa } from '../../src/app.ts';
import { explanation } from '../../src/cli/commands.ts';
import { readEnvironment } from '../../src/config/environment.ts';
import { analyzeEmail, mailboxFor } from '../../src/desk/email-pipeline.ts';
import { parseMail } from '../../src/intake/email/parse-mail.ts';
import { silentLogger } from '../../src/log.ts';
import { testEnv, testPolicy } from './mesa-harness.ts';

/** Folders whose `.eml` files have an `.expected.json` decision beside them. */
export const GOLDEN_DIRS = [join(import.meta.dirname, '../fixtures/mail'), join(import.meta.dirname, '../fixtures/automatic')];

export function goldenFiles(): string[] {
  return GOLDEN_DIRS.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.eml')).sort().map((f) => join(d, f)));
}

/**
 * What `mesa explain --json` says about each fixture, against an empty desk at a fixed moment.
 * Used by the golden test and by `scripts/golden.ts --update`, which rewrites the expectations
 * for a human to read in the diff.
 */
export async function explainAll(files: string[]): Promise<Map<string, unknown>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mesa-golden-'));
  const now = new Date('2026-11-30T16:00:00Z');
  const mesa = await Mesa.open(readEnvironment(testEnv(dataDir, {})), { log: silentLogger(), listen: false, policy: testPolicy(), clock: () => now });
  try {
    const out = new Map<string, unknown>();
    for (const file of files) {
      const mail = await parseMail(readFileSync(file), mesa.policy.desk.messageIdDomain);
      out.set(file, explanation(await analyzeEmail(mail, mailboxFor(mail, mesa.policy, null), mesa.intake.pipelineContext, now)));
    }
    return out;
  } finally {
    await mesa.store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function expectedPath(emlFile: string): string {
  return emlFile.replace(/\.eml$/, '.expected.json');
}
