/**
 * Dates and spans as customers read them (DESIGN §7: every message carries the ETR as a date in
 * Spanish and as a span). Names are spelled out here rather than taken from Intl: ICU output
 * changes between Node releases (ICU 72 put a narrow no-break space before "PM"), and these
 * strings end up in templates and golden tests.
 */
import { DateTime, IANAZone } from 'luxon';

export type Locale = 'es-MX' | 'en';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;
const MONTH_MS = 30.4375 * DAY_MS;

/** Weekday (ISO order) and month names, shared with the spoken forms in `spoken.ts`. */
export const WEEKDAYS: Record<Locale, readonly string[]> = {
  'es-MX': ['lunes', 'martes', 'miércoles', 'jueves', 'viernes', 'sábado', 'domingo'],
  en: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'],
};
export const MONTHS: Record<Locale, readonly string[]> = {
  'es-MX': ['enero', 'febrero', 'marzo', 'abril', 'mayo', 'junio', 'julio', 'agosto', 'septiembre', 'octubre', 'noviembre', 'diciembre'],
  en: ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'],
};

/**
 * Mexico's own name for its central zone; customers know "hora del centro", not "GMT-6". Other
 * zones get the locale's short zone name from Intl ("GMT+1" in Spanish, "EST" in English).
 */
const ZONE_LABELS: Record<string, Record<Locale, string>> = {
  'America/Mexico_City': { 'es-MX': 'hora del centro', en: 'Central Mexico time' },
};

/**
 * 'lunes 30 de noviembre, 13:00 h (hora del centro)' / 'Monday, November 30, 1:00 PM (Central
 * Mexico time)'. The year appears only when it differs from `now`'s year in that zone:
 * 'viernes 1 de enero de 2027, 09:00 h (hora del centro)' / 'Friday, January 1, 2027, ...'.
 */
export function formatInstant(at: Date, now: Date, timeZone: string, locale: Locale): string {
  const zoneObj = zoneFor(timeZone);
  const dt = DateTime.fromJSDate(at, { zone: zoneObj });
  const nowDt = DateTime.fromJSDate(now, { zone: zoneObj });
  if (!dt.isValid || !nowDt.isValid) throw new RangeError('formatInstant needs valid dates');
  const withYear = dt.year !== nowDt.year;
  const weekday = WEEKDAYS[locale][dt.weekday - 1]!;
  const month = MONTHS[locale][dt.month - 1]!;
  const minute = String(dt.minute).padStart(2, '0');
  const zone = zoneLabel(dt, timeZone, locale);
  if (locale === 'es-MX') {
    const hour = String(dt.hour).padStart(2, '0');
    return `${weekday} ${dt.day} de ${month}${withYear ? ` de ${dt.year}` : ''}, ${hour}:${minute} h (${zone})`;
  }
  const hour12 = dt.hour % 12 === 0 ? 12 : dt.hour % 12;
  const meridiem = dt.hour < 12 ? 'AM' : 'PM';
  return `${weekday}, ${month} ${dt.day}${withYear ? `, ${dt.year}` : ''}, ${hour12}:${minute} ${meridiem} (${zone})`;
}

/**
 * One validated zone object per name. `IANAZone.isValidZone` builds a new ICU formatter on every
 * call; doing that per formatted date cost 14 % of ingest CPU and most of its memory.
 */
const zones = new Map<string, IANAZone>();

export function zoneFor(name: string): IANAZone {
  let z = zones.get(name);
  if (!z) {
    if (!IANAZone.isValidZone(name)) throw new RangeError(`unknown time zone: ${name}`);
    z = new CachedZone(name);
    zones.set(name, z);
  }
  return z;
}

const BUCKET_MS = 15 * MINUTE_MS;
const MAX_CACHED_BUCKETS = 100_000;

/**
 * An IANA zone that remembers its UTC offset per 15-minute slice of time. luxon asks ICU
 * (`formatToParts`) for the offset of every instant it converts, and an acknowledgment converts
 * a dozen (deadlines, ETR, business hours); that was the largest single cost of rendering one.
 * A slice is cached only when its first and last millisecond have the same offset, so the
 * answer is exact unless the offset changed twice within 15 minutes, which no zone does.
 */
