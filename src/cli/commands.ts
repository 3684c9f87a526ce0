import { existsSync, readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { ConfigError, loadConfig } from '../config/load-config.ts';
import { describeConfigChanges } from '../config/config-diff.ts';
import { Mesa, shareSecrets } from '../app.ts';
import { statusUrl } from '../domain/status-link.ts';
import type { Environment } from '../config/environment.ts';
import { analyzeEmail, mailboxFor, type EmailAnalysis } from '../desk/email-pipeline.ts';
import { IntakeRetryLater, type IntakeOutcome } from '../desk/email-intake.ts';
import { parseMail } from '../intake/email/parse-mail.ts';
import { significantWords } from '../domain/incident-detection.ts';
import { silentLogger, type Logger } from '../log.ts';
import { EX } from './exit-codes.ts';
import { previewTemplate, type PreviewPart } from './templates-preview.ts';
import type { Locale } from '../domain/policy.ts';
import { table, when } from './format.ts';
import { reportTable } from './report-format.ts';
import { reportCsv } from '../domain/sla-report-text.ts';
import { complianceReport, periodProblem, REPORT_GROUPINGS, type ReportGrouping } from '../desk/compliance-report.ts';
import type { Progress } from './progress.ts';
import { OPEN_STATES, type TicketState } from '../domain/ticket.ts';
import type { TicketFilter } from '../store/ticket-repo.ts';
import { isPostgresUrl, Store } from '../store/store.ts';
import { copyDesk, TargetNotEmptyError } from '../store/desk-copy.ts';
import { describeUrl, postgresLocation } from '../store/postgres/engine.ts';
import type { QuarantineRow } from '../store/intake-state-repo.ts';

export interface Io { out: (s: string) => void; err: (s: string) => void }

/** What `mesa explain --json` prints: the pipeline's facts, nothing written. */
export function explanation(a: EmailAnalysis): Record<string, unknown> {
  return {
    from: a.mail.from?.address ?? null,
    subject: a.mail.subject,
    messageId: a.mail.messageId,
    mailbox: a.mailbox.id,
    automatic: { is: a.automatic.is, kind: a.automatic.kind, reason: a.automatic.reason },
    bounce: a.bounce ? { originalMessageId: a.bounce.originalMessageId, recipient: a.bounce.recipient, status: a.bounce.status, hard: a.bounce.hard } : null,
    visibleText: a.visible.text,
    attachments: a.mail.attachments.filter((x) => !x.related).map((x) => ({ filename: x.filename, contentType: x.contentType, size: x.size })),
    classification: {
      severity: a.classification.severity, type: a.classification.type, category: a.classification.category, level: a.classification.level,
      reasons: a.classification.reasons.map((r) => ({ rule: r.rule, weight: r.weight, matched: r.matched, sets: r.sets })),
      decidedBy: a.classification.decidedBy,
    },
    thread: a.thread.ticket ? { ticket: a.thread.ticket.key, via: a.thread.via, state: a.thread.ticket.state } : null,
    decision: describeDecision(a),
  };
}

function describeDecision(a: EmailAnalysis): Record<string, unknown> {
  const d = a.decision;
  switch (d.kind) {
    case 'new_ticket': return { action: 'new_ticket', acknowledge: d.ack.send ? d.ack.moment : `no (${d.ack.reason})`, previousTicket: d.previous?.key ?? null, ignoredSubjectTag: a.thread.ticket === null ? a.thread.ignoredSubjectTag : null };
    case 'follow_up': return { action: d.reopen ? 'reopen' : 'follow_up', ticket: d.ticket.key, acknowledge: d.ack.send ? d.ack.moment : `no (${d.ack.reason})` };
    case 'bounce': return { action: 'record_bounce', hard: d.bounce.hard };
    case 'record_automatic': return { action: 'record_only', reason: d.verdict.reason };
    case 'quarantine': return { action: 'quarantine', reason: d.reason };
    case 'agent_reply': return { action: 'agent_reply', ticket: d.ticket.key, agent: d.person.email };
    case 'incident_reply': return { action: 'incident_update', incident: d.incident.key, agent: d.person.email };
    case 'agent_rejected': return { action: 'agent_rejected', reason: d.reason, ticket: d.ticket?.key ?? null };
  }
}

export async function explainCommand(env: Environment, file: string, opts: { json?: boolean; mailbox?: string }, io: Io): Promise<number> {
  const mesa = await Mesa.open(env, { log: silentLogger(), listen: false });
  try {
    const raw = readFileSync(file);
    const mail = await parseMail(raw, mesa.policy.desk.messageIdDomain);
    const now = mesa.clock();
    const a = await analyzeEmail(mail, mailboxFor(mail, mesa.policy, opts.mailbox ?? null), mesa.intake.pipelineContext, now);
    // The service terms a new ticket from this sender would get (organisation, contract, matrix).
    const terms = mesa.terms.forNew({ email: mail.from?.address ?? null, phone: null }, a.classification.category, now);
    const sev = terms.severities[a.classification.severity];
    const termsView = {
      organisation: terms.organisation, contract: terms.contract, matrix: terms.matrix, reason: terms.reason,
      targets: { clock: sev.clock, firstResponseMinutes: sev.firstResponseMinutes, resolutionMinutes: sev.resolutionMinutes, escalateAfterMinutes: sev.escalateAfterMinutes, customerUpdateMinutes: sev.customerUpdateMinutes },
        notified: ([1, 2, 3] as const).map((level) => ({ level, people: mesa.terms.people({ terms }, level).map((p) => p.email) })),
    };
    // A new ticket from it: would it join a major incident, or open one? (The same decision intake takes.)
    const incident = a.decision.kind === 'new_ticket' ? await mesa.incidentLinking.explain({
      category: a.classification.category, severity: a.classification.severity, organisation: terms.organisation?.id ?? null,
      words: significantWords(`${mail.subject || '(sin asunto)'} ${a.visible.text || mail.text}`),
    }, now) : null;
    const x: Record<string, unknown> = { ...explanation(a), terms: termsView, incident };
    if (opts.json) { io.out(JSON.stringify(x, null, 2)); return EX.OK; }
    const c = x.classification as { severity: number; type: string; category: string; level: number; decidedBy: Record<string, string> };
    io.out([
      `De:            ${x.from ?? '(sin remitente)'}`,
      `Asunto:        ${x.subject}`,
      `Message-ID:    ${x.messageId}`,
      `Buzón:         ${x.mailbox}`,
      `Automático:    ${a.automatic.is ? `sí — ${a.automatic.kind} (${a.automatic.reason})` : 'no'}`,
      `Rebote:        ${a.bounce ? `${a.bounce.recipient ?? '?'} ${a.bounce.status ?? ''} ${a.bounce.hard ? 'permanente' : 'temporal'} (mensaje ${a.bounce.originalMessageId ?? '?'})` : 'no'}`,
      `Hilo:          ${a.thread.ticket ? `${a.thread.ticket.key} (por ${a.thread.via})` : `nuevo contacto${a.thread.ignoredSubjectTag ? ` (etiqueta ${a.thread.ignoredSubjectTag} ignorada: remitente ajeno al ticket)` : ''}`}`,
      `Clasificación: severidad ${c.severity} (${mesa.policy.severities[c.severity as 1].name}), ${c.type}, ${c.category}, nivel ${c.level}`,
      ...Object.entries(c.decidedBy).map(([k, v]) => `                 ${k}: ${v}`),
      ...a.classification.reasons.map((r) => `                 regla ${r.rule} (+${r.weight}): ${r.matched.join(', ')}`),
      `Términos:      ${terms.reason}`,
      `                 severidad ${a.classification.severity}: reloj ${sev.clock === 'business' ? 'hábil' : 'continuo'}, primera respuesta ${sev.firstResponseMinutes} min, resolución ${sev.resolutionMinutes} min, escalar tras ${Object.entries(sev.escalateAfterMinutes).map(([l, m]) => `nivel ${l} ${m} min`).join(', ') || '—'}, actualizar cada ${sev.customerUpdateMinutes === null ? '—' : `${sev.customerUpdateMinutes} min`}`,
      ...termsView.notified.map((n) => `                 nivel ${n.level} avisa a: ${n.people.join(', ') || '(nadie)'}`),
      `Decisión:      ${JSON.stringify(x.decision)}`,
      ...(incident ? [`Incidente:     ${incident.decision === 'join' ? `se vincularía a ${incident.incident}` : incident.decision === 'open' ? 'abriría un incidente mayor' : 'ninguno'} — ${incident.reason}`] : []),
      `Adjuntos:      ${(x.attachments as unknown[]).length === 0 ? 'ninguno' : (x.attachments as Array<{ filename: string; contentType: string; size: number }>).map((t) => `${t.filename ?? '(sin nombre)'} ${t.contentType} ${t.size} B`).join('; ')}`,
      '',
      'Texto visible:',
      a.visible.text,
    ].join('\n'));
    return EX.OK;
  } finally {
    await mesa.store.close();
  }
}

export async function ingestCommand(env: Environment, raw: Buffer, opts: { mailbox?: string; json?: boolean }, io: Io, log: Logger): Promise<number> {
  if (raw.length === 0) { io.err('mesa ingest: entrada vacía (se esperaba un mensaje RFC 5322 en stdin)'); return EX.DATAERR; }
  const mesa = await Mesa.open(env, { log, listen: false });
  try {
    if (opts.mailbox && !mesa.policy.mailboxes.some((m) => m.id === opts.mailbox)) {
      io.err(`mesa ingest: buzón desconocido "${opts.mailbox}" (configurados: ${mesa.policy.mailboxes.map((m) => m.id).join(', ')})`);
      return EX.USAGE;
    }
    const outcome = await mesa.receive(raw, { kind: 'pipe', mailbox: opts.mailbox ?? null });
    io.out(opts.json ? JSON.stringify(outcome) : describeOutcome(outcome));
    return EX.OK;
  } catch (err) {
    io.err(`mesa ingest: ${(err as Error).message} — el servidor de correo debe reintentar`);
    return err instanceof IntakeRetryLater || isTemporary(err) ? EX.TEMPFAIL : EX.SOFTWARE;
  } finally {
    await mesa.store.close();
  }
}

function isTemporary(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED') || /^E[A-Z]+$/.test(code);
}

function describeOutcome(o: Awaited<ReturnType<Mesa['receive']>>): string {
  switch (o.result) {
    case 'ticket_created': return `ticket ${o.ticketKey} creado${o.acknowledged ? '; acuse en cola' : ''}`;
    case 'follow_up': return `mensaje agregado a ${o.ticketKey}${o.reopened ? ' (reabierto)' : ''}`;
    case 'automatic_recorded': return `correo automático (${o.kind}) registrado${o.ticketKey ? ` en ${o.ticketKey}` : ''}; no se responde`;
    case 'bounce_recorded': return `rebote ${o.hard ? 'permanente' : 'temporal'} registrado${o.ticketKey ? ` en ${o.ticketKey}` : ''}`;
    case 'duplicate': return `duplicado: ${o.messageId} ya se había procesado`;
    case 'quarantined': return `en cuarentena #${o.quarantineId}: ${o.reason}`;
    case 'agent_reply': return `respuesta de agente aplicada a ${o.ticketKey}${o.relayed ? '; enviada al cliente' : ''}${o.internal ? ' (nota interna)' : ''}`;
    case 'agent_rejected': return `respuesta de agente rechazada (${o.reason})${o.ticketKey ? ` en ${o.ticketKey}` : ''}; nada cambió`;
    case 'incident_update': return `actualización del incidente ${o.incidentKey}${o.internal ? ' (nota interna)' : `: ${o.told} clientes avisados`}${o.resolved ? '; resuelto' : ''}`;
  }
}

const TICKET_STATES: readonly TicketState[] = ['nuevo', 'en_atencion', 'esperando_cliente', 'resuelto', 'cerrado'];

export interface TicketsListOptions { json?: boolean; state?: string; level?: string; severity?: string; limit?: string }

/**
 * Reads the filters of `mesa tickets list`. `--state` takes one state, several separated by
 * commas, or `abiertos` (nuevo, en_atencion, esperando_cliente). Returns the problem, in
 * Spanish, when a value is not valid.
 */
export function ticketFilter(opts: TicketsListOptions): TicketFilter | string {
  const filter: TicketFilter = { limit: 50 };
  if (opts.state !== undefined) {
    const states = opts.state.split(',').map((x) => x.trim().toLowerCase()).filter((x) => x !== '');
    const expanded = states.flatMap((x) => (x === 'abiertos' || x === 'abierto' ? [...OPEN_STATES] : [x]));
    const bad = expanded.filter((x) => !TICKET_STATES.includes(x as TicketState));
    if (states.length === 0 || bad.length > 0) return `estado desconocido "${bad[0] ?? opts.state}" (válidos: ${TICKET_STATES.join(', ')}, o abiertos)`;
    filter.states = [...new Set(expanded)] as TicketState[];
  }
  const int = (name: string, v: string | undefined, min: number, max: number): number | string | undefined => {
    if (v === undefined) return undefined;
    return /^\d+$/.test(v.trim()) && Number(v) >= min && Number(v) <= max ? Number(v) : `${name} inválido "${v}" (de ${min} a ${max})`;
  };
  const severity = int('--severity', opts.severity, 1, 4);
  const level = int('--level', opts.level, 1, 3);
  const limit = int('--limit', opts.limit, 1, 10_000);
  for (const v of [severity, level, limit]) if (typeof v === 'string') return v;
  if (severity !== undefined) filter.severity = severity as number;
  if (level !== undefined) filter.level = level as number;
  if (limit !== undefined) filter.limit = limit as number;
  return filter;
}

export interface ReportSlaOptions { by?: string; from?: string; to?: string; csv?: boolean; json?: boolean }

/** `mesa report sla`: compliance per organisation (or category) and severity for a period. */
export async function reportSlaCommand(env: Environment, opts: ReportSlaOptions, io: Io): Promise<number> {
  const by = (opts.by ?? 'organisation') as ReportGrouping;
  if (!REPORT_GROUPINGS.includes(by)) { io.err(`mesa report sla: --by ${opts.by}: se espera ${REPORT_GROUPINGS.join(' o ')}`); return EX.USAGE; }
  const problem = periodProblem(opts);
  if (problem !== null) { io.err(`mesa report sla: ${problem}`); return EX.USAGE; }
  const mesa = await Mesa.open(env, { log: silentLogger(), listen: false });
  try {
    const report = await complianceReport(mesa, { from: opts.from as string, to: opts.to as string }, by);
    io.out(opts.json ? JSON.stringify(report, null, 2) : opts.csv ? reportCsv(report) : reportTable(report));
    return EX.OK;
  } finally {
    await mesa.store.close();
  }
}

export async function ticketsListCommand(env: Environment, opts: TicketsListOptions, io: Io): Promise<number> {
  const filter = ticketFilter(opts);
  if (typeof filter === 'string') { io.err(`mesa tickets list: ${filter}`); return EX.USAGE; }
  const mesa = await Mesa.open(env, { log: silentLogger(), listen: false });
  try {
    const rows = await mesa.store.tickets.list(filter);
    if (opts.json) { io.out(JSON.stringify(rows.map((r) => publicTicket({ ...r })))); return EX.OK; }
    const now = mesa.clock();
    io.out(rows.length === 0 ? 'Sin tickets.' : table([
      ['TICKET', 'SEV', 'NIVEL', 'ESTADO', 'CLIENTE', 'ETR', 'ASUNTO'],
      ...rows.map((t) => [t.key, String(t.severity), String(t.level), t.state, t.contact_email ?? '', when(t.etr_at, mesa.policy, now), t.subject.slice(0, 60)]),
    ]));
    return EX.OK;
  } finally {
    await mesa.store.close();
  }
}

export async function ticketsShowCommand(env: Environment, key: string, opts: { json?: boolean }, io: Io): Promise<number> {
  const mesa = await Mesa.open(env, { log: silentLogger(), listen: false });
  try {
    const t = await mesa.store.tickets.byKey(key);
    if (!t) { io.err(`mesa: no existe el ticket ${key}`); return EX.NOINPUT; }
    const contact = await mesa.store.tickets.contact(t.contact_id);
    const events = await mesa.store.tickets.events(t.id);
    const etrs = await mesa.store.tickets.etrHistory(t.id);
    const messages = await mesa.store.messages.forTicket(t.id);
    const outbox = await mesa.store.outbox.forTicket(t.id);
    if (opts.json) {
      io.out(JSON.stringify({ ticket: publicTicket({ ...t, contact_email: contact?.email ?? null, contact_name: contact?.name ?? '' }), statusUrl: statusUrl(env.linkBaseUrl, env.secret, t.key), classification: JSON.parse(t.classification_json), etrHistory: etrs, events: events.map((e) => ({ ...e, data: JSON.parse(e.data_json), data_json: undefined })), messages, outbox }, null, 2));
      return EX.OK;
    }
    const now = mesa.clock();
    const w = (ms: number | null): string => when(ms, mesa.policy, now);
    io.out([
      `${t.key}  ${t.subject}`,
      `Cliente:        ${contact?.name ?? ''} <${contact?.email ?? ''}>`,
      `Canal:          ${t.channel}${t.mailbox ? ` (${t.mailbox})` : ''}; canal con el cliente: ${t.customer_channel}`,
      `Severidad:      ${t.severity} (${mesa.policy.severities[t.severity].name})   Tipo: ${t.type}   Categoría: ${t.category}   Nivel: ${t.level}`,
      `Estado:         ${t.state}`,
      `Nivel desde:    ${w(t.level_since)}${t.assignee ? `   Asignado a: ${t.assignee}` : ''}`,
      `ETR:            ${w(t.etr_at)}`,
      `Página de estado (para el cliente): ${statusUrl(env.linkBaseUrl, env.secret, t.key)}`,
      '',
      'Plazos (SLA):',
      `  Primera resp.:  ${w(t.first_response_due_at)}${t.first_responded_at ? ` — respondida ${w(t.first_responded_at)}` : t.first_response_breached_at ? ` — VENCIDA (${w(t.first_response_breached_at)})` : ''}`,
      `  Aviso nivel:    ${w(t.warning_due_at)}`,
      `  Escalamiento:   ${w(t.next_escalation_due_at)}`,
      `  Actualización:  ${w(t.next_update_due_at)}`,
      `  Resolución:     ${w(t.resolution_due_at)}${t.resolution_breached_at ? ` — VENCIDA (${w(t.resolution_breached_at)})` : ''}`,
      `  Próxima acción: ${w(t.next_action_at)}`,
      ...(t.paused_at ? [`  Reloj detenido desde ${w(t.paused_at)} (esperando al cliente)`] : []),
      ...(t.paused_minutes > 0 ? [`  Tiempo en espera acumulado: ${Math.round(t.paused_minutes)} min`] : []),
      '',
      'Historial de ETR:',
      ...etrs.map((e) => `  ${w(e.at)}  →  ${w(e.etr_at)}  [${e.source}] ${e.reason}`),
      '',
      'Eventos:',
      ...events.map((e) => `  ${w(e.at)}  ${e.type.padEnd(24)} ${e.actor}${e.reason ? ` — ${e.reason}` : ''}`),
      '',
      'Mensajes:',
      ...messages.map((m) => `  ${w(m.created_at)}  ${m.direction === 'in' ? '←' : '→'} ${m.author.padEnd(9)} ${m.from_address ?? ''}  ${m.subject}`),
      '',
      'Salida (outbox):',
      ...outbox.map((o) => `  #${o.id} ${String(o.moment).padEnd(16)} ${String(o.status).padEnd(8)} intentos ${o.attempts} → ${o.recipient}${o.last_error ? ` (${o.last_error})` : ''}`),
    ].join('\n'));
    return EX.OK;
  } finally {
    await mesa.store.close();
  }
}

function publicTicket(t: { cc_json: string; classification_json: string } & Record<string, unknown>): Record<string, unknown> {
  const { cc_json, classification_json: _c, ...rest } = t;
  return { ...rest, cc: JSON.parse(cc_json) };
}

export async function quarantineListCommand(env: Environment, opts: { json?: boolean; all?: boolean }, io: Io): Promise<number> {
  const mesa = await Mesa.open(env, { log: silentLogger(), listen: false });
  try {
    const rows = await mesa.store.intake.listQuarantine(Boolean(opts.all));
    if (opts.json) { io.out(JSON.stringify(rows)); return EX.OK; }
    const now = mesa.clock();
    io.out(rows.length === 0 ? 'Cuarentena vacía.' : table([
      ['ID', 'FECHA', 'ORIGEN', 'BUZÓN', 'MOTIVO', 'DETALLE'],
      ...rows.map((q) => [String(q.id), when(q.created_at, mesa.policy, now), q.origin, q.mailbox ?? '', q.reason, (q.detail ?? '').slice(0, 80)]),
    ]));
    return EX.OK;
  } finally {
    await mesa.store.close();
  }
}

/** Runs a quarantined message through the pipeline again (after a fix to config or code). */
export async function quarantineRetryCommand(env: Environment, id: string, opts: { json?: boolean }, io: Io, log: Logger): Promise<number> {
  const mesa = await Mesa.open(env, { log, listen: false });
  try {
    const q = await mesa.store.intake.quarantined(Number(id));
    if (!q) { io.err(`mesa: no existe la entrada de cuarentena ${id}`); return EX.NOINPUT; }
    if (q.resolved_at !== null) { io.err(`mesa: la entrada ${id} ya fue resuelta`); return EX.USAGE; }
    const outcome = await retryQuarantined(mesa, q);
    io.out(opts.json ? JSON.stringify(outcome) : `#${id}: ${describeOutcome(outcome)}`);
    return outcome.result === 'quarantined' ? EX.DATAERR : EX.OK;
  } finally {
    await mesa.store.close();
  }
}

/** One quarantined entry through the pipeline again; on an error the entry is left open as it was. */
async function retryQuarantined(mesa: Mesa, q: QuarantineRow): Promise<IntakeOutcome> {
  const raw = await mesa.store.blobs.get(q.raw_sha256);
  const now = mesa.clock();
  // Close the entry first so that the retry may quarantine the message afresh if it fails again.
  await mesa.store.transaction(async () => { await mesa.store.intake.resolveQuarantine(q.id, now.getTime()); await mesa.store.intake.clearFailures(q.raw_sha256); });
  try {
    return await mesa.receive(raw, { kind: 'retry', mailbox: q.mailbox });
  } catch (err) {
    await mesa.store.intake.reopenQuarantine(q.id);
    throw err;
  }
}

/**
 * `mesa quarantine retry --all`: every entry open when the command starts, in order, with a
 * progress bar on stderr and a summary at the end. An entry that fails again goes back to
 * quarantine as a new entry (not retried again in this run); an error leaves its entry open and
 * the run goes on. Exit code: 0 when all were processed, 65 when some went back to quarantine,
 * 70 when some failed with an error.
 */
export async function quarantineRetryAllCommand(env: Environment, opts: { json?: boolean }, io: Io, log: Logger, progress: (total: number) => Progress): Promise<number> {
  const mesa = await Mesa.open(env, { log, listen: false });
  try {
    const entries = await mesa.store.intake.listQuarantine();
    if (entries.length === 0) {
      io.out(opts.json ? '[]' : 'Cuarentena vacía: nada que reintentar.');
      return EX.OK;
    }
    const results: Array<{ id: number; outcome?: IntakeOutcome; error?: string }> = [];
    const bar = progress(entries.length);
    try {
      for (const q of entries) {
        try {
          results.push({ id: q.id, outcome: await retryQuarantined(mesa, q) });
        } catch (err) {
          results.push({ id: q.id, error: (err as Error).message });
        }
        bar.tick();
      }
    } finally {
      bar.stop();
    }
    const again = results.filter((r) => r.outcome?.result === 'quarantined').length;
    const errors = results.filter((r) => r.error !== undefined).length;
    const processed = results.length - again - errors;
    if (opts.json) {
      io.out(JSON.stringify(results.map((r) => (r.error !== undefined ? { id: r.id, error: r.error } : { id: r.id, ...r.outcome }))));
    } else {
      for (const r of results) io.out(`#${r.id}: ${r.error !== undefined ? `error: ${r.error} (la entrada sigue en cuarentena)` : describeOutcome(r.outcome as IntakeOutcome)}`);
      io.out(`Reintentados ${results.length}: ${processed} procesados, ${again} de nuevo en cuarentena, ${errors} con error.`);
    }
    return errors > 0 ? EX.SOFTWARE : again > 0 ? EX.DATAERR : EX.OK;
  } finally {
    await mesa.store.close();
  }
}

export async function templatesPreviewCommand(env: Environment, moment: string, opts: { ticket: string; locale?: string; part?: string }, io: Io): Promise<number> {
  const mesa = await Mesa.open(env, { log: silentLogger(), listen: false });
  try {
    const locale = (opts.locale ?? mesa.policy.desk.locale) as Locale;
    if (!mesa.renderer.locales().includes(locale)) { io.err(`mesa: idioma desconocido "${locale}" (disponibles: ${mesa.renderer.locales().join(', ')})`); return EX.USAGE; }
    const part = (opts.part ?? 'all') as PreviewPart;
    if (!['subject', 'text', 'html', 'sms', 'all'].includes(part)) { io.err(`mesa: parte desconocida "${part}" (subject, text, html, sms, all)`); return EX.USAGE; }
    const ticket = await mesa.store.tickets.byKey(opts.ticket);
    if (!ticket) { io.err(`mesa: no existe el ticket ${opts.ticket}`); return EX.NOINPUT; }
    io.out(previewTemplate({
      renderer: mesa.renderer, policy: mesa.policy, moment, locale, ticket, contact: await mesa.store.tickets.contact(ticket.contact_id),
      now: mesa.clock(), businessClock: mesa.clocks.business, part, statusUrl: statusUrl(env.linkBaseUrl, env.secret, ticket.key),
    }));
    return EX.OK;
  } finally {
    await mesa.store.close();
  }
}

/**
 * `mesa migrate`: brings the database's schema up to date and exits, for deployments that
 * migrate before rolling instances out (every start migrates too, one instance at a time).
 */
export async function migrateCommand(env: Environment, io: Io): Promise<number> {
  const store = await Store.open(env.dataDir, '', env.databaseUrl);
  try {
    const v = await store.schemaVersion();
    io.out(`${store.location}: esquema versión ${v.current} de ${v.known} (al día)`);
    return EX.OK;
  } finally {
    await store.close();
  }
}

/**
 * `mesa panel-token`: prints the agents' panel token wherever it lives (MESA_PANEL_TOKEN, the
 * data dir, or — several instances on PostgreSQL — the database), for the operator who logs in.
 */
export async function panelTokenCommand(env: Environment, io: Io): Promise<number> {
  const store = await Store.open(env.dataDir, '', env.databaseUrl);
  try {
    const shared = await shareSecrets(env, store, new Date());
    io.out(shared.panelToken);
    return EX.OK;
  } finally {
    await store.close();
  }
}

/**
 * `mesa db copy --to postgres://…`: moves this data dir's SQLite desk (rows, raw messages,
 * attachments, recordings, and the signing secret and panel token unless the environment sets
 * them) into an empty PostgreSQL database, with a progress bar on stderr, then compares the row
 * counts of every table on both sides. Exit 0 when they match, 65 when not, 73 when the target
 * already holds data, 66 when there is no SQLite desk here.
 */
export async function dbCopyCommand(env: Environment, opts: { to?: string; json?: boolean }, io: Io, progress: (total: number) => Progress): Promise<number> {
  const url = opts.to ?? '';
  if (!isPostgresUrl(url)) { io.err('mesa db copy: --to debe ser un URL postgres://usuario:contraseña@servidor:5432/base'); return EX.USAGE; }
  const file = join(env.dataDir, 'mesa.db');
  if (!existsSync(file)) { io.err(`mesa db copy: no hay un escritorio SQLite en ${file}`); return EX.NOINPUT; }
  const source = await Store.open(env.dataDir, '', null);
  try {
    const target = await Store.open(env.dataDir, '', url);
    try {
      const secrets = [
        ...(env.secretSource === 'env' ? [] : [{ name: 'secret', value: env.secret }]),
        ...(env.panelTokenSource === 'env' ? [] : [{ name: 'panel_token', value: env.panelToken }]),
      ];
      let bar: Progress | null = null;
      const counts = await copyDesk(source, target, {
        start: (total) => { bar = progress(total); },
        advance: (n) => { for (let i = 0; i < n; i++) bar?.tick(); },
      }, secrets, Date.now());
      (bar as Progress | null)?.stop();
      const mismatched = counts.filter((c) => c.source !== c.target);
      if (opts.json) {
        io.out(JSON.stringify({ ok: mismatched.length === 0, from: source.location, to: postgresLocation(describeUrl(url)), counts }, null, 2));
      } else {
        io.out(table([['tabla', 'SQLite', 'PostgreSQL', ''], ...counts.map((c) => [c.table, String(c.source), String(c.target), c.source === c.target ? '✔' : '✘'])]));
        io.out('');
        io.out(mismatched.length === 0
          ? `Copiado a ${postgresLocation(describeUrl(url))}: todas las cuentas coinciden. Arranque las instancias con MESA_DATABASE_URL apuntando ahí.`
          : `Las cuentas no coinciden en: ${mismatched.map((c) => c.table).join(', ')}.`);
      }
      return mismatched.length === 0 ? EX.OK : EX.DATAERR;
    } catch (err) {
      if (err instanceof TargetNotEmptyError) { io.err(`mesa db copy: ${err.message}`); return EX.CANTCREAT; }
      throw err;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/**
 * `mesa config check [dir]`: validates a configuration (the one in use when no directory is
 * given) and lists what it would change against the one in use. Exit 78 with every problem as
 * `file:line: key: problem` when it is invalid.
 */
export function configCheckCommand(env: Environment, dir: string | undefined, io: Io): number {
  const overrides = { mailboxAddresses: env.mailboxAddresses };
  const target = dir === undefined ? env.configDir : resolvePath(dir);
  let next;
  try {
    next = loadConfig(target, overrides);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`mesa config check: la configuración en ${target} no es válida:`);
    for (const p of err.problems) io.err(`  ${p}`);
    return EX.CONFIG;
  }
  io.out(`La configuración en ${target} es válida (${next.organisations.length} organizaciones, ${next.matrices.length} matrices, ${next.classification.rules.length} reglas).`);
  if (target === env.configDir) return EX.OK;
  let current;
  try {
    current = loadConfig(env.configDir, overrides);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.out(`La configuración en uso (${env.configDir}) no es válida; no hay con qué comparar.`);
    return EX.OK;
  }
  const changes = describeConfigChanges(current, next);
  io.out(changes.length === 0 ? `Sin cambios frente a ${env.configDir}.` : [`Cambios frente a ${env.configDir}:`, ...changes.map((c) => `  ${c}`)].join('\n'));
  return EX.OK;
}
