/**
 * SMS length the way the network counts it (3GPP TS 23.038 and 23.040), and fitting a long text
 * into a budget of segments (issue 5: agent replies relayed to phone tickets).
 *
 * A message is GSM-7 when every character is in the GSM default alphabet or its extension table,
 * otherwise UCS-2 (UTF-16 code units). One segment holds 160 GSM-7 units or 70 UCS-2 units; a
 * longer message is concatenated and each segment loses room to the User Data Header: 153 and 67.
 * Extension characters (€ { } [ ] ~ \ | ^ and form feed) take two units (ESC + code), and neither
 * that pair nor a UTF-16 surrogate pair is split across segments, so a segment may end one unit
 * short — counted here as the handsets' encoders do it.
 *
 * Spanish matters here: the default alphabet has é, ñ, ü, à, è, ì, ò, ù, ¿ and ¡, and the capitals
 * É, Ñ, Ü, Ä, Ö, Ç, but NOT á, í, ó, ú (nor Á, Í, Ó, Ú): one "solución" turns the whole message
 * into UCS-2 and cuts its room by more than half.
 */

/**
 * The default alphabet, in table order (0x00–0x7F) without 0x1B (ESC, the escape to the
 * extension table, not a character). 0x09 is Ç, capital, as in Unicode's GSM0338 mapping.
 */
const GSM_BASIC = '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** The extension table: each costs ESC + its code. */
const GSM_EXTENSION = '\f^{}\\[~]|€';

const BASIC = new Set(Array.from(GSM_BASIC));
const EXTENSION = new Set(Array.from(GSM_EXTENSION));

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsCount {
  encoding: SmsEncoding;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  units: number;
  /** Segments the message takes; 0 for an empty text. */
  segments: number;
}

export const SEGMENT_LIMITS = {
  'GSM-7': { single: 160, multi: 153 },
  'UCS-2': { single: 70, multi: 67 },
} as const;

/** True when `ch` (one code point) is in the GSM default alphabet or its extension table. */
export function isGsmChar(ch: string): boolean {
  return BASIC.has(ch) || EXTENSION.has(ch);
}

export function smsEncoding(text: string): SmsEncoding {
  for (const ch of text) if (!isGsmChar(ch)) return 'UCS-2';
  return 'GSM-7';
}

export function countSms(text: string): SmsCount {
  const encoding = smsEncoding(text);
  // Units per code point: the atoms that may not be split across segments.
  const atoms = Array.from(text, (ch) => (encoding === 'GSM-7' ? (EXTENSION.has(ch) ? 2 : 1) : ch.length));
  const units = atoms.reduce((a, b) => a + b, 0);
  const limits = SEGMENT_LIMITS[encoding];
  if (units === 0) return { encoding, units, segments: 0 };
  if (units <= limits.single) return { encoding, units, segments: 1 };
  let segments = 1;
  let used = 0;
  for (const u of atoms) {
    if (used + u > limits.multi) { segments++; used = 0; }
    used += u;
  }
  return { encoding, units, segments };
}

export interface FitOptions {
  /** The budget: at most this many segments per SMS. */
  maxSegments: number;
  /** The customer's status page; when present, a long text is cut and points there. */
  statusUrl?: string | null;
  /**
   * The part of `text` that may be shortened, as [start, end) offsets (an agent's words inside a
   * template); the text around it (ticket key, ETR) is kept when there is room. Default: all.
   */
  shrinkable?: { start: number; end: number } | null;
  /** When splitting, at most this many SMS; the last one is cut. Default 10. */
  maxParts?: number;
}

export type FittedSms =
  /** Fits: one SMS, unchanged. */
  | { kind: 'as_is'; parts: [string] }
  /** Cut at a word boundary, ending with the link to the full message. */
  | { kind: 'shortened'; parts: [string] }
  /** No link to point to: numbered parts "(1/3) …", each within the budget, sent as separate SMS. */
  | { kind: 'split'; parts: string[] };

export const READ_MORE = 'Lea el mensaje completo en:';
/** Below this many characters of the agent's words, keeping the surrounding template is not worth it. */
const MIN_KEPT_CHARS = 40;
const DEFAULT_MAX_PARTS = 10;

/**
 * `text` within `maxSegments` segments: as it is when it fits; otherwise, with a status link,
 * cut at a word boundary with "… Lea el mensaje completo en: <link>" at the end; without one,
 * split into numbered parts. Never returns a part over the budget (unless the budget cannot hold
 * even a numbered fragment of one character, which no sane configuration reaches).
 */
export function fitSms(text: string, opts: FitOptions): FittedSms {
  const max = Math.max(1, Math.floor(opts.maxSegments));
  if (countSms(text).segments <= max) return { kind: 'as_is', parts: [text] };
  const url = opts.statusUrl?.trim() || null;
  if (url) {
    const span = clampSpan(opts.shrinkable ?? null, text.length);
    const prefix = text.slice(0, span.start);
    const body = text.slice(span.start, span.end);
    const suffix = text.slice(span.end);
    const link = `${READ_MORE} ${url}`;
    // First keep the template around the agent's words; if that leaves them too little room,
    // cut the whole text instead (the status page carries the rest, ETR included).
    const inPlace = shorten(prefix, body, suffix, link, max);
    if (inPlace && inPlace.kept > 0 && inPlace.kept >= Math.min(MIN_KEPT_CHARS, body.trim().length)) {
      return { kind: 'shortened', parts: [inPlace.text] };
    }
    const whole = shorten('', text, '', link, max);
    if (whole && whole.kept > 0) return { kind: 'shortened', parts: [whole.text] };
  }
  return { kind: 'split', parts: split(text, max, Math.max(1, Math.floor(opts.maxParts ?? DEFAULT_MAX_PARTS))) };
}

