import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { RateLimitRepo } from '../store/rate-limit-repo.ts';

type Callback = (err: Error | null, result?: { current: number; ttl: number }) => void;

/**
 * A store for @fastify/rate-limit that keeps its counters in the desk's database, so every
 * instance behind the load balancer counts the same requests (its built-in store counts per
 * process). Keys are namespaced per registration (`portal`, `panel`) and per route; time comes
 * from the shell's clock like everything else the desk stores.
 */
export function sharedRateLimitStore(limits: RateLimitRepo, clock: () => Date, namespace: string): FastifyRateLimitStoreCtor {
  class SharedRateLimitStore implements FastifyRateLimitStore {
    readonly prefix: string;
    constructor(prefix: unknown = namespace) {
      this.prefix = typeof prefix === 'string' ? prefix : namespace;
    }

    incr(key: string, cb: Callback, timeWindow: number): void {
      const now = clock().getTime();
      limits.hit(`${this.prefix}:${key}`, timeWindow, now)
        .then((r) => cb(null, { current: r.hits, ttl: Math.max(0, r.resetsAt - now) }), (err: Error) => cb(err));
    }

    read(key: string, cb: Callback): void {
      const now = clock().getTime();
      limits.peek(`${this.prefix}:${key}`, now)
        .then((r) => cb(null, { current: r.hits, ttl: Math.max(0, r.resetsAt - now) }), (err: Error) => cb(err));
    }

    /** The plugin passes the route's merged limit options, whose `routeInfo` names the route. */
    child(options: object): SharedRateLimitStore {
      const info = (options as { routeInfo?: { method?: string; url?: string } }).routeInfo;
      const where = info?.url ? `${info.method ?? ''}${info.url}` : '';
      return new SharedRateLimitStore(where ? `${namespace}:${where}` : namespace);
    }
  }
  return SharedRateLimitStore;
}
