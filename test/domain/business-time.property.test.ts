/**
 * The fast day-by-day calendar against a slow model that walks minute by minute and asks, for
 * each minute, "is the local wall clock inside an opening interval on an open date?".
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { IANAZone } from 'luxon';
import { BusinessCalendar, DEFAULT_CALENDAR, type CalendarSpec, type OpeningInterval } from '../../src/domain/business-time.ts';

const MIN = 60_000;
const RANGE_START = Date.UTC(2024, 0, 1);
const RANGE_END = Date.UTC(2027, 11, 1); // model walks stay inside the years listed below

/** Written out by hand (LFT art. 74), independent of date-holidays. */
const MX_HOLIDAYS = new Set(
  [
    '2024-01-01', '2024-02-05', '2024-03-18', '2024-05-01', '2024-09-16', '2024-10-01', '2024-11-18', '2024-12-25',
    '2025-01-01', '2025-02-03', '2025-03-17', '2025-05-01', '2025-09-16', '2025-11-17', '2025-12-25',
    '2026-01-01', '2026-02-02', '2026-03-16', '2026-05-01', '2026-09-16', '2026-11-16', '2026-12-25',
    '2027-01-01', '2027-02-01', '2027-03-15', '2027-05-01', '2027-09-16', '2027-11-15', '2027-12-25',
  ],
);

/** Zones chosen for their transitions: none, 02:00/03:00, at midnight, 30-minute DST. */
const ZONES = ['America/Mexico_City', 'America/New_York', 'Europe/Madrid', 'America/Santiago', 'Australia/Lord_Howe', 'Asia/Kolkata'];

class Model {
  private readonly zone: IANAZone;
  private readonly offsets = new Map<number, number>();
  private readonly closed: ReadonlySet<string>;
  private readonly weekly: Record<number, Array<[number, number]>>;

  constructor(spec: CalendarSpec) {
    this.zone = IANAZone.create(spec.timeZone);
    this.closed = new Set([...(spec.holidays.country === 'MX' ? MX_HOLIDAYS : []), ...spec.holidays.extraClosedDates]);
    const toMin = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));
    this.weekly = Object.fromEntries(Object.entries(spec.weeklyHours).map(([d, ivs]) => [d, ivs.map((iv): [number, number] => [toMin(iv.start), toMin(iv.end)])]));
  }

  isOpen(t: number): boolean {
    const local = new Date(t + this.offsetMs(t));
    if (this.closed.has(local.toISOString().slice(0, 10))) return false;
    const weekday = ((local.getUTCDay() + 6) % 7) + 1;
    const minute = local.getUTCHours() * 60 + local.getUTCMinutes();
    return (this.weekly[weekday] ?? []).some(([s, e]) => minute >= s && minute < e);
  }

  add(from: number, minutes: number): number {
    if (minutes === 0) return from;
    let counted = 0;
    for (let t = from; ; t += MIN) {
      if (this.isOpen(t) && ++counted === minutes) return t + MIN;
    }
  }

  between(a: number, b: number): number {
    let n = 0;
    for (let t = a; t < b; t += MIN) if (this.isOpen(t)) n += 1;
    return n;
  }

  next(from: number): number {
    let t = from;
    while (!this.isOpen(t)) t += MIN;
    return t;
  }

  /** Memoised per UTC quarter hour: every modern zone changes offset on a quarter hour. */
  private offsetMs(t: number): number {
    const key = Math.floor(t / (15 * MIN));
    let offset = this.offsets.get(key);
    if (offset === undefined) {
      offset = this.zone.offset(t) * MIN;
      this.offsets.set(key, offset);
    }
    return offset;
  }
}

/** Offset transitions of the test zones in the test range, to aim instants at DST days. */
const transitions: number[] = [];
for (const name of ZONES) {
  const zone = IANAZone.create(name);
  for (let t = RANGE_START; t < RANGE_END; t += 6 * 60 * MIN) {
    if (zone.offset(t) !== zone.offset(t + 6 * 60 * MIN)) transitions.push(t);
  }
}
const yearEnds = [Date.UTC(2024, 11, 31), Date.UTC(2025, 11, 31), Date.UTC(2026, 11, 31)];

const interval: fc.Arbitrary<OpeningInterval> = fc
  .tuple(fc.integer({ min: 0, max: 47 }), fc.integer({ min: 1, max: 48 }))
  .filter(([s, e]) => s < e)
  .map(([s, e]) => ({ start: halfHour(s), end: halfHour(e) }));

function halfHour(n: number): string {
  return `${String(Math.floor(n / 2)).padStart(2, '0')}:${n % 2 ? '30' : '00'}`;
}

