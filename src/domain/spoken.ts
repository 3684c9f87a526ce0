/**
 * Text for the phone: what Amazon Polly (Twilio `<Say voice="Polly.Mia">`, es-MX; an English
 * voice for `en`) reads aloud. Written text and spoken text differ: Polly reads "000123" as a
 * number ("ciento veintitrés") and "13:00 h" as a clock reading nobody says, so ticket keys are
 * spelled out item by item and times are said the way a person at the desk would say them.
 * Names are spelled out here, not taken from Intl, for the reason time-format.ts gives (ICU
 * output changes between Node releases).
 */
import { DateTime } from 'luxon';
import type { Locale } from './policy.ts';
import { MONTHS, WEEKDAYS, zoneFor } from './time-format.ts';

const DAY_MS = 24 * 60 * 60_000;

/**
 * Spanish letter names rather than bare capitals: alone, "Y" is the conjunction ("i", not "ye")
 * and B and V sound the same in Spanish, so a caller writing the key down hears the names
 * Mexicans use on the phone to tell them apart ("be grande", "ve chica").
 */
const LETTERS_ES: Record<string, string> = {
  A: 'a', B: 'be grande', C: 'ce', D: 'de', E: 'e', F: 'efe', G: 'ge', H: 'hache', I: 'i', J: 'jota',
  K: 'ka', L: 'ele', M: 'eme', N: 'ene', Ñ: 'eñe', O: 'o', P: 'pe', Q: 'cu', R: 'erre', S: 'ese',
  T: 'te', U: 'u', V: 've chica', W: 'doble ve', X: 'equis', Y: 'ye', Z: 'zeta',
};

const DIGITS: Record<Locale, readonly string[]> = {
  'es-MX': ['cero', 'uno', 'dos', 'tres', 'cuatro', 'cinco', 'seis', 'siete', 'ocho', 'nueve'],
  en: ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'],
};

const SYMBOLS: Record<Locale, Record<string, string>> = {
  'es-MX': { '-': 'guion', '_': 'guion bajo', '.': 'punto', '/': 'diagonal' },
  en: { '-': 'dash', '_': 'underscore', '.': 'dot', '/': 'slash' },
};

/**
 * 'MDA-000123' → 'eme, de, a, guion, cero, cero, cero, uno, dos, tres' (es-MX) or
 * 'M, D, A, dash, zero, zero, zero, one, two, three' (en). One item per character, comma-separated
 * so Polly pauses between them and the caller can write each one down; every digit is its own
 * word so no run of digits is read as a number. Letters are upper-cased; spaces are dropped;
 * any other character is passed through as it is.
 */
export function spellTicketKey(key: string, locale: Locale): string {
  const items: string[] = [];
  for (const raw of key.trim()) {
    if (/\s/.test(raw)) continue;
    const ch = raw.toUpperCase();
    const digit = '0123456789'.indexOf(ch);
    if (digit >= 0) items.push(DIGITS[locale][digit]!);
    else if (SYMBOLS[locale][ch]) items.push(SYMBOLS[locale][ch]);
    else if (locale === 'es-MX' && LETTERS_ES[ch]) items.push(LETTERS_ES[ch]);
    else items.push(ch);
  }
  return items.join(', ');
}


const UNITS_ES = ['cero', 'uno', 'dos', 'tres', 'cuatro', 'cinco', 'seis', 'siete', 'ocho', 'nueve', 'diez',
  'once', 'doce', 'trece', 'catorce', 'quince', 'dieciséis', 'diecisiete', 'dieciocho', 'diecinueve', 'veinte',
  'veintiuno', 'veintidós', 'veintitrés', 'veinticuatro', 'veinticinco', 'veintiséis', 'veintisiete', 'veintiocho', 'veintinueve'];
const TENS_ES = ['', '', '', 'treinta', 'cuarenta', 'cincuenta'];

/** 0–59 in Spanish words ("cuarenta y siete"). */
function spanishNumber(n: number): string {
  if (n < 30) return UNITS_ES[n]!;
  const unit = n % 10;
  return unit === 0 ? TENS_ES[Math.floor(n / 10)]! : `${TENS_ES[Math.floor(n / 10)]} y ${UNITS_ES[unit]}`;
}

