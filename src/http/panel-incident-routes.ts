import type { FastifyInstance, FastifyReply } from 'fastify';
import { findAgent, levelDirectory } from '../domain/agent-identity.ts';
import type { Person } from '../domain/policy.ts';
import { formatIncidentKey } from '../domain/ticket-key.ts';
import { formRequestTrusted, type PanelKeys } from './panel-auth.ts';
import { panelIncidentView } from './views/panel-incident-view.ts';
import type { WebDeps } from './web-deps.ts';

const RECENT_MS = 7 * 86_400_000;

/** Someone on the panel with no directory identity chosen: the operator token's holder. */
export const PANEL_OPERATOR: Person = { name: 'Operador (panel)', email: 'panel', phone: null };

/**
 * The panel's major incidents (issue 13): `/panel/incidentes` lists the open ones and those
 * resolved in the last 7 days, with their linked counts, level, ETR and last update; a ticket's
 * page may declare one around its report (`POST /panel/tickets/:key/incidente`) — the same desk
 * code as `#incidente mayor` by email, in one transaction with its notice to the level. The POST
 * needs the session's form token or the operator token in a header (`formRequestTrusted`).
 */
export function panelIncidentRoutes(scope: FastifyInstance, web: WebDeps, keys: PanelKeys, html: (reply: FastifyReply, code: number, page: string, context: object) => FastifyReply): void {
  const { policy } = web;

  scope.get('/incidentes', async (_request, reply) => {
    const now = web.clock();
    const rows = await web.store.incidents.listed(now.getTime() - RECENT_MS);
    const list = await Promise.all(rows.map(async (i) => panelIncidentView(policy, i, {
      linked: await web.store.incidents.linkedCount(i.id), linkedOpen: (await web.store.incidents.linkedOpenIds(i.id)).length,
    }, await web.store.incidents.updates(i.id), now)));
    return html(reply, 200, 'panel-incidents', {
      title: 'Incidentes mayores · Panel', wide: true, incidents: list, count: list.length,
      openCount: list.filter((i) => i.open).length, enabled: policy.incidents.enabled,
    });
  });

  scope.post<{ Params: { key: string } }>('/tickets/:key/incidente', { config: { rateLimit: { max: 20, timeWindow: '1 minute' } } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const text = (code: number, message: string) => reply.code(code).headers({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).send(`${message}\n`);
    if (!formRequestTrusted(request, keys, body.csrf)) {
      web.log.warn({ event: 'panel.form_refused', ip: request.ip }, 'formulario del panel sin token válido');
      return text(403, '403: el formulario no trae un token válido de esta sesión; vuelva a abrir la página del ticket e inténtelo de nuevo.');
    }
    const key = request.params.key.toUpperCase();
    const as = typeof body.as === 'string' ? body.as.trim() : '';
    const person = as === '' ? PANEL_OPERATOR : directoryPerson(web, as);
    if (person === null) return text(400, `400: ${as} no es una persona de los niveles de atención.`);
    const now = web.clock();
    const outcome = await web.store.transaction(async () => {
      const found = key.length <= 40 ? await web.store.tickets.byKey(key) : undefined;
      const ticket = found ? await web.store.tickets.lockedById(found.id) : undefined;
      if (!ticket) return { status: 404, message: `404: no existe el ticket ${key}.` };
      const problems = await web.incidents.problemsOnTicket(ticket, [{ kind: 'major_incident' }]);
      if (problems.length > 0) return { status: 409, message: `409: ${problems.map((p) => p.problem).join(' ')}` };
      const linked = await web.incidents.declare(ticket, person, now);
      return { status: 303, message: formatIncidentKey(linked.incident_id as number) };
    });
    if (outcome.status !== 303) return text(outcome.status, outcome.message);
    web.log.info({ event: 'panel.incident_declared', ticket: key, incident: outcome.message, by: person.email }, 'incidente mayor declarado desde el panel');
    web.onOutbox();
    return reply.code(303).header('location', `/panel/incidentes#${outcome.message}`).header('cache-control', 'no-store').send();
  });
}

function directoryPerson(web: WebDeps, address: string): Person | null {
  return findAgent(levelDirectory(web.policy.levels), address)?.person ?? null;
}