/** Fixed calendars (business hours, round-the-clock, split shifts, night hours) and random ones. */
const fixedSpecs: CalendarSpec[] = [
  DEFAULT_CALENDAR,
  { ...DEFAULT_CALENDAR, timeZone: 'America/New_York', holidays: { country: null, extraClosedDates: ['2025-03-10', '2025-11-03'] } },
  {
    timeZone: 'Europe/Madrid',
    weeklyHours: { 1: [{ start: '08:00', end: '14:00' }, { start: '15:00', end: '20:00' }], 3: [{ start: '00:00', end: '24:00' }], 7: [{ start: '01:30', end: '03:30' }] },
    holidays: { country: null, extraClosedDates: [] },
  },
  {
    timeZone: 'America/Santiago',
    weeklyHours: { 1: [{ start: '00:00', end: '24:00' }], 2: [{ start: '00:00', end: '24:00' }], 4: [{ start: '00:00', end: '24:00' }], 6: [{ start: '22:00', end: '24:00' }], 7: [{ start: '00:00', end: '24:00' }] },
    holidays: { country: null, extraClosedDates: ['2025-04-07'] },
  },
  {
    timeZone: 'Australia/Lord_Howe',
    weeklyHours: Object.fromEntries([1, 2, 3, 4, 5, 6, 7].map((d) => [d, [{ start: '01:00', end: '03:00' }, { start: '12:00', end: '24:00' }]])),
    holidays: { country: null, extraClosedDates: [] },
  },
];
const randomSpec: fc.Arbitrary<CalendarSpec> = fc
  .record({
    timeZone: fc.constantFrom(...ZONES),
    days: fc.array(fc.tuple(fc.integer({ min: 1, max: 7 }), fc.array(interval, { minLength: 1, maxLength: 2 })), { minLength: 2, maxLength: 7 }),
    mx: fc.boolean(),
  })
  .map(({ timeZone, days, mx }) => ({
    timeZone,
    weeklyHours: Object.fromEntries(days),
    holidays: { country: mx ? 'MX' : null, extraClosedDates: [] },
  }));
const spec = fc.oneof(fc.constantFrom(...fixedSpecs), randomSpec);

const minuteInstant = fc.oneof(
  fc.integer({ min: RANGE_START / MIN, max: (RANGE_END - 30 * 24 * 60 * MIN) / MIN }).map((m) => m * MIN),
  fc.tuple(fc.constantFrom(...transitions, ...yearEnds), fc.integer({ min: -4 * 24 * 60, max: 4 * 24 * 60 })).map(([t, m]) => Math.floor(t / MIN) * MIN + m * MIN),
);

/** Open minutes in a typical week, to keep model walks to a few weeks on sparse calendars. */
function weeklyOpenMinutes(s: CalendarSpec): number {
  let total = 0;
  for (const ivs of Object.values(s.weeklyHours)) {
    for (const iv of ivs) total += (Number(iv.end.slice(0, 2)) * 60 + Number(iv.end.slice(3))) - (Number(iv.start.slice(0, 2)) * 60 + Number(iv.start.slice(3)));
  }
  return total;
}

/** Raise for a soak run: MESA_PROPERTY_RUNS=5000 npx vitest run test/domain/business-time.property.test.ts */
const RUNS = Number(process.env.MESA_PROPERTY_RUNS ?? 120);

describe('BusinessCalendar agrees with the minute-by-minute model', () => {
  it('isOpen and nextOpening', () => {
    fc.assert(
      fc.property(spec, minuteInstant, (s, t) => {
        const cal = new BusinessCalendar(s);
        const model = new Model(s);
        expect(cal.isOpen(new Date(t))).toBe(model.isOpen(t));
        expect(cal.nextOpening(new Date(t)).getTime()).toBe(model.next(t));
      }),
      { numRuns: RUNS },
    );
  });

  it('addBusinessMinutes', () => {
    fc.assert(
      fc.property(spec, minuteInstant, fc.integer({ min: 0, max: 4000 }), (s, t, n) => {
        const minutes = Math.min(n, 2 * weeklyOpenMinutes(s));
        const cal = new BusinessCalendar(s);
        expect(cal.addBusinessMinutes(new Date(t), minutes).toISOString()).toBe(new Date(new Model(s).add(t, minutes)).toISOString());
      }),
      { numRuns: RUNS },
    );
  });

  it('businessMinutesBetween', () => {
    fc.assert(
      fc.property(spec, minuteInstant, fc.integer({ min: -60, max: 10 * 24 * 60 }), (s, a, span) => {
        const b = a + span * MIN;
        const cal = new BusinessCalendar(s);
        expect(cal.businessMinutesBetween(new Date(a), new Date(b))).toBe(span <= 0 ? 0 : new Model(s).between(a, b));
      }),
      { numRuns: RUNS },
    );
  });

  it('businessMinutesBetween(a, addBusinessMinutes(a, n)) === n, also for instants off the minute', () => {
    fc.assert(
      fc.property(spec, minuteInstant, fc.integer({ min: 0, max: 59_999 }), fc.integer({ min: 0, max: 60 * 24 * 60 }), (s, t, ms, n) => {
        const cal = new BusinessCalendar(s);
        const a = new Date(t + ms);
        const end = cal.addBusinessMinutes(a, n);
        expect(cal.businessMinutesBetween(a, end)).toBe(n);
        // Earliest instant: one millisecond less is not enough.
        if (n > 0) expect(cal.businessMinutesBetween(a, new Date(end.getTime() - 1))).toBeLessThan(n);
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
