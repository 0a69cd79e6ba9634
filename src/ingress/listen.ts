// Binding the ingress HTTP port on several addresses: the port (or its fallback when it cannot be
// bound) on the first address, the same port on the others, retrying addresses that do not exist
// yet (the pod bridge can appear after the host-network ingress pod starts).
import type net from 'node:net';
import { type Clock, realClock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';

/** Listens on host:port with a deep accept backlog (bursts of new connections after a restart). */
export function listenOn(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Options of bindAll. */
export interface BindAllOptions<S extends net.Server> {
  /** Makes one server per address. */
  make: () => S;
  port: number;
  /** Used when `port` cannot be bound on the first address. */
  fallbackPort: number;
  /** Addresses; the first decides the port. Default 127.0.0.1. */
  addresses?: string[];
  log: Logger;
  clock?: Clock;
  /** True once the caller is shutting down (stops the retries). */
  stopping: () => boolean;
}

/**
 * Binds every address. Guarantees: 1. the first address binds (port, else fallback) or this
 * rejects; 2. the returned list holds every server bound so far, and servers bound later by the
 * background retries are pushed to it (close them all at shutdown).
 */
export async function bindAll<S extends net.Server>(
  opts: BindAllOptions<S>,
): Promise<{ port: number; servers: S[] }> {
  const clock = opts.clock ?? realClock;
  const [first = '127.0.0.1', ...rest] = opts.addresses ?? ['127.0.0.1'];
  const main = opts.make();
  try {
    await listenOn(main, opts.port, first);
  } catch (err) {
    opts.log.warn(
      `Cannot bind the ingress HTTP port ${opts.port} (${errorMessage(err)}); serving on port ${opts.fallbackPort} instead`,
    );
    await listenOn(main, opts.fallbackPort, first);
  }
  const port = (main.address() as net.AddressInfo).port;
  const servers = [main];
  for (const addr of rest) {
    const server = opts.make();
    try {
      await listenOn(server, port, addr);
      servers.push(server);
    } catch (err) {
      opts.log.warn('Cannot serve the ingress on an address yet; retrying', {
        address: `${addr}:${port}`,
        err: errorMessage(err),
      });
      void retry(server, port, addr, servers, opts, clock);
    }
  }
  return { port, servers };
}

async function retry<S extends net.Server>(
  server: S,
  port: number,
  addr: string,
  servers: S[],
  opts: BindAllOptions<S>,
  clock: Clock,
): Promise<void> {
  for (let attempt = 0; attempt < 600 && !opts.stopping(); attempt++) {
    await clock.sleep(1000);
    if (opts.stopping()) return;
    try {
      await listenOn(server, port, addr);
      servers.push(server);
      opts.log.info('Ingress now also serving', { address: `${addr}:${port}` });
      return;
    } catch {
      // Still missing: try again in a second.
    }
  }
}
