// Endpoint choice for one Service port, shared by the service proxy and the ingress: endpoints from
// EndpointSlices, round robin over ready ones, serving-terminating ones only when none is ready
// (kube-proxy topology.go CategorizeEndpoints), ClientIP affinity (userspace roundrobin.go).
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { type Clock, realClock } from '../lib/clock.js';

/** An endpoint as the proxies see it, from EndpointSlice conditions. */
export interface ProxyEndpoint {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

/** An address to connect to. */
export interface Target {
  ip: string;
  port: number;
}

/** Options of EndpointPicker. */
export interface EndpointPickerOptions {
  clock?: Clock;
  /** ClientIP session affinity timeout; 0 or undefined means no affinity. */
  affinityTimeoutMs?: number;
}

const targetKey = (t: Target): string => `${t.ip}:${t.port}`;

/**
 * Chooses endpoints for new connections. Guarantees:
 * 1. Only ready endpoints are used; serving-terminating ones only when no endpoint is ready.
 * 2. Each call starts one step after the previous call's start, so connections alternate even when
 *    a connection retries over several endpoints (the start index is captured per call).
 * 3. With affinity, a client keeps its endpoint until the timeout passes or the endpoint leaves.
 * 4. setEndpoints takes effect for the very next call.
 */
export class EndpointPicker {
  #clock: Clock;
  #affinityMs: number;
  #usable: Target[] = [];
  #next = 0;
  #affinity = new Map<string, { target: Target; lastUsed: number }>();

  constructor(opts: EndpointPickerOptions = {}) {
    this.#clock = opts.clock ?? realClock;
    this.#affinityMs = opts.affinityTimeoutMs ?? 0;
  }

  /** Replaces the endpoint set. */
  setEndpoints(eps: readonly ProxyEndpoint[]): void {
    let usable = eps.filter((e) => e.ready);
    if (usable.length === 0) usable = eps.filter((e) => e.serving && e.terminating);
    this.#usable = usable.map((e) => ({ ip: e.ip, port: e.port }));
    if (this.#affinity.size) {
      const keys = new Set(this.#usable.map(targetKey));
      for (const [client, a] of this.#affinity) {
        if (!keys.has(targetKey(a.target))) this.#affinity.delete(client);
      }
    }
  }

  /** Changes the affinity timeout (0 disables affinity and forgets every client). */
  setAffinityTimeout(ms: number): void {
    this.#affinityMs = ms;
    if (ms <= 0) this.#affinity.clear();
  }

  /** Number of endpoints new connections may use. */
  get size(): number {
    return this.#usable.length;
  }

  /** The endpoints new connections may use now (a copy, in balancer order). */
  targets(): Target[] {
    return [...this.#usable];
  }

  /** Drops one endpoint at once, before the API says so (a refused connect). */
  remove(target: Target): void {
    const key = targetKey(target);
    this.#usable = this.#usable.filter((t) => targetKey(t) !== key);
    for (const [client, a] of this.#affinity) {
      if (targetKey(a.target) === key) this.#affinity.delete(client);
    }
  }

  /** The endpoints to try for one new connection, in order (empty when none is usable). */
  candidates(clientIP?: string): Target[] {
    const n = this.#usable.length;
    if (n === 0) return [];
    const start = this.#next % n;
    this.#next = (start + 1) % n;
    const order: Target[] = [];
    for (let i = 0; i < n; i++) order.push(this.#usable[(start + i) % n]!);
    if (this.#affinityMs > 0 && clientIP) {
      const a = this.#affinity.get(clientIP);
      if (a && this.#clock.now() - a.lastUsed < this.#affinityMs) {
        const key = targetKey(a.target);
        const idx = order.findIndex((t) => targetKey(t) === key);
        if (idx > 0) order.unshift(...order.splice(idx, 1));
      }
    }
    return order;
  }

  /** Records that clientIP was served by target (affinity bookkeeping). */
  served(clientIP: string | undefined, target: Target): void {
    if (this.#affinityMs <= 0 || !clientIP) return;
    this.#affinity.set(clientIP, { target, lastUsed: this.#clock.now() });
  }
}

/** Endpoints of one Service port from the slices of the Service (merged, ready ones preferred). */
export function endpointsForServicePort(
  slices: readonly Readonly<EndpointSlice>[],
  portName: string,
): ProxyEndpoint[] {
  const byKey = new Map<string, ProxyEndpoint>();
  for (const s of slices) {
    if (s.addressType && s.addressType !== 'IPv4') continue;
    const sp = (s.ports ?? []).find((p) => (p.name ?? '') === portName);
    if (!sp?.port) continue;
    for (const e of s.endpoints ?? []) {
      const ip = e.addresses[0];
      if (!ip) continue;
      // Nil conditions mean ready/serving (upstream treats unknown as ready).
      const ready = e.conditions?.ready ?? true;
      const ep: ProxyEndpoint = {
        ip,
        port: sp.port,
        ready,
        serving: e.conditions?.serving ?? ready,
        terminating: e.conditions?.terminating ?? false,
      };
      const k = `${ip}:${sp.port}`;
      const prev = byKey.get(k);
      if (!prev || (!prev.ready && ep.ready)) byKey.set(k, ep);
    }
  }
  return [...byKey.values()];
}