function clampSpan(span: { start: number; end: number } | null, length: number): { start: number; end: number } {
  if (!span) return { start: 0, end: length };
  const start = Math.max(0, Math.min(length, Math.floor(span.start)));
  const end = Math.max(start, Math.min(length, Math.floor(span.end)));
  return { start, end };
}

/**
 * prefix + (body cut at a word) + ellipsis + suffix + " " + link, as long as the budget allows.
 * `kept` counts the characters of body that survived; null when not even the frame fits.
 */
function shorten(prefix: string, body: string, suffix: string, link: string, max: number): { text: string; kept: number } | null {
  // "…" is not in the GSM alphabet: in an otherwise GSM-7 message it would halve the room.
  const ellipsis = smsEncoding(prefix + body + suffix + link) === 'GSM-7' ? '...' : '…';
  const compose = (cut: string): string => `${prefix}${cut}${ellipsis}${suffix.startsWith(' ') || suffix === '' ? '' : ' '}${suffix}${suffix.endsWith(' ') ? '' : ' '}${link}`.replace(/ {2,}/g, ' ');
  const frame = compose('');
  if (countSms(frame).segments > max) return null;
  const graphemes = splitGraphemes(body.trimEnd());
  // Longer cuts never take fewer segments, so the longest fitting cut is found by bisection.
  let lo = 0;
  let hi = graphemes.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (countSms(compose(graphemes.slice(0, mid).join(''))).segments <= max) lo = mid;
    else hi = mid - 1;
  }
  const cut = atWordBoundary(graphemes, lo);
  return { text: compose(cut), kept: cut.length };
}

/** The first `n` graphemes, backed off to the last space when that loses less than a third. */
function atWordBoundary(graphemes: string[], n: number): string {
  const head = graphemes.slice(0, n);
  if (n < graphemes.length && graphemes[n] !== ' ') {
    const lastSpace = head.lastIndexOf(' ');
    if (lastSpace > 0 && lastSpace >= n * (2 / 3)) head.length = lastSpace;
  }
  return head.join('').replace(/[\s,;:]+$/u, '');
}

/** Numbered parts, each within the budget with its "(i/n) " label; cut words only when a word alone overflows. */
function split(text: string, max: number, maxParts: number): string[] {
  const words = text.split(/(\s+)/).filter((w) => w.length > 0);
  // The label's width depends on the count it announces: settle it by trying wider labels.
  for (let width = 1; width <= 4; width++) {
    const label = (i: number, n: number): string => `(${i}/${n}) `;
    const dummy = '9'.repeat(width);
    const chunks: string[] = [];
    let cur = '';
    const fits = (s: string): boolean => countSms(`(${dummy}/${dummy}) ${s}`).segments <= max;
    for (const w of words) {
      const candidate = cur === '' ? w.trimStart() : cur + w;
      if (candidate === '') continue;
      if (fits(candidate.trimEnd())) { cur = candidate; continue; }
      if (cur.trim() !== '') chunks.push(cur.trim());
      let rest = w.trimStart();
      // A single overlong token (a URL, a long number) is cut hard, grapheme by grapheme.
      while (rest !== '' && !fits(rest)) {
        const g = splitGraphemes(rest);
        let k = g.length - 1;
        while (k > 1 && !fits(g.slice(0, k).join(''))) k = Math.max(1, Math.floor(k * 0.9));
        while (k + 1 < g.length && fits(g.slice(0, k + 1).join(''))) k++;
        chunks.push(g.slice(0, k).join(''));
        rest = g.slice(k).join('');
      }
      cur = rest;
    }
    if (cur.trim() !== '') chunks.push(cur.trim());
    if (String(Math.min(chunks.length, maxParts)).length > width) continue;
    let parts = chunks;
    if (parts.length > maxParts) {
      parts = parts.slice(0, maxParts);
      const last = splitGraphemes(parts[maxParts - 1] as string);
      const ellipsis = smsEncoding(last.join('')) === 'GSM-7' ? '...' : '…';
      while (last.length > 0 && !fits(last.join('') + ellipsis)) last.pop();
      parts[maxParts - 1] = last.join('').trimEnd() + ellipsis;
    }
    const n = parts.length;
    return parts.map((p, i) => `${label(i + 1, n)}${p}`);
  }
  return [text];
}

const segmenter = new Intl.Segmenter('es', { granularity: 'grapheme' });

/** User-perceived characters: a cut never separates an emoji's parts or a letter from its accent. */
function splitGraphemes(s: string): string[] {
  return Array.from(segmenter.segment(s), (x) => x.segment);
}
