import type { FastifyInstance, FastifyReply } from 'fastify';
import { verifyStatusToken } from '../domain/status-link.ts';
import { publicTicketView } from './views/status-view.ts';
import type { WebDeps } from './web-deps.ts';

/**
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
  // Anything else under /estado is a link that was cut or mangled: the same page.
  app.get('/estado', async (_request, reply) => notFound(reply));
  app.get('/estado/*', async (_request, reply) => notFound(reply));
}
