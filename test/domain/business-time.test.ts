import { describe, it, expect } from 'vitest';
import { BusinessCalendar, ContinuousClock, DEFAULT_CALENDAR, publicHolidays, type CalendarSpec } from '../../src/domain/business-time.ts';

const mx = new BusinessCalendar(DEFAULT_CALENDAR);
/** Mexico City has been UTC−6 all year since DST was abolished in October 2022. */
const cdmx = (local: string): Date => new Date(`${local}-06:00`);
const iso = (d: Date): string => d.toISOString();

function allDay(timeZone: string, days = [1, 2, 3, 4, 5, 6, 7]): CalendarSpec {
  return {
    timeZone,
    weeklyHours: Object.fromEntries(days.map((d) => [d, [{ start: '00:00', end: '24:00' }]])),
    holidays: { country: null, extraClosedDates: [] },
  };
}

describe('BusinessCalendar with the default Mexico City calendar', () => {
  it('carries Friday 17:30 + 60 business minutes over the weekend to Monday 09:30', () => {
    expect(iso(mx.addBusinessMinutes(cdmx('2026-03-06T17:30'), 60))).toBe(iso(cdmx('2026-03-09T09:30')));
    expect(mx.businessMinutesBetween(cdmx('2026-03-06T17:30'), cdmx('2026-03-09T09:30'))).toBe(60);
  });

  it('skips Revolution Day, Monday 16 Nov 2026 (third Monday of November)', () => {
    expect(mx.isOpen(cdmx('2026-11-16T10:00'))).toBe(false);
    expect(mx.isClosedDate('2026-11-16')).toBe(true);
    expect(iso(mx.addBusinessMinutes(cdmx('2026-11-13T17:30'), 60))).toBe(iso(cdmx('2026-11-17T09:30')));
    expect(iso(mx.nextOpening(cdmx('2026-11-14T12:00')))).toBe(iso(cdmx('2026-11-17T09:00')));
  });

  it('crosses the year end: 31 Dec → 2 Jan when 1 Jan is a Thursday, → 4 Jan when it is a Friday', () => {
    expect(iso(mx.addBusinessMinutes(cdmx('2025-12-31T17:00'), 120))).toBe(iso(cdmx('2026-01-02T10:00')));
    expect(iso(mx.addBusinessMinutes(cdmx('2026-12-31T17:00'), 120))).toBe(iso(cdmx('2027-01-04T10:00')));
    expect(mx.businessMinutesBetween(cdmx('2026-12-31T00:00'), cdmx('2027-01-05T00:00'))).toBe(2 * 9 * 60);
  });

  it('honours extra closed dates from config', () => {
    const bridge = new BusinessCalendar({ ...DEFAULT_CALENDAR, holidays: { country: 'MX', extraClosedDates: ['2026-01-02'] } });
    expect(bridge.isOpen(cdmx('2026-01-02T10:00'))).toBe(false);
    expect(iso(bridge.addBusinessMinutes(cdmx('2025-12-31T17:00'), 120))).toBe(iso(cdmx('2026-01-05T10:00')));
    expect(mx.isOpen(cdmx('2026-01-02T10:00'))).toBe(true);
  });

  it('treats bank-only days (Holy Friday, 12 Dec on a weekday) as open', () => {
    expect(mx.isOpen(cdmx('2026-04-03T10:00'))).toBe(true);
    expect(mx.isOpen(cdmx('2025-12-12T10:00'))).toBe(true);
  });

  it('returns `from` unchanged when adding 0, open or closed', () => {
    expect(iso(mx.addBusinessMinutes(cdmx('2026-03-07T12:00'), 0))).toBe(iso(cdmx('2026-03-07T12:00')));
    expect(iso(mx.addBusinessMinutes(cdmx('2026-03-06T12:00'), 0))).toBe(iso(cdmx('2026-03-06T12:00')));
  });

  it('starts counting at the next opening when `from` is closed', () => {
    expect(iso(mx.addBusinessMinutes(cdmx('2026-03-07T12:00'), 1))).toBe(iso(cdmx('2026-03-09T09:01')));
    expect(iso(mx.addBusinessMinutes(cdmx('2026-03-06T07:00'), 30))).toBe(iso(cdmx('2026-03-06T09:30')));
  });

  it('stops at closing time when the count runs out exactly then', () => {
    expect(iso(mx.addBusinessMinutes(cdmx('2026-03-06T17:00'), 60))).toBe(iso(cdmx('2026-03-06T18:00')));
    expect(mx.isOpen(cdmx('2026-03-06T18:00'))).toBe(false);
    expect(mx.isOpen(cdmx('2026-03-06T17:59'))).toBe(true);
    expect(mx.isOpen(cdmx('2026-03-06T09:00'))).toBe(true);
  });

  it('adds whole business days: 5 business days (45 h) from Wednesday 10:00 is next Wednesday 10:00', () => {
    expect(iso(mx.addBusinessMinutes(cdmx('2026-03-04T10:00'), 5 * 9 * 60))).toBe(iso(cdmx('2026-03-11T10:00')));
    // Benito Juárez day, Monday 16 Mar 2026, pushes it one more day.
    expect(iso(mx.addBusinessMinutes(cdmx('2026-03-11T10:00'), 5 * 9 * 60))).toBe(iso(cdmx('2026-03-19T10:00')));
  });

  it('nextOpening is `at` itself when open', () => {
    expect(iso(mx.nextOpening(cdmx('2026-03-06T12:34')))).toBe(iso(cdmx('2026-03-06T12:34')));
    expect(iso(mx.nextOpening(cdmx('2026-03-06T18:00')))).toBe(iso(cdmx('2026-03-09T09:00')));
  });

  it('measures fractional minutes and returns 0 for empty or reversed spans', () => {
    expect(mx.businessMinutesBetween(new Date(cdmx('2026-03-06T09:00').getTime() + 30_000), cdmx('2026-03-06T09:01'))).toBe(0.5);
    expect(mx.businessMinutesBetween(cdmx('2026-03-06T10:00'), cdmx('2026-03-06T10:00'))).toBe(0);
    expect(mx.businessMinutesBetween(cdmx('2026-03-06T11:00'), cdmx('2026-03-06T10:00'))).toBe(0);
    expect(mx.businessMinutesBetween(cdmx('2026-03-06T17:00'), cdmx('2026-03-09T10:00'))).toBe(120);
  });

  it('spans a 30-day business-minute addition quickly (whole days, not minutes)', () => {
    const start = performance.now();
    const at = mx.addBusinessMinutes(cdmx('2026-01-05T09:00'), 30 * 24 * 60);
    expect(mx.businessMinutesBetween(cdmx('2026-01-05T09:00'), at)).toBe(30 * 24 * 60);
    // 43 200 min = 80 working days: Mon 5 Jan + 80 working days, minus Feb 2 and Mar 16 holidays.
    expect(iso(at)).toBe(iso(cdmx('2026-04-28T18:00')));
    expect(performance.now() - start).toBeLessThan(200);
  });
});

