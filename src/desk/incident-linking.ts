import { alikeReports, detectBurst, matchIncident, type Burst, type OpenIncident, type Report } from '../domain/incident-detection.ts';
import type { DeskPolicy, Severity } from '../domain/policy.ts';
import { formatIncidentKey } from '../domain/ticket-key.ts';
import type { TicketRow } from '../domain/ticket.ts';
import type { IncidentFacts } from '../outbound/message-context.ts';
import type { IncidentRow } from '../store/incident-repo.ts';
import { publicTitle } from '../domain/incident.ts';
import type { Store } from '../store/store.ts';
import type { IncidentClocks } from './incident-clocks.ts';

/** What `mesa explain` says about a message and the major incidents. */
export interface IncidentExplanation {
  /** `join`: it would be linked to `incident`; `open`: it would complete a burst and open one. */
  decision: 'join' | 'open' | 'none';
  incident: string | null;
  reason: string;
}

/** What linking decided for a new ticket: it joined an open incident, or its report opened one. */
export interface IncidentLink {
  incident: IncidentRow;
  /** True when this report completed a burst and the incident was opened now. */
  opened: boolean;
  /** The ticket as it now stands (linked, the incident's ETR). */
  ticket: TicketRow;
  facts: IncidentFacts;
}

/** A report alike with `forming` recent ones, not yet a burst: an incident may be forming. */
export interface IncidentForming { forming: number }

/**
 * Major incidents at the moment a ticket is opened (issue 13), inside the opening's
 * transaction: a report that matches an open incident joins it; one that completes a burst of
 * alike reports opens an incident and brings the burst's earlier tickets with it. A linked
 * ticket takes the incident's ETR and has no clock of its own (`SlaSnapshot.linkedToIncident`).
 * Every decision about a report that could join one is recorded as an event with its reason.
 *
 * Instances take turns per category (`IncidentRepo.lockCategory`), so one outage reported to
 * two instances at once opens one incident.
 */
export class IncidentLinking {
  constructor(private readonly deps: { store: Store; policy: DeskPolicy; clocks: IncidentClocks }) {}

  /** The level told when an incident opens. */
  get level(): DeskPolicy['incidents']['level'] {
    return this.deps.policy.incidents.level;
  }

  /** How long the level notice of a report alike with recent ones waits for the burst to complete. */
  get holdMs(): number {
    return this.deps.policy.incidents.holdNoticeSeconds * 1000;
  }

  /** Whether a ticket of this severity is looked at at all (the caller skips the words otherwise). */
  considers(severity: Severity): boolean {
    const p = this.deps.policy.incidents;
    return p.enabled && p.severities.includes(severity);
  }

  async onOpened(ticket: TicketRow, words: readonly string[], now: Date): Promise<IncidentLink | IncidentForming | null> {
    const { store } = this.deps;
    if (!this.considers(ticket.severity) || words.length === 0) return null;
    const t = now.getTime();
    await store.incidents.lockCategory(ticket.category);
    const report: Report = { ticketId: ticket.id, at: ticket.created_at, category: ticket.category, severity: ticket.severity, organisation: ticket.organisation, isolated: this.isolated(ticket.organisation), words };
    const decision = await this.decide(report, now);
    if (decision.kind === 'join') {
      const linked = await this.deps.clocks.link(ticket, decision.incident, now, 'system', decision.reason);
      return { incident: decision.incident, opened: false, ticket: linked, facts: await this.facts(decision.incident, decision.reason) };
    }
    if (decision.kind === 'none') {
      await store.tickets.event(ticket.id, t, 'system', 'incident_not_joined', { words: words.slice(0, 12), alike: decision.alike }, decision.reason);
      return decision.alike > 0 ? { forming: decision.alike } : null;
    }
    const burst = decision.burst;
    // An isolated organisation's burst is its own incident; any other gathers every organisation's alike reports.
    const incident = await store.incidents.open({
      category: ticket.category, organisation: report.isolated ? ticket.organisation : null,
      title: ticket.subject.slice(0, 200), signature: burst.signature, etrAt: ticket.etr_at, openedBy: 'system', reason: burst.reason,
      ...this.deps.clocks.opening(now, ticket.etr_at, burst.reports.length),
    }, t);
    await store.incidents.addUpdate(incident.id, { author: 'system', kind: 'opened', text: null, etrAt: incident.etr_at, reason: burst.reason }, t);
    await store.tickets.event(ticket.id, t, 'system', 'incident_opened', { incident: formatIncidentKey(incident.id), reports: burst.reports.length, signature: burst.signature }, burst.reason);
    const linked = await this.deps.clocks.link(ticket, incident, now, 'system', burst.reason);
    for (const earlier of burst.reports.slice(1)) {
      const row = await store.tickets.lockedById(earlier.ticketId);
      if (!row) continue;
      await this.deps.clocks.link(row, incident, now, 'system', burst.reason);
      // Its level notice, held while the burst formed, gives way to the incident's one notice.
      const withdrawn = await store.outbox.withdrawPending(row.id, 'agent-new-ticket');
      if (withdrawn > 0) await store.tickets.event(row.id, t, 'system', 'level_notice_withdrawn', { incident: formatIncidentKey(incident.id), messages: withdrawn }, 'el aviso del incidente mayor lo reemplaza');
    }
    return { incident, opened: true, ticket: linked, facts: await this.facts(incident, burst.reason) };
  }

