// The per-node Service proxy (kube-proxy's role) in userspace: ClusterIPs as /32s on a host device,
// one TCP listener per ClusterIP:port and NodePort, endpoints from EndpointSlices. Structure follows
// kubernetes pkg/proxy (ServiceChangeTracker/EndpointsChangeTracker → syncProxyRules on a
// BoundedFrequencyRunner), except that endpoint changes reach the balancers at once.
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import {
  EndpointPicker,
  endpointsForServicePort,
  type ProxyEndpoint,
} from '../api/endpoint-picker.js';
import { objectKey } from '../client/informer.js';
import { InformerFactory } from '../client/informer-factory.js';
import { R } from '../client/resources.js';
import type { KObject, KubeClient } from '../client/rest.js';
import { BoundedFrequencyRunner } from '../lib/bounded-frequency-runner.js';
import { type Clock, realClock, type Timer } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Component } from '../lib/lifecycle.js';
import { createLogger, type Logger } from '../lib/log.js';
import {
  canManageDevices,
  deleteServiceDevice,
  ensureServiceDevice,
  serviceDeviceName,
  syncDeviceAddresses,
} from '../lib/netdev.js';
import { ServicePortListener } from './tcp-proxy.js';

/** Upstream default of sessionAffinityConfig.clientIP.timeoutSeconds. */
export const defaultAffinityTimeoutSeconds = 10_800;
/** How often a sync re-reads the device though no ClusterIP changed (kube-proxy syncPeriod). */
const resyncMs = 30_000;
/** How soon a sync runs again after a listener could not bind. */
const listenRetryMs = 2000;
/** The cluster DNS address, kept on the device for the in-process DNS server. */
export const defaultDNSServiceIP = '10.96.0.10';

/** Options of createServiceProxy. */
export interface ServiceProxyOptions {
  client: KubeClient;
  /** A shared informer factory; one is made from `client` when absent. */
  informers?: InformerFactory;
  clock?: Clock;
  log?: Logger;
  /** The pod bridge's host address: NodePorts listen there and on 127.0.0.1. */
  bridgeIP?: string;
  /** Node addresses for NodePorts; default 127.0.0.1 and bridgeIP. Never 0.0.0.0. */
  nodeIPs?: string[];
  /**
   * Where LoadBalancer Services are exposed on their own ports (k3s's ServiceLB role: upstream
   * ingress-nginx's deploy.yaml gets port 80 this way); default 127.0.0.1. Never 0.0.0.0.
   */
  loadBalancerIP?: string;
  /** Device carrying ClusterIPs; default "skiff-svc". */
  deviceName?: string;
  /** Whether to create the device and addresses; default: when running as root. */
  manageDevice?: boolean;
  /** Services served by in-process components (no listener, address kept); default kube-dns. */
  localServices?: string[];
  /** Addresses always kept on the device; default the cluster DNS IP. */
  reservedAddresses?: string[];
  /** minSyncPeriod of the rebuild runner; default 100 ms. */
  minSyncIntervalMs?: number;
  /** Periodic full resync; default 30 s. */
  maxSyncIntervalMs?: number;
}

interface DesiredPort {
  svcPortKey: string;
  host: string;
  port: number;
}

/** True when the proxy handles this Service (has a ClusterIP, not ExternalName). */
function isProxied(svc: Readonly<Service>): boolean {
  const ip = svc.spec?.clusterIP;
  return !!ip && ip !== 'None' && svc.spec?.type !== 'ExternalName';
}

/** The userspace Service proxy as a Component. */
export function createServiceProxy(opts: ServiceProxyOptions): Component {
  return new ServiceProxy(opts);
}

/** Removes what a crashed run left on the host (the service device and its addresses). */
export async function cleanupProxy(opts: { deviceName?: string } = {}): Promise<void> {
  if (!canManageDevices()) return;
  await deleteServiceDevice(opts.deviceName ?? serviceDeviceName);
}

/**
 * The proxy. Guarantees:
 * 1. Endpoint changes (removals included) reach the balancers in the same tick as the slice event.
 * 2. Service changes (listeners, addresses) are coalesced, at most one rebuild per minSyncInterval.
 * 3. A refused connect drops the endpoint from that balancer until the next slice event.
 * 4. On abort every listener closes and the device (with all ClusterIPs) is deleted.
 */
class ServiceProxy implements Component {
  readonly name = 'service-proxy';
  #opts: ServiceProxyOptions;
  #clock: Clock;
  #log: Logger;
  #informers: InformerFactory;
  #services;
  #slices;
  #runner: BoundedFrequencyRunner;
  #pickers = new Map<string, EndpointPicker>();
  #listeners = new Map<string, { svcPortKey: string; listener: ServicePortListener }>();
  #manageDevice: boolean;
  // The ClusterIPs last put on the device, and when.
  #appliedAddresses = { set: '', at: 0 };
  #done: Promise<void> = Promise.resolve();
  #retryTimer: Timer | undefined;

