// Binding the ingress HTTP port on several addresses: the port (or its fallback when it cannot be
// bound) on the first address, the same port on the others, retrying addresses that do not exist
// yet (the pod bridge can appear after the host-network ingress pod starts).
import net from 'node:net';
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

/**
 * A bound TCP socket of node's tcp_wrap that this process never accepts from: what node:cluster's
 * shared handle holds, and what `net.Server#listen(handle)` in a worker listens and accepts on.
 */
export interface ServerHandle {
  close(): void;
  getsockname(out: { port?: number }): number;
}

/** net's handle factory (what node:cluster's SharedHandle binds with; bind only, no listen). */
type CreateServerHandle = (
  address: string,
  port: number,
  addressType: number,
) => ServerHandle | number;

/**
 * Binds host:port for worker processes to listen and accept on, without listening here (a
 * listening handle would accept in this process too). The bind is probed with a short-lived
 * listener first: libuv reports EADDRINUSE only at listen(), which happens in the worker.
 */
export async function bindServerHandle(port: number, host: string): Promise<ServerHandle> {
  const probe = net.createServer();
  await listenOn(probe, port, host);
  const bound = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const create = (net as unknown as { _createServerHandle: CreateServerHandle })
    ._createServerHandle;
  const h = create(host, bound, net.isIPv6(host) ? 6 : 4);
  if (typeof h === 'number') throw new Error(`cannot bind ${host}:${bound}: errno ${h}`);
  return h;
}

/** The port a server handle is bound to. */
export function handlePort(h: ServerHandle): number {
  const out: { port?: number } = {};
  h.getsockname(out);
  return out.port ?? 0;
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