  /**
   * A new ticket whose customer said it is this incident (a caller answering the greeting's
   * offer): linked without looking at its words, with that reason. Null when the incident was
   * resolved meanwhile (the ticket then runs on its own) or it is another organisation's.
   */
  async join(ticket: TicketRow, incidentId: number, now: Date, reason: string): Promise<IncidentLink | null> {
    const incident = await this.deps.store.incidents.lockedById(incidentId);
    if (!incident || incident.state !== 'abierto' || !this.announcedTo(incident, ticket.organisation)) {
      await this.deps.store.tickets.event(ticket.id, now.getTime(), 'system', 'incident_not_joined', { incident: formatIncidentKey(incidentId) }, 'el incidente ya no está abierto para este cliente');
      return null;
    }
    const linked = await this.deps.clocks.link(ticket, incident, now, 'system', reason);
    return { incident, opened: false, ticket: linked, facts: await this.facts(incident, reason) };
  }

  /**
   * The open incident a caller of this organisation hears about first (the newest one that may
   * be told to them: any organisation's, or their own organisation's isolated one), or null.
   */
  async announcedFor(organisation: string | null): Promise<IncidentRow | null> {
    const open = (await this.deps.store.incidents.openOnes()).filter((i) => this.announcedTo(i, organisation));
    return open.at(-1) ?? null;
  }

  private announcedTo(incident: IncidentRow, organisation: string | null): boolean {
    if (incident.organisation !== null) return incident.organisation === organisation;
    // An isolated organisation's customers share no incident with others.
    return !this.isolated(organisation);
  }

  /**
   * What would happen to a report arriving now, without changing anything (`mesa explain`): the
   * incident it would join, the burst it would complete, or why neither — the same decision
   * `onOpened` takes.
   */
  async explain(r: { category: string; severity: Severity; organisation: string | null; words: readonly string[] }, now: Date): Promise<IncidentExplanation> {
    const p = this.deps.policy.incidents;
    if (!p.enabled) return { decision: 'none', incident: null, reason: 'los incidentes mayores están desactivados (incidents.enabled)' };
    if (!p.severities.includes(r.severity)) return { decision: 'none', incident: null, reason: `la severidad ${r.severity} no se considera para incidentes (incidents.severities: ${p.severities.join(', ')})` };
    if (r.words.length === 0) return { decision: 'none', incident: null, reason: 'el reporte no tiene palabras significativas' };
    const report: Report = { ticketId: 0, at: now.getTime(), category: r.category, severity: r.severity, organisation: r.organisation, isolated: this.isolated(r.organisation), words: r.words };
    const d = await this.decide(report, now);
    if (d.kind === 'join') return { decision: 'join', incident: formatIncidentKey(d.incident.id), reason: d.reason };
    if (d.kind === 'open') return { decision: 'open', incident: null, reason: `abriría un incidente: ${d.burst.reason}` };
    return { decision: 'none', incident: null, reason: d.reason };
  }

  /** The decision for one report: join an open incident, complete a burst, or neither (with why). */
  private async decide(report: Report, now: Date): Promise<{ kind: 'join'; incident: IncidentRow; reason: string } | { kind: 'open'; burst: Burst } | { kind: 'none'; reason: string; alike: number }> {
    const { store, policy } = this.deps;
    const p = policy.incidents;
    const t = now.getTime();
    const open = new Map((await store.incidents.openOnes()).map((i) => [i.id, i]));
    const match = matchIncident(report, [...open.values()].map(openIncident), p);
    if (match.incident !== null) return { kind: 'join', incident: open.get(match.incident.id) as IncidentRow, reason: match.reason };
    const recent = (await store.incidents.unlinkedReports(report.category, p.severities, t - p.windowMinutes * 60_000))
      .filter((r) => r.id !== report.ticketId)
      .map((r): Report => ({ ticketId: r.id, at: r.created_at, category: r.category, severity: r.severity as Severity, organisation: r.organisation, isolated: this.isolated(r.organisation), words: JSON.parse(r.report_words) as string[] }));
    const burst = detectBurst(report, recent, t, p);
    if (burst === null) {
      const alike = alikeReports(report, recent, t, p).length;
      return { kind: 'none', alike, reason: `${match.reason}; sin ráfaga: ${alike + 1} de ${p.minTickets} reportes parecidos de ${report.category} en ${p.windowMinutes} min` };
    }
    return { kind: 'open', burst };
  }

  async facts(incident: IncidentRow, reason: string): Promise<IncidentFacts> {
    return {
      key: formatIncidentKey(incident.id), title: incident.title, publicTitle: publicTitle(incident), category: incident.category,
      linked: await this.deps.store.incidents.linkedCount(incident.id), words: JSON.parse(incident.signature_json) as string[], reason,
    };
  }

  /** A contract that forbids shared messages keeps its reports out of other organisations' incidents. */
  isolated(organisation: string | null): boolean {
    if (organisation === null) return false;
    return this.deps.policy.organisations.find((o) => o.id === organisation)?.contract?.sharedMessages === false;
  }
}

function openIncident(i: IncidentRow): OpenIncident {
  return { id: i.id, category: i.category, signature: JSON.parse(i.signature_json) as string[], organisation: i.organisation };
}