  constructor(opts: ServiceProxyOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#log = (opts.log ?? createLogger()).child({ component: 'service-proxy' });
    this.#informers =
      opts.informers ?? new InformerFactory({ client: opts.client, clock: this.#clock });
    this.#services = this.#informers.informerFor<Service & KObject>(R.services);
    this.#slices = this.#informers.informerFor<EndpointSlice & KObject>(R.endpointslices);
    this.#manageDevice = opts.manageDevice ?? canManageDevices();
    this.#runner = new BoundedFrequencyRunner({
      fn: () => this.#syncProxyRules(),
      minIntervalMs: opts.minSyncIntervalMs ?? 100,
      maxIntervalMs: opts.maxSyncIntervalMs ?? resyncMs,
      clock: this.#clock,
      onError: (err) => this.#log.warn('Proxy sync failed', { err: errorMessage(err) }),
    });
  }

  async start(signal: AbortSignal): Promise<void> {
    if (!this.#manageDevice) {
      this.#log.warn('Not root: ClusterIPs are not reachable, only NodePorts on node addresses');
    } else {
      await ensureServiceDevice(this.#deviceName);
    }
    this.#services.addEventHandler({
      onAdd: () => this.#runner.run(),
      onUpdate: () => this.#runner.run(),
      onDelete: () => this.#runner.run(),
    });
    const onSlice = (s: EndpointSlice) => this.#updateEndpointsOf(s);
    this.#slices.addEventHandler({
      onAdd: onSlice,
      onUpdate: (_o, n) => onSlice(n),
      onDelete: onSlice,
    });
    this.#informers.start(signal);
    await Promise.all([this.#services.waitForSync(signal), this.#slices.waitForSync(signal)]);
    await this.#syncProxyRules();
    this.#runner.start();
    this.#done = new Promise((resolve) => {
      signal.addEventListener('abort', () => resolve(this.#shutdown()), { once: true });
    });
  }

  stopped(): Promise<void> {
    return this.#done;
  }

  async #shutdown(): Promise<void> {
    await this.#runner.stop();
    this.#retryTimer?.cancel();
    await Promise.all([...this.#listeners.values()].map((l) => l.listener.close()));
    this.#listeners.clear();
    if (this.#manageDevice) {
      await deleteServiceDevice(this.#deviceName).catch((err: unknown) =>
        this.#log.warn('Cannot remove the service device', { err: errorMessage(err) }),
      );
    }
  }

  get #lbIP(): string {
    return this.#opts.loadBalancerIP ?? '127.0.0.1';
  }

  /**
   * Writes the address a LoadBalancer Service is served on into its status (as k3s's ServiceLB
   * does), so `kubectl get svc` shows it as EXTERNAL-IP instead of <pending>.
   */
  #publishLoadBalancer(svc: Readonly<Service>): void {
    if (svc.spec?.type !== 'LoadBalancer' || !isProxied(svc)) return;
    const ingress = svc.status?.loadBalancer?.ingress ?? [];
    if (ingress.length === 1 && ingress[0]?.ip === this.#lbIP) return;
    const ns = svc.metadata?.namespace ?? '';
    const name = svc.metadata?.name ?? '';
    this.#opts.client
      .patch(
        R.services,
        ns,
        name,
        { status: { loadBalancer: { ingress: [{ ip: this.#lbIP, ipMode: 'VIP' }] } } },
        { subresource: 'status' },
      )
      .catch((err: unknown) =>
        this.#log.warn('Cannot publish the LoadBalancer address', {
          service: `${ns}/${name}`,
          err: errorMessage(err),
        }),
      );
  }

  get #localServices(): ReadonlySet<string> {
    return new Set(this.#opts.localServices ?? ['kube-system/kube-dns']);
  }

  get #deviceName(): string {
    return this.#opts.deviceName ?? serviceDeviceName;
  }

  /** Pushes the current endpoints of the slice's Service to its balancers (no rebuild). */
  #updateEndpointsOf(slice: Readonly<EndpointSlice>): void {
    const svcName = slice.metadata?.labels?.['kubernetes.io/service-name'];
    const ns = slice.metadata?.namespace ?? '';
    if (!svcName) return;
    const svc = this.#services.lister.get(ns, svcName);
    // Headless, DNS-served and non-TCP ports never get a balancer: a slice change there needs
    // no rebuild (a StatefulSet's pods becoming Ready used to cost a full sync, `ip` included).
    if (!svc || !isProxied(svc) || this.#localServices.has(`${ns}/${svcName}`)) return;
    let missing = false;
    for (const sp of svc.spec?.ports ?? []) {
      if ((sp.protocol ?? 'TCP') !== 'TCP') continue;
      const picker = this.#pickers.get(`${ns}/${svcName}:${sp.name ?? ''}`);
      if (picker) picker.setEndpoints(this.#endpointsFor(ns, svcName, sp.name ?? ''));
      else missing = true;
    }
    if (missing) this.#runner.run();
  }

  #endpointsFor(ns: string, svcName: string, portName: string): ProxyEndpoint[] {
    const slices = this.#slices.lister
      .list(ns)
      .filter((s) => s.metadata?.labels?.['kubernetes.io/service-name'] === svcName);
    return endpointsForServicePort(slices, portName);
  }

  #nodeIPs(): string[] {
    if (this.#opts.nodeIPs) return this.#opts.nodeIPs;
    return ['127.0.0.1', ...(this.#opts.bridgeIP ? [this.#opts.bridgeIP] : [])];
  }

  /** The full rebuild: device addresses, balancers and listeners from the Service cache. */
  async #syncProxyRules(): Promise<void> {
    const local = this.#localServices;
    const addresses = new Set(this.#opts.reservedAddresses ?? [defaultDNSServiceIP]);
    const desired = new Map<string, DesiredPort>();
    const pickers = new Map<string, EndpointPicker>();
    for (const svc of this.#services.lister.list()) {
      if (!isProxied(svc)) continue;
      const key = objectKey(svc);
      const clusterIP = svc.spec?.clusterIP ?? '';
      addresses.add(clusterIP);
      if (local.has(key)) continue;
      const affinityMs =
        svc.spec?.sessionAffinity === 'ClientIP'
          ? (svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ??
              defaultAffinityTimeoutSeconds) * 1000
          : 0;
      for (const sp of svc.spec?.ports ?? []) {
        // UDP/SCTP are not proxied: cluster DNS is served in-process on its own address.
        if ((sp.protocol ?? 'TCP') !== 'TCP') continue;
        const svcPortKey = `${key}:${sp.name ?? ''}`;
        const picker = this.#pickers.get(svcPortKey) ?? new EndpointPicker({ clock: this.#clock });
        picker.setAffinityTimeout(affinityMs);
        picker.setEndpoints(
          this.#endpointsFor(
            svc.metadata?.namespace ?? '',
            svc.metadata?.name ?? '',
            sp.name ?? '',
          ),
        );
        pickers.set(svcPortKey, picker);
        if (this.#manageDevice) {
          desired.set(`${clusterIP}:${sp.port}`, { svcPortKey, host: clusterIP, port: sp.port });
        }
        const isNodePort = svc.spec?.type === 'NodePort' || svc.spec?.type === 'LoadBalancer';
        if (isNodePort && sp.nodePort) {
          for (const host of this.#nodeIPs()) {
            desired.set(`${host}:${sp.nodePort}`, { svcPortKey, host, port: sp.nodePort });
          }
        }
        if (svc.spec?.type === 'LoadBalancer') {
          desired.set(`${this.#lbIP}:${sp.port}`, { svcPortKey, host: this.#lbIP, port: sp.port });
        }
      }
    }
    this.#pickers = pickers;
    for (const svc of this.#services.lister.list()) this.#publishLoadBalancer(svc);

    // Listing the device costs an `ip` process (a fork of this whole process): only when the set
    // changed, or on the periodic resync (half its period: a resync may come a little early) in
    // case someone else changed the device.
    const wanted = [...addresses].sort().join(',');
    const now = this.#clock.now();
    if (
      this.#manageDevice &&
      (wanted !== this.#appliedAddresses.set || now - this.#appliedAddresses.at >= resyncMs / 2)
    ) {
      const { added, removed } = await syncDeviceAddresses(addresses, this.#deviceName);
      if (added.length || removed.length) this.#log.debug('Service addresses', { added, removed });
      this.#appliedAddresses = { set: wanted, at: now };
    }
    // Close listeners that are gone or now belong to another Service port.
    for (const [k, l] of this.#listeners) {
      const d = desired.get(k);
      if (!d || d.svcPortKey !== l.svcPortKey || l.listener.picker !== pickers.get(d.svcPortKey)) {
        this.#listeners.delete(k);
        await l.listener.close();
      }
    }
    let retry = false;
    for (const [k, d] of desired) {
      if (this.#listeners.has(k)) continue;
      const picker = pickers.get(d.svcPortKey)!;
      const listener = new ServicePortListener({
        host: d.host,
        port: d.port,
        picker,
        clock: this.#clock,
        log: this.#log,
        onRefused: (t) => picker.remove(t),
      });
      try {
        await listener.listen();
        this.#listeners.set(k, { svcPortKey: d.svcPortKey, listener });
      } catch (err) {
        // EADDRNOTAVAIL for a bridge that does not exist yet, EADDRINUSE for a taken NodePort
        // (or port 80 still held by a host-network ingress pod being replaced): try again soon.
        this.#log.warn('Cannot listen for a Service port', { address: k, err: errorMessage(err) });
        retry = true;
      }
    }
    if (retry && !this.#retryTimer) {
      this.#retryTimer = this.#clock.setTimeout(() => {
        this.#retryTimer = undefined;
        this.#runner.run();
      }, listenRetryMs);
    }
  }
}
