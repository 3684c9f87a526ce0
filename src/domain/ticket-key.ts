/** Ticket keys: `MDA-000123` (prefix from config, at least six digits). */

export function formatTicketKey(prefix: string, id: number): string {
  return `${prefix}-${String(id).padStart(6, '0')}`;
}

export function parseTicketKey(prefix: string, key: string): number | null {
  const m = new RegExp(`^${prefix}-(\\d{6,})$`, 'i').exec(key.trim());
  const n = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(n) ? n : null;
}

/** Every `[MDA-000123]` tag in a subject, normalised to upper case, in order, without repeats. */
export function subjectTags(prefix: string, subject: string): string[] {
  const found = [...subject.matchAll(new RegExp(`\\[\\s*(${prefix}-\\d{6,})\\s*\\]`, 'gi'))].map((m) => (m[1] as string).toUpperCase());
  return [...new Set(found)];
}

/** Major incident keys: `INC-0042` (at least four digits). */
export function formatIncidentKey(id: number): string {
  return `INC-${String(id).padStart(4, '0')}`;
}

/** The incident's id in `INC-0042`; null for anything else (a ticket key among them). */
export function parseIncidentKey(key: string): number | null {
  const m = /^INC-(\d{4,})$/i.exec(key.trim());
  const n = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(n) ? n : null;
}

/** The key pattern an address tag may carry: a ticket's, or a major incident's (agents' notices about it). */
export function threadKeyPattern(prefix: string): string {
  return `${prefix}-\\d{6,}|INC-\\d{4,}`;
}
