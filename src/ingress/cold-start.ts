// A shortcut for cold starts (scale to zero, issue #19): while a Service is being woken, the
// ingress watches its pods directly and routes held requests to a pod as soon as the pod is Ready,
// instead of waiting for the EndpointSlice controller to list it (one controller hop and one watch
// fewer, about 100 ms here). Readiness is the pod's own Ready condition: nothing unready is used.
import type { Pod, Service, ServicePort } from 'kubernetes-types/core/v1.js';
import type { Target } from '../api/endpoint-picker.js';
import { R } from '../client/resources.js';
import type { KubeClient } from '../client/rest.js';
import { type Clock, realClock, type Timer } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';

/** Options of ColdStartPods. */
export interface ColdStartPodsOptions {
  client: KubeClient;
  log: Logger;
  clock?: Clock;
  /** Called when the Ready pods of Service "ns/name" change. */
  onChange: (ns: string, svc: string) => void;
  /** A watch ends after this long at most; default 60 s. */
  maxWatchMs?: number;
}

interface Watched {
  ac: AbortController;
  pods: Map<string, Pod>;
  timer: Timer;
}

const isReady = (p: Pod): boolean =>
  !!p.status?.podIP &&
  !p.metadata?.deletionTimestamp &&
  p.status.phase === 'Running' &&
  p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/**
 * Watches the pods of Services being woken. Guarantees:
 * 1. At most one watch per Service; it ends at stop(), at close(), or after maxWatchMs.
 * 2. targets() lists only pods that are Running, Ready, not deleting and have an IP.
 */
export class ColdStartPods {
  #opts: ColdStartPodsOptions;
  #clock: Clock;
  #watched = new Map<string, Watched>();

  constructor(opts: ColdStartPodsOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
  }

  /** Starts watching the pods of a Service (by its selector), unless watched already. */
  start(svc: Service): void {
    const ns = svc.metadata?.namespace ?? '';
    const name = svc.metadata?.name ?? '';
    const key = `${ns}/${name}`;
    const selector = Object.entries(svc.spec?.selector ?? {});
    if (this.#watched.has(key) || selector.length === 0) return;
    const ac = new AbortController();
    const w: Watched = {
      ac,
      pods: new Map(),
      timer: this.#clock.setTimeout(() => this.stop(ns, name), this.#opts.maxWatchMs ?? 60_000),
    };
    this.#watched.set(key, w);
    const labelSelector = selector.map(([k, v]) => `${k}=${v}`).join(',');
    // resourceVersion 0: the pods that exist now come first as ADDED events.
    void this.#opts.client
      .watch<Pod>(
        R.pods,
        { namespace: ns, labelSelector, resourceVersion: '0', signal: ac.signal },
        (ev) => {
          const pod = ev.object;
          const podName = pod.metadata?.name ?? '';
          const was = w.pods.get(podName);
          if (ev.type === 'DELETED') w.pods.delete(podName);
          else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') w.pods.set(podName, pod);
          else return;
          const now = w.pods.get(podName);
          if ((was ? isReady(was) : false) !== (now ? isReady(now) : false))
            this.#opts.onChange(ns, name);
        },
      )
      .catch((err: unknown) => {
        if (!ac.signal.aborted)
          this.#opts.log.debug('Cold-start pod watch ended', { key, err: errorMessage(err) });
      })
      .finally(() => {
        if (this.#watched.get(key) === w) this.stop(ns, name);
      });
  }

  /** Ends the watch of a Service (its EndpointSlices list a ready endpoint now). */
  stop(ns: string, svc: string): void {
    const key = `${ns}/${svc}`;
    const w = this.#watched.get(key);
    if (!w) return;
    this.#watched.delete(key);
    w.timer.cancel();
    w.ac.abort();
  }

  /** Whether the pods of Service ns/svc are watched now. */
  watching(ns: string, svc: string): boolean {
    return this.#watched.has(`${ns}/${svc}`);
  }

  /** Ready pods of Service ns/svc as targets of its port `sp` (targetPort by number or name). */
  targets(ns: string, svc: string, sp: ServicePort): Target[] {
    const w = this.#watched.get(`${ns}/${svc}`);
    if (!w) return [];
    const out: Target[] = [];
    for (const p of w.pods.values()) {
      if (!isReady(p)) continue;
      const port = targetPortOf(p, sp);
      if (port && p.status?.podIP) out.push({ ip: p.status.podIP, port });
    }
    return out;
  }

  /** Ends every watch. */
  close(): void {
    for (const key of [...this.#watched.keys()]) {
      const slash = key.indexOf('/');
      this.stop(key.slice(0, slash), key.slice(slash + 1));
    }
  }
}

/** The pod port a Service port sends to: targetPort as a number, a named container port, or port. */
function targetPortOf(p: Pod, sp: ServicePort): number | undefined {
  const tp = sp.targetPort ?? sp.port;
  if (typeof tp === 'number') return tp;
  if (/^\d+$/.test(tp)) return Number(tp);
  for (const c of p.spec?.containers ?? []) {
    const named = c.ports?.find((x) => x.name === tp && (x.protocol ?? 'TCP') === 'TCP');
    if (named) return named.containerPort;
  }
  return undefined;
}