describe('Mexican federal holidays', () => {
  // Ley Federal del Trabajo art. 74; the inauguration moved from 1 Dec to 1 Oct from 2024 on.
  const expected: Record<number, string[]> = {
    2018: ['01-01', '02-05', '03-19', '05-01', '09-16', '11-19', '12-01', '12-25'],
    2024: ['01-01', '02-05', '03-18', '05-01', '09-16', '10-01', '11-18', '12-25'],
    2025: ['01-01', '02-03', '03-17', '05-01', '09-16', '11-17', '12-25'],
    2026: ['01-01', '02-02', '03-16', '05-01', '09-16', '11-16', '12-25'],
    2027: ['01-01', '02-01', '03-15', '05-01', '09-16', '11-15', '12-25'],
    2030: ['01-01', '02-04', '03-18', '05-01', '09-16', '10-01', '11-18', '12-25'],
  };
  for (const [year, days] of Object.entries(expected)) {
    it(`lists the public holidays of ${year}`, () => {
      expect([...publicHolidays('MX', Number(year))].sort()).toEqual(days.map((d) => `${year}-${d}`));
    });
  }

  it('closes on inauguration day, Tuesday 1 Oct 2024', () => {
    expect(mx.isOpen(cdmx('2024-10-01T12:00'))).toBe(false);
    expect(mx.isOpen(cdmx('2024-10-02T12:00'))).toBe(true);
  });
});

