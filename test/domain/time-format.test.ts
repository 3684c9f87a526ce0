import { describe, it, expect } from 'vitest';
import { IANAZone } from 'luxon';
import { formatInstant, formatSpan, zoneFor } from '../../src/domain/time-format.ts';

const CDMX = 'America/Mexico_City';
const now = new Date('2026-11-27T10:00:00-06:00');
const after = (minutes: number): Date => new Date(now.getTime() + minutes * 60_000);

describe('formatInstant', () => {
  const at = new Date('2026-11-30T13:00:00-06:00');

  it('writes Mexico City times as "hora del centro", lowercase names, 24-hour clock', () => {
    expect(formatInstant(at, now, CDMX, 'es-MX')).toBe('lunes 30 de noviembre, 13:00 h (hora del centro)');
    expect(formatInstant(new Date('2026-12-02T09:05:00-06:00'), now, CDMX, 'es-MX')).toBe('miércoles 2 de diciembre, 09:05 h (hora del centro)');
    expect(formatInstant(new Date('2026-11-28T00:00:00-06:00'), now, CDMX, 'es-MX')).toBe('sábado 28 de noviembre, 00:00 h (hora del centro)');
  });

  it('writes English with a 12-hour clock', () => {
    expect(formatInstant(at, now, CDMX, 'en')).toBe('Monday, November 30, 1:00 PM (Central Mexico time)');
    expect(formatInstant(new Date('2026-11-28T00:15:00-06:00'), now, CDMX, 'en')).toBe('Saturday, November 28, 12:15 AM (Central Mexico time)');
    expect(formatInstant(new Date('2026-11-28T12:00:00-06:00'), now, CDMX, 'en')).toBe('Saturday, November 28, 12:00 PM (Central Mexico time)');
  });

  it('adds the year only when it differs from the current one', () => {
    const nextYear = new Date('2027-01-04T09:00:00-06:00');
    expect(formatInstant(nextYear, now, CDMX, 'es-MX')).toBe('lunes 4 de enero de 2027, 09:00 h (hora del centro)');
    expect(formatInstant(nextYear, now, CDMX, 'en')).toBe('Monday, January 4, 2027, 9:00 AM (Central Mexico time)');
  });

  it('judges "same year" in the target zone, not in UTC', () => {
    // 31 Dec 2026 20:00 in Mexico City is already 2027 in UTC.
    expect(formatInstant(new Date('2026-12-31T20:00:00-06:00'), now, CDMX, 'es-MX')).toBe('jueves 31 de diciembre, 20:00 h (hora del centro)');
  });

  it("shows other zones' local time with the zone's short name", () => {
    expect(formatInstant(at, now, 'America/New_York', 'es-MX')).toBe('lunes 30 de noviembre, 14:00 h (GMT-5)');
    expect(formatInstant(at, now, 'America/New_York', 'en')).toBe('Monday, November 30, 2:00 PM (EST)');
    expect(formatInstant(new Date('2026-07-01T12:00:00Z'), now, 'Europe/Madrid', 'es-MX')).toBe('miércoles 1 de julio, 14:00 h (GMT+2)');
  });

  it('rejects unknown zones', () => {
    expect(() => formatInstant(at, now, 'Mars/Olympus_Mons', 'es-MX')).toThrow(RangeError);
  });
});

describe('formatSpan', () => {
  const cases: Array<[number, string, string]> = [
    [0, 'en menos de un minuto', 'in less than a minute'],
    [1, 'en 1 minuto', 'in 1 minute'],
    [7, 'en unos 7 minutos', 'in about 7 minutes'],
    [14, 'en unos 15 minutos', 'in about 15 minutes'],
    [60, 'en 1 hora', 'in 1 hour'],
    [4 * 60 - 13, 'en unas 4 horas', 'in about 4 hours'],
    [22 * 60, 'en unas 22 horas', 'in about 22 hours'],
    [23 * 60, 'en 1 día', 'in 1 day'],
    [3 * 24 * 60 - 200, 'en unos 3 días', 'in about 3 days'],
    [14 * 24 * 60, 'en unas 2 semanas', 'in about 2 weeks'],
    [90 * 24 * 60, 'en unos 3 meses', 'in about 3 months'],
  ];
  for (const [minutes, es, en] of cases) {
    it(`says "${es}" / "${en}" for ${minutes} minutes ahead`, () => {
      expect(formatSpan(after(minutes), now, 'es-MX')).toBe(es);
      expect(formatSpan(after(minutes), now, 'en')).toBe(en);
    });
  }

  it('speaks of the past with "hace" / "ago"', () => {
    expect(formatSpan(after(-10), now, 'es-MX')).toBe('hace unos 10 minutos');
    expect(formatSpan(after(-10), now, 'en')).toBe('about 10 minutes ago');
    expect(formatSpan(after(-60), now, 'es-MX')).toBe('hace 1 hora');
    expect(formatSpan(after(-3 * 24 * 60), now, 'en')).toBe('about 3 days ago');
    expect(formatSpan(new Date(now.getTime() - 10_000), now, 'es-MX')).toBe('hace menos de un minuto');
  });

  it('switches units at the documented thresholds', () => {
    expect(formatSpan(after(49), now, 'es-MX')).toBe('en unos 50 minutos');
    expect(formatSpan(after(50), now, 'es-MX')).toBe('en 1 hora');
    expect(formatSpan(after(90), now, 'es-MX')).toBe('en unas 2 horas');
    expect(formatSpan(after(22.5 * 60), now, 'es-MX')).toBe('en 1 día');
    expect(formatSpan(after(10.5 * 24 * 60 - 1), now, 'es-MX')).toBe('en unos 10 días');
    expect(formatSpan(after(10.5 * 24 * 60), now, 'es-MX')).toBe('en unas 2 semanas');
    expect(formatSpan(after(8 * 7 * 24 * 60), now, 'es-MX')).toBe('en unos 2 meses');
  });
});


describe('zoneFor', () => {
  it('gives the same offsets as luxon around DST changes, including one at a half hour', () => {
    // New York springs forward 2026-03-08 07:00 UTC; Lord Howe (+10:30/+11) falls back by 30 min.
    for (const [name, around] of [['America/New_York', Date.UTC(2026, 2, 8, 7)], ['Australia/Lord_Howe', Date.UTC(2026, 3, 4, 15)], ['America/Mexico_City', Date.UTC(2026, 10, 23, 15)]] as const) {
      const cached = zoneFor(name);
      const plain = IANAZone.create(name);
      for (let t = around - 2 * 3_600_000; t <= around + 2 * 3_600_000; t += 59_999) {
        expect(cached.offset(t)).toBe(plain.offset(t));
        // Asked twice: the second answer comes from the cache.
        expect(cached.offset(t)).toBe(plain.offset(t));
      }
    }
  });

  it('refuses an unknown zone', () => {
    expect(() => zoneFor('Mars/Olympus_Mons')).toThrow(/unknown time zone/);
  });
});
