import { describe, it, expect } from 'vitest';
import { spellTicketKey, spokenInstant } from '../../src/domain/spoken.ts';

const CDMX = 'America/Mexico_City';
// Friday 27 November 2026, 10:00 in Mexico City (UTC-6 all year).
const now = new Date('2026-11-27T10:00:00-06:00');
const cdmx = (local: string): Date => new Date(`${local}:00-06:00`);

describe('spellTicketKey', () => {
  it('spells letters, the dash and every digit as its own word', () => {
    expect(spellTicketKey('MDA-000123', 'es-MX')).toBe('eme, de, a, guion, cero, cero, cero, uno, dos, tres');
    expect(spellTicketKey('MDA-000123', 'en')).toBe('M, D, A, dash, zero, zero, zero, one, two, three');
  });

  it('never leaves a digit for Polly to read as a number', () => {
    for (const locale of ['es-MX', 'en'] as const) {
      expect(spellTicketKey('MDA-1234567890', locale)).not.toMatch(/\d/);
      expect(spellTicketKey('MDA-1234567890', locale).split(', ')).toHaveLength(14);
    }
  });

  it('tells apart the Spanish letters that sound alike or read as words', () => {
    expect(spellTicketKey('BVWY-9', 'es-MX')).toBe('be grande, ve chica, doble ve, ye, guion, nueve');
    expect(spellTicketKey('ÑQZ', 'es-MX')).toBe('eñe, cu, zeta');
  });

  it('upper-cases, drops spaces and names other separators', () => {
    expect(spellTicketKey(' mda-07 ', 'es-MX')).toBe('eme, de, a, guion, cero, siete');
    expect(spellTicketKey('a_b.c/d', 'en')).toBe('A, underscore, B, dot, C, slash, D');
    expect(spellTicketKey('a_b.c/d', 'es-MX')).toBe('a, guion bajo, be grande, punto, ce, diagonal, de');
    expect(spellTicketKey('', 'es-MX')).toBe('');
  });
});

