import { BusinessCalendar, ContinuousClock, type SlaClock } from '../domain/business-time.ts';
import type { BusinessHours, ClockKind, DeskPolicy } from '../domain/policy.ts';

/** Contracts with their own calendar are few; a calendar's day cache is worth keeping. */
const CALENDAR_LIMIT = 200;

/**
 * The clocks SLA arithmetic runs on: the desk's business calendar, the calendars of contracts
 * that bring their own (built once per distinct calendar and kept), and the 24×7 clock.
 *
 * `business` is a stable object that always answers with the desk's *current* calendar, so the
 * routes and components given it at start follow a config reload (`reload`).
 */
export class SlaClocks {
  readonly business: SlaClock;
  readonly continuous = new ContinuousClock();
  private desk: BusinessCalendar;
  private readonly calendars = new Map<string, BusinessCalendar>();

  constructor(private readonly policy: DeskPolicy) {
    this.desk = calendarOf(policy.businessHours);
    const current = (): BusinessCalendar => this.desk;
    this.business = {
      isOpen: (at) => current().isOpen(at),
      nextOpening: (at) => current().nextOpening(at),
      addBusinessMinutes: (from, minutes) => current().addBusinessMinutes(from, minutes),
      businessMinutesBetween: (a, b) => current().businessMinutesBetween(a, b),
    };
  }

  /** The desk's calendar rebuilt from the policy as it now stands (after a config reload). */
  reload(): void {
    this.desk = calendarOf(this.policy.businessHours);
  }

  /**
   * A severity's clock is the ticket's terms' to choose (TicketTerms.clock); this maps the kind
   * (and the contract's own calendar, when it has one) to it.
   */
  forKind(kind: ClockKind, calendar: BusinessHours | null = null): SlaClock {
    if (kind === 'continuous') return this.continuous;
    return this.calendar(calendar);
  }

  /** The business calendar for these hours (the desk's when null). */
  calendar(hours: BusinessHours | null): SlaClock {
    if (hours === null) return this.desk;
    const key = JSON.stringify(hours);
    let c = this.calendars.get(key);
    if (c === undefined) {
      if (this.calendars.size >= CALENDAR_LIMIT) this.calendars.clear();
      c = calendarOf(hours);
      this.calendars.set(key, c);
    }
    return c;
  }
}

function calendarOf(hours: BusinessHours): BusinessCalendar {
  return new BusinessCalendar({
    timeZone: hours.timeZone,
    weeklyHours: hours.weeklyHours,
    holidays: { country: hours.holidayCountry, extraClosedDates: hours.extraClosedDates },
  });
}
