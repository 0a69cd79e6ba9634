// Cluster DNS (CoreDNS's role with the kubernetes and forward plugins): serves the cluster zone over
// UDP and TCP from Service/EndpointSlice informers and forwards other names to the host's resolver.
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { InformerFactory } from '../client/informer-factory.js';
import { R } from '../client/resources.js';
import type { KObject, KubeClient } from '../client/rest.js';
import { type Clock, realClock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Component } from '../lib/lifecycle.js';
import { createLogger, type Logger } from '../lib/log.js';
import { addServiceAddress, canManageDevices } from '../lib/netdev.js';
import {
  decodeMessage,
  encodeMessage,
  Flags,
  type Message,
  RCode,
  RRType,
  soaRecord,
} from './codec.js';
import { Forwarder } from './forward.js';
import { resolveInZone, type ServiceRecord, type ServiceRecordSource } from './resolver.js';

/** Options of createClusterDNS. */
export interface ClusterDNSOptions {
  /** Needed unless `informers` or `source` is given. */
  client?: KubeClient;
  informers?: InformerFactory;
  /** Overrides the informer-backed Service source (tests). */
  source?: ServiceRecordSource;
  /** Default 10.96.0.10 (the kube-dns ClusterIP). */
  listenIP?: string;
  /** Default 53. */
  port?: number;
  /** Default cluster.local. */
  zone?: string;
  /** TTL of cluster answers; default 5 s. */
  ttl?: number;
  /** Upstream resolvers "ip" or "ip:port"; default the nameservers of resolvConfPath. */
  upstreams?: string[];
  resolvConfPath?: string;
  /** Put listenIP on the service device first; default when root and not a loopback address. */
  manageAddress?: boolean;
  /** Service device that carries listenIP (default the proxy's skiff-svc). */
  deviceName?: string;
  clock?: Clock;
  log?: Logger;
}

/** The nameservers of a resolv.conf text. */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m?.[1] && net.isIPv4(m[1])) out.push(m[1]);
  }
  return out;
}

/** A ServiceRecordSource over Service and EndpointSlice informers. */
function informerSource(informers: InformerFactory): {
  source: ServiceRecordSource;
  waitForSync: (s: AbortSignal) => Promise<void>;
} {
  const services = informers.informerFor<Service & KObject>(R.services);
  const slices = informers.informerFor<EndpointSlice & KObject>(R.endpointslices);
  return {
    waitForSync: async (s) => {
      await Promise.all([services.waitForSync(s), slices.waitForSync(s)]);
    },
    source: {
      service(namespace, name): ServiceRecord | undefined {
        const svc = services.lister.get(namespace, name);
        if (!svc) return undefined;
        if (svc.spec?.type === 'ExternalName') {
          return { endpoints: [], externalName: svc.spec.externalName };
        }
        const ip = svc.spec?.clusterIP;
        if (ip && ip !== 'None') return { clusterIP: ip, endpoints: [] };
        const endpoints: { ip: string; hostname?: string }[] = [];
        for (const s of slices.lister.list(namespace)) {
          if (s.metadata?.labels?.['kubernetes.io/service-name'] !== name) continue;
          for (const e of s.endpoints ?? []) {
            if (e.conditions?.ready === false || !e.addresses[0]) continue;
            endpoints.push({ ip: e.addresses[0], hostname: e.hostname });
          }
        }
        return { endpoints };
      },
    },
  };
}

/** The cluster DNS server as a Component. */
export function createClusterDNS(opts: ClusterDNSOptions): Component & {
  /** The bound UDP/TCP port (differs from `port` when it was 0). */
  readonly boundPort: number;
} {
  return new ClusterDNS(opts);
}

class ClusterDNS implements Component {
  readonly name = 'cluster-dns';
  #opts: ClusterDNSOptions;
  #log: Logger;
  #source: ServiceRecordSource | undefined;
  #tcpConns = new Set<net.Socket>();
  #forwarder: Forwarder | undefined;
  #zone: string;
  #ttl: number;
  #boundPort = 0;
  #done: Promise<void> = Promise.resolve();

  constructor(opts: ClusterDNSOptions) {
    this.#opts = opts;
    this.#log = (opts.log ?? createLogger()).child({ component: 'cluster-dns' });
    this.#zone = opts.zone ?? 'cluster.local';
    this.#ttl = opts.ttl ?? 5;
  }

  get boundPort(): number {
    return this.#boundPort;
  }

