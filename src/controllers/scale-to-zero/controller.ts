// The scale-to-zero controller (issue #19; Knative's autoscaler and KEDA's HTTP add-on have this
// role, upstream Kubernetes has none): a Deployment that opts in (annotation skiff.dev/scale-to-zero,
// or an HPA with minReplicas 0, upstream's HPAScaleToZero) gets one activity Lease per Service
// selecting its pods. The ingress renews a Lease with each request; the Deployment is scaled to
// zero when its Leases stay unrenewed for the idle window, and back to one when a request renews a
// Lease while it is at zero. Both go through the scale subresource, as the HPA's do.
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { formatGoDuration } from '../../api/exact-quantity.js';
import {
  activityLeaseName,
  activityServiceLabel,
  activityWorkloadLabel,
  idleWindowAnnotation,
  idleWindowMs,
  microTime,
  scaledToZeroAtAnnotation,
  scaleToZeroAnnotation,
} from '../../api/scale-to-zero.js';
import { EventRecorder } from '../../client/events.js';
import { objectKey, splitKey } from '../../client/informer.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import { isAlreadyExists, isNotFound, type KObject } from '../../client/rest.js';
import { type Clock, realClock } from '../../lib/clock.js';
import type { Component } from '../../lib/lifecycle.js';
import { createLogger, type Logger } from '../../lib/log.js';
import { Controller, type Result } from '../runtime/controller.js';
import { newControllerRef } from '../runtime/owner.js';

/** Options of createScaleToZeroController. */
export interface ScaleToZeroOptions {
  informers: InformerFactory;
  clock?: Clock;
  log?: Logger;
}

/** The controller as a Component; `reconcile(key)` (a Deployment key) is exposed for tests. */
export interface ScaleToZeroController extends Component {
  reconcile(key: string): Promise<Result | undefined>;
  /** Resolves once recorded events are written (tests). */
  flushEvents(): Promise<void>;
}

/** autoscaling/v1 Scale, as the scale subresource serves it. */
interface Scale {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: { replicas?: number };
}

type LeaseObj = Lease & KObject;
const deploymentGVK = { apiVersion: 'apps/v1', kind: 'Deployment' };

/** Whether a Service's selector (matchLabels semantics; empty selects nothing) picks these labels. */
function selects(svc: Service, labels: Record<string, string> | undefined): boolean {
  const sel = Object.entries(svc.spec?.selector ?? {});
  return sel.length > 0 && sel.every(([k, v]) => labels?.[k] === v);
}

/** A time field or annotation in ms; undefined when unset or unparsable. */
function timeOf(v: string | undefined): number | undefined {
  const t = v ? Date.parse(v) : Number.NaN;
  return Number.isNaN(t) ? undefined : t;
}