describe('spokenInstant', () => {
  const cases: Array<[string, string, string]> = [
    ['2026-11-27T16:00', 'hoy a las cuatro de la tarde', 'today at 4 PM'],
    ['2026-11-28T09:00', 'mañana a las nueve de la mañana', 'tomorrow at 9 AM'],
    ['2026-11-30T13:00', 'el lunes 30 de noviembre a la una de la tarde', 'Monday, November 30, at 1 PM'],
    ['2026-11-30T13:30', 'el lunes 30 de noviembre a la una y media de la tarde', 'Monday, November 30, at 1:30 PM'],
    ['2026-11-28T01:00', 'mañana a la una de la madrugada', 'tomorrow at 1 AM'],
    ['2026-11-27T18:15', 'hoy a las seis y cuarto de la tarde', 'today at 6:15 PM'],
    ['2026-11-27T19:47', 'hoy a las siete y cuarenta y siete de la noche', 'today at 7:47 PM'],
    ['2026-11-27T11:21', 'hoy a las once y veintiuno de la mañana', 'today at 11:21 AM'],
    ['2026-11-28T12:00', 'mañana al mediodía', 'tomorrow at noon'],
    ['2026-11-28T12:30', 'mañana a las doce y media del día', 'tomorrow at 12:30 PM'],
    ['2026-11-26T14:05', 'ayer a las dos y cinco de la tarde', 'yesterday at 2:05 PM'],
    ['2026-12-01T11:00', 'el martes primero de diciembre a las once de la mañana', 'Tuesday, December 1, at 11 AM'],
    // Midnight closes the evening before it.
    ['2026-11-28T00:00', 'hoy a la medianoche', 'tonight at midnight'],
    ['2026-11-29T00:00', 'mañana a la medianoche', 'tomorrow at midnight'],
    ['2026-12-01T00:00', 'el lunes 30 de noviembre a la medianoche', 'Monday, November 30, at midnight'],
    ['2026-11-27T00:00', 'ayer a la medianoche', 'yesterday at midnight'],
    // In Spanish the hour after midnight still belongs to that night; English names the new day.
    ['2026-11-28T00:30', 'hoy a las doce y media de la noche', 'tomorrow at 12:30 AM'],
    ['2027-01-04T09:00', 'el lunes 4 de enero de 2027 a las nueve de la mañana', 'Monday, January 4, 2027, at 9 AM'],
    // UTC is already in 2027 here; the year is judged in Mexico City.
    ['2026-12-31T20:00', 'el jueves 31 de diciembre a las ocho de la noche', 'Thursday, December 31, at 8 PM'],
  ];
  for (const [local, es, en] of cases) {
    it(`${local} → "${es}" / "${en}"`, () => {
      expect(spokenInstant(cdmx(local), now, CDMX, 'es-MX')).toBe(es);
      expect(spokenInstant(cdmx(local), now, CDMX, 'en')).toBe(en);
    });
  }

  it('says "mañana" across the new year without the year, and the first of January as "primero"', () => {
    const newYearsEve = cdmx('2026-12-31T20:00');
    expect(spokenInstant(cdmx('2027-01-01T10:00'), newYearsEve, CDMX, 'es-MX')).toBe('mañana a las diez de la mañana');
    expect(spokenInstant(cdmx('2027-01-01T00:00'), newYearsEve, CDMX, 'es-MX')).toBe('hoy a la medianoche');
    expect(spokenInstant(cdmx('2027-01-01T00:00'), newYearsEve, CDMX, 'en')).toBe('tonight at midnight');
    expect(spokenInstant(cdmx('2027-01-02T00:00'), now, CDMX, 'es-MX')).toBe('el viernes primero de enero de 2027 a la medianoche');
    expect(spokenInstant(cdmx('2027-01-02T00:00'), now, CDMX, 'en')).toBe('Friday, January 1, 2027, at midnight');
  });

  it('counts days on the calendar of the zone, across a DST change', () => {
    // New York springs forward on Sunday 8 March 2026: Saturday noon to Sunday noon is 23 h.
    const saturday = new Date('2026-03-07T12:00:00-05:00');
    expect(spokenInstant(new Date('2026-03-08T12:00:00-04:00'), saturday, 'America/New_York', 'es-MX')).toBe('mañana al mediodía');
    expect(spokenInstant(new Date('2026-03-09T09:00:00-04:00'), saturday, 'America/New_York', 'en')).toBe('Monday, March 9, at 9 AM');
  });

  it('says every minute of the day with words only, "a la una" for one o\'clock and "a las" otherwise', () => {
    const start = cdmx('2026-11-28T00:00').getTime();
    for (let m = 0; m < 24 * 60; m++) {
      const hour = Math.floor(m / 60);
      const minute = m % 60;
      const es = spokenInstant(new Date(start + m * 60_000), now, CDMX, 'es-MX');
      expect(es).not.toMatch(/\d/);
      expect(es).toMatch(/^(hoy|mañana) (a la medianoche|al mediodía|(a la una|a las (dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce))( y [a-zéó]+( y [a-z]+)?)? (de la (madrugada|mañana|tarde|noche)|del día))$/);
      expect(es.includes('a la una '), es).toBe(hour % 12 === 1);
      const en = spokenInstant(new Date(start + m * 60_000), now, CDMX, 'en');
      expect(en).toMatch(/^(tonight|tomorrow) at (midnight|noon|(1[0-2]|[1-9])(:[0-5]\d)? [AP]M)$/);
      if (minute !== 0) expect(en).toContain(`:${String(minute).padStart(2, '0')} `);
    }
  });

  it('rejects unknown zones and invalid dates', () => {
    expect(() => spokenInstant(now, now, 'Mars/Olympus_Mons', 'es-MX')).toThrow(RangeError);
    expect(() => spokenInstant(new Date(Number.NaN), now, CDMX, 'es-MX')).toThrow(RangeError);
  });
});
