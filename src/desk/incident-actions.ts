import type { AgentCommand, AgentCommandError, ParsedAgentReply } from '../domain/agent-commands.ts';
import { significantWords } from '../domain/incident-detection.ts';
import type { EtrEstimate } from '../domain/etr.ts';
import type { DeskPolicy, Level, Person } from '../domain/policy.ts';
import { formatIncidentKey, parseIncidentKey } from '../domain/ticket-key.ts';
import { isOpenState, type TicketRow } from '../domain/ticket.ts';
import type { IncidentFacts } from '../outbound/message-context.ts';
import type { IncidentRow } from '../store/incident-repo.ts';
import type { Store } from '../store/store.ts';
import type { IncidentClocks } from './incident-clocks.ts';
import type { IncidentLinking } from './incident-linking.ts';
import type { Notices } from './notices.ts';
import type { TicketLifecycle } from './ticket-lifecycle.ts';

/** What an agent's reply on an incident's thread did. */
export interface IncidentReplyResult {
  /** Customers an update or the resolution was queued for. */
  told: number;
  linked: number;
  unlinked: number;
  resolved: boolean;
  internal: boolean;
}

/**
 * Agents working a major incident (issue 13). On the incident's own thread (a reply to its
 * notice) the public text is one update fanned out to every linked customer over each one's
 * channel, with the incident's ETR and its history; `#etr` moves every linked ticket's ETR;
 * `#resuelto` resolves the incident and each linked ticket, with a closing message;
 * `#vincular` / `#desvincular` bring tickets in or take them out. From a ticket's thread,
 * `#incidente mayor` declares one and `#vincular` / `#desvincular` move that ticket.
 *
 * Everything runs in the caller's transaction, so an update's outbox rows commit with it; the
 * fan-out is paced through the outbox (`incidents.fanOutPerSecond`, each row's earliest send
 * time), and a restart mid-fan-out resumes from the rows still pending, never skipping one.
 * The problems that would refuse a reply are found first (`problemsOn…`): either all of a
 * reply applies, or none of it.
 */
export class IncidentActions {
  constructor(private readonly deps: { store: Store; policy: DeskPolicy; lifecycle: TicketLifecycle; notices: Notices; linking: IncidentLinking; clocks: IncidentClocks }) {}

  /** Why a reply on the incident's thread cannot be applied; empty when it can. */
  async problemsOnIncident(incident: IncidentRow, reply: ParsedAgentReply): Promise<AgentCommandError[]> {
    const { store } = this.deps;
    const key = formatIncidentKey(incident.id);
    const problems: AgentCommandError[] = [];
    const internal = reply.commands.some((c) => c.kind === 'note');
    if (incident.state === 'resuelto' && !internal) {
      return [{ line: '', problem: `El incidente ${key} ya está resuelto: ya no se envían avisos a sus clientes. Para un caso que sigue fallando, responda en el aviso de su ticket.` }];
    }
    for (const cmd of reply.commands) {
      if (cmd.kind !== 'link' && cmd.kind !== 'unlink') continue;
      for (const k of cmd.keys) {
        const ticket = await store.tickets.byKey(k);
        const line = `#${cmd.kind === 'link' ? 'vincular' : 'desvincular'} ${k}`;
        if (!ticket) problems.push({ line, problem: `No existe el ticket ${k}.` });
        else if (cmd.kind === 'unlink' && ticket.incident_id !== incident.id) problems.push({ line, problem: `${k} no está vinculado a ${key}.` });
        else if (cmd.kind === 'link' && !isOpenState(ticket.state)) problems.push({ line, problem: `${k} ya está ${ticket.state}; solo se vinculan tickets abiertos.` });
        else if (cmd.kind === 'link' && ticket.incident_id !== null && ticket.incident_id !== incident.id) problems.push({ line, problem: `${k} ya está vinculado a ${formatIncidentKey(ticket.incident_id)}: desvincúlelo primero.` });
      }
    }
    return problems;
  }

