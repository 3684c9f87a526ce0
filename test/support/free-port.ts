import { createServer } from 'node:net';

/**
 * A TCP port free on `host` right now (bind 0, read, close). Another process may take it before
 * the caller binds it, so callers retry on a bind failure.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') { srv.close(); reject(new Error('no port')); return; }
      srv.close(() => resolve(addr.port));
    });
  });
}
