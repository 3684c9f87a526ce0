import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Store } from '../store/store.ts';

/**
 * HTTP shell: built apart from `listen` so tests use `inject()`. This issue serves health and
 * metrics; the portal, Twilio webhooks and the queue view mount here in their own issues.
 */
export function buildHttpServer(deps: { store: Store; registry: Registry; health: () => Record<string, unknown> }): FastifyInstance {
  // Twilio posts form-encoded bodies of a few KB; nothing here takes large uploads.
  const app = Fastify({ logger: false, trustProxy: true, bodyLimit: 256 * 1024 });
  app.get('/healthz', async (_req, reply) => {
    try {
      deps.store.db.prepare('SELECT 1').get();
    } catch (err) {
      return reply.code(503).send({ ok: false, error: (err as Error).message });
    }
    return { ok: true, ...deps.health() };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.registry.contentType);
    return deps.registry.metrics();
  });
  return app;
}