/** Creates the scale-to-zero controller. */
export function createScaleToZeroController(opts: ScaleToZeroOptions): ScaleToZeroController {
  const { informers } = opts;
  const client = informers.client;
  const clock = opts.clock ?? realClock;
  const log = (opts.log ?? createLogger()).child({ component: 'scale-to-zero-controller' });
  const deployments = informers.informerFor<Deployment & KObject>(R.deployments);
  const hpas = informers.informerFor<HorizontalPodAutoscaler & KObject>(R.hpas);
  const services = informers.informerFor<Service & KObject>(R.services);
  const leases = informers.informerFor<LeaseObj>(R.leases);
  const recorder = new EventRecorder({ client, component: 'scale-to-zero-controller', clock, log });
  /**
   * When this controller last saw each Deployment go above zero (or first saw it, after a
   * restart): the idle window never ends before it, so a workload someone else scaled up (or
   * that was just woken) gets a whole window before its first request.
   */
  const awakeSince = new Map<string, number>();

  /** The HPA of a Deployment that allows zero replicas, if any. */
  const zeroHPA = (ns: string, name: string) =>
    hpas.lister
      .list(ns)
      .find(
        (h) =>
          h.spec?.scaleTargetRef?.kind === 'Deployment' &&
          h.spec.scaleTargetRef.name === name &&
          h.spec.minReplicas === 0,
      );

  /** Whether a Deployment scales to zero, and its idle window. */
  const settings = (d: Deployment): { enabled: boolean; windowMs: number } => {
    const ann = d.metadata?.annotations ?? {};
    const hpa = zeroHPA(d.metadata?.namespace ?? '', d.metadata?.name ?? '');
    const enabled = ann[scaleToZeroAnnotation] === 'true' || hpa !== undefined;
    const window =
      ann[idleWindowAnnotation] ?? hpa?.metadata?.annotations?.[idleWindowAnnotation] ?? undefined;
    return { enabled, windowMs: idleWindowMs(window) };
  };

  const leasesOf = (ns: string, name: string) =>
    leases.lister.list(ns).filter((l) => l.metadata?.labels?.[activityWorkloadLabel] === name);

  const scalePath = (ns: string, name: string) =>
    `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/deployments/${encodeURIComponent(name)}/scale`;

  /**
   * Sets the replicas through the scale subresource when they are still `from` (a fresh read,
   * then a write conditional on its resourceVersion: never undoes an HPA or a user meanwhile).
   */
  const rescale = async (ns: string, name: string, from: 'zero' | 'some', to: number) => {
    const scale = await client.requestJSON<Scale>('GET', scalePath(ns, name));
    const current = scale.spec?.replicas ?? 0;
    if ((from === 'zero') !== (current === 0)) return undefined;
    const body: Scale = {
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name, namespace: ns, resourceVersion: scale.metadata?.resourceVersion },
      spec: { replicas: to },
    };
    await client.requestJSON('PUT', scalePath(ns, name), { body });
    return current;
  };

  /** Sets (a time) or removes (null) the scaled-to-zero-at annotation of the Leases. */
  const annotateZeroAt = async (list: LeaseObj[], at: number | null) => {
    const value = at === null ? null : new Date(at).toISOString();
    for (const l of list) {
      await client.patch(R.leases, l.metadata?.namespace, l.metadata?.name ?? '', {
        metadata: { annotations: { [scaledToZeroAtAnnotation]: value } },
      });
    }
  };

  /** Creates, updates and deletes the Deployment's activity Leases; returns the current ones. */
  const syncLeases = async (d: Deployment & KObject, windowMs: number): Promise<LeaseObj[]> => {
    const ns = d.metadata?.namespace ?? '';
    const name = d.metadata?.name ?? '';
    const labels = d.spec?.template?.metadata?.labels;
    const wanted = services.lister.list(ns).filter((s) => selects(s, labels));
    const seconds = Math.max(1, Math.ceil(windowMs / 1000));
    const out: LeaseObj[] = [];
    for (const svc of wanted) {
      const svcName = svc.metadata?.name ?? '';
      const leaseName = activityLeaseName(svcName);
      const existing = leases.lister.get(ns, leaseName);
      if (existing && existing.metadata?.labels?.[activityWorkloadLabel] !== name) {
        // Another opted-in Deployment behind the same Service claimed it first.
        log.debug('Activity lease belongs to another deployment', { namespace: ns, name, svcName });
        continue;
      }
      if (!existing) {
        const lease: LeaseObj = {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            name: leaseName,
            namespace: ns,
            labels: { [activityServiceLabel]: svcName, [activityWorkloadLabel]: name },
            // The Lease goes with its Deployment (garbage collector).
            ownerReferences: [newControllerRef(d, deploymentGVK)],
          },
          spec: { leaseDurationSeconds: seconds, acquireTime: microTime(clock.now()) },
        };
        try {
          out.push(await client.create<LeaseObj>(R.leases, lease));
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
        }
        continue;
      }
      if (existing.spec?.leaseDurationSeconds !== seconds) {
        await client.patch(R.leases, ns, leaseName, { spec: { leaseDurationSeconds: seconds } });
      }
      out.push(existing);
    }
    const keep = new Set(out.map((l) => l.metadata?.name));
    for (const l of leasesOf(ns, name)) {
      if (!keep.has(l.metadata?.name)) await deleteLease(l);
    }
    return out;
  };

  const deleteLease = async (l: LeaseObj) => {
    try {
      await client.delete(R.leases, l.metadata?.namespace, l.metadata?.name ?? '');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  const reconcile = async (key: string): Promise<Result | undefined> => {
    const { namespace: ns, name } = splitKey(key);
    const d = deployments.lister.get(ns, name);
    const cfg = d && !d.metadata?.deletionTimestamp ? settings(d) : undefined;
    if (!d || !cfg?.enabled) {
      awakeSince.delete(key);
      for (const l of leasesOf(ns, name)) await deleteLease(l);
      return undefined;
    }
    const list = await syncLeases(d, cfg.windowMs);
    // Without a Service in front, no request could ever wake it: leave it as it is.
    if (list.length === 0) return undefined;
    const now = clock.now();
    let lastRequest = 0;
    let zeroAt: number | undefined;
    let busiest = list[0]?.metadata?.labels?.[activityServiceLabel] ?? '';
    for (const l of list) {
      const renewed = timeOf(l.spec?.renewTime) ?? 0;
      if (renewed > lastRequest) {
        lastRequest = renewed;
        busiest = l.metadata?.labels?.[activityServiceLabel] ?? busiest;
      }
      const z = timeOf(l.metadata?.annotations?.[scaledToZeroAtAnnotation]);
      if (z !== undefined) zeroAt = Math.max(zeroAt ?? 0, z);
    }
    if ((d.spec?.replicas ?? 1) === 0) {
      awakeSince.delete(key);
      // At zero for a reason of its own (created so, or scaled by hand): from now on, a request wakes it.
      if (zeroAt === undefined) await annotateZeroAt(list, now);
      else if (lastRequest > zeroAt) {
        const from = await rescale(ns, name, 'zero', 1);
        if (from !== undefined) {
          awakeSince.set(key, clock.now());
          // Awake for sure now: a later scale to zero by someone else starts a new episode
          // (annotated when seen) instead of being undone by this wake's requests.
          await annotateZeroAt(list, null);
          recorder.event(
            d,
            'Normal',
            'ScaledFromZero',
            `Scaled up from 0 to 1 replica: a request for service "${busiest}" arrived through the ingress`,
          );
          log.info('Scaled from zero', { kind: 'Deployment', namespace: ns, name, key });
        }
      }
      return undefined;
    }
    let since = awakeSince.get(key);
    if (since === undefined) {
      since = now;
      awakeSince.set(key, now);
    }
    const idleEnd = Math.max(lastRequest, since) + cfg.windowMs;
    if (idleEnd > now) return { requeueAfter: idleEnd - now };
    // No pod Ready yet (a cold start under way, or a broken rollout): requests may be waiting in
    // the ingress for it, so the window starts over once one is Ready.
    if ((d.status?.readyReplicas ?? 0) === 0) {
      awakeSince.set(key, now);
      return { requeueAfter: cfg.windowMs };
    }
    // Recorded before the scale: a request held once the pods are gone renews the Lease later
    // than this, and so wakes the Deployment (see the replicas === 0 branch).
    await annotateZeroAt(list, now);
    const from = await rescale(ns, name, 'some', 0);
    if (from !== undefined) {
      awakeSince.delete(key);
      recorder.event(
        d,
        'Normal',
        'ScaledToZero',
        `Scaled down from ${from} to 0 replicas: no request through the ingress for ${formatGoDuration(cfg.windowMs)}`,
      );
      log.info('Scaled to zero', { kind: 'Deployment', namespace: ns, name, key, from });
    }
    return undefined;
  };

  const controller = new Controller({
    name: 'scale-to-zero-controller',
    informers,
    clock,
    log,
    reconcile,
  });
  // A Deployment matters when it opts in or has Leases left to clean up.
  const relevant = (d: Deployment) =>
    settings(d).enabled || leasesOf(d.metadata?.namespace ?? '', d.metadata?.name ?? '').length > 0;
  controller.watch(deployments, (d) => (relevant(d) ? objectKey(d) : undefined), {
    // Status churn (every pod Ready) changes nothing here; spec, labels and annotations do.
    onUpdate: (o, n) =>
      (o.metadata?.generation !== n.metadata?.generation ||
        JSON.stringify(o.metadata?.annotations) !== JSON.stringify(n.metadata?.annotations)) &&
      (relevant(n) || relevant(o))
        ? objectKey(n)
        : undefined,
  });
  controller.watch(hpas, (h) => {
    const ref = h.spec?.scaleTargetRef;
    return ref?.kind === 'Deployment' ? `${h.metadata?.namespace}/${ref.name}` : undefined;
  });
  // A Service change may add or drop a Lease of any opted-in Deployment of its namespace.
  controller.watch(services, (s) =>
    deployments.lister
      .list(s.metadata?.namespace)
      .filter(relevant)
      .map((d) => objectKey(d)),
  );
  controller.watch(leases, (l) => {
    const owner = l.metadata?.labels?.[activityWorkloadLabel];
    return owner ? `${l.metadata?.namespace}/${owner}` : undefined;
  });

  return {
    name: controller.name,
    start: (signal) => controller.start(signal),
    stopped: () => controller.stopped(),
    reconcile,
    flushEvents: () => recorder.flush(),
  };
}
