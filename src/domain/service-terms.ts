import type { BusinessHours, Level, Person, Severity, SeverityPolicy } from './policy.ts';

/**
 * The desk's "particular case" (DESIGN §5–6, §11): which organisation a customer belongs to,
 * the service-level contract that overrides the severity defaults for it, and the escalation
 * matrix that says whom each level notifies. Pure: the desk records the result on the ticket.
 */

export interface Organisation {
  id: string;
  name: string;
  /** How its contacts are recognised. Domains include their subdomains; phones are E.164, exact or a prefix ending in `*`. */
  match: { domains: string[]; addresses: string[]; phones: string[] };
  contract: Contract | null;
}

export interface Contract {
  /** Last day the contract applies (YYYY-MM-DD, the desk's time zone, inclusive); null: open-ended. */
  until: string | null;
  /** The customer's own business hours, for its severities on the business clock; null: the desk's. */
  calendar: BusinessHours | null;
  /** Which messages the customer receives and how; null: the desk's usual ones. */
  customer: CustomerMessaging | null;
  /** Per severity, what the contract changes of the desk's defaults. */
  severities: Partial<Record<Severity, Partial<SeverityTargets>>>;
  /**
   * false: the customer's reports never join a major incident with other organisations'
   * reports, and they never receive its shared messages (issue 13). Absent: true.
   */
  sharedMessages?: boolean;
}

export interface CustomerMessaging {
  /** The agreed single channel for every message to the customer; null: the one they wrote by. */
  channel: 'email' | 'sms' | null;
  /** false: never an SMS to the customer. */
  sms: boolean;
  /** Severities that get periodic updates; null: every severity that has a cadence. */
  updatesFor: Severity[] | null;
  /** 'HH:MM' in the contract's time zone: a daily digest instead of per-ticket updates; null: per ticket. */
  digestAt: string | null;
  /** Addresses copied on every email to the customer. */
  copy: string[];
}

/**
 * The channel a ticket's customer is written to under the terms, given the one they used: the
 * agreed channel when the contact can be reached by it (an email-only contact stays on email),
 * and never SMS where the contract forbids it.
 */
export function customerChannel(terms: Pick<ServiceTerms, 'messaging'>, used: 'email' | 'sms', contact: { email: string | null; phone: string | null }): 'email' | 'sms' {
  const m = terms.messaging;
  if (!m) return used;
  const reachable = m.channel === 'sms' ? contact.phone !== null : m.channel === 'email' ? contact.email !== null : false;
  const agreed = m.channel !== null && reachable ? m.channel : used;
  return agreed === 'sms' && !m.sms ? 'email' : agreed;
}

/** What a contract may set for a severity (the name stays the desk's). */
export type SeverityTargets = Omit<SeverityPolicy, 'id' | 'name'>;

export interface EscalationMatrix {
  id: string;
  /** Chosen for this organisation's tickets (null: any). */
  organisation: string | null;
  /** Chosen for tickets of this category (null: any). */
  category: string | null;
  /** The people each level notifies; a level left out (or empty) takes the fallback's. */
  levels: Partial<Record<Level, Person[]>>;
  /** Another matrix's id, or null for the default matrix (the levels' people). */
  fallback: string | null;
}

export interface Recognised { organisation: Organisation; by: string }

/**
 * The organisation of a contact, by its most specific match: an exact address or phone number
 * beats any domain or prefix; a longer domain (`tarjetas.bnorte.mx`) beats a shorter one
 * (`bnorte.mx`); a longer phone prefix beats a shorter one.
 */
