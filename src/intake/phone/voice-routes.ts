import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import twilio from 'twilio';
import type { SlaClock } from '../../domain/business-time.ts';
import type { DeskPolicy, Locale } from '../../domain/policy.ts';
import { spellTicketKey, spokenInstant } from '../../domain/spoken.ts';
import { formatSpan } from '../../domain/time-format.ts';
import { publicTitle } from '../../domain/incident.ts';
import { formatIncidentKey } from '../../domain/ticket-key.ts';
import type { PhoneIntake } from '../../desk/phone-intake.ts';
import type { Logger } from '../../log.ts';
import type { VoiceContext, VoiceRenderer } from '../../outbound/voice-renderer.ts';
import type { TicketRow } from '../../domain/ticket.ts';
import { isTransientStoreError } from '../../store/errors.ts';
import type { HeldRoute, HeldWebhooks } from './held-webhooks.ts';

const { VoiceResponse } = twilio.twiml;
type Twiml = InstanceType<typeof VoiceResponse>;
type Body = Record<string, string | undefined>;

const STATE_NAMES: Record<string, string> = { nuevo: 'recibido', en_atencion: 'en atención', esperando_cliente: 'en espera de su respuesta', resuelto: 'resuelto', cerrado: 'cerrado' };
const MAX_STATUS_TRIES = 3;
const MAX_MENU_TRIES = 3;

export interface VoiceRouteDeps {
  phone: PhoneIntake;
  voice: VoiceRenderer;
  policy: DeskPolicy;
  businessClock: SlaClock;
  clock: () => Date;
  log: Logger;
  /** Twilio voice for <Say> (e.g. Polly.Mia). */
  voiceName: string;
  /** Where a call's webhooks wait while the database is unavailable. */
  held: HeldWebhooks;
}

/** Routes whose webhook is kept for replay when the database cannot take it. */
const HELD_ROUTES: Record<string, HeldRoute> = { '/twilio/voice/description': 'description', '/twilio/voice/recorded': 'recorded', '/twilio/voice/status': 'status' };

/**
 * Twilio Voice webhooks (DESIGN §4). The number is configured with three fixed URLs —
 * `/twilio/voice`, `/twilio/voice/status` (status callback) and `/twilio/voice/fallback` — and
 * every later step is reached through the `action` URLs the TwiML names, as Twilio follows them.
 * Handlers are thin: read the form, call the desk (one short transaction), render TwiML. The
 * signature check runs before any of them (see `http/twilio-signature.ts`).
 */