/**
 * The instant as said on the phone, in `timeZone`, relative to `now` when it is close:
 *
 * - es-MX: 'hoy a las cuatro de la tarde', 'mañana a las nueve y media de la mañana',
 *   'el lunes 30 de noviembre a la una de la tarde', 'el viernes primero de enero de 2027 al
 *   mediodía'. Twelve-hour words with the part of the day (madrugada 1–5, mañana 6–11, "del día"
 *   at 12, tarde 13–18, noche 19–0), "a la una" but "a las dos", "y cuarto", "y media".
 * - en: 'today at 4 PM', 'tomorrow at 9:30 AM', 'Monday, November 30, at 1 PM',
 *   'Friday, January 1, 2027, at noon'.
 *
 * Midnight belongs to the evening before it ("hoy a la medianoche" / "tonight at midnight" for
 * 00:00 of tomorrow), as people say it; naming the new day would make callers expect it a full
 * day later. In Spanish the rest of that hour ("las doce y media de la noche") goes with the
 * evening too; English names the new day ("tomorrow at 12:30 AM"), as a US listener expects.
 * The year is said only when the named day falls in another year than `now`.
 */
export function spokenInstant(at: Date, now: Date, timeZone: string, locale: Locale): string {
  const zone = zoneFor(timeZone);
  const dt = DateTime.fromJSDate(at, { zone });
  const nowDt = DateTime.fromJSDate(now, { zone });
  if (!dt.isValid || !nowDt.isValid) throw new RangeError('spokenInstant needs valid dates');

  const belongsToEveningBefore = dt.hour === 0 && (dt.minute === 0 || locale === 'es-MX');
  // Calendar arithmetic on plain dates, so a DST change in `timeZone` cannot shift the day.
  const dayMs = Date.UTC(dt.year, dt.month - 1, dt.day) - (belongsToEveningBefore ? DAY_MS : 0);
  const day = new Date(dayMs);
  const dayOffset = Math.round((dayMs - Date.UTC(nowDt.year, nowDt.month - 1, nowDt.day)) / DAY_MS);
  const withYear = day.getUTCFullYear() !== nowDt.year;
  const weekday = WEEKDAYS[locale][(day.getUTCDay() + 6) % 7]!;
  const month = MONTHS[locale][day.getUTCMonth()]!;
  const date = day.getUTCDate();

  if (locale === 'es-MX') {
    const relative = dayOffset === 0 ? 'hoy' : dayOffset === 1 ? 'mañana' : dayOffset === -1 ? 'ayer' : null;
    // "primero de enero": Mexicans say the ordinal for the first of the month.
    const dayName = relative ?? `el ${weekday} ${date === 1 ? 'primero' : date} de ${month}${withYear ? ` de ${day.getUTCFullYear()}` : ''}`;
    return `${dayName} ${spanishTime(dt.hour, dt.minute)}`;
  }
  const time = englishTime(dt.hour, dt.minute);
  if (dayOffset === 0) return dt.hour === 0 && dt.minute === 0 ? `tonight ${time}` : `today ${time}`;
  if (dayOffset === 1) return `tomorrow ${time}`;
  if (dayOffset === -1) return `yesterday ${time}`;
  return `${weekday}, ${month} ${date}${withYear ? `, ${day.getUTCFullYear()}` : ''}, ${time}`;
}

const HOURS_ES = ['doce', 'una', 'dos', 'tres', 'cuatro', 'cinco', 'seis', 'siete', 'ocho', 'nueve', 'diez', 'once'];

function spanishTime(hour: number, minute: number): string {
  if (minute === 0 && hour === 0) return 'a la medianoche';
  if (minute === 0 && hour === 12) return 'al mediodía';
  const h12 = hour % 12;
  const article = h12 === 1 ? 'a la' : 'a las';
  const minutes = minute === 0 ? '' : minute === 15 ? ' y cuarto' : minute === 30 ? ' y media' : ` y ${spanishNumber(minute)}`;
  const part = hour === 0 ? 'de la noche'
    : hour < 6 ? 'de la madrugada'
      : hour < 12 ? 'de la mañana'
        : hour === 12 ? 'del día'
          : hour < 19 ? 'de la tarde'
            : 'de la noche';
  return `${article} ${HOURS_ES[h12]}${minutes} ${part}`;
}

function englishTime(hour: number, minute: number): string {
  if (minute === 0 && hour === 0) return 'at midnight';
  if (minute === 0 && hour === 12) return 'at noon';
  const h12 = hour % 12 === 0 ? 12 : hour % 12;
  const meridiem = hour < 12 ? 'AM' : 'PM';
  return minute === 0 ? `at ${h12} ${meridiem}` : `at ${h12}:${String(minute).padStart(2, '0')} ${meridiem}`;
}

