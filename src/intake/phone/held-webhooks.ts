/**
 * Twilio webhooks that arrived while the database could not take them, kept on this instance's
 * disk until it can. A caller is never told "try later" into silence: the voice routes answer
 * with an apology and a voicemail `<Record>`, and what the call carried (the spoken description,
 * the recording, the final status) is held here and turned into the ticket once the database is
 * back — with the time the webhook arrived, so the SLA runs from the call, not from the replay.
 *
 * One JSON file per webhook, written to a temporary name and renamed (a crash leaves either the
 * whole file or none). Replay goes in arrival order and stops at the first transient failure;
 * an entry that fails for any other reason moves to `failed/` with its error, for an operator.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isTransientStoreError } from '../../store/errors.ts';
import type { PhoneIntake } from '../../desk/phone-intake.ts';
import type { Logger } from '../../log.ts';

/** The webhooks worth keeping: the ones that make or complete a ticket. */
export type HeldRoute = 'description' | 'recorded' | 'status';

export interface HeldWebhook {
  route: HeldRoute;
  /** Twilio's form fields (CallSid, From, SpeechResult, RecordingSid…). */
  body: Record<string, string | undefined>;
  receivedAt: number;
}

export class HeldWebhooks {
  private replaying: Promise<{ replayed: number; failed: number }> | null = null;

  constructor(readonly dir: string, private readonly log: Logger) {}

  async hold(w: HeldWebhook): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    // Arrival order in the name: replay sorts by it.
    const name = `${String(w.receivedAt).padStart(15, '0')}-${randomBytes(4).toString('hex')}.json`;
    const tmp = join(this.dir, `.${name}.tmp`);
    await writeFile(tmp, JSON.stringify(w), { mode: 0o600, flush: true });
    await rename(tmp, join(this.dir, name));
    this.log.warn({ event: 'twilio.webhook_held', route: w.route, callSid: w.body.CallSid ?? null }, 'base de datos no disponible: llamada guardada para registrarla después');
  }

  async pending(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((f) => f.endsWith('.json') && !f.startsWith('.')).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Replays what is held, in order; one replay at a time per process. */
  replay(phone: PhoneIntake): Promise<{ replayed: number; failed: number }> {
    this.replaying ??= this.replayAll(phone).finally(() => { this.replaying = null; });
    return this.replaying;
  }

  private async replayAll(phone: PhoneIntake): Promise<{ replayed: number; failed: number }> {
    let replayed = 0;
    let failed = 0;
    for (const file of await this.pending()) {
      const path = join(this.dir, file);
      let held: HeldWebhook;
      try {
        held = JSON.parse(await readFile(path, 'utf8')) as HeldWebhook;
        await replayOne(phone, held);
      } catch (err) {
        if (isTransientStoreError(err)) break; // still down: the next tick tries again
        failed++;
        await mkdir(join(this.dir, 'failed'), { recursive: true });
        await writeFile(join(this.dir, 'failed', `${file}.error`), `${(err as Error).message}\n`);
        await rename(path, join(this.dir, 'failed', file));
        this.log.error({ event: 'twilio.held_failed', file, error: (err as Error).message }, 'no se pudo registrar una llamada guardada; quedó en failed/');
        continue;
      }
      await rm(path, { force: true });
      replayed++;
      this.log.info({ event: 'twilio.held_replayed', route: held.route, callSid: held.body.CallSid ?? null }, 'llamada guardada registrada');
    }
    return { replayed, failed };
  }
}

/** What the route would have done, at the time the webhook arrived. */
async function replayOne(phone: PhoneIntake, w: HeldWebhook): Promise<void> {
  const b = w.body;
  const at = new Date(w.receivedAt);
  const sid = b.CallSid ?? '';
  const from = b.From ?? null;
  switch (w.route) {
    case 'description': {
      const speech = (b.SpeechResult ?? '').trim();
      if (speech) await phone.ticketForCall(sid, from, { speech, confidence: b.Confidence ? Number(b.Confidence) : null }, at);
      return;
    }
    case 'recorded': {
      const seconds = b.RecordingDuration ? Number(b.RecordingDuration) : null;
      const recording = b.RecordingSid && b.RecordingUrl ? { sid: b.RecordingSid, url: b.RecordingUrl, seconds } : null;
      await phone.ticketForCall(sid, from, { recording }, at);
      return;
    }
    case 'status': {
      const duration = b.CallDuration ? Number(b.CallDuration) : null;
      await phone.statusCallback(sid, b.CallStatus ?? '', Number.isFinite(duration) ? duration : null, from, at);
      return;
    }
  }
}
