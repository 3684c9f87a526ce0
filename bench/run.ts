/**
 * `npm run bench [-- NAME]`: runs Mesa's benchmarks. With no NAME, all of them.
 *
 * Benchmarks that need process isolation fork this same file with an internal `__child`
 * argument (so the child inherits `--import tsx`); that argument is not for people.
 */
import { runIncidentBench } from './incident.ts';
import { runIngestBench, runIngestChild } from './ingest.ts';
import { runSweepBench, sweepBenchOpenTickets } from './sweep.ts';
import { runWebhookBench, runWebhookChild } from './webhook.ts';

const BENCHMARKS: Record<string, (args: string[]) => Promise<void>> = {
  ingest: runIngestBench,
  sweep: async () => { console.log(JSON.stringify(await runSweepBench({ openTickets: sweepBenchOpenTickets() }))); },
  webhook: runWebhookBench,
  incident: runIncidentBench,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '__child' && rest[0] === 'ingest') {
    await runIngestChild();
    return 0;
  }
  if (name === '__child' && rest[0] === 'webhook') {
    await runWebhookChild(rest[1] ?? '');
    return 0;
  }
  if (name === undefined) {
    for (const run of Object.values(BENCHMARKS)) await run([]);
    return 0;
  }
  const run = BENCHMARKS[name];
  if (!run || (rest.length > 0 && name !== 'ingest')) {
    console.error(`usage: npm run bench [-- ${Object.keys(BENCHMARKS).join('|')}]  (ingest takes --store sqlite|postgres; env: BENCH_MESSAGES=N, BENCH_CPU_PROF=DIR, BENCH_OPEN_TICKETS=N, BENCH_WEBHOOK_SECONDS=S, BENCH_CUSTOMERS=N)`);
    return 2;
  }
  await run(rest);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
