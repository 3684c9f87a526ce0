import type { DeskPolicy, Level, Locale } from '../../domain/policy.ts';
import { formatInstant, formatSpan } from '../../domain/time-format.ts';
import { levelName, stateName } from '../../outbound/message-context.ts';
import type { TicketRow } from '../../domain/ticket.ts';

/**
 * What both web views of a ticket share, without I/O and with `now` as a parameter: state,
 * severity and level names, dates and spans come from the same functions the message templates'
 * context uses, so a page says exactly what the customer's emails say.
 */

/** The pages are Spanish (templates/es-MX/web). */
export const LOCALE: Locale = 'es-MX';

export const MINUTE_MS = 60_000;

export interface When { date: string; span: string }

export interface Names { stateName: string; severityName: string; levelName: string; etr: When }

export function names(policy: DeskPolicy, t: TicketRow, now: Date): Names {
  return {
    stateName: stateName(t.state, LOCALE),
    severityName: policy.severities[t.severity].name,
    levelName: levelName(policy, t.level, LOCALE),
    etr: when(policy, t.etr_at, now),
  };
}

export function when(policy: DeskPolicy, at: number, now: Date): When {
  return { date: formatInstant(new Date(at), now, policy.desk.timeZone, LOCALE), span: formatSpan(new Date(at), now, LOCALE) };
}

export function dateOf(policy: DeskPolicy, at: number, now: Date): string {
  return formatInstant(new Date(at), now, policy.desk.timeZone, LOCALE);
}

/** Every address of the desk's people (levels and responsables), lower-cased. */
export function staffAddresses(policy: DeskPolicy): Set<string> {
  return new Set(people(policy).map((p) => p.email.toLowerCase()));
}

export function people(policy: DeskPolicy): Array<{ name: string; email: string }> {
  return [...[1, 2, 3].flatMap((l) => policy.levels[l as Level].people), ...policy.responsables];
}

export function smsBody(payloadJson: string): string | null {
  try {
    const p = JSON.parse(payloadJson) as { body?: unknown };
    return typeof p.body === 'string' ? p.body : null;
  } catch {
    return null;
  }
}

export function parseList(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export function channelName(channel: string): string {
  return ({ email: 'correo', sms: 'SMS', phone: 'teléfono', web: 'portal' } as Record<string, string>)[channel] ?? channel;
}

/**
 * Defence in depth for texts the desk sent: the names and addresses of the desk's people (and
 * a ticket's assignee) are replaced, whichever template let them through.
 */
export function staffRedactor(policy: DeskPolicy, assignee: string | null = null): (text: string) => string {
  const pairs: Array<[RegExp, string]> = [];
  const add = (needle: string, by: string): void => {
    const s = needle.trim();
    if (s.length < 3) return;
    const escaped = s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
    pairs.push([new RegExp(`(?<![\\p{L}\\p{N}@._%+-])${escaped}(?![\\p{L}\\p{N}])`, 'giu'), by]);
  };
  // Addresses before names: "Ana Uno <ana@x>" loses both.
  for (const p of people(policy)) add(p.email, '[correo del equipo]');
  for (const p of people(policy)) add(p.name, 'el equipo de soporte');
  if (assignee) add(assignee, 'el equipo de soporte');
  return (text) => pairs.reduce((acc, [re, by]) => acc.replace(re, by), text);
}
