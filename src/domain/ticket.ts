import type { Level, Severity, TicketType } from './policy.ts';
import type { ServiceTerms } from './service-terms.ts';

/**
 * The ticket model as the desk reasons about it. Rows keep the storage's column names (snake
 * case, times as epoch milliseconds) so both engines return them as they are, without mapping.
 */

export type TicketState = 'nuevo' | 'en_atencion' | 'esperando_cliente' | 'resuelto' | 'cerrado';

/** States of a ticket still in the desk's hands (not resolved, not closed). */
export const OPEN_STATES: readonly TicketState[] = ['nuevo', 'en_atencion', 'esperando_cliente'];

export function isOpenState(state: string): boolean {
  return (OPEN_STATES as readonly string[]).includes(state);
}

export interface TicketRow {
  id: number;
  key: string;
  channel: 'email' | 'phone' | 'web';
  mailbox: string | null;
  contact_id: number;
  subject: string;
  description: string;
  severity: Severity;
  type: TicketType;
  category: string;
  level: Level;
  state: TicketState;
  customer_channel: 'email' | 'sms';
  cc_json: string;
  classification_json: string;
  etr_at: number;
  first_response_due_at: number | null;
  next_escalation_due_at: number | null;
  next_update_due_at: number | null;
  resolution_due_at: number | null;
  reopened_from_id: number | null;
  resolved_at: number | null;
  created_at: number;
  updated_at: number;
  level_since: number;
  warning_due_at: number | null;
  first_responded_at: number | null;
  first_response_breached_at: number | null;
  resolution_breached_at: number | null;
  paused_at: number | null;
  paused_remaining_json: string | null;
  paused_minutes: number;
  last_customer_update_at: number | null;
  resolution_business_minutes: number | null;
  assignee: string | null;
  next_action_at: number | null;
  /** The customer's organisation (its id in config), when one was recognised. */
  organisation: string | null;
  /** The `ServiceTerms` that applied, as JSON; null for tickets from before organisations existed (the defaults apply). */
  terms_json: string | null;
  /** The major incident the ticket is linked to (issue 13); null: handled on its own. */
  incident_id: number | null;
  /** The report's significant words (JSON array), for incident detection; null before it existed. */
  report_words: string | null;
}

/** Columns the desk may change after creation (everything but identity and origin). */
export const UPDATABLE_TICKET_COLUMNS = ['subject', 'severity', 'type', 'category', 'level', 'state', 'customer_channel', 'etr_at', 'level_since',
  'warning_due_at', 'first_response_due_at', 'next_escalation_due_at', 'next_update_due_at', 'resolution_due_at',
  'first_responded_at', 'first_response_breached_at', 'resolution_breached_at', 'paused_at', 'paused_remaining_json',
  'paused_minutes', 'last_customer_update_at', 'resolved_at', 'resolution_business_minutes', 'assignee', 'next_action_at', 'organisation', 'terms_json', 'incident_id'] as const;

export type TicketUpdate = Partial<Pick<TicketRow, typeof UPDATABLE_TICKET_COLUMNS[number]>>;

export interface NewTicket {
  channel: TicketRow['channel'];
  mailbox: string | null;
  contactId: number;
  subject: string;
  description: string;
  severity: Severity;
  type: TicketType;
  category: string;
  level: Level;
  customerChannel: TicketRow['customer_channel'];
  cc: string[];
  classification: unknown;
  organisation: string | null;
  terms: ServiceTerms | null;
  etrAt: number;
  warningDueAt: number | null;
  firstResponseDueAt: number | null;
  nextEscalationDueAt: number | null;
  nextUpdateDueAt: number | null;
  resolutionDueAt: number | null;
  nextActionAt: number | null;
  reopenedFromId: number | null;
  /** The report's significant words (incident detection); absent: none recorded. */
  reportWords?: readonly string[] | null;
}

/** A customer the desk has no contact for yet, created with their first ticket. */
export interface NewContact { email: string; name: string; organisation: string | null }

export interface ContactRow { id: number; email: string | null; phone: string | null; name: string; organisation: string | null }

export type EtrSource = 'target' | 'history' | 'agent' | 'escalation';
