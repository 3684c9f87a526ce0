/**
 * The incident fan-out benchmark (issue 13, "Proof"): one agent update on a major incident
 * reaches N linked customers (default 10,000) through the outbox to an SMTP sink, against the
 * raw stack — nodemailer's pool, with the pool settings Mesa's sender uses, sending N messages of
 * the same size to the same sink — in the same run. Goal: Mesa ≥ 0.8 × the raw rate.
 *
 * Mesa's clock starts when the agent's reply is handed to intake and stops when the sink has
 * accepted the N-th update: it includes parsing the reply, rendering N messages, writing N
 * outbox rows and ticket updates in the reply's transaction, and the dispatcher's claims and
 * settlements. The raw stack's clock runs from its first send to the N-th acceptance. Pacing
 * (`incidents.fanOutPerSecond`) is off: the benchmark measures capacity, not the configured cap.
 *
 * The N linked tickets are made first through the same intake (N alike reports open and join
 * the incident; their acknowledgments are sent and waited for before the measurement).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { Mesa } from '../src/app.ts';
import { readEnvironment } from '../src/config/environment.ts';
import { silentLogger } from '../src/log.ts';
import { agentReplyAddress, email, testEnv, testPolicy } from '../test/support/mesa-harness.ts';
import type { SmtpSink } from '../test/support/smtp-sink.ts';
import { outageText } from '../test/support/incidents.ts';

const DEFAULT_CUSTOMERS = 10_000;
const MESA_ADDRESS = 'mesadeayuda@proditmapac.com';
const AGENT = { name: 'Beto Dos', email: 'beto.n2@proditmapac.com', phone: null };

export interface IncidentBenchResult {
  bench: 'incident';
  customers: number;
  rawPerSecond: number;
  mesaPerSecond: number;
  ratio: number;
  /** The reply's transaction: parse, render N, write N outbox rows (before the first send). */
  fanOutCommitMs: number;
  /** Mesa's rate from that commit to the N-th acceptance: the dispatcher's share alone. */
  dispatchPerSecond: number;
  goal: 0.8;
  cpu: string;
  cores: number;
}

