import { Mesa } from '../app.ts';
import type { Environment } from '../config/environment.ts';
import { parseAgentReply } from '../domain/agent-commands.ts';
import { findAgent, levelDirectory } from '../domain/agent-identity.ts';
import { publicTitle } from '../domain/incident.ts';
import type { Person } from '../domain/policy.ts';
import { formatIncidentKey, parseIncidentKey } from '../domain/ticket-key.ts';
import { silentLogger } from '../log.ts';
import type { IncidentRow } from '../store/incident-repo.ts';
import type { Io } from './commands.ts';
import { EX } from './exit-codes.ts';
import { table, when } from './format.ts';

/**
 * `mesa incidents …` (issue 13): the operator's way to see and work major incidents from a
 * shell. Changes go through the same desk code as the agents' emails (`IncidentActions`), in
 * one transaction each, so the customers' messages are queued in the outbox with the change;
 * a running Mesa sends them. The author is the agent named by `--as` (an address of the
 * directory) or "Operador (CLI)".
 */

export interface IncidentWriteOptions { as?: string; json?: boolean }

export async function incidentsListCommand(env: Environment, opts: { all?: boolean; json?: boolean }, io: Io): Promise<number> {
  const mesa = await Mesa.open(env, { log: silentLogger(), listen: false });
  try {
    const now = mesa.clock();
    const rows = await mesa.store.incidents.listed(opts.all ? 0 : now.getTime() - 7 * 86_400_000);
    const list = await Promise.all(rows.map(async (i) => ({ incident: i, linked: await mesa.store.incidents.linkedCount(i.id), open: (await mesa.store.incidents.linkedOpenIds(i.id)).length })));
    if (opts.json) {
      io.out(JSON.stringify(list.map(({ incident, linked, open }) => ({ key: formatIncidentKey(incident.id), ...incident, publicTitle: publicTitle(incident), linked, linkedOpen: open })), null, 2));
      return EX.OK;
    }
    if (list.length === 0) { io.out('No hay incidentes abiertos ni resueltos en los últimos 7 días.'); return EX.OK; }
    io.out(table([
      ['INCIDENTE', 'ESTADO', 'VINCULADOS', 'ETR', 'ABIERTO', 'TÍTULO'],
      ...list.map(({ incident: i, linked, open }) => [formatIncidentKey(i.id), i.state, `${open} abiertos / ${linked}`, i.state === 'abierto' ? when(i.etr_at, mesa.policy, now) : '—', when(i.opened_at, mesa.policy, now), publicTitle(i)]),
    ]));
    return EX.OK;
  } finally {
    await mesa.store.close();
  }
}

export async function incidentsShowCommand(env: Environment, key: string, opts: { json?: boolean }, io: Io): Promise<number> {
  const mesa = await Mesa.open(env, { log: silentLogger(), listen: false });
  try {
    const incident = await incidentOf(mesa, key, io);
    if (!incident) return EX.NOINPUT;
    const updates = await mesa.store.incidents.updates(incident.id);
    const linked = await Promise.all((await mesa.store.incidents.linkedOpenIds(incident.id)).map(async (id) => (await mesa.store.tickets.byId(id))?.key ?? `#${id}`));
    if (opts.json) {
      io.out(JSON.stringify({ key: formatIncidentKey(incident.id), ...incident, publicTitle: publicTitle(incident), linkedOpen: linked, updates }, null, 2));
      return EX.OK;
    }
    const now = mesa.clock();
    const w = (ms: number | null): string => when(ms, mesa.policy, now);
    io.out([
      `${formatIncidentKey(incident.id)}  ${publicTitle(incident)}  (${incident.state})`,
      `Reporte que lo abrió: ${incident.title}`,
      `Categoría:   ${incident.category}${incident.organisation ? `   Solo de la organización: ${incident.organisation}` : ''}`,
      `Abierto:     ${w(incident.opened_at)} por ${incident.opened_by} — ${incident.reason}`,
      `ETR:         ${w(incident.etr_at)}${incident.resolved_at ? `   Resuelto: ${w(incident.resolved_at)}` : ''}`,
      `Palabras:    ${(JSON.parse(incident.signature_json) as string[]).join(', ')}`,
      `Vinculados abiertos (${linked.length}): ${linked.join(' ') || '—'}`,
      '',
      'Historial:',
      ...updates.map((u) => `  ${w(u.at)}  ${u.kind.padEnd(9)} ${u.author}${u.etr_at !== null ? `  ETR ${w(u.etr_at)}` : ''}${u.recipients > 0 ? `  → ${u.recipients} clientes` : ''}${u.text ? `\n      ${u.text.replace(/\n/g, '\n      ')}` : ''}${u.reason ? `\n      (${u.reason})` : ''}`),
    ].join('\n'));
    return EX.OK;
  } finally {
    await mesa.store.close();
  }
}

