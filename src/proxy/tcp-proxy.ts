// One TCP listener of the userspace Service proxy: accepts on (address, port), connects to an
// endpoint chosen by an EndpointPicker, retries the connect on the next endpoint, then splices the
// two sockets (follows the old kube-proxy pkg/proxy/userspace proxysocket.go TryConnectEndpoints).
import net from 'node:net';
import type { EndpointPicker, Target } from '../api/endpoint-picker.js';
import { type Clock, realClock } from '../lib/clock.js';
import { createLogger, type Logger } from '../lib/log.js';

/** Per-attempt connect timeouts of the upstream userspace proxier (EndpointDialTimeouts). */
export const endpointDialTimeoutsMs = [250, 500, 1000, 2000] as const;

/** Options of ServicePortListener. */
export interface ServicePortListenerOptions {
  host: string;
  port: number;
  picker: EndpointPicker;
  clock?: Clock;
  log?: Logger;
  /** Called when a connect to an endpoint is refused, so the owner can drop it everywhere. */
  onRefused?: (target: Target) => void;
}

/**
 * Proxies every connection accepted on host:port to one endpoint. Guarantees:
 * 1. A connect that fails or times out is retried on the next candidate, up to one try per
 *    endpoint and at most endpointDialTimeoutsMs.length tries; no byte is read before that.
 * 2. With no endpoint (or all tries failed) the client connection is reset, as a REJECT would.
 * 3. Half-close is forwarded both ways, so keep-alive and request/response protocols work.
 * 4. close() stops accepting and destroys live connections.
 */
export class ServicePortListener {
  readonly host: string;
  readonly port: number;
  #opts: ServicePortListenerOptions;
  #clock: Clock;
  #log: Logger;
  #server: net.Server;
  #sockets = new Set<net.Socket>();

  constructor(opts: ServicePortListenerOptions) {
    this.#opts = opts;
    this.host = opts.host;
    this.port = opts.port;
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.log ?? createLogger()).child({ listener: `${opts.host}:${opts.port}` });
    this.#server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (c) =>
      this.#accept(c),
    );
  }

  /** The picker of this listener (swapped when the Service port is re-keyed). */
  get picker(): EndpointPicker {
    return this.#opts.picker;
  }

  /** Binds the socket; rejects with the bind error (EADDRINUSE, EADDRNOTAVAIL, ...). */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#server.once('error', onError);
      this.#server.listen({ host: this.host, port: this.port, backlog: 1024 }, () => {
        this.#server.off('error', onError);
        this.#server.on('error', (err) => this.#log.warn('Listener error', { err }));
        resolve();
      });
    });
  }

  /** The bound port (useful when listening on port 0 in tests). */
  get boundPort(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a ? a.port : this.port;
  }

  /** Stops accepting and destroys every live connection. */
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    return new Promise((resolve) => {
      if (!this.#server.listening) resolve();
      else this.#server.close(() => resolve());
    });
  }

  #track(s: net.Socket): void {
    this.#sockets.add(s);
    s.once('close', () => this.#sockets.delete(s));
  }

  #accept(client: net.Socket): void {
    this.#track(client);
    client.setNoDelay(true);
    client.on('error', () => client.destroy());
    const clientIP = client.remoteAddress;
    const order = this.#opts.picker.candidates(clientIP);
    const tries = Math.min(order.length, endpointDialTimeoutsMs.length);
    const attempt = (i: number): void => {
      const target = order[i];
      if (i >= tries || !target || client.destroyed) {
        if (!client.destroyed) client.resetAndDestroy();
        return;
      }
      const up = net.connect({ host: target.ip, port: target.port, allowHalfOpen: true });
      this.#track(up);
      let settled = false;
      const timer = this.#clock.setTimeout(() => {
        if (settled) return;
        settled = true;
        up.destroy();
        attempt(i + 1);
      }, endpointDialTimeoutsMs[i] ?? 2000);
      up.once('connect', () => {
        if (settled) return;
        settled = true;
        timer.cancel();
        this.#opts.picker.served(clientIP, target);
        this.#splice(client, up);
      });
      up.once('error', (err: NodeJS.ErrnoException) => {
        if (settled) return;
        settled = true;
        timer.cancel();
        if (err.code === 'ECONNREFUSED') this.#opts.onRefused?.(target);
        this.#log.debug('Endpoint connect failed, trying the next one', {
          endpoint: `${target.ip}:${target.port}`,
          err,
        });
        attempt(i + 1);
      });
    };
    attempt(0);
  }

  #splice(client: net.Socket, up: net.Socket): void {
    up.setNoDelay(true);
    // A reset on one side resets the other; an orderly end is forwarded by pipe (half-close).
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
    up.on('close', () => {
      if (!client.writableEnded) client.destroy();
    });
    client.on('close', () => {
      if (!up.writableEnded) up.destroy();
    });
    client.pipe(up);
    up.pipe(client);
  }
}