export function recogniseOrganisation(contact: { email: string | null; phone: string | null }, organisations: readonly Organisation[]): Recognised | null {
  let best: { score: number; hit: Recognised } | null = null;
  const consider = (score: number, hit: Recognised): void => {
    if (best === null || score > best.score) best = { score, hit };
  };
  const email = contact.email?.toLowerCase() ?? null;
  const domain = email === null ? null : email.slice(email.lastIndexOf('@') + 1);
  for (const o of organisations) {
    if (email !== null && o.match.addresses.includes(email)) consider(10_000, { organisation: o, by: `dirección ${email}` });
    if (domain !== null) {
      for (const d of o.match.domains) {
        if (domain === d || domain.endsWith(`.${d}`)) consider(1_000 + d.split('.').length, { organisation: o, by: `dominio ${d}` });
      }
    }
    if (contact.phone !== null) {
      for (const p of o.match.phones) {
        if (p.endsWith('*')) {
          const prefix = p.slice(0, -1);
          if (contact.phone.startsWith(prefix)) consider(100 + prefix.length, { organisation: o, by: `teléfono ${p}` });
        } else if (contact.phone === p) {
          consider(10_000, { organisation: o, by: `teléfono ${p}` });
        }
      }
    }
  }
  return (best as { score: number; hit: Recognised } | null)?.hit ?? null;
}

/** Whether the contract applies on `now` (its last day counted in `timeZone`). */
export function contractInForce(contract: Contract, now: Date, timeZone: string): boolean {
  if (contract.until === null) return true;
  return localDate(now, timeZone) <= contract.until;
}

/** Each severity's targets: the desk's defaults with what the contract changes. */
export function effectiveSeverities(defaults: Record<Severity, SeverityPolicy>, contract: Contract | null): Record<Severity, SeverityPolicy> {
  const out = {} as Record<Severity, SeverityPolicy>;
  for (const s of [1, 2, 3, 4] as const) {
    const over = contract?.severities[s] ?? {};
    const m = contract?.customer ?? null;
    // Per-ticket updates stop where the contract sends a digest instead, or none for this severity.
    const noUpdates = m !== null && (m.digestAt !== null || (m.updatesFor !== null && !m.updatesFor.includes(s)));
    out[s] = {
      ...defaults[s],
      ...over,
      escalateAfterMinutes: { ...defaults[s].escalateAfterMinutes, ...over.escalateAfterMinutes },
      ...(noUpdates ? { customerUpdateMinutes: null } : {}),
    };
  }
  return out;
}

/**
 * The matrix for a ticket: organisation + category, then organisation, then category; null
 * means the default matrix (the levels' people).
 */
export function chooseMatrix(matrices: readonly EscalationMatrix[], organisationId: string | null, category: string): { matrix: EscalationMatrix; by: string } | null {
  const find = (org: string | null, cat: string | null) => matrices.find((m) => m.organisation === org && m.category === cat);
  if (organisationId !== null) {
    const both = find(organisationId, category);
    if (both) return { matrix: both, by: `organización y categoría ${category}` };
    const org = find(organisationId, null);
    if (org) return { matrix: org, by: 'organización' };
  }
  const cat = find(null, category);
  if (cat) return { matrix: cat, by: `categoría ${category}` };
  return null;
}

/**
 * The people a level notifies under a matrix: its own, or (when it leaves the level empty) its
 * fallback's, down the chain to the default matrix. A chain that loops ends at the default.
 */
export function matrixPeople(matrixId: string | null, level: Level, matrices: readonly EscalationMatrix[], defaults: Record<Level, { people: Person[] }>): { people: Person[]; from: string | null } {
  const seen = new Set<string>();
  let id = matrixId;
  while (id !== null && !seen.has(id)) {
    seen.add(id);
    const m = matrices.find((x) => x.id === id);
    if (!m) break;
    const people = m.levels[level] ?? [];
    if (people.length > 0) return { people, from: m.id };
    id = m.fallback;
  }
  return { people: defaults[level].people, from: null };
}

