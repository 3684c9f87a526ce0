/**
 * Caller numbers as Twilio hands them over (`From` of a voice webhook), normalised to E.164 so a
 * caller is matched to a contact and to their open tickets whatever way the number was written.
 */
// The "max" metadata is the one that knows number types (mobile / fixed line); the default
// "min" build answers `getType()` with undefined for every number.
import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export type CallerNumber =
  | { kind: 'e164'; e164: string; /** for speech and display, e.g. '55 1234 5678' */ national: string }
  | { kind: 'withheld'; raw: string }
  | { kind: 'invalid'; raw: string };

/**
 * Twilio's documented "strange numbers": when the calling party withholds its caller ID, Voice
 * has long put the withheld word spelled on a keypad into `From` (help.twilio.com article
 * 223179988, "Why am I getting calls from these strange numbers?"). Compared digits only, with
 * or without the `+`.
 */
const WITHHELD_KEYPAD_NUMBERS = new Set([
  '266696687', // ANONYMOUS
  '7378742833', // RESTRICTED
  '2562533', // BLOCKED
  '8656696', // UNKNOWN
  '86282452253', // UNAVAILABLE
]);

/**
 * Since the Nov 2022 change to withheld caller IDs ("persist the alpha string … e.g. ANONYMOUS,
 * RESTRICTED"), the word itself may arrive instead of the keypad digits, in any letter case.
 * The last two are what other carriers and SIP trunks put there for the same thing.
 */
const WITHHELD_WORDS = new Set(['anonymous', 'restricted', 'blocked', 'unknown', 'unavailable', 'private', 'withheld']);

/**
 * Not a telephone number at all: a Voice SDK client (`client:alice`) or a SIP endpoint
 * (`sip:alice@example.com`). There is nobody to text or call back, so to the desk the caller
 * is withheld.
 */
const NON_PSTN_SCHEME = /^(?:client|sip|sips):/i;

/** A hostile `From` is recorded, not stored whole. No real number is near this long. */
const RAW_MAX_CHARS = 64;

// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Visual separators people and carriers put in numbers; removed before the digit checks. */
const SEPARATORS = /[\s\-()./\u00a0\u2010-\u2015]/g;

export function normalizeCaller(raw: string | null | undefined, defaultCountry = 'MX'): CallerNumber {
  if (typeof raw !== 'string') return { kind: 'withheld', raw: '' };
  const trimmed = raw.trim();
  const kept = trimmed.slice(0, RAW_MAX_CHARS);
  if (trimmed === '') return { kind: 'withheld', raw: '' };
  if (WITHHELD_WORDS.has(trimmed.toLowerCase()) || NON_PSTN_SCHEME.test(trimmed)) return { kind: 'withheld', raw: kept };
  // Twilio never sends control characters; libphonenumber-js would quietly skip them, and a
  // number smuggled inside junk is not a caller ID we should trust for matching.
  if (trimmed.length > RAW_MAX_CHARS || CONTROL_CHARS.test(trimmed)) return { kind: 'invalid', raw: kept };

  // RFC 3966 `tel:` URIs carry the number after the scheme.
  const compact = trimmed.replace(/^tel:/i, '').replace(SEPARATORS, '');
  if (/^\+?\d+$/.test(compact) && WITHHELD_KEYPAD_NUMBERS.has(compact.replace(/^\+/, ''))) return { kind: 'withheld', raw: kept };

  const country = defaultCountry.toUpperCase();
  const region: CountryCode | undefined = isSupportedCountry(country) ? country : undefined;
  const candidate = mexicanE164(compact, region) ?? trimmed;
  try {
    const parsed = parsePhoneNumberFromString(candidate, region);
    if (parsed?.isValid()) return { kind: 'e164', e164: parsed.number, national: parsed.formatNational() };
  } catch {
    // libphonenumber-js throws on some malformed metadata lookups; to us that is just invalid.
  }
  return { kind: 'invalid', raw: kept };
}

/**
 * Mexico's dialling plan changed under people's feet and old habits survive in address books and
 * carrier data. Since 3 Aug 2019 every number is dialled as 10 digits, the `044`/`045` mobile
 * prefixes and the `01` long-distance prefix were withdrawn (IFT plan de marcación), and the
 * `1` that mobiles needed after +52 was dropped in 2019/2020. libphonenumber-js parses all of
 * these as invalid numbers, so they are rewritten here to `+52` and the 10 digits.
 * Returns null when the input is not a Mexican number written in digits.
 */
function mexicanE164(compact: string, region: CountryCode | undefined): string | null {
  let national: string | undefined;
  const international = /^(?:\+|00)52(\d+)$/.exec(compact);
  if (international && (compact.startsWith('+') || region === 'MX')) national = international[1];
  // "00" is Mexico's international prefix; a bare digit string is national only in Mexico.
  else if (region === 'MX' && /^\d+$/.test(compact) && !compact.startsWith('00')) national = compact;
  if (national === undefined) return null;
  if (/^04[45]\d{10}$/.test(national)) national = national.slice(3);
  else if (/^01\d{10}$/.test(national)) national = national.slice(2);
  else if (/^1\d{10}$/.test(national)) national = national.slice(1);
  return `+52${national}`;
}

/**
 * Whether an SMS acknowledgment can reach the caller. In Mexico every number is
 * FIXED_LINE_OR_MOBILE since the 2019 numbering change, so this mostly answers true and the
 * landline error from Twilio remains the real test (SMS is best effort). A withheld or invalid
 * caller has no number to text: false. null: the type is unknown (VoIP, toll-free, no metadata).
 */
export function isMobileCapable(n: CallerNumber): boolean | null {
  if (n.kind !== 'e164') return false;
  let type: string | undefined;
  try {
    type = parsePhoneNumberFromString(n.e164)?.getType();
  } catch {
    return null;
  }
  if (type === 'MOBILE' || type === 'FIXED_LINE_OR_MOBILE') return true;
  if (type === 'FIXED_LINE') return false;
  return null;
}
