/**
 * Commands an agent writes at the top of a reply to a Mesa notification (DESIGN §6):
 *
 *     #etr mañana 10:00
 *     #severidad 2
 *
 *     Buen día, ya identificamos la falla en el servidor de timbrado…
 *
 * The parser works on the reply's visible text (quotes and signature already cut by
 * `visibleText`) and is pure: `now` and the time zone come in through `ctx`.
 *
 * Rules it implements:
 * - Commands sit at the TOP, one per line or several on one line separated by spaces
 *   (`#nota #pendiente`, `#severidad 1 #etr 2h`). Blank lines before and between them are fine.
 *   The first line that does not start with `#` ends them; everything from there on is the
 *   public text, so a later `#404` or a `#nota` inside quoted history is never a command.
 * - A line starting with `#` followed by a digit (`#4821 ya quedó`) is ordinary text, not a
 *   command attempt: ticket and error numbers are written that way.
 * - Spanish words with English aliases, case- and accent-insensitive (`#Resuélto`, `#SEVERITY`).
 * - Commands without a value (`#nota`, `#pendiente`, `#resuelto`, `#cerrar`, `#reabrir`) accept
 *   only trailing punctuation (`#nota:`); any other text on their line is an error, because
 *   the text for the customer goes on its own line below the commands.
 * - Any malformed line is reported in `errors`; the caller then applies nothing and answers
 *   with `COMMAND_HELP`. The problem texts are Spanish, written for the agent.
 * - One reply may change the state only once: `#pendiente`, `#resuelto`, `#cerrar` and
 *   `#reabrir` exclude each other. A command repeated with the same value counts once; with a
 *   different value it is an error.
 *
 * `#etr` values (see `parseEtr`): durations `4h`, `90m`, `1h30m`, `2d` (calendar days),
 * `3dh` / `3bd` (business days of 540 business minutes through `ctx.addBusinessMinutes`),
 * `4hh` / `4bh` (business hours); wall-clock dates in `ctx.timeZone`: `18:00`, `hoy 18:00`,
 * `mañana 10:00`, `pasado mañana 9am`, `viernes 12:00`, `1/12 14:00`, `01/12/2026 14:00`,
 * `2026-12-01 14:00`, `1 de diciembre 14:00`, and the form Mesa itself writes in messages
 * (`lunes 30 de noviembre, 13:00 h (hora del centro)`). The ETR must be in the future and at
 * most a year ahead.
 */
import { DateTime, IANAZone } from 'luxon';
import { normalizeForMatching } from './text-normalize.ts';

export type AgentCommand =
  | { kind: 'note' }
  | { kind: 'severity'; severity: 1 | 2 | 3 | 4 }
  | { kind: 'etr'; at: Date; text: string }
  | { kind: 'escalate'; level: 2 | 3 | null }
  | { kind: 'assign'; who: string }
  | { kind: 'pending' }
  | { kind: 'resolved' }
  | { kind: 'close' }
  | { kind: 'reopen' }
  /** Re-evaluates the ticket's matrix (and with it who each level notifies). */
  | { kind: 'category'; category: string }
  /** The customer's organisation, by its id or name in config; null: none (the general terms). */
  | { kind: 'organisation'; organisation: string | null }
  /** `#incidente mayor`: the ticket's report becomes a major incident (issue 13). */
  | { kind: 'major_incident' }
  /**
   * `#vincular KEY`: on a ticket, join the incident KEY names (an incident, or a ticket linked to
   * one); on an incident's thread, bring the tickets named into it. Keys are normalised
   * (`INC-0001`, `MDA-000123`).
   */
  | { kind: 'link'; keys: string[] }
  /** `#desvincular`: on a ticket, leave its incident; on an incident's thread, the tickets named leave it. */
  | { kind: 'unlink'; keys: string[] }
  /** `#titulo TEXTO`, on an incident's thread: the title customers and the status page read. */
  | { kind: 'title'; title: string };

export interface AgentCommandError {
  /** The command as the agent wrote it (one segment when several share a line). */
  line: string;
  /** What is wrong, in Spanish, for the error reply. */
  problem: string;
}

export interface ParsedAgentReply {
  /**
   * The valid commands, in the order written, identical repeats removed. When `errors` is not
   * empty they are listed for the record only: the caller applies none of them.
   */
  commands: AgentCommand[];
  errors: AgentCommandError[];
  /** The text after the command lines, trimmed; the whole text when there are no commands. */
  publicText: string;
}

export interface AgentReplyContext {
  now: Date;
  /** IANA zone for wall-clock ETRs; an unknown zone falls back to America/Mexico_City. */
  timeZone: string;
  /** The ticket's business clock; needed only for `#etr 3dh` / `#etr 4hh`. */
  addBusinessMinutes?: (from: Date, minutes: number) => Date;
  /** Categories the desk knows (rules, mailboxes, matrices), for `#categoria`. */
  categories?: readonly string[];
  /** The configured organisations, for `#organizacion`. */
  organisations?: ReadonlyArray<{ id: string; name: string }>;
  /** The desk's ticket prefix (`MDA`), for the keys `#vincular` names. */
  ticketPrefix?: string;
  /**
   * What the reply answers: a ticket's notice (the default) or a major incident's. An incident
   * takes only the commands that make sense for all its customers at once.
   */
  target?: 'ticket' | 'incident';
}

