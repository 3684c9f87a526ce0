/**
 * One SLA sweep in a process of its own, so a test can SIGKILL it midway or run two at once
 * against the same data directory, the way two daemons (or a daemon and a restart) would.
 *
 *   node --import tsx test/support/sweep-child.ts --data-dir DIR --now ISO [--batch N] [--wait-go]
 *
 * It opens Mesa on DIR with `sweepPolicy()` (nothing started: no dispatcher, no cron, no HTTP),
 * runs `mesa.sweep.run(now)` once and prints the result as one JSON line. With `--wait-go` it
 * opens everything first, prints `ready`, and sweeps only when a line arrives on stdin: start-up
 * (tsx, config, templates) takes longer than it takes a sweep to begin, so overlapping sweeps
 * would otherwise hardly overlap.
 */
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Mesa } from '../../src/app.ts';
import { readEnvironment } from '../../src/config/environment.ts';
import type { DeskPolicy } from '../../src/domain/policy.ts';
import { silentLogger } from '../../src/log.ts';
import { testEnv, testPolicy } from './mesa-harness.ts';

/** The people each notice goes to: one per level (level 2 with a phone, for SMS) and one "responsable". */
export const SWEEP_PEOPLE = {
  level1: { name: 'Ana Uno', email: 'ana.n1@proditmapac.com', phone: null },
  level2: { name: 'Beto Dos', email: 'beto.n2@proditmapac.com', phone: '+525511110002' },
  level3: { name: 'Carla Tres', email: 'carla.n3@proditmapac.com', phone: null },
  responsable: { name: 'Dirección', email: 'direccion@proditmapac.com', phone: null },
} as const;

/** The policy the test that builds the data directory and every sweep child share. */
export function sweepPolicy(): DeskPolicy {
  return testPolicy((p) => {
    p.levels[1].people = [{ ...SWEEP_PEOPLE.level1 }];
    p.levels[2].people = [{ ...SWEEP_PEOPLE.level2 }];
    p.levels[3].people = [{ ...SWEEP_PEOPLE.level3 }];
    p.responsables = [{ ...SWEEP_PEOPLE.responsable }];
  });
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: {
    'data-dir': { type: 'string' }, now: { type: 'string' }, batch: { type: 'string' }, 'wait-go': { type: 'boolean', default: false },
  } });
  const dataDir = values['data-dir'];
  const now = new Date(values.now ?? '');
  if (!dataDir || Number.isNaN(now.getTime())) throw new Error('usage: sweep-child.ts --data-dir DIR --now ISO [--batch N] [--wait-go]');
  const mesa = await Mesa.open(readEnvironment(testEnv(dataDir, {})), { log: silentLogger(), listen: false, scheduleSweep: false, policy: sweepPolicy(), clock: () => now });
  if (values['wait-go']) {
    process.stdout.write('ready\n');
    const lines = createInterface({ input: process.stdin });
    await new Promise<void>((go) => lines.once('line', () => go()));
    lines.close();
  }
  const result = values.batch === undefined ? await mesa.sweep.run(now) : await mesa.sweep.run(now, Number(values.batch));
  await mesa.store.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
