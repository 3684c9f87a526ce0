/**
 * Visible text (DESIGN.md §5 step 5): what the customer newly wrote in a reply, without the
 * quoted history their mail client appended nor their signature.
 *
 * The HTML part is trusted first because clients mark their quote there unambiguously (Gmail's
 * `gmail_quote`, Outlook's `divRplyFwdMsg`, Apple Mail's `blockquote type="cite"`…); the plain
 * part only has conventions (attribution lines, header blocks, `>` prefixes) in many languages.
 *
 * Every scan is linear and works line by line, with regexes applied only to short lines, so a
 * hostile body (megabytes on one line, deep nesting, broken markup) cannot make it backtrack.
 */

export interface VisibleText {
  text: string;
  /** true when something was cut */
  trimmed: boolean;
  /**
   * Which marker cut it: 'es-escribio', 'on-wrote', 'original-message', 'forwarded-message',
   * 'outlook-header-block', 'gmail-quote', 'blockquote-cite', 'moz-cite-prefix', 'yahoo-quote',
   * 'quote-prefix', 'signature-dash', 'signature-rule' (a `____` line), 'mobile-signature',
   * 'delimiter' (trailing lines of punctuation), or null. The first cut made is named.
   */
  cutBy: string | null;
}

export function visibleText(input: { text: string; html: string | null }): VisibleText {
  try {
    return extract(input);
  } catch {
    // A bug here must never cost the customer's message: fall back to the untouched body.
    return { text: tidy(normalizeNewlines(typeof input?.text === 'string' ? input.text : '')), trimmed: false, cutBy: null };
  }
}

function extract(input: { text: string; html: string | null }): VisibleText {
  const plain = normalizeNewlines(input.text ?? '');
  const html = input.html ?? null;
  let whole = tidy(plain);

  if (html !== null && html.trim() !== '') {
    const tokens = tokenizeHtml(html);
    if (whole === '') whole = tidy(htmlToText(tokens));
    const cut = findHtmlQuote(tokens);
    if (cut !== null) {
      const before = htmlToText(tokens.slice(0, cut.index));
      const rest = trimPlain(before);
      if (rest.text !== '') return { text: rest.text, trimmed: true, cutBy: cut.marker };
      return { text: whole, trimmed: false, cutBy: null };
    }
    if (plain.trim() === '') {
      // HTML-only mail without a recognisable container: its blockquotes are rendered as `>`
      // lines, so the plain-text rules below still find a trailing quote.
      return fromPlain(normalizeNewlines(htmlToText(tokens)), whole);
    }
  }
  return fromPlain(plain, whole);
}

function fromPlain(plain: string, whole: string): VisibleText {
  const res = trimPlain(plain);
  if (res.text === '') return { text: whole, trimmed: false, cutBy: null };
  const trimmed = res.cutBy !== null && res.text !== whole;
  return { text: trimmed ? res.text : whole, trimmed, cutBy: trimmed ? res.cutBy : null };
}

function normalizeNewlines(s: string): string {
  return s.replace(/\r\n?/g, '\n').replace(/^\uFEFF/, '');
}

/** Drop leading blank lines and trailing whitespace; inner blank lines stay. */
function tidy(s: string): string {
  return s.replace(/^(?:[ \t\u00a0]*\n)+/, '').trimEnd();
}

// ---------------------------------------------------------------------------------------------
// HTML quote containers

interface HtmlCut {
  /** Index of the first token that belongs to the quoted history. */
  index: number;
  marker: string;
}

/** Markers each client writes around (or just before) the history it quotes. */
function containerMarker(t: HtmlToken): string | null {
  if (t.type !== 'open') return null;
  const cls = t.attrs.class ?? '';
  const id = t.attrs.id ?? '';
  if (/\bgmail_quote/i.test(cls)) return 'gmail-quote';
  // Outlook on the web and new Outlook: an empty `appendonsend` div, an <hr>, then the header div.
  if (/^(?:divRplyFwdMsg|appendonsend|OLK_SRC_BODY_SECTION|mail-editor-reference-message-container)$/i.test(id)) {
    return 'outlook-header-block';
  }
  // Outlook desktop writes its De/Enviado/Para/Asunto block in a div whose only trace is the
  // thin top border (#E1E1E1 since 2013, #B5C4DF in 2007/2010).
  const style = t.attrs.style ?? '';
  if (style !== '' && /border-top\s*:\s*solid\s+#(?:e1e1e1|b5c4df)/i.test(style)) return 'outlook-header-block';
  if (/yahoo_quoted/i.test(cls) || /yahoo_quoted/i.test(id)) return 'yahoo-quote';
  if (t.name === 'hr' && /^stopSpelling$/i.test(id)) return 'outlook-header-block';
  if (/\bmoz-cite-prefix\b/i.test(cls)) return 'moz-cite-prefix';
  if (t.name === 'blockquote' && /^cite$/i.test(t.attrs.type ?? '')) return 'blockquote-cite';
  return null;
}

function findHtmlQuote(tokens: HtmlToken[]): HtmlCut | null {
  const lastText = lastTextIndex(tokens);
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    if (tok === undefined) continue;
    const marker = containerMarker(tok);
    if (marker === null) continue;
    if (marker === 'blockquote-cite' || marker === 'moz-cite-prefix') {
      // Apple Mail and Thunderbird also use cite blockquotes for interleaved answers; only a
      // quote with nothing written after it is history. Otherwise keep looking past it (the
      // rendered text keeps interleaved quotes as `>` lines).
      const bq = marker === 'blockquote-cite' ? i : nextBlockquote(tokens, i);
      if (bq === -1) return { index: i, marker };
      const end = closingIndex(tokens, bq);
      if (end !== -1 && lastText > end) {
        i = end;
        continue;
      }
    }
    return { index: i, marker };
  }
  return null;
}