describe('BusinessCalendar across DST changes (wall-clock opening hours)', () => {
  it('America/New_York: the spring-forward Sunday has 23 open hours, the fall-back Sunday 25', () => {
    const ny = new BusinessCalendar(allDay('America/New_York'));
    expect(ny.businessMinutesBetween(new Date('2025-03-09T00:00:00-05:00'), new Date('2025-03-10T00:00:00-04:00'))).toBe(23 * 60);
    expect(ny.businessMinutesBetween(new Date('2025-11-02T00:00:00-04:00'), new Date('2025-11-03T00:00:00-05:00'))).toBe(25 * 60);
  });

  it('America/New_York: an interval starting inside the skipped hour opens when the clock lands', () => {
    const ny = new BusinessCalendar({ timeZone: 'America/New_York', weeklyHours: { 7: [{ start: '02:30', end: '04:00' }] }, holidays: { country: null, extraClosedDates: [] } });
    // 02:00 EST jumps to 03:00 EDT; the first open wall time is 03:00 EDT (07:00Z).
    expect(iso(ny.nextOpening(new Date('2025-03-08T12:00:00Z')))).toBe('2025-03-09T07:00:00.000Z');
    expect(ny.businessMinutesBetween(new Date('2025-03-09T00:00:00Z'), new Date('2025-03-10T00:00:00Z'))).toBe(60);
    // The repeated 01:00–02:00 hour on 2 Nov does not touch 02:30–04:00: 90 minutes as usual.
    expect(ny.businessMinutesBetween(new Date('2025-11-02T00:00:00Z'), new Date('2025-11-03T00:00:00Z'))).toBe(90);
  });

  it('Europe/Madrid: a 01:00–04:00 interval is 2 h on 30 Mar 2025 and 4 h on 26 Oct 2025', () => {
    const madrid = new BusinessCalendar({ timeZone: 'Europe/Madrid', weeklyHours: { 7: [{ start: '01:00', end: '04:00' }] }, holidays: { country: null, extraClosedDates: [] } });
    expect(madrid.businessMinutesBetween(new Date('2025-03-29T12:00:00Z'), new Date('2025-03-30T12:00:00Z'))).toBe(120);
    expect(madrid.businessMinutesBetween(new Date('2025-10-25T12:00:00Z'), new Date('2025-10-26T12:00:00Z'))).toBe(240);
    // 60 minutes from 01:30 CET lands at 03:30 CEST: the 02:00–03:00 wall hour does not exist.
    expect(iso(madrid.addBusinessMinutes(new Date('2025-03-30T01:30:00+01:00'), 60))).toBe(iso(new Date('2025-03-30T03:30:00+02:00')));
  });

  it('America/Santiago changes at midnight: the repeated hour belongs to the earlier date', () => {
    // 6 Apr 2025 00:00 −03 falls back to Saturday 23:00 −04; Saturday has 25 hours.
    const saturdays = new BusinessCalendar(allDay('America/Santiago', [6]));
    expect(saturdays.businessMinutesBetween(new Date('2025-04-05T00:00:00Z'), new Date('2025-04-07T00:00:00Z'))).toBe(25 * 60);
    expect(saturdays.isOpen(new Date('2025-04-06T03:30:00Z'))).toBe(true); // Sat 23:30 −04, second time
    // 7 Sep 2025 00:00 −04 jumps to 01:00 −03: Sunday has no 00:00–01:00.
    const sundays = new BusinessCalendar({ timeZone: 'America/Santiago', weeklyHours: { 7: [{ start: '00:00', end: '02:00' }] }, holidays: { country: null, extraClosedDates: [] } });
    expect(iso(sundays.nextOpening(new Date('2025-09-06T12:00:00Z')))).toBe('2025-09-07T04:00:00.000Z');
    expect(sundays.businessMinutesBetween(new Date('2025-09-06T12:00:00Z'), new Date('2025-09-08T00:00:00Z'))).toBe(60);
  });

  it('joins 00:00–24:00 days seamlessly across midnight and year end', () => {
    const always = new BusinessCalendar(allDay('Europe/Madrid'));
    expect(always.businessMinutesBetween(new Date('2025-12-31T20:00:00Z'), new Date('2026-01-01T04:00:00Z'))).toBe(8 * 60);
    expect(iso(always.addBusinessMinutes(new Date('2025-12-31T22:59:00Z'), 2))).toBe('2025-12-31T23:01:00.000Z');
  });
});

