/**
 * SLA clocks: a business-hours calendar (wall-clock opening hours in an IANA zone, minus public
 * holidays and configured closed dates) and a plain 24×7 clock with the same interface.
 *
 * Definition the whole module follows: an instant is open when its *local wall-clock time* in
 * the calendar's zone falls inside one of the opening intervals of its local weekday, and its
 * local date is neither a public holiday nor an extra closed date. Consequences at DST changes:
 * wall-clock times skipped by a spring-forward gap are simply never open (a 09:00–18:00 day with
 * a jump inside has 8 open hours), and wall-clock times repeated by a fall-back are open twice
 * (10 hours). The minute-by-minute model in the property tests uses exactly this definition.
 *
 * Algorithm. Each local day is turned once into its list of open *instant* intervals ("pieces"),
 * cached by day number:
 *   1. The instants a local day can own lie within [midnight − 18 h, next midnight + 18 h] in
 *      "wall time read as UTC" (no zone offset reaches ±18 h). The zone offset is sampled every
 *      12 h over that window; where two samples differ, a binary search finds the transition.
 *      This gives at most a few segments of constant offset.
 *   2. An open wall interval [ws, we) meets a segment [s, e) of offset o in the instants
 *      [max(s, ws − o), min(e, we − o)). That formula handles gaps (the piece is clipped) and
 *      overlaps (the repeated hour yields a piece in each segment) without special cases.
 * Walking forward from an instant, days are expanded in order and their pieces merged by start
 * instant; a piece is released only once no later day can own an earlier instant. (A clock that
 * fell back across midnight, say 00:30 → 23:30, would give the earlier date instants after the
 * later date's first ones; no current zone does, but the merge makes day order irrelevant.)
 * Adding minutes or measuring a span then consumes whole pieces, so the cost is O(calendar days
 * spanned), never O(minutes); each day's pieces are computed once and cached.
 *
 * Assumption: at most one offset change per 12 hours, which holds for every modern tzdata zone.
 */
import Holidays from 'date-holidays';
import { IANAZone } from 'luxon';
import { zoneFor } from './time-format.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** Beyond the widest offsets in use (−12 h, +14 h), with room for historical local mean time. */
const OFFSET_MARGIN_MS = 18 * HOUR_MS;
const OFFSET_SAMPLE_STEP_MS = 12 * HOUR_MS;
/** A calendar closed this many days in a row is treated as misconfigured instead of looping on. */
const MAX_CLOSED_DAYS_IN_A_ROW = 400;
const DAY_CACHE_LIMIT = 4096;

export interface OpeningInterval {
  /** 'HH:MM', local wall-clock time, inclusive. */
  start: string;
  /** 'HH:MM' or '24:00', exclusive. Intervals do not cross midnight: split them per day. */
  end: string;
}

export interface CalendarSpec {
  /** IANA zone, e.g. 'America/Mexico_City'. */
  timeZone: string;
  /**
   * ISO weekday 1=Mon..7=Sun → open intervals. Missing weekdays are closed. Overlapping or
   * touching intervals of one day are merged.
   */
  weeklyHours: Record<number, OpeningInterval[]>;
  holidays: {
    /** ISO 3166 country whose public holidays close the calendar ('MX'), or null for none. */
    country: string | null;
    /** Local dates 'YYYY-MM-DD' that are closed in addition. */
    extraClosedDates: string[];
  };
}

/** What SLA code needs from a clock; both clocks below implement it. */
export interface SlaClock {
  isOpen(at: Date): boolean;
  /** `at` itself when open, otherwise the start of the next open period. */
  nextOpening(at: Date): Date;
  /**
   * The earliest instant at which `minutes` open minutes have elapsed since `from`. Counting
   * starts at `from` or, when closed, at the next opening. Consequences of "earliest": adding 0
   * returns `from` unchanged even when closed (use `nextOpening` for "when the clock starts"),
   * and a count that runs out exactly at closing time returns the closing instant, not the next
   * opening. Fractional minutes are rounded to the millisecond.
   */
  addBusinessMinutes(from: Date, minutes: number): Date;
  /** Open minutes in [a, b), 0 when b <= a; fractional when the bounds are not minute-aligned. */
  businessMinutesBetween(a: Date, b: Date): number;
}

const WEEKDAYS_MON_FRI = [1, 2, 3, 4, 5] as const;

