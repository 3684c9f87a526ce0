import type { Severity } from './policy.ts';
import { normalizeForMatching } from './text-normalize.ts';

/**
 * Major incidents (issue 13), the pure part: when do new tickets report one and the same
 * outage, and does a new report belong to an incident already open. No I/O: the desk passes
 * the recent reports and the open incidents, and records what this returns with its reason.
 *
 * A report is reduced to its *significant words*: the visible text normalised like
 * classification does (lower case, no accents), split into words of four letters or more,
 * without the Spanish filler of support mail ("hola", "favor", "gracias", "desde"…), plurals
 * folded ("errores" → "error"). Two reports are alike when they share at least
 * `minSharedWords` of them. A burst is `minTickets` alike reports — the new one and those
 * before it — of the same category, of a severity the policy names, within `windowMinutes`.
 * Reports of an organisation whose contract keeps its messages apart (`isolated`) only group
 * with reports of that same organisation.
 */

export interface IncidentPolicy {
  windowMinutes: number;
  minTickets: number;
  severities: readonly Severity[];
  minSharedWords: number;
}

export interface Report {
  ticketId: number;
  /** Epoch milliseconds of the contact. */
  at: number;
  category: string;
  severity: Severity;
  organisation: string | null;
  /** The organisation's contract forbids messages shared with other customers. */
  isolated: boolean;
  words: readonly string[];
}

export interface OpenIncident {
  id: number;
  category: string;
  /** The words that define it (from the burst that opened it, or the agent's declaration). */
  signature: readonly string[];
  /** Set when the incident may only gather one organisation's reports. */
  organisation: string | null;
}

export interface Burst {
  /** The new report first, then the earlier ones, oldest first. */
  reports: Report[];
  signature: string[];
  reason: string;
}

export type IncidentMatch = { incident: OpenIncident; shared: string[]; reason: string } | { incident: null; reason: string };

const MIN_WORD_LENGTH = 4;
const SIGNATURE_WORDS = 8;

/** Words that say nothing about what failed (after normalisation, four letters or more). */
const FILLER = new Set([
  'hola', 'buen', 'buenos', 'buenas', 'dias', 'tardes', 'noches', 'favor', 'gracias', 'saludos', 'atentamente', 'cordial', 'quedo', 'pendiente',
  'para', 'pero', 'como', 'esta', 'este', 'esto', 'estos', 'estas', 'estan', 'estamos', 'tengo', 'tenemos', 'tiene', 'tienen', 'desde', 'hace', 'hasta',
  'cuando', 'donde', 'porque', 'pues', 'sigue', 'siguen', 'ahora', 'tambien', 'solo', 'otra', 'otro', 'otros', 'mismo', 'misma', 'nada', 'todo', 'todos',
  'todas', 'algo', 'alguien', 'puedo', 'puede', 'pueden', 'podemos', 'usted', 'ustedes', 'nosotros', 'ellos', 'ayer', 'manana', 'minutos', 'horas',
  'ayuda', 'apoyo', 'urgente', 'problema', 'sobre', 'entre', 'antes', 'despues', 'mientras', 'cual', 'cuales', 'aqui', 'alla', 'muchas',
  'mucho', 'poco', 'cada', 'veces', 'dice', 'marca', 'hacer', 'estoy', 'somos', 'nuestro', 'nuestra', 'nuestros', 'nuestras', 'suyo',
  'that', 'this', 'with', 'from', 'have', 'please', 'thanks', 'hello',
]);

/** The report's significant words, each once, in order of first appearance. */
export function significantWords(text: string): string[] {
  const out = new Set<string>();
  for (const raw of normalizeForMatching(text).split(/[^\p{L}\p{N}]+/u)) {
    if (raw.length < MIN_WORD_LENGTH || /^\d+$/.test(raw) || FILLER.has(raw)) continue;
    out.add(foldPlural(raw));
  }
  return [...out];
}

/** "errores" → "error", "paginas" → "pagina": enough to match the same word in the plural. */
function foldPlural(w: string): string {
  if (w.length > 5 && w.endsWith('es') && !/[aeiou]es$/.test(w)) return w.slice(0, -2);
  if (w.length > 4 && w.endsWith('s')) return w.slice(0, -1);
  return w;
}