  /** An agent's reply on the incident's thread, applied (its problems checked first). */
  async applyOnIncident(incident: IncidentRow, person: Person, reply: ParsedAgentReply, now: Date): Promise<IncidentReplyResult> {
    const { store, lifecycle, clocks } = this.deps;
    const t = now.getTime();
    const actor = `agent:${person.email}`;
    const key = formatIncidentKey(incident.id);
    const internal = reply.commands.some((c) => c.kind === 'note');
    const text = reply.publicText.trim();
    const result: IncidentReplyResult = { told: 0, linked: 0, unlinked: 0, resolved: false, internal };
    let row = incident;
    let previousEtr: number | null = null;
    for (const cmd of reply.commands) {
      if (cmd.kind === 'link' || cmd.kind === 'unlink') {
        for (const k of cmd.keys) {
          const ticket = await store.tickets.byKey(k) as TicketRow;
          if (cmd.kind === 'link') {
            if (ticket.incident_id === row.id) continue;
            const linked = await clocks.link(ticket, row, now, actor, `vinculado por ${person.name}`);
            if (!internal) await this.tellLinked(linked, row, now, `vinculado por nuestro equipo`);
            result.linked++;
          } else {
            await lifecycle.unlinkIncident(ticket, now, actor, `desvinculado de ${key} por ${person.name}`);
            result.unlinked++;
          }
        }
        await store.incidents.addUpdate(row.id, { author: actor, kind: cmd.kind === 'link' ? 'linked' : 'unlinked', text: cmd.keys.join(', '), etrAt: row.etr_at, reason: null }, t);
      } else if (cmd.kind === 'etr') {
        previousEtr = row.etr_at;
        row = await this.moveEtr(row, cmd, person, now);
      } else if (cmd.kind === 'title') {
        await store.incidents.setPublicTitle(row.id, cmd.title, t);
        row = { ...row, public_title: cmd.title };
      }
    }
    if (internal) {
      await store.incidents.addUpdate(row.id, { author: actor, kind: 'note', text: text || null, etrAt: row.etr_at, reason: null }, t);
      return result;
    }
    if (reply.commands.some((c) => c.kind === 'resolved')) {
      result.told = await this.fanOut(row, 'incident-resolved', text, now, async (ticket) => await lifecycle.resolve(ticket, now, actor, `incidente ${key} resuelto`));
      await store.incidents.resolve(row.id, t);
      await store.incidents.addUpdate(row.id, { author: actor, kind: 'resolved', text: text || null, etrAt: row.etr_at, reason: `resuelto por ${person.name}`, recipients: result.told }, t);
      result.resolved = true;
      return result;
    }
    if (text || previousEtr !== null) {
      result.told = await this.fanOut(row, 'incident-update', text, now, null, previousEtr);
      await store.incidents.addUpdate(row.id, { author: actor, kind: text ? 'update' : 'etr', text: text || null, etrAt: row.etr_at, reason: previousEtr === null ? null : `ETR fijado por ${person.name} (antes ${new Date(previousEtr).toISOString()})`, recipients: result.told }, t);
      // Everyone just heard from the desk: the periodic updates start over from now.
      await clocks.told(row.id, now);
    }
    return result;
  }

  /** No news from an agent within the cadence: every linked customer hears where it stands, with its ETR. */
  async periodicUpdate(incident: IncidentRow, now: Date): Promise<number> {
    const told = await this.fanOut(incident, 'incident-update', '', now, null);
    await this.deps.store.incidents.addUpdate(incident.id, { author: 'system', kind: 'update', text: null, etrAt: incident.etr_at, reason: 'actualización periódica (el contrato vinculado más exigente)', recipients: told }, now.getTime());
    await this.deps.clocks.told(incident.id, now);
    return told;
  }