export function registerVoiceRoutes(app: FastifyInstance, deps: VoiceRouteDeps): void {
  const locale: Locale = deps.policy.desk.locale;
  const lang = locale === 'es-MX' ? 'es-MX' : 'en-US';
  const say = (node: { say: Twiml['say'] }, name: string, ctx: VoiceContext = base()): void => {
    node.say({ voice: deps.voiceName as never, language: lang as never }, deps.voice.say(locale, name, ctx));
  };
  const base = (): VoiceContext => ({ desk: { name: deps.policy.desk.name, phone: deps.policy.desk.phone } });
  const ticketCtx = (t: TicketRow): VoiceContext => {
    const now = deps.clock();
    const etr = new Date(t.etr_at);
    return {
      ...base(),
      ticket: {
        key: t.key, spokenKey: spellTicketKey(t.key, locale), state: t.state, stateName: STATE_NAMES[t.state] ?? t.state,
        severityName: deps.policy.severities[t.severity].name,
        etr: { spoken: spokenInstant(etr, now, deps.policy.desk.timeZone, locale), span: formatSpan(etr, now, locale) },
      },
    };
  };
  const send = (reply: FastifyReply, r: Twiml): FastifyReply => reply.type('text/xml; charset=utf-8').send(r.toString());
  const form = (req: FastifyRequest): Body => (req.body ?? {}) as Body;
  const query = (req: FastifyRequest): Record<string, string | undefined> => (req.query ?? {}) as Record<string, string | undefined>;

  const voicemail = (r: Twiml): void => {
    r.record({ action: '/twilio/voice/recorded', method: 'POST', maxLength: 120, playBeep: true, finishOnKey: '#', timeout: 5 });
  };

  // The database is unreachable or busy past its wait: the caller still gets a voice. What the
  // call carried so far is held on disk for the ticket; otherwise the caller is asked for a
  // voicemail, whose recording webhook is then held the same way.
  app.setErrorHandler(async (err, req, reply) => {
    if (!isTransientStoreError(err)) throw err;
    const route = HELD_ROUTES[req.routeOptions.url ?? ''];
    if (route) await deps.held.hold({ route, body: { ...form(req) }, receivedAt: deps.clock().getTime() });
    if (route === 'status') return reply.code(204).send();
    const r = new VoiceResponse();
    if (route) {
      say(r, 'held-message');
    } else {
      say(r, 'database-down');
      voicemail(r);
    }
    say(r, 'goodbye');
    r.hangup();
    return send(reply, r);
  });

  /** The menu, asked again up to MAX_MENU_TRIES times when nothing usable comes back. */
  const menu = (r: Twiml, attempt: number): void => {
    if (attempt > MAX_MENU_TRIES) { say(r, 'goodbye'); r.hangup(); return; }
    const g = r.gather({ input: ['dtmf', 'speech'], numDigits: 1, language: lang as never, timeout: 6, speechTimeout: 'auto', hints: 'uno, dos, tres, cuatro', action: `/twilio/voice/menu?attempt=${attempt}`, method: 'POST' });
    say(g, attempt > 1 ? 'menu-retry' : 'menu');
    r.redirect({ method: 'POST' }, `/twilio/voice/menu?attempt=${attempt}&silence=1`);
  };

  /** The caller describes the problem by voice; silence leads to a voicemail. */
  const describe = (r: Twiml, action: string, fallback: string): void => {
    const g = r.gather({ input: ['speech'], language: lang as never, speechTimeout: 'auto', timeout: 6, action, method: 'POST', actionOnEmptyResult: true });
    say(g, 'describe');
    r.redirect({ method: 'POST' }, fallback);
  };

  const created = (r: Twiml, t: TicketRow): void => {
    say(r, 'created', ticketCtx(t));
    say(r, 'goodbye');
    r.hangup();
  };

  /** After the greeting (and any incident declined): the caller's open ticket offered, or the menu. */
  const continueCall = (r: Twiml, openTicket: TicketRow | null): void => {
    if (openTicket) {
      const g = r.gather({ input: ['dtmf', 'speech'], numDigits: 1, language: lang as never, timeout: 6, speechTimeout: 'auto', action: `/twilio/voice/open-ticket?ticket=${openTicket.key}`, method: 'POST' });
      say(g, 'open-ticket-offer', { ...ticketCtx(openTicket), caller: { isKnown: true, openTicket: { spokenKey: spellTicketKey(openTicket.key, locale) } } });
      r.redirect({ method: 'POST' }, '/twilio/voice/menu?attempt=1&silence=1');
      return;
    }
    menu(r, 1);
  };

  app.post('/voice', async (req, reply) => {
    const b = form(req);
    const { openTicket, incident } = await deps.phone.startCall(b.CallSid ?? '', b.From ?? null, deps.clock());
    const r = new VoiceResponse();
    say(r, 'greeting');
    const now = deps.clock();
    if (!deps.businessClock.isOpen(now)) {
      say(r, 'after-hours', { ...base(), afterHours: true, opensAt: spokenInstant(deps.businessClock.nextOpening(now), now, deps.policy.desk.timeZone, locale) });
    }
    if (incident) {
      // A known outage first: most callers call about it, and need not dictate anything.
      const action = `/twilio/voice/incident?incident=${incident.id}`;
      const g = r.gather({ input: ['dtmf', 'speech'], numDigits: 1, language: lang as never, timeout: 6, speechTimeout: 'auto', hints: locale === 'en' ? 'yes, no' : 'sí, no', action, method: 'POST' });
      const etr = new Date(incident.etr_at);
      say(g, 'incident-announcement', { ...base(), incident: {
        key: formatIncidentKey(incident.id), publicTitle: publicTitle(incident),
        etr: { spoken: spokenInstant(etr, now, deps.policy.desk.timeZone, locale), span: formatSpan(etr, now, locale) },
      } });
      r.redirect({ method: 'POST' }, `${action}&silence=1`);
      return send(reply, r);
    }
    continueCall(r, openTicket);
    return send(reply, r);
  });

  // The caller's answer to the incident announcement: 1 / "sí" joins it; anything else (or
  // silence) goes on to the usual flow.
  app.post('/voice/incident', async (req, reply) => {
    const b = form(req);
    const q = query(req);
    const r = new VoiceResponse();
    const incidentId = Number(q.incident ?? '');
    const now = deps.clock();
    if (!q.silence && Number.isSafeInteger(incidentId) && incidentId > 0 && incidentAnswer(b.Digits, b.SpeechResult) === 'join') {
      const joined = await deps.phone.joinIncident(b.CallSid ?? '', b.From ?? null, incidentId, now);
      if (joined.ticket && joined.reason === 'joined') {
        say(r, 'incident-joined', ticketCtx(joined.ticket));
        say(r, 'goodbye');
        r.hangup();
        return send(reply, r);
      }
      if (joined.ticket) { created(r, joined.ticket); return send(reply, r); }
      if (joined.reason === 'no_number') say(r, 'incident-no-number');
    }
    const { openTicket } = await deps.phone.startCall(b.CallSid ?? '', b.From ?? null, now);
    continueCall(r, openTicket);
    return send(reply, r);
  });

  app.post('/voice/menu', async (req, reply) => {
    const b = form(req);
    const q = query(req);
    const attempt = Number(q.attempt ?? '1') || 1;
    const choice = q.silence ? null : menuChoice(b.Digits, b.SpeechResult);
    const r = new VoiceResponse();
    if (choice === null) { menu(r, attempt + 1); return send(reply, r); }
    if (choice === '4') {
      askTicket(r, 1);
      return send(reply, r);
    }
    await deps.phone.chooseMenu(b.CallSid ?? '', b.From ?? null, choice, deps.clock());
    describe(r, '/twilio/voice/description', '/twilio/voice/record');
    return send(reply, r);
  });

  const askTicket = (r: Twiml, attempt: number): void => {
    const g = r.gather({ input: ['dtmf'], finishOnKey: '#', timeout: 10, numDigits: 12, action: `/twilio/voice/ticket?attempt=${attempt}`, method: 'POST' });
    say(g, 'ask-ticket-number');
    r.redirect({ method: 'POST' }, `/twilio/voice/ticket?attempt=${attempt}`);
  };

  app.post('/voice/ticket', async (req, reply) => {
    const b = form(req);
    const attempt = Number(query(req).attempt ?? '1') || 1;
    const r = new VoiceResponse();
    const ticket = b.Digits ? await deps.phone.ticketByDigits(b.Digits) : undefined;
    if (ticket) {
      say(r, 'ticket-status', ticketCtx(ticket));
      say(r, 'goodbye');
      r.hangup();
    } else if (attempt < MAX_STATUS_TRIES) {
      say(r, 'ticket-unknown', { ...base(), attempt });
      askTicket(r, attempt + 1);
    } else {
      say(r, 'ticket-unknown-final', { ...base(), attempt });
      r.hangup();
    }
    return send(reply, r);
  });

  app.post('/voice/description', async (req, reply) => {
    const b = form(req);
    const speech = (b.SpeechResult ?? '').trim();
    const r = new VoiceResponse();
    if (!speech) { r.redirect({ method: 'POST' }, '/twilio/voice/record'); return send(reply, r); }
    const { ticket } = await deps.phone.ticketForCall(b.CallSid ?? '', b.From ?? null, { speech, confidence: b.Confidence ? Number(b.Confidence) : null }, deps.clock());
    created(r, ticket);
    return send(reply, r);
  });

  app.post('/voice/record', async (_req, reply) => {
    const r = new VoiceResponse();
    say(r, 'record');
    // No `transcribe`: Twilio transcribes English only; the desk listens to the recording.
    voicemail(r);
    say(r, 'goodbye');
    r.hangup();
    return send(reply, r);
  });

  app.post('/voice/recorded', async (req, reply) => {
    const b = form(req);
    const seconds = b.RecordingDuration ? Number(b.RecordingDuration) : null;
    const recording = b.RecordingSid && b.RecordingUrl ? { sid: b.RecordingSid, url: b.RecordingUrl, seconds } : null;
    const { ticket } = await deps.phone.ticketForCall(b.CallSid ?? '', b.From ?? null, { recording }, deps.clock());
    const r = new VoiceResponse();
    created(r, ticket);
    return send(reply, r);
  });

  app.post('/voice/open-ticket', async (req, reply) => {
    const b = form(req);
    const key = query(req).ticket ?? '';
    const r = new VoiceResponse();
    const choice = menuChoice(b.Digits, b.SpeechResult);
    if (choice === '1') {
      describe(r, `/twilio/voice/add?ticket=${encodeURIComponent(key)}`, '/twilio/voice/record');
    } else {
      menu(r, 1);
    }
    return send(reply, r);
  });

  app.post('/voice/add', async (req, reply) => {
    const b = form(req);
    const key = query(req).ticket ?? '';
    const r = new VoiceResponse();
    const ticket = await deps.phone.ticketByKey(key);
    const speech = (b.SpeechResult ?? '').trim();
    if (!ticket || !speech) { r.redirect({ method: 'POST' }, '/twilio/voice/record'); return send(reply, r); }
    const updated = await deps.phone.addToTicket(b.CallSid ?? '', ticket, { speech }, deps.clock());
    say(r, 'added-to-ticket', ticketCtx(updated));
    say(r, 'goodbye');
    r.hangup();
    return send(reply, r);
  });

  app.post('/voice/status', async (req, reply) => {
    const b = form(req);
    const duration = b.CallDuration ? Number(b.CallDuration) : null;
    await deps.phone.statusCallback(b.CallSid ?? '', b.CallStatus ?? '', Number.isFinite(duration) ? duration : null, b.From ?? null, deps.clock());
    return reply.code(204).send();
  });

  app.post('/voice/fallback', async (req, reply) => {
    const b = form(req);
    const r = new VoiceResponse();
    const ticket = await deps.phone.ticketOfCall(b.CallSid ?? '');
    deps.log.warn({ event: 'twilio.fallback', callSid: b.CallSid, errorCode: b.ErrorCode ?? null }, 'Twilio usó la URL de respaldo');
    if (ticket) {
      say(r, 'fallback-with-ticket', ticketCtx(ticket));
      r.hangup();
    } else {
      say(r, 'fallback-no-ticket');
      voicemail(r);
      r.hangup();
    }
    return send(reply, r);
  });
}