/** `mesa incidents declare MDA-000123`: an incident opened by hand around that ticket's report. */
export async function incidentsDeclareCommand(env: Environment, ticketKey: string, opts: IncidentWriteOptions, io: Io): Promise<number> {
  const mesa = await Mesa.open(env, { log: silentLogger(), listen: false });
  try {
    const person = operator(mesa, opts.as, io);
    if (!person) return EX.USAGE;
    const ticket = await mesa.store.tickets.byKey(ticketKey.toUpperCase());
    if (!ticket) { io.err(`mesa: no existe el ticket ${ticketKey}`); return EX.NOINPUT; }
    const problems = await mesa.incidentActions.problemsOnTicket(ticket, [{ kind: 'major_incident' }]);
    if (problems.length > 0) { io.err(`mesa: ${problems.map((p) => p.problem).join(' ')}`); return EX.DATAERR; }
    const now = mesa.clock();
    const linked = await mesa.store.transaction(() => mesa.incidentActions.declare(ticket, person, now));
    const key = formatIncidentKey(linked.incident_id as number);
    io.out(opts.json ? JSON.stringify({ incident: key, ticket: ticket.key }) : `incidente ${key} abierto a partir de ${ticket.key}; aviso en cola para el nivel ${mesa.policy.incidents.level}`);
    return EX.OK;
  } finally {
    await mesa.store.close();
  }
}

/**
 * `mesa incidents update INC-0001 [--text …] [--etr 2h] [--title …] [--link MDA-1,MDA-2]
 * [--unlink …] [--resolve] [--note]`: exactly what a reply on the incident's thread would do,
 * written as that reply and read by the same parser (same validation, same messages).
 */
export async function incidentsUpdateCommand(env: Environment, key: string, opts: IncidentWriteOptions & { text?: string; etr?: string; title?: string; link?: string; unlink?: string; resolve?: boolean; note?: boolean }, io: Io): Promise<number> {
  const mesa = await Mesa.open(env, { log: silentLogger(), listen: false });
  try {
    const person = operator(mesa, opts.as, io);
    if (!person) return EX.USAGE;
    const incident = await incidentOf(mesa, key, io);
    if (!incident) return EX.NOINPUT;
    const lines = [
      ...(opts.note ? ['#nota'] : []),
      ...(opts.title ? [`#titulo ${opts.title}`] : []),
      ...(opts.etr ? [`#etr ${opts.etr}`] : []),
      ...(opts.link ? [`#vincular ${opts.link}`] : []),
      ...(opts.unlink ? [`#desvincular ${opts.unlink}`] : []),
      ...(opts.resolve ? ['#resuelto'] : []),
    ];
    if (lines.length === 0 && !opts.text?.trim()) { io.err('mesa incidents update: nada que hacer (use --text, --etr, --title, --link, --unlink, --resolve o --note)'); return EX.USAGE; }
    const now = mesa.clock();
    const parsed = parseAgentReply([...lines, '', opts.text ?? ''].join('\n'), {
      now, timeZone: mesa.policy.desk.timeZone, addBusinessMinutes: (from, minutes) => mesa.clocks.business.addBusinessMinutes(from, minutes),
      ticketPrefix: mesa.policy.desk.ticketPrefix, target: 'incident',
    });
    const problems = parsed.errors.length > 0 ? parsed.errors : await mesa.incidentActions.problemsOnIncident(incident, parsed);
    if (problems.length > 0) { io.err(`mesa: ${problems.map((p) => `${p.line ? `${p.line}: ` : ''}${p.problem}`).join('\n')}`); return EX.DATAERR; }
    const result = await mesa.store.transaction(() => mesa.incidentActions.applyOnIncident(incident, person, parsed, now));
    io.out(opts.json ? JSON.stringify({ incident: formatIncidentKey(incident.id), ...result })
      : `${formatIncidentKey(incident.id)}: ${result.internal ? 'nota registrada' : `${result.told} clientes avisados`}${result.linked ? `, ${result.linked} vinculados` : ''}${result.unlinked ? `, ${result.unlinked} desvinculados` : ''}${result.resolved ? '; resuelto' : ''}`);
    return EX.OK;
  } finally {
    await mesa.store.close();
  }
}

async function incidentOf(mesa: Mesa, key: string, io: Io): Promise<IncidentRow | undefined> {
  const id = parseIncidentKey(key);
  const incident = id === null ? undefined : await mesa.store.incidents.byId(id);
  if (!incident) io.err(`mesa: no existe el incidente ${key} (se escribe INC-0001)`);
  return incident;
}

/** Who the change is recorded as: a person of the directory (`--as`), or the CLI's operator. */
function operator(mesa: Mesa, as: string | undefined, io: Io): Person | null {
  if (as === undefined) return { name: 'Operador (CLI)', email: 'cli', phone: null };
  const found = findAgent(levelDirectory(mesa.policy.levels), as);
  if (!found) { io.err(`mesa: ${as} no es una persona de los niveles de atención (config)`); return null; }
  return found.person;
}
