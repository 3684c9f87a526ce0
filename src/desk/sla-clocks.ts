import { BusinessCalendar, ContinuousClock, type SlaClock } from '../domain/business-time.ts';
import type { DeskPolicy, Severity } from '../domain/policy.ts';

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

  forSeverity(severity: Severity): SlaClock {
    return this.policy.severities[severity].clock === 'business' ? this.business : this.continuous;
  }
}
