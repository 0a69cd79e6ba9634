// Binding the ingress HTTP port on several addresses: the port (or its fallback when it cannot be
// bound) on the first address, the same port on the others, retrying addresses that do not exist
// yet (the pod bridge can appear after the host-network ingress pod starts).
import type net from 'node:net';
import { type Clock, realClock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';

/** The accept backlog: deep, for the burst of reconnections after a worker dies. */
export const acceptBacklog = 4096;

/** Listens on host:port with a deep accept backlog (bursts of new connections after a restart). */
export function listenOn(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: acceptBacklog }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Options of bindAll. */
export interface BindAllOptions<T> {
  /** Binds one address (a listening server, or a handle), rejecting when it cannot. */
  bind: (port: number, host: string) => Promise<T>;
  /** The port `bind` got (decides the port of the other addresses). */
  portOf: (bound: T) => number;
  port: number;
  /** Used when `port` cannot be bound on the first address. */
  fallbackPort: number;
  /** Addresses; the first decides the port. Default 127.0.0.1. */
  addresses?: string[];
  log: Logger;
  clock?: Clock;
  /** True once the caller is shutting down (stops the retries). */
  stopping: () => boolean;
  /** Told of each address bound by the background retries (after bindAll returned). */
  onLateBind?: (bound: T) => void;
}

/**
 * Binds every address. Guarantees: 1. the first address binds (port, else fallback) or this
 * rejects; 2. the returned list holds every address bound so far, and those bound later by the
 * background retries are pushed to it (close them all at shutdown) and passed to onLateBind.
 */
export async function bindAll<T>(opts: BindAllOptions<T>): Promise<{ port: number; bound: T[] }> {
  const clock = opts.clock ?? realClock;
  const [first = '127.0.0.1', ...rest] = opts.addresses ?? ['127.0.0.1'];
  let main: T;
  try {
    main = await opts.bind(opts.port, first);
  } catch (err) {
    opts.log.warn(
      `Cannot bind the ingress HTTP port ${opts.port} (${errorMessage(err)}); serving on port ${opts.fallbackPort} instead`,
    );
    main = await opts.bind(opts.fallbackPort, first);
  }
  const port = opts.portOf(main);
  const bound = [main];
  for (const addr of rest) {
    try {
      bound.push(await opts.bind(port, addr));
    } catch (err) {
      opts.log.warn('Cannot serve the ingress on an address yet; retrying', {
        address: `${addr}:${port}`,
        err: errorMessage(err),
      });
      void retry(port, addr, bound, opts, clock);
    }
  }
  return { port, bound };
}

async function retry<T>(
  port: number,
  addr: string,
  bound: T[],
  opts: BindAllOptions<T>,
  clock: Clock,
): Promise<void> {
  for (let attempt = 0; attempt < 600 && !opts.stopping(); attempt++) {
    await clock.sleep(1000);
    if (opts.stopping()) return;
    try {
      const b = await opts.bind(port, addr);
      bound.push(b);
      opts.onLateBind?.(b);
      opts.log.info('Ingress now also serving', { address: `${addr}:${port}` });
      return;
    } catch {
      // Still missing: try again in a second.
    }
  }
}
