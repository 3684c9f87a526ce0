import type { SlaClock } from '../domain/business-time.ts';
import type { DeskPolicy, Level, Locale } from '../domain/policy.ts';
import { levelName, messageContext, type ContextExtras } from '../outbound/message-context.ts';
import type { RenderedMessage, TemplateRenderer } from '../outbound/template-renderer.ts';
import type { ContactRow, TicketRow } from '../domain/ticket.ts';

/**
 * `mesa templates preview MOMENT --ticket KEY [--locale en]`: renders one moment for a stored
 * ticket so the desk can read a template the way a customer or an agent would receive it.
 *
 * A stored ticket has no escalation, warning or breach in hand, so those sections are filled
 * with plausible samples derived from the ticket itself (the *next* escalation from its
 * current level, a warning at the configured share of that level's budget, its pending
 * first-response deadline or else its resolution deadline as the missed one). The output says
 * so, so nobody mistakes a sample for a fact.
 */

export type PreviewPart = 'subject' | 'text' | 'html' | 'sms' | 'all';

const HOUR_MS = 3_600_000;

export function previewTemplate(args: {
  renderer: TemplateRenderer;
  policy: DeskPolicy;
  moment: string;
  locale: Locale;
  ticket: TicketRow;
  contact: ContactRow | undefined;
  now: Date;
  businessClock: SlaClock;
  part?: PreviewPart;
  /** The ticket's status-page link, as customer messages carry it. */
  statusUrl?: string | null;
}): string {
  const { renderer, moment, locale, ticket } = args;
  const own = renderer.has(locale, moment);
  // The renderer falls back to es-MX for a moment a locale lacks; the preview follows it.
  if (!own && !renderer.has('es-MX', moment)) {
    const available = renderer.moments(locale).length > 0 ? renderer.moments(locale) : renderer.moments('es-MX');
    throw new Error(`momento desconocido / unknown moment "${moment}"; disponibles / available: ${available.join(', ')}`);
  }

  const rendered = renderer.render(locale, moment, sampleContext(args));
  const part = args.part ?? 'all';
  if (part !== 'all') return singlePart(rendered, part, moment);

  const blocks: string[] = [
    `Momento: ${moment} (${own ? locale : `es-MX; ${locale} no tiene esta plantilla`}) · ticket ${ticket.key}`,
    'Valores de muestra: escalamiento, aviso, incumplimiento, historial y ETR anterior.',
  ];
  if (rendered.subject) {
    blocks.push(`Asunto: ${rendered.subject}`, `--- texto ---\n${rendered.text.trimEnd()}`);
    if (rendered.html !== null) blocks.push(`--- html ---\n${rendered.html.trimEnd()}`);
  }
  if (rendered.sms !== null) blocks.push(`--- sms ---\n${rendered.sms}\n(${rendered.sms.length} caracteres)`);
  return blocks.join('\n\n') + '\n';
}

function singlePart(rendered: RenderedMessage, part: Exclude<PreviewPart, 'all'>, moment: string): string {
  const value = part === 'subject' || part === 'text' ? rendered[part] || null : rendered[part];
  if (value === null) throw new Error(`el momento "${moment}" no tiene parte ${part} / moment "${moment}" has no ${part} part`);
  return value.endsWith('\n') ? value : `${value}\n`;
}

