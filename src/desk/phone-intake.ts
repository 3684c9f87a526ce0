import { classify } from '../domain/classify.ts';
import { normalizeCaller, type CallerNumber } from '../domain/phone-number.ts';
import type { DeskPolicy, Severity, TicketType } from '../domain/policy.ts';
import type { Logger } from '../log.ts';
import type { CallRow } from '../store/call-repo.ts';
import type { Store } from '../store/store.ts';
import type { ContactRow, TicketRow } from '../domain/ticket.ts';
import type { TicketOpening } from './ticket-opening.ts';
import type { IncidentLinking } from './incident-linking.ts';
import type { IncidentRow } from '../store/incident-repo.ts';
import { publicTitle } from '../domain/incident.ts';
import { formatIncidentKey, parseTicketKey } from '../domain/ticket-key.ts';
import type { TicketLifecycle } from './ticket-lifecycle.ts';

/** What the caller chose in the IVR menu, and what it means for classification. */
export const MENU: Record<string, { label: string; defaultSeverity: Severity; type: TicketType; category: string; hint: boolean }> = {
  '1': { label: 'el servicio no funciona para nadie', defaultSeverity: 1, type: 'incidente', category: 'disponibilidad', hint: true },
  '2': { label: 'algo falla', defaultSeverity: 3, type: 'incidente', category: 'tecnico', hint: false },
  '3': { label: 'una pregunta o solicitud', defaultSeverity: 4, type: 'solicitud', category: 'general', hint: false },
};

const HOUR_MS = 3_600_000;

/**
 * The desk's door for phone calls. Every operation is keyed by the CallSid (and RecordingSid),
 * runs in one short transaction and is idempotent: Twilio repeats and reorders its webhooks, and
 * a repeated request must answer the same without changing anything twice.
 */
export class PhoneIntake {
  constructor(private readonly deps: { store: Store; policy: DeskPolicy; lifecycle: TicketLifecycle; opening: TicketOpening; incidents: IncidentLinking; log: Logger; onOutbox?: () => void }) {}

  caller(raw: string | null | undefined): CallerNumber {
    return normalizeCaller(raw, 'MX');
  }

  /**
   * First sight of a call: its row, the caller's open ticket if they have one, and the open major
   * incident the greeting announces first (null when there is none, or the caller's open ticket
   * is already linked to it: they have heard, and will hear again when it is resolved).
   */
  async startCall(callSid: string, fromRaw: string | null, now: Date): Promise<{ call: CallRow; openTicket: TicketRow | null; incident: IncidentRow | null }> {
    const { store } = this.deps;
    return await store.transaction(async () => {
      const call = await this.touch(callSid, fromRaw, now);
      const contact = call.from_e164 ? await store.tickets.contactByPhone(call.from_e164) : undefined;
      const openTicket = contact ? await store.tickets.openTicketOf(contact.id) ?? null : null;
      const incident = await this.deps.incidents.announcedFor(contact?.organisation ?? null);
      return { call, openTicket, incident: incident !== null && openTicket?.incident_id === incident.id ? null : incident };
    });
  }

  /**
   * The caller said the announced incident is why they call: a ticket linked to it, with no
   * description to dictate, acknowledged by SMS with the incident's ETR; the resolution reaches
   * them by SMS too. Once per call (a repeated webhook returns the same ticket). Null, with why,
   * when there is no number to text, or the incident closed meanwhile.
   */
  async joinIncident(callSid: string, fromRaw: string | null, incidentId: number, now: Date): Promise<{ ticket: TicketRow | null; reason: 'joined' | 'no_number' | 'not_open' }> {
    const { store } = this.deps;
    const result = await store.transaction(async () => {
      const call = await this.touch(callSid, fromRaw, now);
      if (call.ticket_id !== null) return { ticket: await this.deps.lifecycle.reload(call.ticket_id), reason: 'joined' as const, created: false };
      if (call.from_e164 === null) return { ticket: null, reason: 'no_number' as const, created: false };
      const incident = await store.incidents.byId(incidentId);
      if (!incident || incident.state !== 'abierto') return { ticket: null, reason: 'not_open' as const, created: false };
      await store.calls.update(callSid, { menu_choice: '1' }, now.getTime());
      const ticket = await this.createTicket(await store.calls.bySid(callSid) as CallRow, now, { abandoned: false, incident });
      return { ticket, reason: ticket.incident_id === incident.id ? 'joined' as const : 'not_open' as const, created: true };
    });
    if (result.created) this.deps.onOutbox?.();
    return { ticket: result.ticket, reason: result.reason };
  }

