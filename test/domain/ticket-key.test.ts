import { describe, it, expect } from 'vitest';
import { formatTicketKey, parseTicketKey, subjectTags } from '../../src/domain/ticket-key.ts';

describe('formatTicketKey', () => {
  it('pads to six digits and grows beyond', () => {
    expect(formatTicketKey('MDA', 1)).toBe('MDA-000001');
    expect(formatTicketKey('MDA', 123)).toBe('MDA-000123');
    expect(formatTicketKey('MDA', 999_999)).toBe('MDA-999999');
    expect(formatTicketKey('MDA', 1_234_567)).toBe('MDA-1234567');
    expect(formatTicketKey('SOP', 42)).toBe('SOP-000042');
  });

  it('round-trips through parseTicketKey', () => {
    for (const id of [1, 9, 10, 99_999, 100_000, 999_999, 1_000_000, 2 ** 31]) {
      expect(parseTicketKey('MDA', formatTicketKey('MDA', id))).toBe(id);
    }
  });
});

describe('parseTicketKey', () => {
  it('accepts any case and surrounding whitespace', () => {
    expect(parseTicketKey('MDA', 'mda-000123')).toBe(123);
    expect(parseTicketKey('MDA', '  MDA-000123\n')).toBe(123);
  });

  it.each([
    ['other prefix', 'ABC-000123'],
    ['five digits', 'MDA-12345'],
    ['no dash', 'MDA000123'],
    ['brackets', '[MDA-000123]'],
    ['trailing text', 'MDA-000123x'],
    ['leading text', 'xMDA-000123'],
    ['negative', 'MDA--00123'],
    ['fraction', 'MDA-000123.5'],
    ['fullwidth digits', 'MDA-０００１２３'],
    ['Arabic-Indic digits', 'MDA-١٢٣٤٥٦'],
    ['empty', ''],
  ])('rejects %s', (_name, key) => {
    expect(parseTicketKey('MDA', key)).toBeNull();
  });

  // Regression (fixed): `Number(m[1])` on a key of 16+ digits yields an unsafe integer (or Infinity for 309+
  // digits); a hostile "MDA-999…" then names a different ticket than it says, or no number at all.
  it('rejects ids that are not safe integers', () => {
    expect(parseTicketKey('MDA', `MDA-${'9'.repeat(20)}`)).toBeNull();
    expect(parseTicketKey('MDA', `MDA-${'9'.repeat(400)}`)).toBeNull();
  });
});

describe('subjectTags', () => {
  it('finds every bracketed tag, upper-cased, in order, without repeats', () => {
    expect(subjectTags('MDA', 'RE: RV: [MDA-000123] Falla [mda-000045] [MDA-000123]')).toEqual(['MDA-000123', 'MDA-000045']);
  });

  it('tolerates spaces inside the brackets', () => {
    expect(subjectTags('MDA', 'Re: [ MDA-000123 ] seguimiento')).toEqual(['MDA-000123']);
  });

  it.each([
    ['unbracketed', 'Sobre el ticket MDA-000123'],
    ['parentheses', '(MDA-000123)'],
    ['short number', '[MDA-12345]'],
    ['other prefix', '[SOP-000123]'],
    ['glued prefix', '[XMDA-000123]'],
    ['suffix', '[MDA-000123a]'],
    ['unclosed', '[MDA-000123'],
    ['empty', ''],
  ])('ignores %s', (_name, subject) => {
    expect(subjectTags('MDA', subject)).toEqual([]);
  });

  it('is fast on a long hostile subject', () => {
    const t0 = performance.now();
    expect(subjectTags('MDA', `[${' '.repeat(50_000)}MDA-${'1'.repeat(50_000)}${' '.repeat(50_000)}x]`)).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