/** A sink that accepts and counts (no MIME parsing: its cost would land on the contenders' core). */
async function countingSink(): Promise<{ port: number; count: () => number; waitFor: (n: number) => Promise<number>; close: () => Promise<void> }> {
  let accepted = 0;
  const waiters: Array<{ n: number; resolve: (at: number) => void }> = [];
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'], logger: false, size: 0,
    onData: (stream, _session, cb) => {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        accepted++;
        const at = performance.now();
        for (let i = waiters.length - 1; i >= 0; i--) {
          if (accepted >= (waiters[i] as { n: number }).n) { (waiters[i] as { resolve: (at: number) => void }).resolve(at); waiters.splice(i, 1); }
        }
        cb();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => { server.server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()); });
  return {
    port: (server.server.address() as AddressInfo).port,
    count: () => accepted,
    waitFor: (n) => (accepted >= n ? Promise.resolve(performance.now()) : new Promise((resolve) => waiters.push({ n, resolve }))),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The raw stack: nodemailer's pool as Mesa's sender sets it up, N messages like an update. */
async function rawRate(port: number, sink: Awaited<ReturnType<typeof countingSink>>, n: number, sample: { subject: string; text: string; html: string }): Promise<number> {
  const transport = nodemailer.createTransport({ pool: true, maxConnections: 2, maxMessages: Infinity, host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  const base = sink.count();
  const started = performance.now();
  const sends: Array<Promise<unknown>> = [];
  for (let i = 0; i < n; i++) {
    sends.push(transport.sendMail({
      from: `"PRODITMA Mesa de Ayuda" <${MESA_ADDRESS}>`, to: `cliente${i}@empresa${i % 500}.mx`, subject: sample.subject, text: sample.text, html: sample.html,
      messageId: `<raw-${i}@proditmapac.com>`, headers: { 'Auto-Submitted': 'auto-replied' },
    }));
  }
  await Promise.all(sends);
  const done = await sink.waitFor(base + n);
  transport.close();
  return n / ((done - started) / 1000);
}

export async function runIncidentBench(): Promise<void> {
  const customers = Number(process.env.BENCH_CUSTOMERS ?? DEFAULT_CUSTOMERS);
  if (!Number.isSafeInteger(customers) || customers < 10) throw new Error('BENCH_CUSTOMERS: a whole number ≥ 10');
  const sink = await countingSink();
  const dataDir = mkdtempSync(join(tmpdir(), 'mesa-bench-incident-'));
  const env = readEnvironment(testEnv(dataDir, { smtp: { port: sink.port } as SmtpSink }));
  const policy = testPolicy((p) => {
    p.incidents = { ...p.incidents, enabled: true, windowMinutes: 60, minTickets: 5, fanOutPerSecond: 0, digestMinutes: 0 };
    p.levels[2].people = [AGENT];
  });
  const mesa = await Mesa.open(env, { log: silentLogger(), listen: false, scheduleSweep: false, policy });
  try {
    await mesa.start();
    // The linked customers: N alike reports, each acknowledged (ack-incident once it is open).
    const t0 = performance.now();
    for (let i = 0; i < customers; i++) {
      await mesa.receive(email({ from: `cliente${i}@empresa${i % 500}.mx`, to: MESA_ADDRESS, subject: `Portal caído ${i}`, messageId: `caida-${i}@bench.mx` }, outageText(i)), { kind: 'pipe', mailbox: null });
    }
    const linked = await mesa.store.incidents.linkedCount(1);
    if (linked !== customers) throw new Error(`expected ${customers} linked tickets, found ${linked}`);
    await sink.waitFor(customers + 1); // their acknowledgments and the level's one notice
    await mesa.dispatcher.drain();
    console.error(`incident bench: ${customers} linked tickets made and acknowledged in ${Math.round(performance.now() - t0)} ms`);

    // A message the size of the update (text ~1.3 kB, HTML ~2.6 kB), for the raw stack to send.
    const paragraph = 'Le escribimos sobre el problema que afecta a varios clientes y que usted reportó en su caso. Identificamos la falla en el balanceador de carga y la estamos corrigiendo. ';
    const raw = await rawRate(sink.port, sink, customers, {
      subject: '[MDA-000123] Avance del problema que reportó: Portal caído', text: paragraph.repeat(8), html: `<div style="font-family:Arial,Helvetica,sans-serif">${`<p>${paragraph}</p>`.repeat(15)}</div>`,
    });

    const before = sink.count();
    const reply = email({ from: AGENT.email, to: agentReplyAddress(mesa.env.secret, 'INC-0001', AGENT.email, MESA_ADDRESS), subject: 'RE: [INC-0001] Incidente mayor', messageId: 'bench-update@proditmapac.com' },
      '#etr 3h\r\nIdentificamos la falla en el balanceador de carga y la estamos corrigiendo. Le avisaremos en cuanto quede restablecido.');
    const started = performance.now();
    const outcome = await mesa.receive(reply, { kind: 'pipe', mailbox: null }) as { result: string; told?: number };
    const committed = performance.now();
    if (outcome.result !== 'incident_update' || outcome.told !== customers) throw new Error(`the update was not fanned out: ${JSON.stringify(outcome)}`);
    const done = await sink.waitFor(before + customers);
    const mesaRate = customers / ((done - started) / 1000);
    const result: IncidentBenchResult = {
      bench: 'incident', customers,
      rawPerSecond: Math.round(raw), mesaPerSecond: Math.round(mesaRate), ratio: Math.round((mesaRate / raw) * 1000) / 1000,
      fanOutCommitMs: Math.round(committed - started), dispatchPerSecond: Math.round(customers / ((done - committed) / 1000)), goal: 0.8, cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(),
    };
    console.log(JSON.stringify(result));
  } finally {
    await mesa.stop();
    await sink.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
