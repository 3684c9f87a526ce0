import { describe, expect, it } from 'vitest';
import { countSms, fitSms, isGsmChar, READ_MORE, smsEncoding } from '../../src/domain/sms-text.ts';

const a = (n: number): string => 'a'.repeat(n);
const aa = (n: number): string => 'á'.repeat(n);

describe('the GSM 03.38 alphabet', () => {
  it.each([
    // Spanish letters the default alphabet has…
    'é', 'ñ', 'ü', 'Ñ', 'Ü', 'É', '¿', '¡',
    // …and its other non-ASCII members.
    'à', 'è', 'ì', 'ò', 'ù', 'Ä', 'Ö', 'Å', 'Æ', 'Ø', 'Ç', 'ß', 'ä', 'ö', 'å', 'æ', 'ø', '£', '¥', '§', '¤', 'Δ', 'Ω', 'Σ',
    '@', '$', '_', '\n', '\r',
    // Extension table.
    '€', '{', '}', '[', ']', '~', '\\', '|', '^', '\f',
  ])('%j is GSM', (ch) => {
    expect(isGsmChar(ch)).toBe(true);
  });

  it.each([
    // The acute vowels Spanish uses most are NOT there.
    'á', 'í', 'ó', 'ú', 'Á', 'Í', 'Ó', 'Ú',
    'ç', 'â', 'ê', 'õ', 'ã', '`', '\t', '“', '”', '’', '…', '–', '😀', '\u001b',
  ])('%j is not GSM', (ch) => {
    expect(isGsmChar(ch)).toBe(false);
  });

  it('decides the encoding of a whole message from its least GSM character', () => {
    expect(smsEncoding('¿Qué tal, señor Nuñez? Cuesta 5 € {aprox}')).toBe('GSM-7');
    expect(smsEncoding('¿Qué tal, señor Núñez?')).toBe('UCS-2');
    expect(smsEncoding('Listo 👍')).toBe('UCS-2');
  });
});

describe('countSms', () => {
  it.each([
    ['empty', '', 'GSM-7', 0, 0],
    ['160 GSM', a(160), 'GSM-7', 160, 1],
    ['161 GSM', a(161), 'GSM-7', 161, 2],
    ['306 GSM (2 × 153)', a(306), 'GSM-7', 306, 2],
    ['307 GSM', a(307), 'GSM-7', 307, 3],
    ['80 euro signs (2 units each)', '€'.repeat(80), 'GSM-7', 160, 1],
    ['81 euro signs', '€'.repeat(81), 'GSM-7', 162, 2],
    ['braces and brackets', '{}[]~\\|^'.repeat(10) + a(1), 'GSM-7', 161, 2],
    ['70 á', aa(70), 'UCS-2', 70, 1],
    ['71 á', aa(71), 'UCS-2', 71, 2],
    ['134 á (2 × 67)', aa(134), 'UCS-2', 134, 2],
    ['135 á', aa(135), 'UCS-2', 135, 3],
    ['one á among 100 GSM letters', aa(1) + a(99), 'UCS-2', 100, 2],
    ['35 emoji (surrogate pairs)', '😀'.repeat(35), 'UCS-2', 70, 1],
    ['36 emoji', '😀'.repeat(36), 'UCS-2', 72, 2],
    ['ñ and é stay GSM', 'ñé'.repeat(80), 'GSM-7', 160, 1],
  ])('%s', (_name, text, encoding, units, segments) => {
    expect(countSms(text)).toEqual({ encoding, units, segments });
  });

  it('never splits an escape pair or a surrogate pair across segments', () => {
    // 306 units would be exactly 2 × 153, but the € cannot straddle the boundary: three segments.
    expect(countSms(`${a(152)}€${a(152)}`)).toEqual({ encoding: 'GSM-7', units: 306, segments: 3 });
    expect(countSms(`${aa(66)}😀${aa(66)}`)).toEqual({ encoding: 'UCS-2', units: 134, segments: 3 });
  });
});

