import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { isWebhookRoute, type Metrics } from '../metrics.ts';
import type { Store } from '../store/store.ts';
import type { Readiness } from './readiness.ts';

export interface HttpServerDeps {
  store: Store;
  registry: Registry;
  /** What `/healthz` adds to `ok: true`: counts for a person looking, not a probe's verdict. */
  health: () => Promise<Record<string, unknown>>;
  /** `/readyz`: database writable, mailboxes connected, outbox backlog within its limit. */
  readiness?: () => Promise<Readiness>;
  /** When given, webhook and portal latency is recorded in it. */
  metrics?: Pick<Metrics, 'webhookSeconds'>;
  /**
   * Which peers may set X-Forwarded-For (MESA_TRUST_PROXY): the client address the portal's
   * per-IP limit counts. Trusting everyone would let any client pick its own address.
   */
  trustProxy?: TrustProxy;
}

/** fastify's `trustProxy`: false, or addresses/CIDRs/`loopback`. */
export type TrustProxy = boolean | string[];

/**
 * HTTP shell: built apart from `listen` so tests use `inject()`. Serves the probes (`/healthz`:
 * the process is up; `/readyz`: it can do its job) and `/metrics`; the portal, Twilio webhooks
 * and the queue view mount here in their own issues.
 */
export function buildHttpServer(deps: HttpServerDeps): FastifyInstance {
  // Twilio posts form-encoded bodies of a few KB; nothing here takes large uploads.
  const app = Fastify({ logger: false, trustProxy: deps.trustProxy ?? ['loopback'], bodyLimit: 256 * 1024 });
  const webhookSeconds = deps.metrics?.webhookSeconds;
  if (webhookSeconds) {
    // Added at the root before any route plugin, so it applies to routes registered later too.
    // Labelled by the route's template (never the raw URL, whose ids would explode the series).
    app.addHook('onResponse', async (req, reply) => {
      const route = req.routeOptions.url;
      if (!isWebhookRoute(route)) return;
      webhookSeconds.observe({ route, method: req.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });
  }
  app.get('/healthz', async (_req, reply) => {
    try {
      await deps.store.ping();
    } catch (err) {
      return reply.code(503).send({ ok: false, error: (err as Error).message });
    }
    return { ok: true, ...(await deps.health()) };
  });
  app.get('/readyz', async (_req, reply) => {
    const r = (await deps.readiness?.()) ?? { ready: true, instance: '', failing: [], checks: [] };
    reply.header('cache-control', 'no-store');
    return reply.code(r.ready ? 200 : 503).send(r);
  });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.registry.contentType);
    return deps.registry.metrics();
  });
  return app;
}