function nextBlockquote(tokens: HtmlToken[], from: number): number {
  for (let j = from + 1; j < tokens.length && j < from + 200; j++) {
    const t = tokens[j];
    if (t?.type === 'open' && t.name === 'blockquote') return j;
    if (t?.type === 'text' && t.text.trim() !== '' && j > from + 50) break;
  }
  return -1;
}

function closingIndex(tokens: HtmlToken[], open: number): number {
  const name = tokens[open]?.type === 'open' ? (tokens[open] as { name: string }).name : '';
  let depth = 0;
  for (let j = open; j < tokens.length; j++) {
    const t = tokens[j];
    if (t === undefined || t.type === 'text') continue;
    if (t.name !== name) continue;
    if (t.type === 'open') depth++;
    else if (t.type === 'close') {
      depth--;
      if (depth === 0) return j;
    }
  }
  return -1;
}

/** Index of the last text token with something visible in it, or -1. */
function lastTextIndex(tokens: HtmlToken[]): number {
  for (let j = tokens.length - 1; j >= 0; j--) {
    const t = tokens[j];
    if (t?.type === 'text' && t.text.replace(/&nbsp;|&#160;|[\s\u00a0]/gi, '') !== '') return j;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Plain text

/** Lines longer than this are prose (or hostile), never a marker; keeps regex cost bounded. */
const MAX_MARKER_LINE = 400;

interface PlainCut {
  text: string;
  cutBy: string | null;
}

function trimPlain(raw: string): PlainCut {
  const lines = normalizeNewlines(raw).split('\n');
  let end = lines.length;
  let cutBy: string | null = null;

  const firstContent = lines.findIndex((l) => !isBlank(l));
  if (firstContent === -1) return { text: '', cutBy: null };

  // 1. The first marker that opens the history cuts everything below it.
  for (let i = firstContent; i < lines.length; i++) {
    const marker = historyMarkerAt(lines, i);
    if (marker === null) continue;
    const at = extendOverSeparator(lines, i);
    if (lines.slice(0, at).every(isBlank)) break; // a forward with nothing above: keep it all
    end = at;
    cutBy = marker;
    break;
  }

  // 2. Peel what trails the reply: `>` history, signatures, delimiter lines.
  for (let guard = 0; guard < 100; guard++) {
    while (end > 0 && isBlank(lines[end - 1] ?? '')) end--;
    if (end === 0) break;
    const last = lines[end - 1] ?? '';

    if (isQuoted(last)) {
      let s = end - 1;
      while (s > 0 && (isQuoted(lines[s - 1] ?? '') || isBlank(lines[s - 1] ?? ''))) s--;
      while (s < end && isBlank(lines[s] ?? '')) s++;
      // Some clients wrap the attribution so that its tail (">:" or "> wrote:") looks quoted.
      const attr = attributionEndingAt(lines, s, true) ?? attributionEndingAt(lines, s + 1, true);
      end = attr === null ? s : extendOverSeparator(lines, attr.start);
      cutBy ??= attr === null ? 'quote-prefix' : attr.marker;
      continue;
    }
    const attr = attributionEndingAt(lines, end, false);
    if (attr !== null) {
      end = extendOverSeparator(lines, attr.start);
      cutBy ??= attr.marker;
      continue;
    }
    if (isMobileSignature(last)) {
      end--;
      cutBy ??= 'mobile-signature';
      continue;
    }
    if (isDelimiterLine(last)) {
      end--;
      cutBy ??= 'delimiter';
      continue;
    }
    const rule = underscoreRuleAt(lines, end);
    if (rule !== -1) {
      end = rule;
      cutBy ??= 'signature-rule';
      continue;
    }
    const dash = signatureDashAt(lines, end);
    if (dash !== -1) {
      end = dash;
      cutBy ??= 'signature-dash';
      continue;
    }
    break;
  }

  // 3. A bottom-poster's single quote at the top ("On … wrote:" + `>` lines, then the answer)
  // is history too; with several quote blocks the answers are interleaved and all stay.
  let start = lines.findIndex((l) => !isBlank(l));
  if (start !== -1 && start < end) {
    const lead = leadingQuoteEnd(lines, start, end);
    if (lead !== null) {
      start = lead.end;
      cutBy ??= lead.marker;
    }
  } else {
    start = 0;
  }

  // 4. Attribution lines introducing interleaved quotes say nothing the customer wrote.
  const kept: string[] = [];
  for (let i = start; i < end; i++) {
    const line = lines[i] ?? '';
    if (!isBlank(line) && !isQuoted(line)) {
      const attr = attributionStartingAt(lines, i);
      if (attr !== null && attr.end <= end) {
        let j = attr.end;
        while (j < end && isBlank(lines[j] ?? '')) j++;
        if (j < end && isQuoted(lines[j] ?? '')) {
          cutBy ??= attr.marker;
          i = attr.end - 1;
          continue;
        }
      }
    }
    kept.push(line);
  }
  return { text: tidy(kept.join('\n')), cutBy };
}

function leadingQuoteEnd(lines: string[], start: number, end: number): { end: number; marker: string } | null {
  // Without an attribution a leading quote is the customer citing what they answer: keep it.
  const attr = attributionStartingAt(lines, start);
  if (attr === null) return null;
  const marker = attr.marker;
  let i = attr.end;
  while (i < end && isBlank(lines[i] ?? '')) i++;
  if (i >= end || !isQuoted(lines[i] ?? '')) return null;
  while (i < end && (isQuoted(lines[i] ?? '') || isBlank(lines[i] ?? ''))) i++;
  let content = false;
  for (let j = i; j < end; j++) {
    const l = lines[j] ?? '';
    if (isQuoted(l)) return null;
    if (!isBlank(l)) content = true;
  }
  return content ? { end: i, marker } : null;
}

function isBlank(line: string): boolean {
  return line.trim() === '';
}

/**
 * `>` is the RFC 3676 quote mark; some clients use "| " or Supercite-style initials ("JP>").
 * A line ending in "|" is a plain-text table, not a quote.
 */
function isQuoted(line: string): boolean {
  if (/^[ \t]*[A-Z]{0,3}>/.test(line)) return true;
  return /^[ \t]*\|(?:[ \t]|$)/.test(line) && !/\|[ \t]*$/.test(line.slice(1));
}

/** Move a cut up over blank lines to an Outlook `____` or `-----` rule that introduces it. */
function extendOverSeparator(lines: string[], at: number): number {
  let j = at;
  while (j > 0 && isBlank(lines[j - 1] ?? '')) j--;
  const prev = lines[j - 1];
  if (prev !== undefined && prev.length <= MAX_MARKER_LINE && /^[ \t]*[-_=*~]{5,}[ \t]*$/.test(prev)) return j - 1;
  return at;
}

/** The quoted history starts at line i: return the marker name, or null. */
function historyMarkerAt(lines: string[], i: number): string | null {
  const line = lines[i] ?? '';
  if (line.length > MAX_MARKER_LINE || isBlank(line) || isQuoted(line)) return null;
  if (ORIGINAL_MESSAGE.test(line)) return 'original-message';
  if (FORWARDED.test(line)) return 'forwarded-message';
  if (isHeaderBlock(lines, i)) return 'outlook-header-block';
  const attr = attributionStartingAt(lines, i);
  if (attr !== null) {
    // An attribution opens trailing history only when nothing the customer wrote follows the
    // quote it introduces; a bottom-poster's "On … wrote:" above interleaved answers stays.
    let j = attr.end;
    while (j < lines.length && isBlank(lines[j] ?? '')) j++;
    if (j >= lines.length || !isQuoted(lines[j] ?? '')) return attr.marker;
    for (; j < lines.length; j++) {
      const l = lines[j] ?? '';
      if (!isBlank(l) && !isQuoted(l) && !isSignatureish(lines, j)) return null;
    }
    return attr.marker;
  }
  return null;
}

/** Below a trailing quote only a signature may follow (bottom signature of a top-poster). */
function isSignatureish(lines: string[], j: number): boolean {
  return /^--[ \t]?$/.test(lines[j] ?? '') || isMobileSignature(lines[j] ?? '');
}

const ORIGINAL_MESSAGE =
  /^[ \t]*[-_=*]{2,}[ \t]*(?:original message|mensaje original|mensagem original|message d'origine|ursprüngliche nachricht|messaggio originale|oorspronkelijk bericht|originalmeddelande|opprinnelig melding|oryginalna wiadomość|исходное сообщение)[ \t]*[-_=*]{2,}[ \t]*$/i;
const FORWARDED =
  /^[ \t]*(?:[-_=*]{2,}[ \t]*(?:forwarded message|mensaje reenviado|mensagem encaminhada|message transféré|weitergeleitete nachricht|messaggio inoltrato|doorgestuurd bericht)[ \t]*[-_=*]{2,}|(?:begin forwarded message|inicio del mensaje reenviado|comienzo del mensaje reenviado|anfang der weitergeleiteten nachricht|début du message réexpédié)[ \t]*:)[ \t]*$/i;

// Header names as Outlook, Gmail (forwards), Apple Mail and others print them, in the
// languages the corpus and the desk's customers use.
const FROM_KEYS = new Set(['de', 'from', 'von', 'van', 'från', 'fra', 'od', 'от', 'da', 'expéditeur', 'remitente', 'afzender', 'lähettäjä']);
const HEADER_KEYS = new Set([
  ...FROM_KEYS,
  'enviado', 'enviado el', 'enviada', 'sent', 'fecha', 'date', 'datum', 'data', 'gesendet', 'envoyé', 'verzonden', 'skickat', 'sendt', 'wysłano', 'wysłane', 'отправлено', 'дата', 'inviato', 'lähetetty',
  'para', 'to', 'an', 'aan', 'till', 'til', 'à', 'a', 'do', 'кому', 'vastaanottaja',
  'cc', 'cco', 'bcc', 'kopie', 'копия',
  'asunto', 'subject', 'betreff', 'onderwerp', 'objet', 'ämne', 'emne', 'temat', 'тема', 'oggetto', 'assunto', 'aihe',
  'reply-to', 'responder a', 'importance', 'importancia',
]);

/** The header name on this line (lower-cased, without Outlook's `*bold*` stars), or null. */
function headerKey(line: string): string | null {
  if (line.length > MAX_MARKER_LINE) return null;
  const m = /^[ \t]*\*{0,2}([^\s:*][^:*]{0,24}?)\*{0,2}[ \t]*:/.exec(line);
  if (m === null) return null;
  const key = (m[1] ?? '').trim().toLowerCase();
  return HEADER_KEYS.has(key) ? key : null;
}

/** An Outlook-style "De: / Enviado: / Para: / Asunto:" block starts at line i. */
function isHeaderBlock(lines: string[], i: number): boolean {
  const first = headerKey(lines[i] ?? '');
  if (first === null) return false;
  const keys = new Set<string>([first]);
  let loose = 0;
  for (let j = i + 1; j < lines.length && j < i + 14; j++) {
    const k = headerKey(lines[j] ?? '');
    if (k !== null) {
      keys.add(k);
      loose = 0;
      continue;
    }
    // Long addressee lists and subjects wrap; a blank line may sit between bold headers.
    if (++loose > 2) break;
  }
  if (keys.size < 3) return false;
  for (const k of keys) if (FROM_KEYS.has(k)) return true;
  return false;
}

interface Attribution {
  start: number;
  /** Index after the attribution's last line. */
  end: number;
  marker: string;
}

// "El lun, 23 nov 2026 a las 10:15, Juan <x@y> escribió:", "On … wrote:", and the verb other
// locales use (Gmail in German puts it mid-line: "Juan <x@y> schrieb am Mo., 23. Nov.:").
const ATTRIBUTION_VERB =
  /(?:^|[\s,"'>)])(?:escribió|escribio|ha escrit|wrote|writes|schrieb|a écrit|ha scritto|escreveu|schreef|geschreven|skrev|napisał\(a\)|napisała|napisał|napsal|pisze|написал\(а\)|написала|написал|пишет|пише|kirjoitti|írta|yazdı)(?=[\s:：,]|$)|写道|寫道|작성|のメッセージ/i;
const ATTRIBUTION_OPENER =
  /^[ \t]*(?:-{2,}[ \t]*)?(?:(?:el|on|am|le|il|em|op|den|dne|w dniu|på|в)(?=[ \t,])|在|\d{1,4}\s?[-/.]\s?\d{1,2}\s?[-/.]|(?:mon|tue|wed|thu|fri|sat|sun|lun|mar|mié|mie|jue|vie|sáb|sab|dom)[a-zé]*\.?,?\s)/i;
const SPANISH_VERB = /escribi[oó]/i;
// Gmail in several locales puts the date first and drops the verb:
// "2026-11-23 10:15 GMT-06:00 Juan Pérez <juan@example.com>:".
const DATE_FIRST = /^[ \t]*\d{4}\s?[-/.]\s?\d{1,2}\s?[-/.]\s?\d{1,2}/;
const ENDS_WITH_COLON = /[:：][ \t]*$/;

function classifyAttribution(joined: string, multiLine: boolean): string | null {
  if (joined.length > MAX_MARKER_LINE * 1.5) return null;
  let text = joined;
  // Zoho: "---- On Tue, 22 Dec 2015 … wrote ----".
  const zoho = /^-{2,}\s*(.*?)\s*-{2,}$/.exec(text);
  if (zoho !== null) text = `${zoho[1] ?? ''}:`;
  const opener = ATTRIBUTION_OPENER.test(text);
  const address = /@/.test(text);
  if (ENDS_WITH_COLON.test(text) && ATTRIBUTION_VERB.test(text)) {
    // Without the usual opener, demand an address or a time so prose ("Mi jefe escribió:")
    // is not mistaken for a client's attribution.
    if (!opener && !address && !/\d{1,2}[:.]\d{2}|\b(?:19|20)\d{2}\b/.test(text)) return null;
    if (multiLine && !opener && !address) return null;
    return SPANISH_VERB.test(text) ? 'es-escribio' : 'on-wrote';
  }
  if (DATE_FIRST.test(text) && (address || /\bGMT[+-]\d/.test(text)) && (ENDS_WITH_COLON.test(text) || />[ \t]*$/.test(text) || /\bGMT[+-]\d/.test(text))) {
    return 'on-wrote';
  }
  return null;
}

/** An attribution whose first line is line i (wrapped over up to four lines). */
function attributionStartingAt(lines: string[], i: number): Attribution | null {
  const first = lines[i] ?? '';
  if (isBlank(first) || isQuoted(first) || first.length > MAX_MARKER_LINE) return null;
  const opener = ATTRIBUTION_OPENER.test(first);
  // A wrapped attribution starts like one; a sentence of the reply ("I'll let you know then…")
  // must not be glued to the attribution below it.
  const multiLineStart = (opener || DATE_FIRST.test(first) || /[@<"\d]/.test(first)) && !endsSentence(first);
  const single = classifyAttribution(first.trim(), false);
  if (single !== null) return { start: i, end: i + 1, marker: single };
  if (!multiLineStart) return null;
  let joined = '';
  let nonBlank = 0;
  let crossedBlank = false;
  for (let k = 0; k < 7 && i + k < lines.length; k++) {
    const l = lines[i + k] ?? '';
    if (l.length > MAX_MARKER_LINE) return null;
    if (isBlank(l)) {
      // Outlook for Android breaks "On 31 Mar, Juan\n\n<mailto:…>\n> wrote:" over blank
      // lines; only a dated opener may span them, or "On this day\n\nI wrote…" would match.
      if (!opener || !/\d/.test(first)) return null;
      crossedBlank = true;
      continue;
    }
    let piece = l.trim();
    if (k > 0 && isQuoted(l)) {
      if (!/^[ \t]*>[^>]{0,60}[:：][ \t]*$/.test(l)) return null;
      piece = piece.replace(/^>/, '');
    }
    if (++nonBlank > 4) return null;
    // A later line that opens an attribution of its own ("Op 16 aug. 2014 …") is where the
    // attribution starts, not here.
    if (k > 0 && ATTRIBUTION_OPENER.test(l) && /\d/.test(l)) return null;
    joined = k === 0 ? piece : `${joined} ${piece}`;
    if (k === 0) continue;
    const marker = classifyAttribution(joined, true);
    if (marker !== null && (!crossedBlank || /@/.test(joined))) return { start: i, end: i + k + 1, marker };
    if (endsSentence(l)) return null;
  }
  return null;
}

/** "…know then...", "…interesting." — but not "28." or "aug." inside a wrapped date. */
function endsSentence(line: string): boolean {
  return /(?:[!?…]|\.\.|\p{L}{4,}\.)[ \t]*$/u.test(line);
}

/**
 * An attribution whose last line is just above `end` (blank lines between allowed). Right
 * above a trailing quote a looser shape counts too: any short line ending in ":" that names an
 * address and a time ("26.06.2014, 14:41, "Alexander" <abc@example.com>:").
 */
function attributionEndingAt(lines: string[], end: number, aboveQuote: boolean): Attribution | null {
  let last = end - 1;
  while (last >= 0 && isBlank(lines[last] ?? '')) last--;
  if (last < 0) return null;
  // The widest window wins: "Le 4 janv., "Neil"\n<info@…>\na écrit :" also ends in a
  // shorter match ("<info@…> a écrit :") that would leave its first line behind.
  for (let k = 6; k >= 0; k--) {
    if (last - k < 0) continue;
    const attr = attributionStartingAt(lines, last - k);
    if (attr !== null && attr.end === last + 1) return attr;
  }
  if (aboveQuote) {
    const l = lines[last] ?? '';
    if (l.length <= MAX_MARKER_LINE && !isQuoted(l) && ENDS_WITH_COLON.test(l) && /@/.test(l) && /\d{1,2}[:.]\d{2}/.test(l)) {
      return { start: last, end: last + 1, marker: 'on-wrote' };
    }
  }
  return null;
}

// Signatures phones and webmail add on their own. Matched against the whole (trimmed) line
// and only at the tail, so "Sent from my desk, is much easier" in a sentence survives.
const DEVICE = "[\\p{L}\\p{N} .&'-]{2,40}";
const MOBILE_SIGNATURES: RegExp[] = [
  new RegExp(`^(?:enviado|enviada) (?:desde|con) (?:mi )?${DEVICE}$`, 'iu'),
  new RegExp(`^sent (?:from|with|via|using) (?:my )?${DEVICE}$`, 'iu'),
  new RegExp(`^sent from (?:my )?${DEVICE}[.,] .{0,40}(?:excuse|typo|brevity|error).{0,30}$`, 'iu'),
  /^(?:obtener|descargar|get) outlook (?:para|for) (?:android|ios)$/iu,
  new RegExp(`^envoyé de(?:puis)? mon ${DEVICE}$`, 'iu'),
  new RegExp(`^von meinem ${DEVICE} gesendet$`, 'iu'),
  /^diese nachricht wurde von meinem .{2,60} gesendet\.?$/iu,
  new RegExp(`^verzonden (?:met|vanaf|van) (?:mijn )?${DEVICE}$`, 'iu'),
  new RegExp(`^(?:sendt|skickat) (?:fra|från) (?:min |mi )?${DEVICE}$`, 'iu'),
  new RegExp(`^inviato da(?:l mio)? ${DEVICE}$`, 'iu'),
  new RegExp(`^enviado do meu ${DEVICE}$`, 'iu'),
  /^\(?sent from (?:a |my )?(?:phone|mobile(?: device)?)\)?$/iu,
  /^<<sent by [\p{L}\p{N} .-]{2,30}>>$/iu,
  /^from my (?:iphone|ipad|android|mobile)[\p{L}\p{N} .-]{0,20}$/iu,
  /^(?:someone|sent) (?:from|via) mobile$/iu,
  /^從我的 ?[\p{L}\p{N} ]{2,20} ?傳送$/u,
];

function isMobileSignature(line: string): boolean {
  if (line.length > 300) return false;
  // Drop the links webmail appends ("Sent from Outlook Mobile<https://…>", "[Outlook](…)").
  const l = line
    .replace(/<[^<>\s]{1,250}>/g, '')
    .replace(/\[([^\]]{1,60})\]\([^)\s]{1,250}\)/g, '$1')
    .replace(/https?:\/\/\S{1,250}/g, '')
    .trim();
  if (l.length === 0 || l.length > 120) return false;
  return MOBILE_SIGNATURES.some((re) => re.test(l));
}

/** Lines of only punctuation (`--`, `***`, `~~~~`) or Gmail's invisible tracking mark. */
function isDelimiterLine(line: string): boolean {
  const l = line.trim();
  return l.length > 0 && l.length <= 80 && /^[-_=*~#+ᐧ\u200b]+$/u.test(l);
}

/**
 * A row of underscores a few lines from the end sets off a signature or a mailing-list footer
 * (Outlook and Mailman both draw it). Dashes are left alone: people use them as rules.
 */
function underscoreRuleAt(lines: string[], end: number): number {
  let seen = 0;
  for (let j = end - 1; j > 0 && seen < 8; j--) {
    const l = lines[j] ?? '';
    if (isBlank(l)) continue;
    if (/^[ \t]*_{2,80}[ \t]*$/.test(l)) return j;
    if (l.length > 100) return -1;
    seen++;
  }
  return -1;
}

/**
 * RFC 3676 §4.3: a line of exactly "-- " separates the signature; clients that strip trailing
 * spaces leave "--". Only a short tail counts, so a "--" used as a rule mid-message is kept.
 */
function signatureDashAt(lines: string[], end: number): number {
  for (let j = end - 1; j >= 0 && j >= end - 12; j--) {
    if (/^--[ \t]?$/.test(lines[j] ?? '')) return j;
  }
  return -1;
}
// ---------------------------------------------------------------------------------------------
// A small HTML-to-text of our own: a linear tokenizer that tolerates broken markup, and a
// renderer that keeps line structure and shows blockquotes as `>` lines.

type HtmlToken =
  | { type: 'text'; text: string }
  | { type: 'open'; name: string; attrs: Record<string, string>; selfClosing: boolean }
  | { type: 'close'; name: string };

/** Elements whose content is never shown. */
const RAW_TEXT = new Set(['script', 'style', 'title', 'textarea', 'xml']);
/** Attributes we look at; the rest are skipped unparsed. */
const ATTR_RE = /([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;

function tokenizeHtml(html: string): HtmlToken[] {
  const tokens: HtmlToken[] = [];
  const lower = html.toLowerCase();
  let pos = 0;
  const n = html.length;
  while (pos < n) {
    const lt = html.indexOf('<', pos);
    if (lt === -1) {
      tokens.push({ type: 'text', text: html.slice(pos) });
      break;
    }
    if (lt > pos) tokens.push({ type: 'text', text: html.slice(pos, lt) });
    const next = html.charCodeAt(lt + 1);
    if (html.startsWith('<!--', lt)) {
      const close = html.indexOf('-->', lt + 4);
      pos = close === -1 ? n : close + 3;
      continue;
    }
    if (next === 33 /* ! */ || next === 63 /* ? */) {
      const close = html.indexOf('>', lt);
      pos = close === -1 ? n : close + 1;
      continue;
    }
    const isClose = next === 47; /* / */
    const nameStart = isClose ? lt + 2 : lt + 1;
    const nameMatch = /^[a-zA-Z][a-zA-Z0-9:_-]*/.exec(html.slice(nameStart, nameStart + 64));
    if (nameMatch === null) {
      // A lone "<" in text ("a < b") is text.
      tokens.push({ type: 'text', text: '<' });
      pos = lt + 1;
      continue;
    }
    const name = nameMatch[0].toLowerCase();
    const end = tagEnd(html, nameStart + nameMatch[0].length);
    const inner = html.slice(nameStart + nameMatch[0].length, end === -1 ? n : end);
    pos = end === -1 ? n : end + 1;
    if (isClose) {
      tokens.push({ type: 'close', name });
      continue;
    }
    const selfClosing = inner.endsWith('/');
    tokens.push({ type: 'open', name, attrs: parseAttrs(inner), selfClosing });
    if (RAW_TEXT.has(name) && !selfClosing) {
      const close = lower.indexOf(`</${name}`, pos);
      if (close === -1) {
        pos = n;
      } else {
        if (name === 'textarea') tokens.push({ type: 'text', text: html.slice(pos, close) });
        const gt = html.indexOf('>', close);
        pos = gt === -1 ? n : gt + 1;
      }
      tokens.push({ type: 'close', name });
    }
  }
  return tokens;
}

/** Index of the ">" closing a tag, skipping quoted attribute values; -1 when unterminated. */
function tagEnd(html: string, from: number): number {
  let quote = 0;
  let quoteStart = 0;
  for (let i = from; i < html.length; i++) {
    const c = html.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
      // An attribute quote never closed (`<font face="Arial>`) would swallow the whole
      // message; past any sane attribute length, end the tag at the next ">" instead.
      else if (i - quoteStart > 4000) return html.indexOf('>', from);
    } else if (c === 34 || c === 39) {
      quote = c;
      quoteStart = i;
    } else if (c === 62) {
      return i;
    } else if (c === 60 && i > from) {
      // "<" inside a tag: the tag was never closed; end it here so the rest is not swallowed.
      return i - 1;
    }
  }
  return -1;
}

function parseAttrs(inner: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  if (inner.length > 20000) return attrs;
  ATTR_RE.lastIndex = 0;
  for (let m = ATTR_RE.exec(inner); m !== null; m = ATTR_RE.exec(inner)) {
    const key = (m[1] ?? '').toLowerCase();
    if (key === 'class' || key === 'id' || key === 'style' || key === 'type') {
      attrs[key] ??= decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
    }
  }
  return attrs;
}

const BLOCK = new Set([
  'address', 'article', 'aside', 'center', 'dd', 'div', 'dl', 'dt', 'fieldset', 'figure', 'footer',
  'form', 'header', 'hr', 'li', 'main', 'nav', 'ol', 'section', 'table', 'tbody', 'thead', 'tfoot',
  'tr', 'ul', 'body', 'html', 'caption',
]);
const PARAGRAPH = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'pre']);
const HIDDEN = new Set(['head', 'script', 'style', 'title', 'xml']);

function htmlToText(tokens: HtmlToken[]): string {
  const lines: string[] = [];
  let cur = '';
  let curDepth = 0;
  let depth = 0;
  let pre = 0;
  let hidden = 0;
  let blankPending = false;
  let msoLine = false;

  let lastDepth = 0;
  const flush = (): void => {
    lines.push(prefix(curDepth) + cur.replace(/[ \t\u00a0]+$/, ''));
    lastDepth = curDepth;
    cur = '';
    curDepth = depth;
  };
  const boundary = (): void => {
    // A block holding only &nbsp; is how Outlook and Word draw an empty line.
    if (cur !== '') flush();
    else {
      cur = '';
      curDepth = depth;
    }
  };
  const paragraph = (): void => {
    boundary();
    blankPending = true;
  };
  const write = (s: string): void => {
    if (s === '') return;
    if (blankPending) {
      blankPending = false;
      if (lines.length > 0 && (lines[lines.length - 1] ?? '').replace(/^[> ]*/, '') !== '') {
        // The gap between a quote and the answer below it belongs to neither.
        lines.push(lastDepth === depth ? prefix(depth).trimEnd() : '');
      }
    }
    if (cur === '') curDepth = depth;
    cur += s;
  };

  for (const t of tokens) {
    if (t.type === 'text') {
      if (hidden > 0) continue;
      let s = decodeEntities(t.text);
      if (pre > 0) {
        const parts = s.split(/\r\n?|\n/);
        parts.forEach((p, idx) => {
          if (idx > 0) flush();
          write(p);
        });
        continue;
      }
      s = s.replace(/[ \t\r\n\f]+/g, ' ');
      if (cur === '' || /[ \u00a0]$/.test(cur)) s = s.replace(/^ /, '');
      if (s !== '' && (cur !== '' || s.trim() !== '' || s.includes('\u00a0'))) write(s);
      continue;
    }
    const name = t.name;
    if (HIDDEN.has(name)) {
      if (t.type === 'open' && !t.selfClosing) hidden++;
      else if (t.type === 'close') hidden = Math.max(0, hidden - 1);
      continue;
    }
    if (hidden > 0) continue;
    if (t.type === 'open') {
      if (name === 'br') {
        if (blankPending) write('');
        flush();
      } else if (name === 'blockquote') {
        boundary();
        depth++;
        curDepth = depth;
      } else if (PARAGRAPH.has(name)) {
        // Outlook writes every line as <p class=MsoNormal> with no margin: a line, not a paragraph.
        msoLine = /msonormal/i.test(t.attrs.class ?? '');
        if (msoLine) boundary();
        else paragraph();
        if (name === 'pre') pre++;
      } else if (BLOCK.has(name)) {
        boundary();
        if (name === 'li') write('- ');
      } else if (name === 'td' || name === 'th') {
        if (cur.trim() !== '') write(' ');
      } else if (name === 'img') {
        // Images carry no reply text; their alt is usually a file name or a logo.
      }
      continue;
    }
    if (name === 'blockquote') {
      boundary();
      depth = Math.max(0, depth - 1);
      curDepth = depth;
    } else if (PARAGRAPH.has(name)) {
      boundary();
      if (name === 'pre') pre = Math.max(0, pre - 1);
      if (!msoLine) blankPending = true;
      msoLine = false;
    } else if (BLOCK.has(name)) {
      boundary();
    }
  }
  if (cur.trim() !== '') flush();
  // &nbsp; is layout, not content: downstream rules match ordinary spaces.
  return lines.join('\n').replace(/\u00a0/g, ' ');
}

function prefix(depth: number): string {
  return depth > 0 ? '> '.repeat(Math.min(depth, 20)) : '';
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', shy: '',
  aacute: 'á', eacute: 'é', iacute: 'í', oacute: 'ó', uacute: 'ú', ntilde: 'ñ', uuml: 'ü',
  Aacute: 'Á', Eacute: 'É', Iacute: 'Í', Oacute: 'Ó', Uacute: 'Ú', Ntilde: 'Ñ', Uuml: 'Ü',
  agrave: 'à', egrave: 'è', ograve: 'ò', ccedil: 'ç', auml: 'ä', ouml: 'ö', szlig: 'ß',
  Auml: 'Ä', Ouml: 'Ö', ecirc: 'ê', ocirc: 'ô', acirc: 'â', atilde: 'ã', otilde: 'õ',
  iexcl: '¡', iquest: '¿', ordf: 'ª', ordm: 'º', deg: '°', copy: '©', reg: '®', trade: '™',
  hellip: '…', mdash: '—', ndash: '–', laquo: '«', raquo: '»', ldquo: '“', rdquo: '”',
  lsquo: '‘', rsquo: '’', bull: '•', middot: '·', euro: '€', cent: '¢', pound: '£', sect: '§',
  zwnj: '\u200c', zwj: '\u200d', lrm: '', rlm: '', ensp: ' ', emsp: ' ', thinsp: ' ',
};

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});?/g, (whole, body: string) => {
    if (body.startsWith('#')) {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return whole;
      return String.fromCodePoint(code);
    }
    return NAMED_ENTITIES[body] ?? NAMED_ENTITIES[body.toLowerCase()] ?? whole;
  });
}