type Kind = AgentCommand['kind'];

/** Folded (lower-case, accent-free) command words; Spanish first, then the English alias. */
const WORDS: Readonly<Record<string, Kind>> = {
  nota: 'note',
  note: 'note',
  severidad: 'severity',
  severity: 'severity',
  etr: 'etr',
  escalar: 'escalate',
  escalate: 'escalate',
  asignar: 'assign',
  assign: 'assign',
  pendiente: 'pending',
  pending: 'pending',
  resuelto: 'resolved',
  resolved: 'resolved',
  cerrar: 'close',
  close: 'close',
  reabrir: 'reopen',
  reopen: 'reopen',
  categoria: 'category',
  category: 'category',
  organizacion: 'organisation',
  organization: 'organisation',
  organisation: 'organisation',
  incidente: 'major_incident',
  incident: 'major_incident',
  major: 'major_incident',
  vincular: 'link',
  link: 'link',
  desvincular: 'unlink',
  unlink: 'unlink',
  titulo: 'title',
  title: 'title',
};

const SPANISH_WORD: Readonly<Record<Kind, string>> = {
  note: 'nota',
  severity: 'severidad',
  etr: 'etr',
  escalate: 'escalar',
  assign: 'asignar',
  pending: 'pendiente',
  resolved: 'resuelto',
  close: 'cerrar',
  reopen: 'reabrir',
  category: 'categoria',
  organisation: 'organizacion',
  major_incident: 'incidente mayor',
  link: 'vincular',
  unlink: 'desvincular',
  title: 'titulo',
};

/** On an incident's thread, the only commands that apply (to every linked customer at once). */
const INCIDENT_KINDS: ReadonlySet<Kind> = new Set(['note', 'etr', 'resolved', 'link', 'unlink', 'title']);
/** On a ticket, one change of incident per reply. */
const LINK_KINDS: ReadonlySet<Kind> = new Set(['major_incident', 'link', 'unlink']);

const STATE_KINDS: ReadonlySet<Kind> = new Set(['pending', 'resolved', 'close', 'reopen']);

/** Business minutes in a business day (09:00–18:00), as `parseDuration` counts `bd`. */
const BUSINESS_DAY_MINUTES = 540;
const DEFAULT_ZONE = 'America/Mexico_City';
const MINUTE_MS = 60_000;
const DAY_MS = 1440 * MINUTE_MS;
/** An ETR further out than this is a typo, not an estimate. */
const MAX_AHEAD_MS = 366 * DAY_MS;
/** A `1/12`-style date in the past moves to next year only if that lands this close. */
const ROLLOVER_MAX_MS = 183 * DAY_MS;
/** Command lines longer than this are not commands anyone typed; keeps regex work bounded. */
const MAX_COMMAND_LINE = 300;
/** Enough to tell the agent what is wrong without echoing a pasted novel back. */
const MAX_ERRORS = 20;

export const COMMAND_HELP: Record<'es-MX' | 'en', string> = {
  'es-MX': [
    'Comandos de Mesa: escríbalos al principio de su respuesta, cada uno en su línea (o varios en una línea separados por espacios), antes del texto para el cliente.',
    '',
    '#nota: nota interna; se registra en el ticket y no se envía al cliente.',
    '#severidad N: cambia la severidad (1 es la más alta, 4 la más baja).',
    '#etr VALOR: nueva hora estimada de solución: 4h, 90m, 2d (días naturales), 3dh (días hábiles), 18:00, hoy 18:00, mañana 10:00, viernes 12:00, 1/12 14:00, 01/12/2026 14:00 o 2026-12-01 14:00 (hora del centro).',
    '#escalar [N]: escala al siguiente nivel, o al nivel N (2 o 3).',
    '#asignar NOMBRE: asigna el ticket a esa persona.',
    '#pendiente: en espera del cliente; el reloj se pausa y se le piden los datos.',
    '#resuelto: marca el ticket como resuelto y envía la resolución al cliente.',
    '#cerrar: cierra el ticket.',
    '#reabrir: reabre el ticket.',
    '#categoria NOMBRE: cambia la categoría; se vuelve a elegir la matriz de escalamiento.',
    '#organizacion NOMBRE (o ninguna): cambia la organización del cliente; se aplican su contrato y su matriz.',
    '#incidente mayor: declara un incidente mayor a partir de este ticket; los reportes parecidos se le vinculan.',
    '#vincular INC-0001 (o MDA-000123): vincula este ticket a ese incidente (o al incidente de ese ticket).',
    '#desvincular: saca este ticket de su incidente; vuelve a tener su propio reloj.',
    '',
    'En el aviso de un incidente mayor solo valen #nota, #etr, #resuelto, #vincular MDA-000123 …, #desvincular MDA-000123 … y #titulo TEXTO (el título que leen los clientes y la página de estado); el texto se envía a todos los clientes vinculados.',
    '',
    'También en inglés: #note, #severity, #escalate, #assign, #pending, #resolved, #close, #reopen, #category, #organization. Mayúsculas y acentos dan igual.',
    'El texto debajo de los comandos se envía al cliente, salvo con #nota. Si un comando tiene un error, no se aplica nada: corrija y vuelva a responder.',
  ].join('\n'),
  en: [
    'Mesa commands: write them at the top of your reply, one per line (or several on one line separated by spaces), before the text for the customer.',
    '',
    '#note: internal note; recorded on the ticket, not sent to the customer.',
    '#severity N: changes the severity (1 is the highest, 4 the lowest).',
    '#etr VALUE: new estimated time to recovery: 4h, 90m, 2d (calendar days), 3bd (business days), 18:00, today 18:00, tomorrow 10:00, friday 12:00, 1/12 14:00 (day first), 01/12/2026 14:00 or 2026-12-01 14:00 (Mexico City time).',
    '#escalate [N]: escalates to the next level, or to level N (2 or 3).',
    '#assign NAME: assigns the ticket to that person.',
    '#pending: waiting for the customer; the clock pauses and the customer is asked for the information.',
    '#resolved: marks the ticket resolved and sends the resolution to the customer.',
    '#close: closes the ticket.',
    '#reopen: reopens the ticket.',
    '#category NAME: changes the category; the escalation matrix is chosen again.',
    '#organization NAME (or none): changes the customer\'s organisation; its contract and matrix apply.',
    '#major incident: declares a major incident from this ticket; alike reports are linked to it.',
    '#link INC-0001 (or MDA-000123): links this ticket to that incident (or to that ticket\'s incident).',
    '#unlink: takes this ticket out of its incident; it gets its own clock again.',
    '',
    'On a major incident\'s notice only #note, #etr, #resolved, #link MDA-000123 …, #unlink MDA-000123 … and #title TEXT (the title customers and the status page read) apply; the text goes to every linked customer.',
    '',
    'Spanish words work too: #nota, #severidad, #escalar, #asignar, #pendiente, #resuelto, #cerrar, #reabrir, #categoria, #organizacion. Case and accents do not matter.',
    'The text below the commands is sent to the customer, except with #note. If a command has an error nothing is applied: fix it and reply again.',
  ].join('\n'),
};