  async chooseMenu(callSid: string, fromRaw: string | null, choice: string, now: Date): Promise<void> {
    const { store } = this.deps;
    await store.transaction(async () => {
      await this.touch(callSid, fromRaw, now);
      await store.calls.update(callSid, { menu_choice: choice }, now.getTime());
    });
  }

  /**
   * Any webhook may be the first one a call sends (a restart, a lost request): its row, created
   * if missing and locked for the transaction (see CallRepo.touch).
   */
  private async touch(callSid: string, fromRaw: string | null, now: Date): Promise<CallRow> {
    const caller = this.caller(fromRaw);
    return await this.deps.store.calls.touch(callSid, { raw: fromRaw, e164: caller.kind === 'e164' ? caller.e164 : null }, now.getTime());
  }

  async ticketByKey(key: string): Promise<TicketRow | undefined> {
    return await this.deps.store.tickets.byKey(key);
  }

  /** The ticket a call already produced, if any (for the fallback URL). */
  async ticketOfCall(callSid: string): Promise<TicketRow | undefined> {
    const call = await this.deps.store.calls.bySid(callSid);
    return call?.ticket_id ? await this.deps.store.tickets.byId(call.ticket_id) : undefined;
  }

  /** A ticket by the digits a caller keyed in (`123` or `000123`). */
  async ticketByDigits(digits: string): Promise<TicketRow | undefined> {
    const clean = digits.replace(/\D/g, '');
    if (clean.length === 0 || clean.length > 12) return undefined;
    const key = `${this.deps.policy.desk.ticketPrefix}-${clean.padStart(6, '0')}`;
    return parseTicketKey(this.deps.policy.desk.ticketPrefix, key) === null ? undefined : await this.deps.store.tickets.byKey(key);
  }

  /**
   * The call becomes a ticket (once): classified on the caller's words plus the menu choice,
   * acknowledged by SMS through the outbox, the level notified. A second request for the same
   * CallSid returns the same ticket.
   */
  async ticketForCall(callSid: string, fromRaw: string | null, input: { speech?: string | null; confidence?: number | null; recording?: { sid: string; url: string; seconds: number | null } | null }, now: Date): Promise<{ ticket: TicketRow; created: boolean }> {
    const { store } = this.deps;
    const result = await store.transaction(async () => {
      const call = await this.touch(callSid, fromRaw, now);
      if (input.speech) await store.calls.update(callSid, { speech: input.speech, speech_confidence: input.confidence ?? null }, now.getTime());
      if (input.recording) await store.calls.update(callSid, { recording_sid: input.recording.sid, recording_url: input.recording.url, recording_seconds: input.recording.seconds }, now.getTime());
      if (call.ticket_id !== null) return { ticket: await this.deps.lifecycle.reload(call.ticket_id), created: false };
      const ticket = await this.createTicket(await store.calls.bySid(callSid) as CallRow, now, { abandoned: false });
      return { ticket, created: true };
    });
    if (result.created) this.deps.onOutbox?.();
    return result;
  }

  /** Adds what the caller said to their open ticket instead of opening a new one. */
  async addToTicket(callSid: string, ticket: TicketRow, input: { speech?: string | null; recording?: { sid: string; url: string; seconds: number | null } | null }, now: Date): Promise<TicketRow> {
    const { store } = this.deps;
    return await store.transaction(async () => {
      const call = await store.calls.lockedBySid(callSid);
      if (call?.ticket_id === ticket.id) return ticket;
      await store.calls.update(callSid, { ticket_id: ticket.id, ...(input.speech ? { speech: input.speech } : {}), ...(input.recording ? { recording_sid: input.recording.sid, recording_url: input.recording.url, recording_seconds: input.recording.seconds } : {}) }, now.getTime());
      await store.tickets.event(ticket.id, now.getTime(), `caller:${call?.from_e164 ?? 'anónimo'}`, 'customer_call', { callSid, speech: Boolean(input.speech), recording: input.recording?.sid ?? null });
      return await this.deps.lifecycle.reload(ticket.id);
    });
  }