function shared(a: readonly string[], b: readonly string[]): string[] {
  const set = new Set(b);
  return a.filter((w) => set.has(w));
}

/** Whether two reports may be told the same thing (an isolated organisation only among its own). */
function mayShare(a: Pick<Report, 'organisation' | 'isolated'>, b: Pick<Report, 'organisation' | 'isolated'>): boolean {
  return !(a.isolated || b.isolated) || a.organisation === b.organisation;
}

/**
 * Whether the new report, with the recent ones not linked to any incident, makes a burst; null
 * when it does not. The reports considered are the new one's neighbours only (alike with it),
 * so unrelated tickets arriving in the same minutes never join.
 */
export function detectBurst(report: Report, recent: readonly Report[], now: number, policy: IncidentPolicy): Burst | null {
  const alike = alikeReports(report, recent, now, policy);
  if (alike.length + 1 < policy.minTickets) return null;
  const reports = [report, ...alike];
  const signature = signatureOf(reports);
  return {
    reports, signature,
    reason: `${reports.length} reportes de ${report.category} en ${policy.windowMinutes} min comparten ${quoteWords(signature)}`,
  };
}

/**
 * The recent reports, not linked to any incident, alike with the new one (same category,
 * severities considered, within the window, allowed to share messages, enough words in
 * common), oldest first: a burst once they and it reach `minTickets`.
 */
export function alikeReports(report: Report, recent: readonly Report[], now: number, policy: IncidentPolicy): Report[] {
  if (!policy.severities.includes(report.severity)) return [];
  const since = now - policy.windowMinutes * 60_000;
  return recent
    .filter((r) => r.ticketId !== report.ticketId && r.at >= since && r.at <= now && r.category === report.category
      && policy.severities.includes(r.severity) && mayShare(r, report)
      && shared(report.words, r.words).length >= policy.minSharedWords)
    .sort((a, b) => a.at - b.at || a.ticketId - b.ticketId);
}

/** The words at least half the reports share, most common first (ties by first appearance). */
function signatureOf(reports: readonly Report[]): string[] {
  const counts = new Map<string, number>();
  for (const r of reports) for (const w of r.words) counts.set(w, (counts.get(w) ?? 0) + 1);
  const half = Math.ceil(reports.length / 2);
  return [...counts].filter(([, n]) => n >= half).sort((a, b) => b[1] - a[1]).slice(0, SIGNATURE_WORDS).map(([w]) => w);
}

/**
 * The open incident a new report belongs to — same category, at least `minSharedWords` of the
 * incident's signature, allowed to share its messages — the one it shares most words with; or
 * none, with why (what `mesa explain` shows).
 */
export function matchIncident(report: Pick<Report, 'category' | 'words' | 'organisation' | 'isolated'>, incidents: readonly OpenIncident[], policy: Pick<IncidentPolicy, 'minSharedWords'>): IncidentMatch {
  if (incidents.length === 0) return { incident: null, reason: 'no hay incidentes abiertos' };
  let best: { incident: OpenIncident; shared: string[] } | null = null;
  const misses: string[] = [];
  for (const i of incidents) {
    if (i.category !== report.category) { misses.push(`#${i.id}: otra categoría (${i.category})`); continue; }
    if (!mayShare(report, { organisation: i.organisation, isolated: i.organisation !== null })) { misses.push(`#${i.id}: de otra organización`); continue; }
    const common = shared(report.words, i.signature);
    if (common.length < policy.minSharedWords) { misses.push(`#${i.id}: comparte ${common.length} de ${policy.minSharedWords} palabras necesarias`); continue; }
    if (best === null || common.length > best.shared.length) best = { incident: i, shared: common };
  }
  if (best === null) return { incident: null, reason: `no coincide con ningún incidente abierto (${misses.join('; ')})` };
  return { ...best, reason: `incidente #${best.incident.id}: misma categoría y comparte ${quoteWords(best.shared)}` };
}

function quoteWords(words: readonly string[]): string {
  return words.map((w) => `«${w}»`).join(', ');
}