  async start(signal: AbortSignal): Promise<void> {
    const host = this.#opts.listenIP ?? '10.96.0.10';
    const port = this.#opts.port ?? 53;
    if (this.#opts.source) this.#source = this.#opts.source;
    else {
      const informers =
        this.#opts.informers ??
        new InformerFactory({ client: this.#opts.client!, clock: this.#opts.clock });
      const s = informerSource(informers);
      informers.start(signal);
      await s.waitForSync(signal);
      this.#source = s.source;
    }
    const manage = this.#opts.manageAddress ?? (canManageDevices() && !host.startsWith('127.'));
    if (manage) await addServiceAddress(host, this.#opts.deviceName);

    const upstreams = (
      this.#opts.upstreams ??
      parseResolvConf(readFileSync(this.#opts.resolvConfPath ?? '/etc/resolv.conf', 'utf8'))
    ).filter((u) => u !== host && u !== `${host}:${port}`);
    this.#forwarder = new Forwarder({
      upstreams,
      clock: this.#opts.clock ?? realClock,
      log: this.#log,
    });
    await this.#forwarder.open();

    const udp = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', (err) => this.#log.warn('UDP socket error', { err: errorMessage(err) }));
    udp.on('message', (msg, rinfo) => {
      void this.#handle(msg, 'udp').then((out) => {
        if (out) udp.send(out, rinfo.port, rinfo.address);
      });
    });
    this.#boundPort = udp.address().port;

    const tcp = net.createServer((c) => this.#serveTCP(c));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.#boundPort, host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    this.#log.info('Cluster DNS listening', { address: `${host}:${this.#boundPort}`, upstreams });
    this.#done = new Promise((resolve) => {
      signal.addEventListener(
        'abort',
        () => {
          udp.close();
          for (const c of this.#tcpConns) c.destroy();
          this.#forwarder?.close();
          tcp.close(() => resolve());
        },
        { once: true },
      );
    });
  }

  stopped(): Promise<void> {
    return this.#done;
  }

  #serveTCP(c: net.Socket): void {
    this.#tcpConns.add(c);
    c.on('close', () => this.#tcpConns.delete(c));
    c.on('error', () => c.destroy());
    let buf = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        void this.#handle(msg, 'tcp').then((out) => {
          if (!out || c.destroyed) return;
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(out.length);
          c.write(Buffer.concat([prefix, out]));
        });
      }
    });
  }

  /** Answers one query; undefined when the input is too broken to answer at all. */
  async #handle(raw: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    let q: Message;
    try {
      q = decodeMessage(raw);
    } catch {
      // Malformed: answer FORMERR when at least the id is readable.
      if (raw.length < 2) return undefined;
      const h = Buffer.alloc(12);
      raw.copy(h, 0, 0, 2);
      h.writeUInt16BE(Flags.QR | RCode.FORMERR, 2);
      return h;
    }
    const question = q.questions[0];
    if ((q.flags & Flags.QR) !== 0 || !question) return undefined;
    const local = resolveInZone(question.name, question.type, this.#source!, {
      zone: this.#zone,
      ttl: this.#ttl,
    });
    if (!local) {
      try {
        return await this.#forwarder!.forward(raw, transport);
      } catch (err) {
        this.#log.debug('Forward failed', { name: question.name, err: errorMessage(err) });
        return this.#reply(q, RCode.SERVFAIL, [], transport, false);
      }
    }
    return this.#reply(q, local.rcode, local.answers, transport, true);
  }

  #reply(
    q: Message,
    rcode: number,
    answers: Message['answers'],
    transport: 'udp' | 'tcp',
    authoritative: boolean,
  ): Buffer {
    const flags =
      Flags.QR | (q.flags & Flags.RD) | Flags.RA | (authoritative ? Flags.AA : 0) | rcode;
    const negative = authoritative && answers.length === 0;
    const m: Message = {
      id: q.id,
      flags,
      questions: q.questions.slice(0, 1),
      answers,
      authority: negative ? [soaRecord(this.#zone, this.#ttl, 1)] : [],
      additional: [],
    };
    let out = encodeMessage(m);
    const opt = q.additional.find((r) => r.type === RRType.OPT);
    const limit =
      transport === 'tcp' ? 65535 : opt ? Math.max(512, Math.min(opt.class, 4096)) : 512;
    if (out.length > limit) {
      out = encodeMessage({ ...m, flags: flags | Flags.TC, answers: [], authority: [] });
    }
    return out;
  }
}