  /**
   * Its ETR passed unresolved: estimated again as for the report that opened it (its severity,
   * category and age), set on every linked ticket and told to every customer with the one before
   * — no message ever shows an ETR in the past.
   */
  async reestimate(incident: IncidentRow, now: Date): Promise<number> {
    const { store, lifecycle, clocks } = this.deps;
    const why = 'el ETR del incidente venció sin resolución';
    const firstId = (await store.incidents.linkedOpenIds(incident.id))[0];
    const first = firstId === undefined ? null : await lifecycle.reload(firstId);
    const etr = await lifecycle.estimate(first ?? { severity: Math.min(...this.deps.policy.incidents.severities) as TicketRow['severity'], category: incident.category, created_at: incident.opened_at, paused_minutes: 0, terms_json: null }, now, { why });
    const row = await this.setEtrForAll(incident, etr, 'system', now);
    const told = await this.fanOut(row, 'incident-update', '', now, null, incident.etr_at);
    await store.incidents.addUpdate(row.id, { author: 'system', kind: 'etr', text: null, etrAt: row.etr_at, reason: etr.reason, recipients: told }, now.getTime());
    await clocks.told(row.id, now);
    return told;
  }

  /**
   * The level holding it used the shortest budget a linked contract gives it: the next level
   * takes it, told once on the incident's thread. Its customers keep hearing at the cadence.
   */
  async escalate(incident: IncidentRow, from: Level, to: Level, now: Date): Promise<void> {
    const { store, notices, clocks } = this.deps;
    const reason = `sin resolución dentro del tiempo del nivel ${from}`;
    const row = await clocks.escalated(incident.id, to, now);
    await store.incidents.addUpdate(row.id, { author: 'system', kind: 'note', text: `Escalado del nivel ${from} al nivel ${to}`, etrAt: row.etr_at, reason }, now.getTime());
    const ticket = await this.noticeTicket(row);
    if (ticket === null) return;
    await notices.toLevel(ticket, to, 'agent-incident-escalated', now, {
      incident: await this.factsFor(row, reason, now), escalation: { fromLevel: from, toLevel: to, reason },
    }, undefined, { key: formatIncidentKey(row.id) });
  }

  /**
   * The level holding it hears, once a period, how many tickets joined since it last heard — in
   * place of a notice per ticket. Nothing is sent when none joined.
   */
  async digest(incident: IncidentRow, now: Date): Promise<number> {
    const { store, notices, clocks } = this.deps;
    const linked = await store.incidents.linkedCount(incident.id);
    const joined = linked - incident.digest_linked;
    const ticket = joined > 0 ? await this.noticeTicket(incident) : null;
    if (ticket !== null) {
      await notices.toLevel(ticket, incident.level as Level, 'agent-incident-digest', now, {
        incident: { ...await this.factsFor(incident, '', now), joined },
      }, undefined, { key: formatIncidentKey(incident.id) });
    }
    await clocks.digested(incident.id, linked, now);
    return ticket === null ? 0 : joined;
  }

  /** The ticket an incident's notices are rendered with: the first linked to it (the one that opened it). */
  private async noticeTicket(incident: IncidentRow): Promise<TicketRow | null> {
    const id = await this.deps.store.incidents.firstLinkedId(incident.id);
    return id === null ? null : await this.deps.lifecycle.reload(id);
  }

  /** Why these commands cannot apply to this ticket (its incident commands only); empty when they can. */
  async problemsOnTicket(ticket: TicketRow, commands: readonly AgentCommand[]): Promise<AgentCommandError[]> {
    const problems: AgentCommandError[] = [];
    for (const cmd of commands) {
      if (cmd.kind === 'major_incident') {
        if (ticket.incident_id !== null) problems.push({ line: '#incidente mayor', problem: `${ticket.key} ya está vinculado a ${formatIncidentKey(ticket.incident_id)}.` });
        else if (!isOpenState(ticket.state)) problems.push({ line: '#incidente mayor', problem: `${ticket.key} ya está ${ticket.state}.` });
      } else if (cmd.kind === 'unlink') {
        if (ticket.incident_id === null) problems.push({ line: '#desvincular', problem: `${ticket.key} no está vinculado a ningún incidente.` });
      } else if (cmd.kind === 'link') {
        const target = await this.incidentNamed(cmd.keys[0] as string);
        const line = `#vincular ${cmd.keys[0] ?? ''}`;
        if ('problem' in target) problems.push({ line, problem: target.problem });
        else if (ticket.incident_id !== null && ticket.incident_id !== target.id) problems.push({ line, problem: `${ticket.key} ya está vinculado a ${formatIncidentKey(ticket.incident_id)}: desvincúlelo primero.` });
        else if (!isOpenState(ticket.state)) problems.push({ line, problem: `${ticket.key} ya está ${ticket.state}; solo se vinculan tickets abiertos.` });
      }
    }
    return problems;
  }