/** Menu choice from a key press or the caller's words ("uno", "el portal está caído", …). */
export function menuChoice(digits: string | undefined, speech: string | undefined): '1' | '2' | '3' | '4' | null {
  const d = (digits ?? '').trim();
  if (/^[1-4]$/.test(d)) return d as '1' | '2' | '3' | '4';
  const s = (speech ?? '').normalize('NFD').replace(/\p{Diacritic}/gu, '').toLowerCase();
  if (!s) return null;
  if (/\b(1|uno|one)\b|caid|no funciona para nadie|nadie puede|down/.test(s)) return '1';
  if (/\b(4|cuatro|four)\b|estado|seguimiento|status|numero de ticket/.test(s)) return '4';
  if (/\b(3|tres|three)\b|pregunta|duda|solicitud|question|request/.test(s)) return '3';
  if (/\b(2|dos|two)\b|falla|error|no puedo|problema|fails|problem/.test(s)) return '2';
  return null;
}

/** The caller's answer to "is this why you call?": 1 or yes joins; anything else goes on. */
export function incidentAnswer(digits: string | undefined, speech: string | undefined): 'join' | 'other' {
  const d = (digits ?? '').trim();
  if (d !== '') return d === '1' ? 'join' : 'other';
  const s = (speech ?? '').normalize('NFD').replace(/\p{Diacritic}/gu, '').toLowerCase();
  if (/\bno\b|otro|otra|distint|different|other/.test(s)) return 'other';
  return /\b(si|1|uno|yes|claro|eso|correcto)\b|por eso/.test(s) ? 'join' : 'other';
}
