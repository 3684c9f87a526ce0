import type { FastifyInstance, FastifyReply } from 'fastify';
import { verifyStatusToken } from '../domain/status-link.ts';
import { publicTicketView } from './views/status-view.ts';
import type { WebDeps } from './web-deps.ts';
import { incidentFeed } from './incident-feed.ts';
import { publicIncidentView } from './views/incident-status-view.ts';
import { dateOf } from './views/view-basics.ts';

/** A resolved incident stays on the public page this long. */
const RESOLVED_SHOWN_MS = 7 * 86_400_000;

/** Feeds are public and change with every update: readers may cache them a minute. */
const FEED_HEADERS: Record<string, string> = { 'x-content-type-options': 'nosniff', 'cache-control': 'public, max-age=60' };

/**
 * The public status page (issue 13): `GET /estado` lists the major incidents with their ETR and
 * updates, for anyone, and `/estado/incidentes.atom` / `.rss` are the same as feeds.
 *
 * The customer's status page (DESIGN §4, issue 6): `GET /estado/MDA-000123/<token>`, the signed
 * link every customer message carries. A wrong token, an unknown key or a malformed path all get
 * the same 404 page: nothing tells which part was wrong, and the token is checked (timing-safe)
 * before the database is asked about the key.
 */
export function registerStatusRoutes(app: FastifyInstance, web: WebDeps): void {
  const notFound = (reply: FastifyReply): FastifyReply => web.pages.send(reply, 404, 'not-found', { title: 'Página no encontrada' });

  app.get<{ Params: { key: string; token: string } }>('/estado/:key/:token', async (request, reply) => {
    const key = request.params.key.toUpperCase();
    const token = request.params.token;
    const valid = key.length <= 40 && token.length <= 64 && verifyStatusToken(web.secret, key, token);
    const ticket = valid ? await web.store.tickets.byKey(key) : undefined;
    if (!ticket) return notFound(reply);
    const now = web.clock();
    const contact = await web.store.tickets.contact(ticket.contact_id);
    const view = publicTicketView({
      policy: web.policy,
      ticket,
      contact,
      etrHistory: await web.store.tickets.etrHistory(ticket.id),
      messages: await web.store.tickets.messagesOf(ticket.id),
      sms: contact?.phone ? await web.store.tickets.smsTo(ticket.id, contact.phone) : [],
      statusToken: token.toLowerCase(),
      now,
    });
    return web.pages.send(reply, 200, 'status', { title: `Ticket ${view.key}`, ticket: view });
  });
  // The public status page: open incidents and those resolved in the last days, no login.
  const incidents = async (now: Date) => {
    const rows = await web.store.incidents.listed(now.getTime() - RESOLVED_SHOWN_MS);
    return await Promise.all(rows.map(async (i) => publicIncidentView(web.policy, i, await web.store.incidents.updates(i.id), now)));
  };
  app.get('/estado', async (_request, reply) => {
    const now = web.clock();
    const views = await incidents(now);
    return web.pages.send(reply, 200, 'incidents', {
      title: 'Estado del servicio', incidents: views, open: views.filter((v) => v.open), resolved: views.filter((v) => !v.open),
      checkedAt: dateOf(web.policy, now.getTime(), now),
    });
  });
  for (const [path, kind] of [['/estado/incidentes.atom', 'atom'], ['/estado/incidentes.rss', 'rss']] as const) {
    app.get(path, async (_request, reply) => {
      const now = web.clock();
      const feed = incidentFeed(await incidents(now), { deskName: web.policy.desk.name, baseUrl: web.linkBaseUrl, now });
      return reply.code(200).headers({ ...FEED_HEADERS, 'content-type': kind === 'atom' ? 'application/atom+xml; charset=utf-8' : 'application/rss+xml; charset=utf-8' })
        .send(kind === 'atom' ? feed.atom1() : feed.rss2());
    });
  }
  // Anything else under /estado is a link that was cut or mangled: the same page.
  app.get('/estado/*', async (_request, reply) => notFound(reply));
}
