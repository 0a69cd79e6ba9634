// Objects `skiff up` makes sure exist (k3s's packaged manifests): the `kubernetes` and `kube-dns`
// Services, the kubelet-client Secret the metrics add-on needs, and the add-on manifests.

import { formatGoDuration } from '../api/exact-quantity.js';
import { findByKind } from '../api/resources.js';
import { isAlreadyExists, isNotFound, type KObject, type KubeClient } from '../client/rest.js';
import { defaultStorageClass } from '../controllers/volume/provisioner.js';
import { ingressAddonManifests } from '../ingress/manifest.js';
import { nthAddress } from '../lib/cidr.js';
import { metricsAddonManifests } from '../metrics/manifest.js';
import type { WiringContext } from './context.js';

/** The objects of a fresh cluster, in creation order. */
export function bootstrapObjects(ctx: WiringContext): KObject[] {
  const { opts } = ctx;
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
    ...ingressAddonManifests({
      httpPort: opts.ingressPort,
      statusPort: opts.ingressStatusPort,
      dataPlane: opts.ingressDataPlane,
    }),
    ...metricsAddonManifests({
      securePort: opts.metricsPort,
      metricResolution: formatGoDuration(opts.metricResolutionMs),
    }),
  ];
}

/** Creates each object unless it exists (a restart keeps what the user changed). */
export async function ensureObjects(client: KubeClient, objects: KObject[]): Promise<void> {
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
      if (!isAlreadyExists(err)) throw err;
    }
  }
}
