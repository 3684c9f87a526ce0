import { describe, it, expect } from 'vitest';
import { parseDuration } from '../../src/domain/duration.ts';

const BD = 540;

describe('parseDuration', () => {
  it.each([
    ['15m', 15],
    ['15min', 15],
    ['4h', 240],
    ['2d', 2880],
    ['3bd', 3 * BD],
    ['1.5h', 90],
    ['0.5bd', 270],
    [' 4 H ', 240],
    ['30 MIN', 30],
    ['1BD', BD],
  ])('%j → %i minutes', (text, minutes) => {
    expect(parseDuration(text, BD)).toEqual({ minutes, text: text.trim() });
  });

  it('uses the configured length of a business day', () => {
    expect(parseDuration('2bd', 480)?.minutes).toBe(960);
  });

  it('rounds fractions to whole minutes', () => {
    expect(parseDuration('0.01h', BD)?.minutes).toBe(1);
    expect(parseDuration('1.4m', BD)?.minutes).toBe(1);
  });

  it.each([
    ['zero', '0m'],
    ['rounds to zero', '0.2m'],
    ['negative', '-5m'],
    ['no unit', '15'],
    ['no number', 'h'],
    ['unknown unit', '3w'],
    ['words', '4 horas'],
    ['exponent', '1e3m'],
    ['hex', '0x10m'],
    ['two durations', '1h30m'],
    ['comma decimal', '1,5h'],
    ['leading dot', '.5h'],
    ['empty', ''],
    ['fullwidth digits', '１５m'],
  ])('rejects %s (%j)', (_name, text) => {
    expect(parseDuration(text, BD)).toBeNull();
  });

  // Regression (fixed): 309+ digits parse to Infinity minutes, which passes `minutes > 0`; an SLA of Infinity
  // minutes turns every deadline into an Invalid Date.
  it('rejects a number too large to be finite', () => {
    expect(parseDuration(`${'9'.repeat(400)}m`, BD)).toBeNull();
  });
});