export function parseAgentReply(visibleText: string, ctx: AgentReplyContext): ParsedAgentReply {
  try {
    return parse(typeof visibleText === 'string' ? visibleText : '', ctx);
  } catch {
    // A bug here must not let a half-read reply through: report it so nothing is applied.
    return {
      commands: [],
      errors: [{ line: '', problem: 'No se pudieron leer los comandos de esta respuesta; no se aplicó nada.' }],
      publicText: typeof visibleText === 'string' ? visibleText.trim() : '',
    };
  }
}

function parse(text: string, ctx: AgentReplyContext): ParsedAgentReply {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const found: Array<{ command: AgentCommand; segment: string }> = [];
  const errors: AgentCommandError[] = [];
  let lastCommandLine = -1;

  for (let i = 0; i < lines.length; i++) {
    const line = cleanLine(lines[i] ?? '');
    if (line === '') continue;
    if (!isCommandAttempt(line)) break;
    lastCommandLine = i;
    if (line.length > MAX_COMMAND_LINE) {
      errors.push({ line: `${line.slice(0, 60)}…`, problem: 'Línea de comando demasiado larga.' });
      continue;
    }
    for (const segment of splitSegments(unwrapEmphasis(line))) {
      const res = parseSegment(segment, ctx);
      if ('problem' in res) errors.push({ line: segment, problem: res.problem });
      else found.push({ command: res, segment });
    }
    if (errors.length >= MAX_ERRORS) break;
  }

  const commands = combine(found, errors, ctx.target ?? 'ticket');
  const publicText = lines
    .slice(lastCommandLine + 1)
    .join('\n')
    .trim();
  return { commands, errors: errors.slice(0, MAX_ERRORS), publicText };
}

/**
 * Invisible characters that mail clients and phones leave around words (zero-width spaces
 * from Outlook's HTML, soft hyphens, direction marks, BOM). NFKC folds the full-width `＃` of
 * Asian keyboards and no-break spaces; typographic dashes become `-` so `2026‑12‑01` parses.
 */
function cleanLine(raw: string): string {
  return raw
    .normalize('NFKC')
    .replace(/[\u200b-\u200f\u2060\ufeff\u00ad]/g, '')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .trim();
}

/** `#` + a letter (or spaces then a letter); `#4821` is a ticket number in prose. */
function isCommandAttempt(line: string): boolean {
  return /^\*{0,2}#(?![\s\d]*$)(?!\s*\d)/u.test(line);
}