/** What applied to a ticket, recorded on it when it was opened (or re-evaluated). */
export interface ServiceTerms {
  organisation: { id: string; name: string; by: string } | null;
  /** The organisation's contract, when one was in force. */
  contract: { until: string | null } | null;
  matrix: { id: string; by: string } | null;
  /**
   * The business calendar the ticket's business clock runs on, when the contract has its own
   * (recorded whole, so that editing the contract later does not move open deadlines). Absent
   * or null: the desk's. (Terms recorded before calendars existed lack the key.)
   */
  calendar?: BusinessHours | null;
  /** The contract's customer messaging (channel, updates, digest, copies); absent or null: the usual. */
  messaging?: CustomerMessaging | null;
  /** The targets in force for each severity (a severity change keeps to the same terms). */
  severities: Record<Severity, SeverityPolicy>;
  /** For people: "organización Banco del Norte por dominio bnorte.mx; contrato …; matriz …". */
  reason: string;
}

/** The terms of a ticket that recorded none (opened before organisations existed): the desk's current defaults. */
export function generalTerms(defaults: Record<Severity, SeverityPolicy>): ServiceTerms {
  return { organisation: null, contract: null, matrix: null, severities: defaults, reason: 'niveles de servicio generales' };
}

/** A ticket's recorded terms (`tickets.terms_json`), or the general terms when it has none. */
export function recordedTerms(termsJson: string | null, defaults: Record<Severity, SeverityPolicy>): ServiceTerms {
  return termsJson === null ? generalTerms(defaults) : JSON.parse(termsJson) as ServiceTerms;
}

export function serviceTerms(input: {
  contact: { email: string | null; phone: string | null };
  category: string;
  now: Date;
  timeZone: string;
  organisations: readonly Organisation[];
  matrices: readonly EscalationMatrix[];
  defaults: Record<Severity, SeverityPolicy>;
  /** An agent's choice (`#organizacion`) instead of recognising the contact: an id, or null for none. */
  chosen?: { organisation: string | null; by: string };
}): ServiceTerms {
  const chosenOrg = input.chosen?.organisation == null ? null : input.organisations.find((o) => o.id === input.chosen?.organisation) ?? null;
  const found: Recognised | null = input.chosen ? (chosenOrg ? { organisation: chosenOrg, by: input.chosen.by } : null) : recogniseOrganisation(input.contact, input.organisations);
  const contract = found?.organisation.contract ?? null;
  const inForce = contract !== null && contractInForce(contract, input.now, input.timeZone);
  const chosen = chooseMatrix(input.matrices, found?.organisation.id ?? null, input.category);
  const parts: string[] = [];
  if (found) {
    parts.push(`organización ${found.organisation.name} por ${found.by}`);
    if (contract === null) parts.push('sin contrato: niveles de servicio generales');
    else if (inForce) {
      parts.push(contract.until ? `contrato vigente hasta ${contract.until}` : 'contrato vigente');
      if (contract.calendar) parts.push(`calendario del contrato (${contract.calendar.timeZone})`);
      if (contract.customer?.digestAt) parts.push(`resumen diario a las ${contract.customer.digestAt} en lugar de actualizaciones por ticket`);
    }
    else parts.push(`contrato vencido el ${contract.until}: niveles de servicio generales`);
  } else {
    parts.push(input.chosen ? `sin organización (${input.chosen.by}): niveles de servicio generales` : 'sin organización reconocida: niveles de servicio generales');
  }
  parts.push(chosen ? `matriz ${chosen.matrix.id} por ${chosen.by}` : 'matriz general');
  return {
    organisation: found ? { id: found.organisation.id, name: found.organisation.name, by: found.by } : null,
    contract: inForce && contract ? { until: contract.until } : null,
    matrix: chosen ? { id: chosen.matrix.id, by: chosen.by } : null,
    calendar: inForce && contract ? contract.calendar : null,
    messaging: inForce && contract ? contract.customer : null,
    severities: effectiveSeverities(input.defaults, inForce ? contract : null),
    reason: parts.join('; '),
  };
}


function localDate(at: Date, timeZone: string): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}