class CachedZone extends IANAZone {
  private readonly offsets = new Map<number, number>();

  constructor(name: string) {
    super(name);
  }

  override offset(ts: number): number {
    if (!Number.isFinite(ts)) return super.offset(ts);
    const bucket = Math.floor(ts / BUCKET_MS);
    const known = this.offsets.get(bucket);
    if (known !== undefined) return known;
    const first = super.offset(bucket * BUCKET_MS);
    if (super.offset(bucket * BUCKET_MS + BUCKET_MS - 1) !== first) return super.offset(ts);
    if (this.offsets.size >= MAX_CACHED_BUCKETS) this.offsets.clear();
    this.offsets.set(bucket, first);
    return first;
  }
}

type SpanUnit = 'minute' | 'hour' | 'day' | 'week' | 'month';

/** Singular, plural, and the agreeing "unos/unas" for approximate counts. */
const SPAN_WORDS: Record<Locale, Record<SpanUnit, readonly [string, string, string]>> = {
  'es-MX': {
    minute: ['minuto', 'minutos', 'unos'],
    hour: ['hora', 'horas', 'unas'],
    day: ['día', 'días', 'unos'],
    week: ['semana', 'semanas', 'unas'],
    month: ['mes', 'meses', 'unos'],
  },
  en: {
    minute: ['minute', 'minutes', 'about'],
    hour: ['hour', 'hours', 'about'],
    day: ['day', 'days', 'about'],
    week: ['week', 'weeks', 'about'],
    month: ['month', 'months', 'about'],
  },
};

/**
 * Rounded span from `now` to `at`: 'en unas 4 horas', 'hace unos 10 minutos', 'in about 4 hours',
 * '2 days ago'. Counts of 2 or more are qualified ("unos/unas", "about") since they are rounded;
 * a count of 1 reads 'en 1 hora' / 'in 1 hour'.
 *
 * Units: under 30 s 'menos de un minuto'; minutes below 50 (to the nearest 5 from 10 on); hours
 * below 22.5 h; days below 10.5 days; weeks below 8 weeks; months beyond.
 */
export function formatSpan(at: Date, now: Date, locale: Locale): string {
  const diff = at.getTime() - now.getTime();
  if (Number.isNaN(diff)) throw new RangeError('formatSpan needs valid dates');
  const past = diff < 0;
  const abs = Math.abs(diff);
  const minutes = Math.round(abs / MINUTE_MS);

  let body: string;
  if (minutes < 1) {
    body = locale === 'es-MX' ? 'menos de un minuto' : 'less than a minute';
  } else {
    const [unit, count] = spanUnit(abs, minutes);
    const [singular, plural, approx] = SPAN_WORDS[locale][unit];
    body = count === 1 ? `1 ${singular}` : `${approx} ${count} ${plural}`;
  }
  if (locale === 'es-MX') return past ? `hace ${body}` : `en ${body}`;
  return past ? `${body} ago` : `in ${body}`;
}

function spanUnit(abs: number, minutes: number): [SpanUnit, number] {
  if (minutes < 10) return ['minute', minutes];
  if (minutes < 50) return ['minute', Math.round(minutes / 5) * 5];
  if (abs < 22.5 * HOUR_MS) return ['hour', Math.max(1, Math.round(abs / HOUR_MS))];
  if (abs < 10.5 * DAY_MS) return ['day', Math.round(abs / DAY_MS)];
  if (abs < 8 * WEEK_MS) return ['week', Math.round(abs / WEEK_MS)];
  return ['month', Math.round(abs / MONTH_MS)];
}


function zoneLabel(dt: DateTime, timeZone: string, locale: Locale): string {
  const known = ZONE_LABELS[timeZone];
  if (known) return known[locale];
  const short = dt.setLocale(locale === 'es-MX' ? 'es-MX' : 'en-US').offsetNameShort;
  return short ?? `UTC${dt.toFormat('ZZ')}`;
}