  /**
   * Twilio's status callback. Status only moves forward; a call that ends before a ticket
   * exists leaves an "llamada abandonada" ticket marked for a call-back — once per caller per
   * hour, so a caller who tries three times does not make three tickets.
   */
  async statusCallback(callSid: string, status: string, durationSeconds: number | null, fromRaw: string | null, now: Date): Promise<{ abandonedTicket: TicketRow | null }> {
    const { store } = this.deps;
    const t = now.getTime();
    const result = await store.transaction(async () => {
      await this.touch(callSid, fromRaw, now);
      await store.calls.advanceStatus(callSid, status, durationSeconds, t);
      const call = await store.calls.bySid(callSid) as CallRow;
      if (call.status_rank < 9 || call.ticket_id !== null || call.abandoned) return { abandonedTicket: null };
      if (call.recording_sid || call.speech) {
        // The caller described the problem but hung up before the ticket was made: make it.
        return { abandonedTicket: await this.createTicket(call, now, { abandoned: false }) };
      }
      await store.calls.update(callSid, { abandoned: 1 }, t);
      if (call.from_e164) {
        const earlier = await store.calls.recentCallbackFrom(call.from_e164, t - HOUR_MS);
        if (earlier?.ticket_id) {
          await store.tickets.event(earlier.ticket_id, t, `caller:${call.from_e164}`, 'call_abandoned_again', { callSid });
          return { abandonedTicket: null };
        }
      }
      await store.calls.update(callSid, { callback_requested: 1 }, t);
      return { abandonedTicket: await this.createTicket(await store.calls.bySid(callSid) as CallRow, now, { abandoned: true }) };
    });
    if (result.abandonedTicket) this.deps.onOutbox?.();
    return result;
  }

  private async createTicket(call: CallRow, now: Date, opts: { abandoned: boolean; incident?: IncidentRow }): Promise<TicketRow> {
    const { store, policy, lifecycle } = this.deps;
    const t = now.getTime();
    const choice = MENU[call.menu_choice ?? ''] ?? MENU['2'] as (typeof MENU)['2'];
    const contact = await this.contactFor(call, t);
    const speech = (call.speech ?? '').trim();
    const joining = opts.incident ?? null;
    const incidentKey = joining ? formatIncidentKey(joining.id) : null;
    const description = joining
      ? `Llamó por el incidente ${incidentKey} («${publicTitle(joining)}») y pidió aviso por SMS cuando quede resuelto; no describió el problema.`
      : opts.abandoned
      ? 'Llamada abandonada antes de describir el problema. Devolver la llamada.'
      : speech || (call.recording_url ? `Mensaje de voz (${call.recording_seconds ?? '?'} s): ${call.recording_url}` : 'Llamada sin descripción.');
    const classified = classify({
      subject: '', text: speech,
      mailbox: { id: 'telefono', defaultSeverity: opts.abandoned ? 3 : choice.defaultSeverity, defaultType: choice.type, defaultCategory: choice.category },
      ...(choice.hint && !opts.abandoned ? { severityHint: { severity: choice.defaultSeverity, reason: `menú telefónico: ${choice.label}` } } : {}),
    }, policy.classification.rules, policy.classification.minimumScore);
    // A caller joining an incident reports the incident's problem: its category, whatever the menu said.
    const c = joining ? { ...classified, type: 'incidente' as const, category: joining.category } : classified;
    const who = call.from_e164 ?? 'número oculto';
    const subject = joining ? `Llamada de ${who}: ${publicTitle(joining)}` : opts.abandoned ? `Llamada abandonada de ${who}` : `Llamada de ${who}: ${speech ? shorten(speech, 60) : choice.label}`;
    const { ticket } = await this.deps.opening.open({
      channel: 'phone', mailbox: null, contact, actor: `caller:${who}`, subject, description,
      classification: c,
      classificationExtras: { menuChoice: call.menu_choice, callSid: call.call_sid, callbackRequested: opts.abandoned },
      customerChannel: 'sms', cc: [],
      created: {
        data: { callSid: call.call_sid, menuChoice: call.menu_choice, callback: opts.abandoned, ...(incidentKey ? { incident: incidentKey } : {}) },
        ...(opts.abandoned ? { reason: 'llamada abandonada: devolver la llamada' } : {}),
      },
      link: async (row) => { await store.calls.update(call.call_sid, { ticket_id: row.id }, t); },
      // Nobody to acknowledge on an abandoned call: the desk calls back instead.
      ack: opts.abandoned ? { send: false, reason: null } : { send: true, moment: 'ack-phone' },
      levelNotice: {},
      ...(joining ? { joinIncident: { id: joining.id, reason: `el cliente llamó y confirmó en el saludo que llama por el incidente ${incidentKey}` } } : {}),
    }, now);
    // The acknowledgment stamped the customer's last update: the row as it now stands.
    return await lifecycle.reload(ticket.id);
  }

  private async contactFor(call: CallRow, t: number): Promise<ContactRow> {
    const { store } = this.deps;
    return call.from_e164 ? await store.tickets.contactForPhone(call.from_e164, t) : await store.tickets.anonymousContact('Número oculto', t);
  }
}

function shorten(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length <= n ? one : `${one.slice(0, n - 1).trimEnd()}…`;
}