/** Mon–Fri 09:00–18:00 in Mexico City, closed on Mexican federal holidays (DESIGN §2). */
export const DEFAULT_CALENDAR: CalendarSpec = deepFreeze({
  timeZone: 'America/Mexico_City',
  weeklyHours: Object.fromEntries(WEEKDAYS_MON_FRI.map((d) => [d, [{ start: '09:00', end: '18:00' }]])),
  holidays: { country: 'MX', extraClosedDates: [] },
});

/** 24×7 clock: every instant is open, business minutes are plain minutes. */
export class ContinuousClock implements SlaClock {
  isOpen(at: Date): boolean {
    instantOf(at, 'at');
    return true;
  }

  nextOpening(at: Date): Date {
    return new Date(instantOf(at, 'at'));
  }

  addBusinessMinutes(from: Date, minutes: number): Date {
    return new Date(instantOf(from, 'from') + minutesToMs(minutes));
  }

  businessMinutesBetween(a: Date, b: Date): number {
    const span = instantOf(b, 'b') - instantOf(a, 'a');
    return span > 0 ? span / MINUTE_MS : 0;
  }
}

/** [start, end) in epoch milliseconds. */
interface Piece {
  start: number;
  end: number;
}

/** [start, end) in minutes since local midnight. */
type MinuteRange = readonly [number, number];

export class BusinessCalendar implements SlaClock {
  readonly timeZone: string;
  private readonly zone: IANAZone;
  /** Index 1..7 (ISO weekday); index 0 unused. */
  private readonly weekly: ReadonlyArray<readonly MinuteRange[]>;
  private readonly country: string | null;
  private readonly extraClosed: ReadonlySet<string>;
  private readonly dayCache = new Map<number, readonly Piece[]>();

  constructor(spec: CalendarSpec) {
    const fail = (what: string): never => {
      throw new Error(`Invalid business calendar: ${what}`);
    };
    if (typeof spec.timeZone !== 'string' || !IANAZone.isValidZone(spec.timeZone)) {
      fail(`timeZone ${JSON.stringify(spec.timeZone)} is not a known IANA time zone`);
    }
    this.timeZone = spec.timeZone;
    this.zone = zoneFor(spec.timeZone);

    const weekly: MinuteRange[][] = [[], [], [], [], [], [], [], []];
    for (const [key, intervals] of Object.entries(spec.weeklyHours ?? {})) {
      const day = Number(key);
      if (!Number.isInteger(day) || day < 1 || day > 7) {
        fail(`weeklyHours key ${JSON.stringify(key)} is not an ISO weekday 1 (Monday) .. 7 (Sunday)`);
      }
      if (!Array.isArray(intervals)) fail(`weeklyHours[${day}] must be a list of {start, end}`);
      const ranges = intervals.map((iv, i): MinuteRange => {
        const where = `weeklyHours[${day}][${i}]`;
        const start = parseClock(iv?.start, false) ?? fail(`${where}.start ${JSON.stringify(iv?.start)} is not HH:MM (00:00..23:59)`);
        const end = parseClock(iv?.end, true) ?? fail(`${where}.end ${JSON.stringify(iv?.end)} is not HH:MM (00:00..24:00)`);
        if (end <= start) fail(`${where} ends (${iv.end}) before it starts (${iv.start}); split intervals that cross midnight`);
        return [start, end];
      });
      weekly[day] = mergeRanges(ranges);
    }
    if (weekly.every((r) => r.length === 0)) fail('weeklyHours has no open hours on any day');
    this.weekly = weekly;

    const country = spec.holidays?.country ?? null;
    if (country !== null) {
      const upper = String(country).toUpperCase();
      if (!(upper in new Holidays().getCountries())) fail(`holidays.country ${JSON.stringify(country)} is not a country known to date-holidays`);
      this.country = upper;
    } else {
      this.country = null;
    }
    const extra = spec.holidays?.extraClosedDates ?? [];
    for (const date of extra) {
      if (!isIsoDate(date)) fail(`holidays.extraClosedDates entry ${JSON.stringify(date)} is not a date YYYY-MM-DD`);
    }
    this.extraClosed = new Set(extra);
  }

  isOpen(at: Date): boolean {
    const t = instantOf(at, 'at');
    const wall = t + this.offsetMs(t);
    const day = Math.floor(wall / DAY_MS);
    if (this.isClosedDay(day)) return false;
    const minuteOfDay = (wall - day * DAY_MS) / MINUTE_MS;
    return this.weekly[isoWeekday(day)]!.some(([s, e]) => minuteOfDay >= s && minuteOfDay < e);
  }

