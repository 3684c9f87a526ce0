import type { SlaClock } from '../domain/business-time.ts';
import type { DeskPolicy, Level, Person, Severity, SeverityPolicy } from '../domain/policy.ts';
import { generalTerms, matrixPeople, recordedTerms, serviceTerms, type ServiceTerms } from '../domain/service-terms.ts';
import type { TicketRow } from '../domain/ticket.ts';
import type { SlaClocks } from './sla-clocks.ts';

/** A ticket, or a ticket about to be opened, as the terms see it. */
export type TermsHolder = Pick<TicketRow, 'terms_json'> | { terms: ServiceTerms };

/** Parsed terms kept by their JSON text: a ticket's terms are read at every SLA step. */
const CACHE_LIMIT = 5_000;

/**
 * The service terms of each ticket: worked out when it is opened (organisation, contract,
 * matrix), then read back from what the ticket recorded — so a later config change never moves
 * an open ticket's deadlines. A ticket from before organisations existed gets the desk's
 * current defaults. Who a level notifies is read from the current config by the recorded
 * matrix's id (people's addresses and phones do change).
 */
export class TicketTerms {
  private readonly parsed = new Map<string, ServiceTerms>();
  private defaults: ServiceTerms;

  constructor(private readonly policy: DeskPolicy, private readonly clocks: SlaClocks) {
    this.defaults = generalTerms(policy.severities);
  }

  /**
   * After a config reload: the general terms from the new defaults. Recorded terms stay as
   * they were recorded (that is the point); their parsed copies are dropped all the same, as
   * what a ticket without recorded terms gets has changed.
   */
  reload(): void {
    this.defaults = generalTerms(this.policy.severities);
    this.parsed.clear();
  }

  /** The terms for a new ticket of this customer and category. */
  forNew(contact: { email: string | null; phone: string | null }, category: string, now: Date): ServiceTerms {
    const { policy } = this;
    return serviceTerms({
      contact, category, now, timeZone: policy.desk.timeZone,
      organisations: policy.organisations, matrices: policy.matrices, defaults: policy.severities,
    });
  }

  /**
   * Terms worked out again for an open ticket (an agent's `#categoria` or `#organizacion`): its
   * organisation kept unless `organisation` names another (or null, none), by today's config.
   */
  again(ticket: Pick<TicketRow, 'organisation'>, contact: { email: string | null; phone: string | null }, category: string, now: Date, organisation?: { id: string | null; by: string }): ServiceTerms {
    const { policy } = this;
    const chosen = organisation !== undefined
      ? { organisation: organisation.id, by: organisation.by }
      : ticket.organisation !== null ? { organisation: ticket.organisation, by: 'la organización ya registrada en el ticket' } : undefined;
    return serviceTerms({
      contact, category, now, timeZone: policy.desk.timeZone,
      organisations: policy.organisations, matrices: policy.matrices, defaults: policy.severities,
      ...(chosen ? { chosen } : {}),
    });
  }

  of(t: TermsHolder): ServiceTerms {
    if ('terms' in t) return t.terms;
    if (t.terms_json === null) return this.defaults;
    let terms = this.parsed.get(t.terms_json);
    if (terms === undefined) {
      terms = recordedTerms(t.terms_json, this.policy.severities);
      if (this.parsed.size >= CACHE_LIMIT) this.parsed.clear();
      this.parsed.set(t.terms_json, terms);
    }
    return terms;
  }

  /** A severity's targets under the ticket's terms (its own severity unless another is named). */
  severity(t: TermsHolder & { severity: Severity }, severity: Severity = t.severity): SeverityPolicy {
    // The name is always the desk's current one; the targets are the ticket's.
    return { ...this.of(t).severities[severity], name: this.policy.severities[severity].name };
  }

  clock(t: TermsHolder & { severity: Severity }, severity: Severity = t.severity): SlaClock {
    const terms = this.of(t);
    return this.clocks.forKind(terms.severities[severity].clock, terms.calendar ?? null);
  }

  /** The ticket's business calendar (its contract's, or the desk's): when the customer is "open". */
  businessCalendar(t: TermsHolder): SlaClock {
    return this.clocks.calendar(this.of(t).calendar ?? null);
  }

  /** Who a level notifies for this ticket: its matrix's people, or the fallback's, or the level's. */
  people(t: TermsHolder, level: Level): Person[] {
    return matrixPeople(this.of(t).matrix?.id ?? null, level, this.policy.matrices, this.policy.levels).people;
  }
}
