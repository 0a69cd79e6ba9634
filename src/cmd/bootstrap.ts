// Objects `skiff up` makes sure exist (k3s's packaged manifests): the `kubernetes` and `kube-dns`
// Services, the kubelet-client Secret the metrics add-on needs, and the add-on manifests.

import { formatGoDuration } from '../api/exact-quantity.js';
import { findByKind } from '../api/resources.js';
import { addonAnnotation, lastAppliedAnnotation } from '../apiserver/handlers/addon-takeover.js';
import {
  ApiError,
  isAlreadyExists,
  isNotFound,
  type KObject,
  type KubeClient,
} from '../client/rest.js';
import { defaultStorageClass } from '../controllers/volume/provisioner.js';
import { ingressAddonManifests } from '../ingress/manifest.js';
import { nthAddress } from '../lib/cidr.js';
import { metricsAddonManifests } from '../metrics/manifest.js';
import type { WiringContext } from './context.js';

/** The objects of a fresh cluster, in creation order. */
export function bootstrapObjects(ctx: WiringContext): KObject[] {
  const { opts } = ctx;
  const disabled = parseDisabled(opts.disable);
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'kubernetes',
        namespace: 'default',
        labels: { component: 'apiserver', provider: 'kubernetes' },
      },
      spec: {
        clusterIP: nthAddress(opts.serviceCIDR, 1),
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: ctx.apiPort }],
        sessionAffinity: 'None',
        type: 'ClusterIP',
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'kube-dns',
        namespace: 'kube-system',
        labels: {
          'k8s-app': 'kube-dns',
          'kubernetes.io/cluster-service': 'true',
          'kubernetes.io/name': 'CoreDNS',
        },
      },
      spec: {
        clusterIP: nthAddress(opts.serviceCIDR, 10),
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        ],
        type: 'ClusterIP',
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'skiff-kubelet-client', namespace: 'kube-system' },
      type: 'Opaque',
      stringData: { token: ctx.pki.kubeletToken },
    },
    // The default StorageClass (kind's `standard`, backed by the local-path provisioner).
    defaultStorageClass() as unknown as KObject,
    ...(disabled.has('ingress')
      ? []
      : standIns(
          'ingress',
          ingressAddonManifests({
            httpPort: opts.ingressPort,
            statusPort: opts.ingressStatusPort,
            dataPlane: opts.ingressDataPlane,
          }),
        )),
    ...(disabled.has('metrics-server')
      ? []
      : standIns(
          'metrics-server',
          metricsAddonManifests({
            securePort: opts.metricsPort,
            metricResolution: formatGoDuration(opts.metricResolutionMs),
          }),
        )),
  ];
}

/** The built-in add-ons `skiff up --disable` accepts. */
export const builtinAddons = ['ingress', 'metrics-server'] as const;

/** The names of --disable, checked: an unknown one is an error (a typo would silently install). */
export function parseDisabled(list: readonly string[] = []): Set<string> {
  for (const name of list) {
    if (!(builtinAddons as readonly string[]).includes(name))
      throw new TypeError(
        `--disable: unknown add-on "${name}" (known: ${builtinAddons.join(', ')})`,
      );
  }
  return new Set(list);
}

/**
 * Marks add-on objects as Skiff's stand-ins: the upstream manifest of the same names replaces
 * them when a user creates or applies it (apiserver/handlers/addon-takeover.ts). They also carry
 * kubectl's last-applied-configuration, as k3s's applied manifests do, so `kubectl apply` of
 * upstream's file prints no "missing the last-applied-configuration annotation" warning.
 */
function standIns(addon: string, objects: KObject[]): KObject[] {
  return objects.map((o) => {
    const marked: KObject = {
      ...o,
      metadata: {
        ...o.metadata,
        annotations: { ...o.metadata?.annotations, [addonAnnotation]: addon },
      },
    };
    const annotations = {
      ...marked.metadata?.annotations,
      [lastAppliedAnnotation]: JSON.stringify(marked),
    };
    return { ...marked, metadata: { ...marked.metadata, annotations } };
  });
}

/**
 * Creates each object unless it exists (a restart keeps what the user changed; k3s re-applies its
 * packaged manifests at start the same way, so a deleted add-on comes back). An object that cannot
 * be created now (its namespace is still terminating after a `kubectl delete -f`) is reported
 * through warn and left for the next start.
 */
export async function ensureObjects(
  client: KubeClient,
  objects: KObject[],
  warn: (message: string) => void,
): Promise<void> {
  for (const obj of objects) {
    const r = findByKind(obj.apiVersion ?? '', obj.kind ?? '');
    if (!r) throw new TypeError(`No resource for ${obj.apiVersion} ${obj.kind}`);
    // Look first: a create of an existing Service with a fixed clusterIP fails on the IP
    // allocation (422) before the name clash (409), which broke `skiff up` after a crash.
    const exists = await client.get(r, obj.metadata?.namespace, obj.metadata?.name ?? '').then(
      () => true,
      (err: unknown) => {
        if (isNotFound(err)) return false;
        throw err;
      },
    );
    if (exists) continue;
    try {
      await client.create(r, obj, { namespace: obj.metadata?.namespace });
    } catch (err) {
      if (isAlreadyExists(err)) continue;
      if (!(err instanceof ApiError && err.code === 403)) throw err;
      warn(`cannot create ${obj.kind} ${obj.metadata?.name ?? ''}: ${err.message}`);
    }
  }
}
