import { describe, expect, it } from 'vitest';
import { isMobileCapable, normalizeCaller, type CallerNumber } from '../../src/domain/phone-number.ts';

const cdmx = (e164 = '+525512345678', national = '55 1234 5678'): CallerNumber => ({ kind: 'e164', e164, national });

describe('normalizeCaller', () => {
  const table: [string | null | undefined, CallerNumber][] = [
    // What Twilio sends for an ordinary Mexican caller.
    ['+525512345678', cdmx()],
    ['+528181234567', cdmx('+528181234567', '81 8123 4567')],
    ['+529981234567', cdmx('+529981234567', '998 123 4567')],
    // The mobile "1" after +52, dropped in 2019/2020 but still in carrier data and address books.
    ['+5215512345678', cdmx()],
    ['+52 1 55 1234 5678', cdmx()],
    ['+5219981234567', cdmx('+529981234567', '998 123 4567')],
    ['0052 1 55 1234 5678', cdmx()],
    ['15512345678', cdmx()],
    // Withdrawn 044/045 mobile and 01 long-distance prefixes.
    ['044 55 1234 5678', cdmx()],
    ['0445512345678', cdmx()],
    ['045 33 1234 5678', cdmx('+523312345678', '33 1234 5678')],
    ['01 55 1234 5678', cdmx()],
    ['01 800 123 4567', cdmx('+528001234567', '800 123 4567')],
    ['+52 044 55 1234 5678', cdmx()],
    // Ten digits as dialled in Mexico today, with the usual punctuation.
    ['5512345678', cdmx()],
    ['(55) 1234-5678', cdmx()],
    ['55.1234.5678', cdmx()],
    ['+52 (55) 1234-5678', cdmx()],
    ['tel:+52-55-1234-5678', cdmx()],
    ['  +525512345678\t', cdmx()],
    ['＋５２５５１２３４５６７８', cdmx()],
    // Callers from abroad keep their own country.
    ['+14155552671', cdmx('+14155552671', '(415) 555-2671')],
    ['+442071838750', cdmx('+442071838750', '020 7183 8750')],
    ['+61 491 570 006', cdmx('+61491570006', '0491 570 006')],
    // Twilio's withheld caller IDs: keypad spellings, the words themselves, non-PSTN callers.
    ['+266696687', { kind: 'withheld', raw: '+266696687' }],
    ['266696687', { kind: 'withheld', raw: '266696687' }],
    ['+7378742833', { kind: 'withheld', raw: '+7378742833' }],
    ['+2562533', { kind: 'withheld', raw: '+2562533' }],
    ['+8656696', { kind: 'withheld', raw: '+8656696' }],
    ['+86282452253', { kind: 'withheld', raw: '+86282452253' }],
    ['anonymous', { kind: 'withheld', raw: 'anonymous' }],
    ['Anonymous', { kind: 'withheld', raw: 'Anonymous' }],
    ['RESTRICTED', { kind: 'withheld', raw: 'RESTRICTED' }],
    ['Unavailable', { kind: 'withheld', raw: 'Unavailable' }],
    ['unknown', { kind: 'withheld', raw: 'unknown' }],
    ['client:alice', { kind: 'withheld', raw: 'client:alice' }],
    ['sip:alice@mesa.example.com', { kind: 'withheld', raw: 'sip:alice@mesa.example.com' }],
    ['', { kind: 'withheld', raw: '' }],
    ['   ', { kind: 'withheld', raw: '' }],
    [null, { kind: 'withheld', raw: '' }],
    [undefined, { kind: 'withheld', raw: '' }],
    // Not numbers.
    ['+52 55 1234 567', { kind: 'invalid', raw: '+52 55 1234 567' }],
    ['12345', { kind: 'invalid', raw: '12345' }],
    ['+', { kind: 'invalid', raw: '+' }],
    ['+52', { kind: 'invalid', raw: '+52' }],
    ['hola', { kind: 'invalid', raw: 'hola' }],
    ['+52551234567x', { kind: 'invalid', raw: '+52551234567x' }],
    ['\u0000+525512345678', { kind: 'invalid', raw: '\u0000+525512345678' }],
    ['+525512345678\n+14155552671', { kind: 'invalid', raw: '+525512345678\n+14155552671' }],
    ["'; DROP TABLE tickets; --", { kind: 'invalid', raw: "'; DROP TABLE tickets; --" }],
  ];

  it.each(table)('%j', (raw, expected) => {
    expect(normalizeCaller(raw)).toEqual(expected);
  });

  it('reads bare digits in the default country, and applies Mexican rewrites only to Mexican numbers', () => {
    expect(normalizeCaller('4155552671', 'US')).toEqual(cdmx('+14155552671', '(415) 555-2671'));
    expect(normalizeCaller('4155552671', 'us')).toEqual(cdmx('+14155552671', '(415) 555-2671'));
    // In the US the 0 and 1 prefixes mean something else; nothing Mexican is stripped.
    expect(normalizeCaller('0445512345678', 'US').kind).toBe('invalid');
    // An explicit +52 is Mexican whatever the default country.
    expect(normalizeCaller('+5215512345678', 'US')).toEqual(cdmx());
  });

  it('treats an unsupported default country as none: only international numbers parse', () => {
    expect(normalizeCaller('5512345678', 'ZZ')).toEqual({ kind: 'invalid', raw: '5512345678' });
    expect(normalizeCaller('+525512345678', 'ZZ')).toEqual(cdmx());
    expect(normalizeCaller('+525512345678', '')).toEqual(cdmx());
  });

  it('never throws on hostile input, and keeps at most 64 characters of it', () => {
    const long = '9'.repeat(10_000);
    expect(normalizeCaller(long)).toEqual({ kind: 'invalid', raw: '9'.repeat(64) });
    const weird = ['\u202e+525512345678', '+52'.repeat(30), '\ud800', '%2B525512345678', '+५२५५१२३४५६७८', '(((((', 'tel:', 'client:', 'sip:'];
    for (const w of weird) {
      const n = normalizeCaller(w);
      expect(['e164', 'withheld', 'invalid']).toContain(n.kind);
      if (n.kind !== 'e164') expect(n.raw.length).toBeLessThanOrEqual(64);
      else expect(n.e164).toMatch(/^\+[1-9]\d{6,14}$/);
    }
    // Not a string at all (a JSON body, a repeated form field): withheld rather than a crash.
    expect(normalizeCaller(['+525512345678'] as unknown as string)).toEqual({ kind: 'withheld', raw: '' });
    expect(normalizeCaller(525512345678 as unknown as string)).toEqual({ kind: 'withheld', raw: '' });
  });
});

describe('isMobileCapable', () => {
  it('says true for Mexican numbers: since 2019 every one is fixed-line-or-mobile', () => {
    expect(isMobileCapable(normalizeCaller('+525512345678'))).toBe(true);
    expect(isMobileCapable(normalizeCaller('+529981234567'))).toBe(true);
  });

  it('tells a mobile from a landline where the numbering plan does', () => {
    expect(isMobileCapable(normalizeCaller('+61491570006'))).toBe(true); // AU mobile
    expect(isMobileCapable(normalizeCaller('+442071838750'))).toBe(false); // London landline
  });

  it('does not know for toll-free and similar numbers', () => {
    expect(isMobileCapable(normalizeCaller('01 800 123 4567'))).toBeNull();
  });

  it('is false when there is no number to text', () => {
    expect(isMobileCapable(normalizeCaller('anonymous'))).toBe(false);
    expect(isMobileCapable(normalizeCaller('hola'))).toBe(false);
    expect(isMobileCapable({ kind: 'e164', e164: 'garbage', national: '' })).toBeNull();
  });
});