  /**
   * `#incidente mayor` on a ticket: an incident opened by an agent around this report (its words,
   * its category, its ETR). Level `incidents.level` is told once, on the incident's own thread.
   */
  async declare(ticket: TicketRow, person: Person, now: Date): Promise<TicketRow> {
    const { store, lifecycle, linking, notices, clocks } = this.deps;
    const t = now.getTime();
    const actor = `agent:${person.email}`;
    const words = ticket.report_words ? JSON.parse(ticket.report_words) as string[] : significantWords(`${ticket.subject} ${ticket.description}`);
    const reason = `declarado por ${person.name} (#incidente mayor)`;
    const incident = await store.incidents.open({
      category: ticket.category, organisation: linking.isolated(ticket.organisation) ? ticket.organisation : null,
      title: ticket.subject.slice(0, 200), signature: words, etrAt: ticket.etr_at, openedBy: actor, reason, ...clocks.opening(now, ticket.etr_at, 1),
    }, t);
    await store.incidents.addUpdate(incident.id, { author: actor, kind: 'opened', text: null, etrAt: incident.etr_at, reason }, t);
    await store.tickets.event(ticket.id, t, actor, 'incident_opened', { incident: formatIncidentKey(incident.id), reports: 1, signature: words }, reason);
    const linked = await clocks.link(ticket, incident, now, actor, reason);
    await notices.toLevel(linked, linking.level, 'agent-incident-opened', now, { incident: await linking.facts(incident, reason) }, undefined, { key: formatIncidentKey(incident.id) });
    return await lifecycle.reload(ticket.id);
  }

  /** `#vincular KEY` on a ticket; the customer is told (unless the reply is a note or carries words of its own). */
  async linkTicket(ticket: TicketRow, key: string, person: Person, now: Date, opts: { tellCustomer: boolean }): Promise<TicketRow> {
    const target = await this.incidentNamed(key);
    if ('problem' in target) throw new Error(target.problem);
    if (ticket.incident_id === target.id) return ticket;
    const actor = `agent:${person.email}`;
    const linked = await this.deps.clocks.link(ticket, target, now, actor, `vinculado por ${person.name}`);
    await this.deps.store.incidents.addUpdate(target.id, { author: actor, kind: 'linked', text: ticket.key, etrAt: target.etr_at, reason: null }, now.getTime());
    if (opts.tellCustomer) await this.tellLinked(linked, target, now, 'vinculado por nuestro equipo');
    return linked;
  }

  /** `#desvincular` on a ticket: it leaves its incident and runs on its own clock again. */
  async unlinkTicket(ticket: TicketRow, person: Person, now: Date): Promise<TicketRow> {
    if (ticket.incident_id === null) return ticket;
    const actor = `agent:${person.email}`;
    const incidentId = ticket.incident_id;
    const row = await this.deps.lifecycle.unlinkIncident(ticket, now, actor, `desvinculado por ${person.name}`);
    await this.deps.store.incidents.addUpdate(incidentId, { author: actor, kind: 'unlinked', text: ticket.key, etrAt: null, reason: null }, now.getTime());
    return row;
  }

  /** Facts of the incident for a message, with its ETR history up to its ETR now. */
  async factsFor(incident: IncidentRow, reason: string, now: Date): Promise<IncidentFacts> {
    const facts = await this.deps.linking.facts(incident, reason);
    const history: Array<{ at: Date; etrAt: Date }> = [];
    const note = (at: number, etrAt: number): void => { if (history.at(-1)?.etrAt.getTime() !== etrAt) history.push({ at: new Date(at), etrAt: new Date(etrAt) }); };
    for (const u of await this.deps.store.incidents.updates(incident.id)) {
      if (u.etr_at !== null && (u.kind === 'opened' || u.kind === 'etr' || u.kind === 'update' || u.kind === 'resolved')) note(u.at, u.etr_at);
    }
    note(now.getTime(), incident.etr_at);
    // One estimate is not a history.
    return { ...facts, etrHistory: history.length > 1 ? history : [] };
  }