function sampleContext(args: Parameters<typeof previewTemplate>[0]): ReturnType<typeof messageContext> {
  const { policy, moment, locale, ticket, contact, now } = args;
  const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));
  const levelNameOf = (n: number): string => levelName(policy, n, locale);

  // The escalation that would happen next; past level 3 it goes to the "responsables" (4).
  const fromLevel = ticket.level;
  const toLevel = fromLevel + 1;
  // For the escalation moments the ticket is shown as already moved, as the sweep would send them.
  const shownLevel = (moment.includes('escalat') ? Math.min(toLevel, 3) : fromLevel) as Level;
  // Only the greeting uses it: the first person configured for the level shown.
  const recipients = policy.levels[shownLevel].people;

  const etrAt = new Date(ticket.etr_at);
  const escalatesAt = date(ticket.next_escalation_due_at) ?? new Date(now.getTime() + HOUR_MS);
  const firstResponsePending = ticket.first_response_due_at !== null && ticket.first_responded_at === null && ticket.resolution_breached_at === null;
  const breach: NonNullable<ContextExtras['breach']> = firstResponsePending && ticket.first_response_due_at !== null
    ? { kind: 'first_response', dueAt: new Date(ticket.first_response_due_at) }
    : { kind: 'resolution', dueAt: date(ticket.resolution_due_at) ?? new Date(now.getTime() - HOUR_MS) };

  const extras: ContextExtras = {
    recipientName: recipients[0]?.name ?? '',
    customer: { fullName: contact?.name ?? '', email: contact?.email ?? null, phone: contact?.phone ?? null },
    previousEtrAt: new Date(etrAt.getTime() - 4 * HOUR_MS),
    // Stored ETR reasons are written in Spanish whatever the template locale; the sample is too.
    etrReason: 'Se requiere una revisión adicional de la configuración del servidor',
    escalation: {
      fromLevel,
      toLevel,
      reason: locale === 'en' ? `Not resolved within the time allowed to ${levelNameOf(fromLevel)}` : `Sin resolución dentro del tiempo asignado a ${levelNameOf(fromLevel)}`,
    },
    warning: { percent: policy.sla.warnAtPercent, escalatesAt },
    breach,
    history: sampleHistory(ticket, locale, policy),
    classification: classificationOf(ticket),
  };

  return messageContext({
    policy,
    locale,
    now,
    businessClock: args.businessClock,
    customerName: contact?.name ?? '',
    ticket: {
      key: ticket.key,
      subject: ticket.subject,
      description: ticket.description,
      severity: ticket.severity,
      type: ticket.type,
      category: ticket.category,
      level: shownLevel,
      state: ticket.state,
      channel: ticket.channel,
      createdAt: new Date(ticket.created_at),
      etrAt,
      firstResponseDueAt: date(ticket.first_response_due_at),
      nextEscalationDueAt: date(ticket.next_escalation_due_at),
      resolutionDueAt: date(ticket.resolution_due_at),
      assignee: ticket.assignee,
      statusUrl: args.statusUrl ?? null,
    },
    extras,
  });
}

function sampleHistory(ticket: TicketRow, locale: Locale, policy: DeskPolicy): Array<{ at: Date; text: string }> {
  const severityName = policy.severities[ticket.severity].name;
  const created = new Date(ticket.created_at);
  if (locale === 'en') {
    return [
      { at: created, text: `Ticket created (${ticket.channel})` },
      { at: created, text: `Classified: severity ${ticket.severity} (${severityName}), ${ticket.type}, ${ticket.category}` },
      { at: new Date(ticket.updated_at), text: 'Sample entry: an agent asked the customer for a screenshot' },
    ];
  }
  return [
    { at: created, text: `Ticket creado (${ticket.channel})` },
    { at: created, text: `Clasificado: severidad ${ticket.severity} (${severityName}), ${ticket.type}, ${ticket.category}` },
    { at: new Date(ticket.updated_at), text: 'Entrada de muestra: un agente pidió al cliente una captura de pantalla' },
  ];
}

/** The rules stored with the ticket (`Classification.reasons`); anything else reads as none. */
function classificationOf(ticket: TicketRow): Array<{ rule: string; matched: string[] }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(ticket.classification_json);
  } catch {
    return [];
  }
  const reasons = (parsed as { reasons?: unknown } | null)?.reasons;
  if (!Array.isArray(reasons)) return [];
  return reasons
    .filter((r): r is { rule: string; matched?: unknown } => typeof (r as { rule?: unknown })?.rule === 'string')
    .map((r) => ({ rule: r.rule, matched: Array.isArray(r.matched) ? r.matched.map(String) : [] }));
}
