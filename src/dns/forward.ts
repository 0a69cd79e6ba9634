// Forwarding of non-cluster queries to the host's resolvers (CoreDNS forward plugin's role): UDP
// with per-query id rewriting and failover to the next upstream, TCP for TCP queries.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Clock, Timer } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';

/** Per-upstream timeout before trying the next one. */
const upstreamTimeoutMs = 2000;

/** Options of Forwarder. */
export interface ForwarderOptions {
  /** "ip" or "ip:port". */
  upstreams: string[];
  clock: Clock;
  log: Logger;
}

interface Pending {
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
  timer: Timer;
  origId: number;
}

function splitHostPort(u: string): { host: string; port: number } {
  const i = u.lastIndexOf(':');
  if (i > 0 && !u.includes('::')) return { host: u.slice(0, i), port: Number(u.slice(i + 1)) };
  return { host: u, port: 53 };
}

/**
 * Sends queries upstream. Guarantees:
 * 1. Concurrent queries never collide: each gets its own upstream id, restored in the answer.
 * 2. An upstream that does not answer in 2 s is skipped for that query; after the last one the
 *    query fails (the server answers SERVFAIL).
 */
export class Forwarder {
  #opts: ForwarderOptions;
  #sock: dgram.Socket | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor(opts: ForwarderOptions) {
    this.#opts = opts;
  }

  /** Opens the UDP socket used for upstream queries. */
  async open(): Promise<void> {
    const sock = dgram.createSocket('udp4');
    this.#sock = sock;
    sock.on('message', (msg) => {
      if (msg.length < 12) return;
      const p = this.#pending.get(msg.readUInt16BE(0));
      if (!p) return;
      this.#pending.delete(msg.readUInt16BE(0));
      p.timer.cancel();
      const out = Buffer.from(msg);
      out.writeUInt16BE(p.origId, 0);
      p.resolve(out);
    });
    sock.on('error', (err) => this.#opts.log.warn('Forwarder socket error', { err: err.message }));
    await new Promise<void>((resolve) => sock.bind(0, resolve));
  }

  /** Closes the socket and fails pending queries. */
  close(): void {
    for (const p of this.#pending.values()) {
      p.timer.cancel();
      p.reject(new Error('DNS forwarder closed'));
    }
    this.#pending.clear();
    this.#sock?.close();
  }

  /** Forwards a raw query and resolves with the raw answer (original id restored). */
  async forward(query: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer> {
    let lastErr: Error = new Error('No upstream DNS server configured');
    for (const u of this.#opts.upstreams) {
      try {
        return transport === 'tcp' ? await this.#tcp(u, query) : await this.#udp(u, query);
      } catch (err) {
        lastErr = err instanceof Error ? err : new Error(String(err));
      }
    }
    throw lastErr;
  }

  #udp(upstream: string, query: Buffer): Promise<Buffer> {
    const { host, port } = splitHostPort(upstream);
    let id = this.#nextId;
    while (this.#pending.has(id)) id = (id + 1) & 0xffff;
    this.#nextId = (id + 1) & 0xffff;
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    return new Promise((resolve, reject) => {
      const timer = this.#opts.clock.setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`Upstream "${upstream}" did not answer`));
      }, upstreamTimeoutMs);
      this.#pending.set(id, { resolve, reject, timer, origId: query.readUInt16BE(0) });
      this.#sock?.send(out, port, host, (err) => {
        if (!err) return;
        this.#pending.delete(id);
        timer.cancel();
        reject(err);
      });
    });
  }

  #tcp(upstream: string, query: Buffer): Promise<Buffer> {
    const { host, port } = splitHostPort(upstream);
    return new Promise((resolve, reject) => {
      const c = net.connect(port, host);
      const timer = this.#opts.clock.setTimeout(() => {
        c.destroy();
        reject(new Error(`Upstream "${upstream}" did not answer over TCP`));
      }, upstreamTimeoutMs);
      let buf = Buffer.alloc(0);
      c.on('connect', () => {
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(query.length);
        c.write(Buffer.concat([prefix, query]));
      });
      c.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          timer.cancel();
          c.end();
          resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        }
      });
      c.on('error', (err) => {
        timer.cancel();
        reject(err);
      });
    });
  }
}