/** Outlook's text/plain alternative renders bold as `*#nota*`. */
function unwrapEmphasis(line: string): string {
  const m = /^\*{1,2}(#[^*]*)\*{1,2}$/.exec(line);
  return m?.[1]?.trim() ?? line.replace(/^\*{1,2}/, '');
}

function splitSegments(line: string): string[] {
  return line.split(/\s+(?=#\s*\p{L})/u).filter((s) => s !== '');
}

type SegmentResult = AgentCommand | { problem: string };

function parseSegment(segment: string, ctx: AgentReplyContext): SegmentResult {
  const m = /^#\s*([\p{L}\p{M}]+)(.*)$/su.exec(segment);
  if (m === null) return { problem: 'Después de «#» debe ir el nombre de un comando.' };
  const word = normalizeForMatching(m[1] ?? '');
  // "#severidad: 2", "#etr = 4h": a separator after the word is harmless.
  const value = (m[2] ?? '').trim().replace(/^[:=]\s*/, '').replace(/\s+/g, ' ');
  const kind = WORDS[word];
  if (kind === undefined) return { problem: unknownProblem(word) };

  switch (kind) {
    case 'note':
    case 'pending':
    case 'resolved':
    case 'close':
    case 'reopen':
      if (value !== '' && !/^[.:;,!]+$/.test(value)) {
        return {
          problem: `#${SPANISH_WORD[kind]} no lleva valor; escriba el texto en una línea aparte, debajo de los comandos.`,
        };
      }
      return simpleCommand(kind);
    case 'severity':
      return parseSeverity(value);
    case 'escalate':
      return parseEscalate(value);
    case 'assign':
      return parseAssign(value);
    case 'etr':
      return parseEtr(value, ctx);
    case 'category':
      return parseCategory(value, ctx);
    case 'organisation':
      return parseOrganisation(value, ctx);
    case 'major_incident':
      return parseMajorIncident(value, ctx);
    case 'link':
    case 'unlink':
      return parseLink(kind, value, ctx);
    case 'title':
      if (ctx.target !== 'incident') return { problem: '#titulo solo se usa en el aviso de un incidente mayor.' };
      if (value === '') return { problem: 'Falta el título: #titulo Portal de facturación sin servicio.' };
      if (value.length > 120) return { problem: 'El título es demasiado largo (máximo 120 caracteres).' };
      return { kind: 'title', title: value };
  }
}

function parseMajorIncident(value: string, ctx: AgentReplyContext): SegmentResult {
  if (ctx.target === 'incident') return { problem: 'Este aviso ya es de un incidente mayor.' };
  const v = normalizeForMatching(value).replace(/[.:;,!]+$/, '');
  if (v !== '' && v !== 'mayor' && v !== 'major' && v !== 'incident') return { problem: '#incidente mayor no lleva otro valor; escriba el texto en una línea aparte.' };
  return { kind: 'major_incident' };
}

/** `#vincular INC-0001`, `#vincular MDA-123, MDA-456`: the keys, normalised. */
function parseLink(kind: 'link' | 'unlink', value: string, ctx: AgentReplyContext): SegmentResult {
  const word = SPANISH_WORD[kind];
  const prefix = (ctx.ticketPrefix ?? 'MDA').toUpperCase();
  const parts = value.split(/[\s,;]+/).map((p) => p.replace(/^\[|\]$/g, '').replace(/[.:;,!]+$/, '')).filter((p) => p !== '');
  const keys: string[] = [];
  for (const part of parts) {
    const m = /^([a-z]+)-?(\d{1,12})$/i.exec(part);
    const letters = m?.[1]?.toUpperCase();
    const n = Number(m?.[2]);
    if (letters === 'INC') keys.push(`INC-${String(n).padStart(4, '0')}`);
    else if (letters === prefix) keys.push(`${prefix}-${String(n).padStart(6, '0')}`);
    else return { problem: `«${part}» no es un ticket (${prefix}-000123) ni un incidente (INC-0001).` };
  }
  const unique = [...new Set(keys)];
  if (ctx.target === 'incident') {
    if (unique.length === 0) return { problem: `Falta qué tickets: #${word} ${prefix}-000123 …` };
    if (unique.some((k) => k.startsWith('INC-'))) return { problem: `En el aviso de un incidente, #${word} lleva tickets (${prefix}-000123), no incidentes.` };
    return { kind, keys: unique };
  }
  if (kind === 'unlink') {
    if (unique.length > 0) return { problem: '#desvincular, en un ticket, no lleva valor: saca este ticket de su incidente.' };
    return { kind, keys: [] };
  }
  if (unique.length !== 1) return { problem: `#vincular lleva un incidente (INC-0001) o un ticket que ya esté en uno (${prefix}-000123).` };
  return { kind, keys: unique };
}

function parseCategory(value: string, ctx: AgentReplyContext): SegmentResult {
  const v = normalizeForMatching(value);
  if (v === '') return { problem: 'Falta la categoría: #categoria NOMBRE.' };
  const known = ctx.categories ?? [];
  const found = known.find((c) => normalizeForMatching(c) === v);
  if (found !== undefined) return { kind: 'category', category: found };
  return { problem: `«${value}» no es una categoría conocida${known.length > 0 ? ` (hay: ${[...known].sort().join(', ')})` : ''}.` };
}

function parseOrganisation(value: string, ctx: AgentReplyContext): SegmentResult {
  const v = normalizeForMatching(value);
  if (v === '') return { problem: 'Falta la organización: #organizacion NOMBRE (o #organizacion ninguna).' };
  if (v === 'ninguna' || v === 'none') return { kind: 'organisation', organisation: null };
  const known = ctx.organisations ?? [];
  const found = known.find((o) => normalizeForMatching(o.id) === v || normalizeForMatching(o.name) === v);
  if (found !== undefined) return { kind: 'organisation', organisation: found.id };
  return { problem: `«${value}» no es una organización configurada${known.length > 0 ? ` (hay: ${known.map((o) => o.name).join(', ')})` : ''}.` };
}

function simpleCommand(kind: 'note' | 'pending' | 'resolved' | 'close' | 'reopen'): AgentCommand {
  switch (kind) {
    case 'note':
      return { kind: 'note' };
    case 'pending':
      return { kind: 'pending' };
    case 'resolved':
      return { kind: 'resolved' };
    case 'close':
      return { kind: 'close' };
    case 'reopen':
      return { kind: 'reopen' };
  }
}

function unknownProblem(word: string): string {
  const shown = word === '' ? '#' : `#${word}`;
  const guess = closestCommand(word);
  const hint = guess === null ? '' : ` ¿Quiso decir #${guess}?`;
  return `«${shown}» no es un comando de Mesa.${hint}`;
}

/** A prefix (`#pend`) or a small typo (`#resulto`, `#severiad`). */
function closestCommand(word: string): string | null {
  if (word.length < 2) return null;
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of Object.keys(WORDS)) {
    if (word.length >= 3 && candidate.startsWith(word)) return candidate;
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 40) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 99;
}

function parseSeverity(value: string): SegmentResult {
  const v = normalizeForMatching(value);
  if (v === '') return { problem: 'Falta el número: #severidad 1, 2, 3 o 4.' };
  const m = /^(?:s|sev)?\s*(\d{1,3})\.?$/.exec(v);
  const n = m === null ? NaN : Number(m[1]);
  if (n === 1 || n === 2 || n === 3 || n === 4) return { kind: 'severity', severity: n };
  return { problem: `«${value}» no es una severidad: debe ser 1, 2, 3 o 4.` };
}

function parseEscalate(value: string): SegmentResult {
  const v = normalizeForMatching(value);
  if (v === '' || v === '.') return { kind: 'escalate', level: null };
  const m = /^(?:(?:a|al|to)\s+)?(?:(?:nivel|level|n|l)\s*)?(\d{1,3})\.?$/.exec(v);
  const n = m === null ? NaN : Number(m[1]);
  if (n === 2 || n === 3) return { kind: 'escalate', level: n };
  return { problem: `«${value}» no es un nivel: use #escalar 2, #escalar 3 o #escalar sin número para subir un nivel.` };
}

function parseAssign(value: string): SegmentResult {
  // "#asignar a Juan Pérez", "#assign to @jperez": the name is what follows.
  const who = value.replace(/^(?:a|to)\s+/i, '').replace(/^@/, '').trim();
  if (who === '') return { problem: 'Falta a quién: #asignar NOMBRE.' };
  if (who.length > 100) return { problem: 'El nombre es demasiado largo.' };
  return { kind: 'assign', who };
}

/** Dedupe identical commands, reject contradicting ones; errors are appended to `errors`. */
function combine(found: Array<{ command: AgentCommand; segment: string }>, errors: AgentCommandError[], target: 'ticket' | 'incident'): AgentCommand[] {
  const out: AgentCommand[] = [];
  let state: AgentCommand | null = null;
  let link: AgentCommand | null = null;
  for (const { command, segment } of found) {
    if (target === 'incident' && !INCIDENT_KINDS.has(command.kind)) {
      errors.push({ line: segment, problem: `#${SPANISH_WORD[command.kind]} no se aplica a un incidente mayor; respóndalo en el aviso del ticket.` });
      continue;
    }
    if (target === 'ticket' && LINK_KINDS.has(command.kind)) {
      if (link !== null && link.kind !== command.kind) {
        errors.push({ line: segment, problem: `#${SPANISH_WORD[link.kind]} y #${SPANISH_WORD[command.kind]} no pueden ir en la misma respuesta.` });
        continue;
      }
      link = command;
    }
    const same = out.find((c) => c.kind === command.kind);
    if (same !== undefined) {
      if (!sameCommand(same, command)) {
        errors.push({ line: segment, problem: `#${SPANISH_WORD[command.kind]} aparece dos veces con valores distintos.` });
      }
      continue;
    }
    if (STATE_KINDS.has(command.kind)) {
      if (state !== null) {
        errors.push({
          line: segment,
          problem: `#${SPANISH_WORD[state.kind]} y #${SPANISH_WORD[command.kind]} no pueden ir en la misma respuesta: elija un solo cambio de estado.`,
        });
        continue;
      }
      state = command;
    }
    out.push(command);
  }
  return out;
}

function sameCommand(a: AgentCommand, b: AgentCommand): boolean {
  if (a.kind === 'etr' && b.kind === 'etr') return a.at.getTime() === b.at.getTime();
  if (a.kind === 'assign' && b.kind === 'assign') return normalizeForMatching(a.who) === normalizeForMatching(b.who);
  if ((a.kind === 'link' && b.kind === 'link') || (a.kind === 'unlink' && b.kind === 'unlink')) return a.keys.join() === b.keys.join();
  return JSON.stringify(a) === JSON.stringify(b);
}

// ---------------------------------------------------------------------------------------------
// #etr

const ETR_EXAMPLES = 'p. ej. #etr 4h, #etr mañana 10:00 o #etr 01/12/2026 14:00';

/** Parses the value of `#etr` into an instant (exported for other places that take an ETR). */
export function parseEtr(value: string, ctx: AgentReplyContext): { kind: 'etr'; at: Date; text: string } | { problem: string } {
  const text = cleanLine(value).replace(/\s+/g, ' ');
  if (text === '') return { problem: `Falta el valor: ${ETR_EXAMPLES}.` };
  if (!(ctx.now instanceof Date) || Number.isNaN(ctx.now.getTime())) {
    return { problem: 'No hay una hora de referencia válida para calcular el ETR.' };
  }
  const v = normalizeForMatching(text);
  const duration = parseEtrDuration(v, ctx);
  const res = duration ?? parseWallClock(v, ctx);
  if ('problem' in res) return res;
  const ahead = res.at.getTime() - ctx.now.getTime();
  if (ahead <= 0) return { problem: `«${text}» ya pasó: el ETR debe ser una hora futura.` };
  if (ahead > MAX_AHEAD_MS) return { problem: `«${text}» está a más de un año: revise la fecha.` };
  return { kind: 'etr', at: res.at, text };
}

type Unit = 'minute' | 'hour' | 'day' | 'businessDay' | 'businessHour';

/** Longest spellings first so that `hrs` is not read as `h` + garbage. Folded (no accents). */
const UNIT_PATTERN =
  'dias? habiles?|horas? habiles?|business days?|business hours?|minutos?|minutes?|mins?|horas?|hours?|hrs?|dias?|days?|bd|dh|bh|hh|m|h|d';
const DURATION_RE = new RegExp(`^(?:\\d{1,4}(?:[.,]\\d{1,2})?\\s*(?:${UNIT_PATTERN})(?![a-z])\\s*)+\\.?$`);
const DURATION_PART_RE = new RegExp(`(\\d{1,4}(?:[.,]\\d{1,2})?)\\s*(${UNIT_PATTERN})(?![a-z])`, 'g');

function unitOf(word: string): Unit {
  if (/^(?:bd|dh)$|^dias? habiles?$|^business days?$/.test(word)) return 'businessDay';
  if (/^(?:bh|hh)$|^horas? habiles?$|^business hours?$/.test(word)) return 'businessHour';
  if (/^(?:d|dias?|days?)$/.test(word)) return 'day';
  if (/^(?:h|hrs?|horas?|hours?)$/.test(word)) return 'hour';
  return 'minute';
}

/**
 * `4h`, `90m`, `1h30m`, `1,5 horas`, `2d`, `3 días hábiles`. Calendar units add real time to
 * `now`; business units go through the ticket's clock, so `3dh` on a Friday evening lands on
 * Wednesday evening, not Monday. A bare number without a unit (`#etr 14`) is not a duration:
 * it could be a time of day, and the agent is asked to say which.
 * Returns null when the value is not shaped like a duration at all.
 */
function parseEtrDuration(v: string, ctx: AgentReplyContext): { at: Date } | { problem: string } | null {
  if (v.length > 60 || !DURATION_RE.test(v)) return null;
  let calendarMinutes = 0;
  let businessMinutes = 0;
  for (const m of v.matchAll(DURATION_PART_RE)) {
    const n = Number((m[1] ?? '').replace(',', '.'));
    const unit = unitOf(m[2] ?? '');
    if (unit === 'businessDay') businessMinutes += n * BUSINESS_DAY_MINUTES;
    else if (unit === 'businessHour') businessMinutes += n * 60;
    else calendarMinutes += n * (unit === 'day' ? 1440 : unit === 'hour' ? 60 : 1);
  }
  if (calendarMinutes > 0 && businessMinutes > 0) {
    return { problem: 'No combine tiempo hábil con tiempo natural en un mismo #etr: use solo uno.' };
  }
  if (calendarMinutes + businessMinutes <= 0) return { problem: 'La duración debe ser mayor que cero.' };
  if (calendarMinutes > 0) return { at: new Date(ctx.now.getTime() + Math.round(calendarMinutes * MINUTE_MS)) };
  if (businessMinutes * MINUTE_MS > MAX_AHEAD_MS) return { problem: 'La duración es de más de un año: revise el valor.' };
  if (ctx.addBusinessMinutes === undefined) {
    return { problem: 'Este ticket no tiene calendario hábil para contar días u horas hábiles: use 4h, 2d o una fecha.' };
  }
  try {
    const at = ctx.addBusinessMinutes(ctx.now, businessMinutes);
    if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new RangeError('invalid date');
    return { at };
  } catch {
    return { problem: 'No se pudo calcular el tiempo hábil; use 4h, 2d o una fecha.' };
  }
}

const WEEKDAY_NUMBERS: Readonly<Record<string, number>> = {
  lunes: 1, martes: 2, miercoles: 3, jueves: 4, viernes: 5, sabado: 6, domingo: 7,
  monday: 1, tuesday: 2, wednesday: 3, thursday: 4, friday: 5, saturday: 6, sunday: 7,
  lun: 1, mar: 2, mie: 3, jue: 4, vie: 5, sab: 6, dom: 7,
  mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7,
};
const WEEKDAY_NAMES = ['lunes', 'martes', 'miércoles', 'jueves', 'viernes', 'sábado', 'domingo'];

const MONTH_NUMBERS: Readonly<Record<string, number>> = {
  enero: 1, ene: 1, january: 1, jan: 1,
  febrero: 2, feb: 2, february: 2,
  marzo: 3, march: 3, mar: 3,
  abril: 4, abr: 4, april: 4, apr: 4,
  mayo: 5, may: 5,
  junio: 6, jun: 6, june: 6,
  julio: 7, jul: 7, july: 7,
  agosto: 8, ago: 8, august: 8, aug: 8,
  septiembre: 9, setiembre: 9, september: 9, sept: 9, sep: 9,
  octubre: 10, october: 10, oct: 10,
  noviembre: 11, november: 11, nov: 11,
  diciembre: 12, december: 12, dic: 12, dec: 12,
};
const byLengthDesc = (a: string, b: string): number => b.length - a.length;
const WEEKDAY_ALT = Object.keys(WEEKDAY_NUMBERS).sort(byLengthDesc).join('|');
const MONTH_ALT = Object.keys(MONTH_NUMBERS).sort(byLengthDesc).join('|');

const WEEKDAY_RE = new RegExp(`^(?:(?:el|este|proximo|el proximo|this|next|on)\\s+)?(${WEEKDAY_ALT})\\.?(?:\\s+|$)`);
const RELATIVE_DAY_RE = /^(pasado manana|manana|hoy|ayer|today|tomorrow|yesterday)(?:\s+|$)/;
const ISO_DATE_RE = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:\s+|t(?=\d)|$)/;
const DMY_RE = /^(\d{1,2})[-/.](\d{1,2})(?:[-/.](\d{4}|\d{2}))?(?:\s+|$)/;
const DAY_MONTH_RE = new RegExp(`^(\\d{1,2})\\s+(?:de\\s+)?(${MONTH_ALT})\\.?(?:\\s+(?:(?:de|del)\\s+)?(\\d{4}))?(?:\\s+|$)`);
const MONTH_DAY_RE = new RegExp(`^(${MONTH_ALT})\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?(?:\\s+(\\d{4}))?(?:\\s+|$)`);
const CONNECTOR_RE = /^(?:a las|a la|alas|at|@|-)(?:\s+|$)/;
const TIME_RE = /^(?:(\d{1,2})(?:[:.](\d{2}))?(?::\d{2})?\s*(a\.?\s?m|p\.?\s?m|hrs?|horas|h)?\.?|(mediodia|medio dia|noon))$/;
/** Mesa's own messages say "(hora del centro)"; an agent pasting that means Mexico City. */
const ZONE_SUFFIX_RE = /\s*\(?\s*(?:hora del centro|hora centro|tiempo del centro|hora de (?:la )?ciudad de mexico|cdmx|central mexico time|mexico city time)\s*\)?\.?$/;

interface WallClockParts {
  relativeDays: number | null;
  year: number | null;
  /** True when the year was omitted and may roll over to the next one. */
  yearFree: boolean;
  month: number | null;
  day: number | null;
  weekday: number | null;
  hour: number | null;
  minute: number;
}

/** Dates and times read on the wall clock of `ctx.timeZone` (day-first, Mexican style). */
function parseWallClock(v: string, ctx: AgentReplyContext): { at: Date } | { problem: string } {
  let zone = IANAZone.isValidZone(ctx.timeZone) ? ctx.timeZone : DEFAULT_ZONE;
  let s = v;
  if (ZONE_SUFFIX_RE.test(s)) {
    zone = DEFAULT_ZONE;
    s = s.replace(ZONE_SUFFIX_RE, '');
  }
  s = s.replace(/,/g, ' ').replace(/\s+/g, ' ').trim();
  if (s.length > 80) return { problem: `No entiendo ese #etr; ${ETR_EXAMPLES}.` };

  const parts: WallClockParts = { relativeDays: null, year: null, yearFree: false, month: null, day: null, weekday: null, hour: null, minute: 0 };
  let m: RegExpExecArray | null;

  if ((m = WEEKDAY_RE.exec(s)) !== null) {
    parts.weekday = WEEKDAY_NUMBERS[m[1] ?? ''] ?? null;
    s = s.slice(m[0].length);
  }
  if ((m = RELATIVE_DAY_RE.exec(s)) !== null) {
    const w = m[1] ?? '';
    parts.relativeDays = w === 'pasado manana' ? 2 : w === 'manana' || w === 'tomorrow' ? 1 : w === 'ayer' || w === 'yesterday' ? -1 : 0;
    s = s.slice(m[0].length);
  } else if ((m = ISO_DATE_RE.exec(s)) !== null) {
    parts.year = Number(m[1]);
    parts.month = Number(m[2]);
    parts.day = Number(m[3]);
    s = s.slice(m[0].length);
  } else if ((m = DMY_RE.exec(s)) !== null) {
    parts.day = Number(m[1]);
    parts.month = Number(m[2]);
    if (m[3] === undefined) parts.yearFree = true;
    else parts.year = m[3].length === 2 ? 2000 + Number(m[3]) : Number(m[3]);
    s = s.slice(m[0].length);
  } else if ((m = DAY_MONTH_RE.exec(s)) !== null) {
    parts.day = Number(m[1]);
    parts.month = MONTH_NUMBERS[m[2] ?? ''] ?? null;
    if (m[3] === undefined) parts.yearFree = true;
    else parts.year = Number(m[3]);
    s = s.slice(m[0].length);
  } else if ((m = MONTH_DAY_RE.exec(s)) !== null) {
    parts.month = MONTH_NUMBERS[m[1] ?? ''] ?? null;
    parts.day = Number(m[2]);
    if (m[3] === undefined) parts.yearFree = true;
    else parts.year = Number(m[3]);
    s = s.slice(m[0].length);
  }
  const hasDate = parts.relativeDays !== null || parts.month !== null;
  if (parts.relativeDays !== null && parts.relativeDays < 0) {
    return { problem: 'Esa fecha ya pasó: el ETR debe ser una hora futura.' };
  }

  if ((m = CONNECTOR_RE.exec(s)) !== null && (hasDate || parts.weekday !== null)) s = s.slice(m[0].length);
  if (s === '') {
    if (hasDate || parts.weekday !== null) return { problem: 'Falta la hora: p. ej. #etr mañana 10:00.' };
    return { problem: `No entiendo ese #etr; ${ETR_EXAMPLES}.` };
  }
  const t = TIME_RE.exec(s);
  if (t === null) return { problem: `No entiendo «${s}» en el #etr; ${ETR_EXAMPLES}.` };
  if (t[4] !== undefined) {
    parts.hour = 12;
  } else {
    let hour = Number(t[1]);
    const minute = t[2] === undefined ? 0 : Number(t[2]);
    const suffix = (t[3] ?? '').replace(/[.\s]/g, '');
    if (suffix === 'am' || suffix === 'pm') {
      if (hour < 1 || hour > 12) return { problem: `«${s}» no es una hora válida.` };
      hour = (hour % 12) + (suffix === 'pm' ? 12 : 0);
    } else if (t[2] === undefined && suffix === '' && !hasDate && parts.weekday === null) {
      // "#etr 14": fourteen hours, or two in the afternoon? Ask instead of guessing.
      return { problem: `«${s}» es ambiguo: escriba ${s}h para una duración o ${s}:00 para una hora.` };
    }
    if (hour > 23 || minute > 59) return { problem: `«${s}» no es una hora válida.` };
    parts.hour = hour;
    parts.minute = minute;
  }
  return resolveWallClock(parts, ctx.now, zone);
}

function resolveWallClock(p: WallClockParts, now: Date, zone: string): { at: Date } | { problem: string } {
  const hour = p.hour ?? 0;
  const minute = p.minute;
  const today = DateTime.fromJSDate(now, { zone }).startOf('day');
  if (!today.isValid) return { problem: 'No se pudo leer la fecha de hoy en la zona horaria del ticket.' };
  const at = (d: DateTime): DateTime => DateTime.fromObject({ year: d.year, month: d.month, day: d.day, hour, minute }, { zone });

  let dt: DateTime;
  if (p.relativeDays !== null) {
    dt = at(today.plus({ days: p.relativeDays }));
  } else if (p.month !== null && p.day !== null) {
    const year = p.year ?? today.year;
    dt = DateTime.fromObject({ year, month: p.month, day: p.day, hour, minute }, { zone });
    if (!dt.isValid) return { problem: `${p.day}/${p.month}${p.year === null ? '' : `/${p.year}`} no es una fecha válida.` };
    // "1/12 14:00" means this year, or next year for a date already gone (written in late
    // December about early January). Only dates before today roll; a time already gone today
    // is a mistake, not next year.
    if (p.yearFree && dt.startOf('day') < today) {
      const next = DateTime.fromObject({ year: year + 1, month: p.month, day: p.day, hour, minute }, { zone });
      if (next.isValid && next.toMillis() - now.getTime() <= ROLLOVER_MAX_MS) dt = next;
    }
  } else if (p.weekday !== null) {
    // "viernes 12:00": the nearest such day whose time is still ahead, today included.
    let found: DateTime | null = null;
    for (let d = 0; d <= 7 && found === null; d++) {
      const day = today.plus({ days: d });
      const candidate = at(day);
      if (day.weekday === p.weekday && candidate.isValid && candidate.toMillis() > now.getTime()) found = candidate;
    }
    if (found === null) return { problem: 'No se pudo calcular ese día de la semana.' };
    dt = found;
  } else {
    dt = at(today);
  }

  if (!dt.isValid) return { problem: 'No es una fecha válida.' };
  // A wall-clock time skipped by a daylight-saving jump does not exist; luxon would move it.
  if (dt.hour !== hour || dt.minute !== minute) {
    return { problem: `Las ${pad(hour)}:${pad(minute)} no existen ese día por el cambio de horario.` };
  }
  if (p.weekday !== null && dt.weekday !== p.weekday) {
    return {
      problem: `El ${dt.day}/${dt.month}/${dt.year} es ${WEEKDAY_NAMES[dt.weekday - 1] ?? ''}, no ${WEEKDAY_NAMES[p.weekday - 1] ?? ''}: revise la fecha.`,
    };
  }
  return { at: dt.toJSDate() };
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