  /** The incident's new ETR, and every linked open ticket's with it (history and event each). */
  private async moveEtr(incident: IncidentRow, cmd: Extract<AgentCommand, { kind: 'etr' }>, person: Person, now: Date): Promise<IncidentRow> {
    const key = formatIncidentKey(incident.id);
    return await this.setEtrForAll(incident, { at: cmd.at, source: 'agent', baseMinutes: 0, reason: `ETR del incidente ${key}, fijado por ${person.name} (#etr ${cmd.text})` }, `agent:${person.email}`, now);
  }

  private async setEtrForAll(incident: IncidentRow, etr: EtrEstimate, actor: string, now: Date): Promise<IncidentRow> {
    const { store, lifecycle, clocks } = this.deps;
    const row = await clocks.setEtr(incident.id, etr.at.getTime(), now);
    for (const id of await store.incidents.linkedOpenIds(incident.id)) {
      await lifecycle.changeEtr(await lifecycle.reload(id), etr, now, { actor, notifyCustomer: false });
    }
    return row;
  }

  /**
   * One message to each linked open ticket's customer, paced: the i-th is not sent before
   * i / fanOutPerSecond seconds from now. `change`, when given, is applied to each ticket first
   * (the resolution). Returns how many were queued.
   */
  private async fanOut(incident: IncidentRow, moment: 'incident-update' | 'incident-resolved', text: string, now: Date, change: ((t: TicketRow) => Promise<TicketRow>) | null, previousEtr: number | null = null): Promise<number> {
    const { store, lifecycle, notices, policy } = this.deps;
    const t = now.getTime();
    const rate = policy.incidents.fanOutPerSecond;
    const facts = await this.factsFor(incident, '', now);
    let queued = 0;
    for (const id of await store.incidents.linkedOpenIds(incident.id)) {
      let ticket = await lifecycle.reload(id);
      if (change) ticket = await change(ticket);
      const notBefore = rate > 0 ? t + Math.floor(queued / rate) * 1000 : undefined;
      const sent = await notices.toCustomer(ticket, moment, now, {
        deferStamp: true, notBefore,
        extras: { incident: facts, replyText: text || null, ...(previousEtr !== null ? { previousEtrAt: new Date(previousEtr) } : {}) },
      });
      if (sent !== null) queued++;
      // A human answered every one of them: the first response is met.
      await lifecycle.save(ticket, { first_responded_at: ticket.first_responded_at ?? t, ...(sent !== null ? { last_customer_update_at: t } : {}) }, now);
    }
    return queued;
  }

  /** A customer whose ticket an agent linked learns it is part of a known problem, with its ETR. */
  private async tellLinked(ticket: TicketRow, incident: IncidentRow, now: Date, reason: string): Promise<void> {
    await this.deps.notices.toCustomer(ticket, 'ack-incident', now, { extras: { incident: await this.factsFor(incident, reason, now) } });
  }

  /** The open incident a key names: `INC-0001`, or a ticket linked to one. */
  private async incidentNamed(key: string): Promise<IncidentRow | { problem: string }> {
    const { store } = this.deps;
    const named = parseIncidentKey(key);
    const ticket = named === null ? await store.tickets.byKey(key) : undefined;
    const id = named ?? ticket?.incident_id ?? null;
    if (id === null) return { problem: ticket ? `${key} no está vinculado a ningún incidente.` : `No existe ${key}.` };
    const incident = await store.incidents.byId(id);
    if (!incident) return { problem: `No existe ${key}.` };
    if (incident.state !== 'abierto') return { problem: `El incidente ${formatIncidentKey(incident.id)} ya está resuelto.` };
    return incident;
  }
}