describe('BusinessCalendar spec validation', () => {
  const base = DEFAULT_CALENDAR;
  const cases: Array<[string, CalendarSpec, RegExp]> = [
    ['an unknown zone', { ...base, timeZone: 'Mars/Olympus_Mons' }, /timeZone "Mars\/Olympus_Mons" is not a known IANA time zone/],
    ['a clock without leading zero', { ...base, weeklyHours: { 1: [{ start: '9:00', end: '18:00' }] } }, /weeklyHours\[1\]\[0\]\.start "9:00" is not HH:MM/],
    ['24:00 as a start', { ...base, weeklyHours: { 1: [{ start: '24:00', end: '24:00' }] } }, /weeklyHours\[1\]\[0\]\.start "24:00"/],
    ['24:30 as an end', { ...base, weeklyHours: { 1: [{ start: '09:00', end: '24:30' }] } }, /weeklyHours\[1\]\[0\]\.end "24:30"/],
    ['minute 60', { ...base, weeklyHours: { 1: [{ start: '09:60', end: '18:00' }] } }, /start "09:60"/],
    ['an interval crossing midnight', { ...base, weeklyHours: { 5: [{ start: '22:00', end: '06:00' }] } }, /weeklyHours\[5\]\[0\] ends \(06:00\) before it starts \(22:00\)/],
    ['an empty interval', { ...base, weeklyHours: { 5: [{ start: '10:00', end: '10:00' }] } }, /ends \(10:00\) before it starts/],
    ['weekday 0', { ...base, weeklyHours: { 0: [{ start: '09:00', end: '18:00' }] } }, /weeklyHours key "0" is not an ISO weekday/],
    ['no open hours at all', { ...base, weeklyHours: { 1: [], 6: [] } }, /no open hours on any day/],
    ['an impossible closed date', { ...base, holidays: { country: 'MX', extraClosedDates: ['2026-02-30'] } }, /extraClosedDates entry "2026-02-30"/],
    ['an unknown country', { ...base, holidays: { country: 'ZZ', extraClosedDates: [] } }, /holidays.country "ZZ"/],
  ];
  for (const [name, spec, message] of cases) {
    it(`rejects ${name}`, () => {
      expect(() => new BusinessCalendar(spec)).toThrow(message);
    });
  }

  it('merges overlapping intervals of a day', () => {
    const cal = new BusinessCalendar({ ...base, weeklyHours: { 1: [{ start: '13:00', end: '18:00' }, { start: '09:00', end: '14:00' }] } });
    expect(cal.businessMinutesBetween(cdmx('2026-03-09T00:00'), cdmx('2026-03-10T00:00'))).toBe(9 * 60);
  });

  it('rejects negative or non-finite minute counts and invalid dates', () => {
    expect(() => mx.addBusinessMinutes(cdmx('2026-03-06T10:00'), -1)).toThrow(RangeError);
    expect(() => mx.addBusinessMinutes(cdmx('2026-03-06T10:00'), Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => mx.isOpen(new Date('not a date'))).toThrow(RangeError);
  });

  it('fails instead of looping when config closes the calendar for over a year', () => {
    const dates: string[] = [];
    for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 3, 1); t += 86_400_000) dates.push(new Date(t).toISOString().slice(0, 10));
    const shut = new BusinessCalendar({ ...base, holidays: { country: null, extraClosedDates: dates } });
    expect(() => shut.nextOpening(cdmx('2026-01-01T00:00'))).toThrow(/closed for more than 400 days/);
    expect(iso(shut.nextOpening(cdmx('2027-03-30T00:00')))).toBe(iso(cdmx('2027-04-01T09:00')));
  });
});

describe('ContinuousClock', () => {
  const clock = new ContinuousClock();
  it('counts plain minutes, night and weekend included', () => {
    const sat = cdmx('2026-03-07T23:30');
    expect(clock.isOpen(sat)).toBe(true);
    expect(iso(clock.nextOpening(sat))).toBe(iso(sat));
    expect(iso(clock.addBusinessMinutes(sat, 60))).toBe(iso(cdmx('2026-03-08T00:30')));
    expect(clock.businessMinutesBetween(sat, cdmx('2026-03-09T09:00'))).toBe(33.5 * 60);
    expect(clock.businessMinutesBetween(cdmx('2026-03-09T09:00'), sat)).toBe(0);
    expect(() => clock.addBusinessMinutes(sat, -5)).toThrow(RangeError);
  });
});