  nextOpening(at: Date): Date {
    const t = instantOf(at, 'at');
    for (const piece of this.piecesFrom(t)) return new Date(piece.start);
    throw new Error('unreachable: piecesFrom never ends');
  }

  addBusinessMinutes(from: Date, minutes: number): Date {
    const t = instantOf(from, 'from');
    let remaining = minutesToMs(minutes);
    if (remaining === 0) return new Date(t);
    for (const piece of this.piecesFrom(t)) {
      const length = piece.end - piece.start;
      if (remaining <= length) return new Date(piece.start + remaining);
      remaining -= length;
    }
    throw new Error('unreachable: piecesFrom never ends');
  }

  businessMinutesBetween(a: Date, b: Date): number {
    const from = instantOf(a, 'a');
    const to = instantOf(b, 'b');
    if (to <= from) return 0;
    let total = 0;
    for (const piece of this.piecesFrom(from)) {
      if (piece.start >= to) break;
      total += Math.min(piece.end, to) - piece.start;
    }
    return total / MINUTE_MS;
  }

  /** Whether a local date (e.g. '2026-11-16') is closed all day by a holiday or by config. */
  isClosedDate(localDate: string): boolean {
    if (!isIsoDate(localDate)) throw new RangeError(`not a date YYYY-MM-DD: ${localDate}`);
    return this.isClosedDay(Math.round(Date.parse(`${localDate}T00:00:00Z`) / DAY_MS));
  }

  /**
   * Open pieces at or after `t`, in order, the first one clipped to start at `t`. Endless: a
   * valid spec always opens again (or the closed-streak guard throws).
   */
  private *piecesFrom(t: number): Generator<Piece, never> {
    // Instants of day d are below (d+1)*DAY + margin, so days before this one end before t.
    let nextDay = Math.floor((t - OFFSET_MARGIN_MS) / DAY_MS);
    const pending: Piece[] = [];
    let closedStreak = 0;
    for (;;) {
      // Day `nextDay` owns no instant before nextDay*DAY − margin, so a pending piece starting
      // before that bound is certainly the next one in time.
      while (pending.length === 0 || pending[0]!.start >= nextDay * DAY_MS - OFFSET_MARGIN_MS) {
        const pieces = this.dayPieces(nextDay);
        nextDay += 1;
        if (pieces.length === 0) {
          closedStreak += 1;
          if (closedStreak > MAX_CLOSED_DAYS_IN_A_ROW) {
            throw new Error(`Business calendar (${this.timeZone}) is closed for more than ${MAX_CLOSED_DAYS_IN_A_ROW} days in a row after ${new Date(t).toISOString()}`);
          }
          continue;
        }
        closedStreak = 0;
        for (const p of pieces) {
          if (p.end <= t) continue;
          insertByStart(pending, { start: Math.max(p.start, t), end: p.end });
        }
      }
      yield pending.shift()!;
    }
  }

  /** Open instant intervals owned by local day `day` (days since 1970-01-01), sorted. */
  private dayPieces(day: number): readonly Piece[] {
    const cached = this.dayCache.get(day);
    if (cached) return cached;
    const pieces: Piece[] = [];
    const ranges = this.weekly[isoWeekday(day)]!;
    if (ranges.length > 0 && !this.isClosedDay(day)) {
      const midnight = day * DAY_MS;
      // Segments outer, ranges inner: segments are disjoint and ordered in time, so the output
      // comes out sorted.
      for (const seg of this.offsetSegments(midnight - OFFSET_MARGIN_MS, midnight + DAY_MS + OFFSET_MARGIN_MS)) {
        for (const [s, e] of ranges) {
          const start = Math.max(seg.start, midnight + s * MINUTE_MS - seg.offset);
          const end = Math.min(seg.end, midnight + e * MINUTE_MS - seg.offset);
          if (start < end) pieces.push({ start, end });
        }
      }
    }
    if (this.dayCache.size >= DAY_CACHE_LIMIT) this.dayCache.clear();
    this.dayCache.set(day, pieces);
    return pieces;
  }

