import { BusinessCalendar, ContinuousClock, type SlaClock } from '../domain/business-time.ts';
import type { ClockKind, DeskPolicy, Severity } from '../domain/policy.ts';

/** The clock each severity runs on, built once from the policy. */
export class SlaClocks {
  readonly business: BusinessCalendar;
  readonly continuous = new ContinuousClock();

  constructor(private readonly policy: DeskPolicy) {
    const bh = policy.businessHours;
    this.business = new BusinessCalendar({
      timeZone: bh.timeZone,
      weeklyHours: bh.weeklyHours,
      holidays: { country: bh.holidayCountry, extraClosedDates: bh.extraClosedDates },
    });
  }

  /** The desk's default clock of a severity (a ticket's own terms may say otherwise: TicketTerms.clock). */
  forSeverity(severity: Severity): SlaClock {
    return this.forKind(this.policy.severities[severity].clock);
  }

  forKind(kind: ClockKind): SlaClock {
    return kind === 'business' ? this.business : this.continuous;
  }
}