describe('fitSms', () => {
  const URL = 'https://mesa.example.com/estado/MDA-000001/abcdefghijklmnop';
  const PREFIX = 'MDA-000001 PRODITMA Mesa de Ayuda: ';
  const SUFFIX = ' Solucion estimada: lunes 30 de noviembre, 13:00 h.';
  const GSM_REPLY = 'Hola Carla, ya revisamos el problema con el portal y encontramos que el certificado del servidor vencio anoche; lo renovamos y reiniciamos los servicios. '
    + 'Por favor intente de nuevo y avisenos si sigue fallando, en especial con la carga de archivos grandes que menciono en su correo. '
    + 'Tambien revisamos los respaldos y todo esta en orden. Gracias por su paciencia.';
  const span = (reply: string) => ({ start: PREFIX.length, end: PREFIX.length + reply.length });

  it('sends a text that fits as it is', () => {
    expect(fitSms('MDA-000001: listo.', { maxSegments: 1, statusUrl: URL })).toEqual({ kind: 'as_is', parts: ['MDA-000001: listo.'] });
  });

  it('shortens the agent words, keeps the template around them and ends with the link', () => {
    const text = PREFIX + GSM_REPLY + SUFFIX;
    expect(countSms(text).segments).toBe(3);
    const fitted = fitSms(text, { maxSegments: 2, statusUrl: URL, shrinkable: span(GSM_REPLY) });
    expect(fitted.kind).toBe('shortened');
    const [sms] = fitted.parts;
    expect(countSms(sms!)).toMatchObject({ encoding: 'GSM-7', segments: 2 });
    expect(sms!.startsWith(`${PREFIX}Hola Carla, ya revisamos`)).toBe(true);
    expect(sms!.endsWith(`...${SUFFIX} ${READ_MORE} ${URL}`)).toBe(true);
    // Cut at a word: what is kept is a prefix of the reply that stops before a space.
    const kept = sms!.slice(PREFIX.length, sms!.indexOf('...'));
    expect(GSM_REPLY.startsWith(kept)).toBe(true);
    expect([' ', ';', ',', '.'].includes(GSM_REPLY[kept.length]!)).toBe(true);
  });

  it('cuts the whole text when the template would leave the words no room', () => {
    // UCS-2 (the ó), 2 segments = 134 units: prefix + suffix + link alone nearly fill it.
    const suffix = ' Solución estimada: lunes 30 de noviembre, 13:00 h (hora del centro).';
    const text = PREFIX + GSM_REPLY + suffix;
    const fitted = fitSms(text, { maxSegments: 3, statusUrl: URL, shrinkable: span(GSM_REPLY) });
    expect(fitted.kind).toBe('shortened');
    const [sms] = fitted.parts;
    expect(countSms(sms!)).toMatchObject({ encoding: 'UCS-2' });
    expect(countSms(sms!).segments).toBeLessThanOrEqual(3);
    expect(sms!.startsWith(`${PREFIX}Hola Carla`)).toBe(true);
    expect(sms!.endsWith(`… ${READ_MORE} ${URL}`)).toBe(true);
    expect(sms).not.toContain('Solución estimada');
  });

  it('uses "..." in a GSM message, so that the ellipsis does not force UCS-2', () => {
    const fitted = fitSms(a(5) + ' ' + 'palabra '.repeat(60), { maxSegments: 1, statusUrl: URL });
    expect(fitted.parts[0]).toMatch(/palabra\.\.\. Lea el mensaje completo en: https:/);
    expect(countSms(fitted.parts[0]!)).toMatchObject({ encoding: 'GSM-7', segments: 1 });
  });

  it('splits into numbered parts when there is no link, losing no word', () => {
    const text = PREFIX + GSM_REPLY + SUFFIX;
    const fitted = fitSms(text, { maxSegments: 1, statusUrl: null });
    expect(fitted.kind).toBe('split');
    const n = fitted.parts.length;
    expect(n).toBe(3);
    fitted.parts.forEach((p, i) => {
      expect(p.startsWith(`(${i + 1}/${n}) `)).toBe(true);
      expect(countSms(p).segments).toBe(1);
    });
    expect(fitted.parts.map((p) => p.replace(/^\(\d+\/\d+\) /, '')).join(' ')).toBe(text);
  });

  it('cuts a single overlong token hard, and never separates an emoji from its modifier', () => {
    const token = 'x'.repeat(400);
    const fitted = fitSms(token, { maxSegments: 1 });
    expect(fitted.parts.length).toBe(3);
    expect(fitted.parts.map((p) => p.replace(/^\(\d+\/\d+\) /, '')).join('')).toBe(token);
    const thumbs = '👍🏽'.repeat(60);
    const emoji = fitSms(thumbs, { maxSegments: 1 });
    for (const p of emoji.parts) {
      expect(countSms(p).segments).toBe(1);
      expect(p.replace(/^\(\d+\/\d+\) /, '').replaceAll('👍🏽', '')).toBe('');
    }
  });

  it('caps the number of parts and marks the cut', () => {
    const fitted = fitSms('palabra '.repeat(500).trim(), { maxSegments: 1, maxParts: 4 });
    expect(fitted.parts).toHaveLength(4);
    expect(fitted.parts[3]!.startsWith('(4/4) ')).toBe(true);
    expect(fitted.parts[3]!.endsWith('...')).toBe(true);
    for (const p of fitted.parts) expect(countSms(p).segments).toBe(1);
  });

  it('keeps every part within the budget, whatever the text (seeded random texts)', () => {
    let seed = 20261130;
    const random = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
    const alphabet = ['a', 'b', 'é', 'ñ', 'á', 'ó', '€', '{', ' ', ' ', ' ', '.', ',', '😀', '👍🏽', '\n', 'Z', '9'];
    for (let i = 0; i < 300; i++) {
      const len = Math.floor(random() * 900);
      let text = '';
      for (let j = 0; j < len; j++) text += alphabet[Math.floor(random() * alphabet.length)];
      const maxSegments = 1 + Math.floor(random() * 4);
      const statusUrl = random() < 0.5 ? URL : null;
      const start = Math.floor(random() * text.length);
      const fitted = fitSms(text, { maxSegments, statusUrl, shrinkable: { start, end: text.length } });
      for (const p of fitted.parts) expect(countSms(p).segments, `${JSON.stringify(text)} → ${JSON.stringify(p)}`).toBeLessThanOrEqual(maxSegments);
      if (fitted.kind === 'shortened') expect(fitted.parts[0].endsWith(URL)).toBe(true);
    }
  });
});