  /** Splits [from, to) into runs of constant UTC offset. */
  private offsetSegments(from: number, to: number): Array<Piece & { offset: number }> {
    const segments: Array<Piece & { offset: number }> = [];
    let segStart = from;
    let prevT = from;
    let prevOffset = this.offsetMs(from);
    for (let t = Math.min(from + OFFSET_SAMPLE_STEP_MS, to); ; t = Math.min(t + OFFSET_SAMPLE_STEP_MS, to)) {
      const offset = this.offsetMs(t);
      if (offset !== prevOffset) {
        // Smallest instant in (prevT, t] already on the new offset.
        let lo = prevT;
        let hi = t;
        while (hi - lo > 1) {
          const mid = Math.floor((lo + hi) / 2);
          if (this.offsetMs(mid) === prevOffset) lo = mid;
          else hi = mid;
        }
        segments.push({ start: segStart, end: hi, offset: prevOffset });
        segStart = hi;
        prevOffset = offset;
      }
      prevT = t;
      if (t >= to) break;
    }
    segments.push({ start: segStart, end: to, offset: prevOffset });
    return segments;
  }

  private offsetMs(t: number): number {
    return Math.round(this.zone.offset(t) * MINUTE_MS);
  }

  private isClosedDay(day: number): boolean {
    const date = new Date(day * DAY_MS);
    const key = date.toISOString().slice(0, 10);
    if (this.extraClosed.has(key)) return true;
    return this.country !== null && publicHolidays(this.country, date.getUTCFullYear()).has(key);
  }
}

const holidayCache = new Map<string, ReadonlySet<string>>();
const holidayLibraries = new Map<string, Holidays>();

/**
 * Local dates ('YYYY-MM-DD') of a country's public holidays in a year: the entries date-holidays
 * marks `public` (for MX these are the mandatory rest days of Ley Federal del Trabajo art. 74;
 * Holy Week, 2 Nov and 12 Dec are only `bank`). Cached per country and year.
 */
export function publicHolidays(country: string, year: number): ReadonlySet<string> {
  const upper = country.toUpperCase();
  const cacheKey = `${upper}:${year}`;
  const cached = holidayCache.get(cacheKey);
  if (cached) return cached;
  let library = holidayLibraries.get(upper);
  if (!library) {
    library = new Holidays(upper);
    holidayLibraries.set(upper, library);
  }
  const dates = new Set(library.getHolidays(year).filter((h) => h.type === 'public').map((h) => h.date.slice(0, 10)));
  if (upper === 'MX' && year >= 2024) {
    // The 2014 constitutional reform (art. 83) moved the presidential inauguration from 1 Dec to
    // 1 Oct starting in 2024, and LFT art. 74 follows it; date-holidays 3.x still says 1 Dec.
    dates.delete(`${year}-12-01`);
    if ((year - 2024) % 6 === 0) dates.add(`${year}-10-01`);
  }
  holidayCache.set(cacheKey, dates);
  return dates;
}

function insertByStart(list: Piece[], piece: Piece): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.start > piece.start) i -= 1;
  list.splice(i, 0, piece);
}

function mergeRanges(ranges: MinuteRange[]): MinuteRange[] {
  const sorted = [...ranges].sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const [s, e] of sorted) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  return merged;
}

/** Minutes since midnight for 'HH:MM'; '24:00' only as an end. */
function parseClock(value: unknown, allowEndOfDay: boolean): number | null {
  if (typeof value !== 'string') return null;
  const m = /^(\d{2}):(\d{2})$/.exec(value);
  if (!m) return null;
  const hours = Number(m[1]);
  const minutes = Number(m[2]);
  if (minutes > 59) return null;
  if (hours === 24 && minutes === 0 && allowEndOfDay) return 24 * 60;
  if (hours > 23) return null;
  return hours * 60 + minutes;
}

function isIsoDate(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const parsed = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === value;
}

/** ISO weekday (1=Mon) of a day number; 1970-01-01 was a Thursday. */
function isoWeekday(day: number): number {
  return ((((day + 3) % 7) + 7) % 7) + 1;
}

function instantOf(d: Date, name: string): number {
  const t = d instanceof Date ? d.getTime() : Number.NaN;
  if (Number.isNaN(t)) throw new RangeError(`${name} is not a valid Date`);
  return t;
}

function minutesToMs(minutes: number): number {
  if (!Number.isFinite(minutes) || minutes < 0) throw new RangeError(`minutes must be a finite number >= 0, got ${minutes}`);
  return Math.round(minutes * MINUTE_MS);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
