import { BusinessCalendar, ContinuousClock, type SlaClock } from '../domain/business-time.ts';
import type { ClockKind, DeskPolicy } from '../domain/policy.ts';

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

  /** A severity's clock is the ticket's terms' to choose (TicketTerms.clock); this maps the kind to it. */
  forKind(kind: ClockKind): SlaClock {
    return kind === 'business' ? this.business : this.continuous;
  }
}
