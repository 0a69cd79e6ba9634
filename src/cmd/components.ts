// Builds the components of `skiff up` from the cluster options: controllers, node agent, network.

import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { InformerFactory } from '../client/informer-factory.js';
import { R } from '../client/resources.js';
import type { KObject } from '../client/rest.js';
import { createCronJobController } from '../controllers/cronjob/controller.js';
import { createDaemonSetController } from '../controllers/daemonset/controller.js';
import { createDeploymentController } from '../controllers/deployment/controller.js';
import { createDisruptionController } from '../controllers/disruption/controller.js';
import { createEndpointsController } from '../controllers/endpoints/endpoints-controller.js';
import { createEndpointSliceController } from '../controllers/endpoints/endpointslice-controller.js';
import { createGarbageCollector } from '../controllers/garbagecollector/controller.js';
import { createHPAController } from '../controllers/hpa/controller.js';
import { RestMetricsClient } from '../controllers/hpa/metrics-client.js';
import { createJobController } from '../controllers/job/controller.js';
import { createNamespaceController } from '../controllers/namespace/controller.js';
import { createReplicaSetController } from '../controllers/replicaset/controller.js';
import { createScaleToZeroController } from '../controllers/scale-to-zero/controller.js';
import { createScheduler } from '../controllers/scheduler/scheduler.js';
import { createServiceAccountController } from '../controllers/serviceaccount/controller.js';
import { createStatefulSetController } from '../controllers/statefulset/controller.js';
import { createTTLAfterFinishedController } from '../controllers/ttlafterfinished/controller.js';
import { createVolumeController } from '../controllers/volume/controller.js';
import { createVPAController, RestPodMetricsSource } from '../controllers/vpa/controller.js';
import { createClusterDNS } from '../dns/server.js';
import { ImageGC } from '../images/gc.js';
import { createLocalRegistry } from '../images/local-registry/server.js';
import { parseMirrorFlags } from '../images/registry/hosts.js';
import { ImageService } from '../images/service.js';
import { nthAddress } from '../lib/cidr.js';
import { realClock, scaledClock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Component } from '../lib/lifecycle.js';
import { cleanupNode, createNodeAgent, type NodeAgent } from '../node/agent.js';
import { cleanupProxy, createServiceProxy } from '../proxy/proxier.js';
import type { WiringContext } from './context.js';

/** Names of what Skiff creates on the host; distinct per pod CIDR so two clusters can coexist. */
export interface HostNames {
  bridgeName?: string;
  netnsPrefix?: string;
  cgroupName?: string;
  deviceName?: string;
}

/** The default pod CIDR keeps the plain names (skiff0, skiff-svc); any other gets a short suffix. */
export function hostNames(podCIDR: string | undefined): HostNames {
  if (!podCIDR || podCIDR === '10.244.0.0/16') return {};
  const suffix = createHash('sha256').update(podCIDR).digest('hex').slice(0, 4);
  return {
    bridgeName: `skiff${suffix}`,
    netnsPrefix: `skiff${suffix}`,
    cgroupName: `skiff-${suffix}`,
    deviceName: `skiffsvc${suffix}`,
  };
}

/** The controller-manager and scheduler role. */
export function controllerComponents(ctx: WiringContext, informers: InformerFactory): Component[] {
  const log = ctx.log;
  const hpa = ctx.opts.hpa;
  const vpa = ctx.opts.vpa;
  return [
    createScheduler({ informers, log: log.child({ component: 'scheduler' }) }),
    createGarbageCollector({ informers, log: log.child({ component: 'garbage-collector' }) }),
    createNamespaceController({ informers, log: log.child({ component: 'namespace-controller' }) }),
    createServiceAccountController({
      informers,
      log: log.child({ component: 'serviceaccount-controller' }),
    }),
    createDeploymentController({
      informers,
      log: log.child({ component: 'deployment-controller' }),
    }),
    createReplicaSetController({
      informers,
      log: log.child({ component: 'replicaset-controller' }),
    }),
    createJobController({
      informers,
      // Pod events of one Job coalesce over 50 ms instead of upstream's 1 s: API calls are local.
      batchPeriodMs: 50,
      log: log.child({ component: 'job-controller' }),
    }),
    createDisruptionController({
      informers,
      log: log.child({ component: 'disruption-controller' }),
    }),
    createDaemonSetController({
      informers,
      log: log.child({ component: 'daemonset-controller' }),
    }),
    createStatefulSetController({
      informers,
      log: log.child({ component: 'statefulset-controller' }),
    }),
    createVolumeController({
      informers,
      storageRoot: join(ctx.layout.root, 'storage'),
      nodeName: ctx.opts.nodeName,
      log: log.child({ component: 'persistentvolume-controller' }),
    }),
    createCronJobController({
      informers,
      // Test knob (--cronjob-time-scale): cron minutes pass in real seconds.
      clock:
        ctx.opts.cronJobTimeScale > 1
          ? scaledClock(realClock, ctx.opts.cronJobTimeScale)
          : undefined,
      log: log.child({ component: 'cronjob-controller' }),
    }),
    createTTLAfterFinishedController({
      informers,
      log: log.child({ component: 'ttl-after-finished-controller' }),
    }),
    createEndpointsController({
      informers,
      apiServerEndpoint: { ip: '127.0.0.1', port: ctx.apiPort },
      log: log.child({ component: 'endpoints-controller' }),
    }),
    createEndpointSliceController({
      informers,
      apiServerEndpoint: { ip: '127.0.0.1', port: ctx.apiPort },
      log: log.child({ component: 'endpointslice-controller' }),
    }),
    createHPAController({
      client: ctx.client,
      informers,
      metrics: new RestMetricsClient({ client: ctx.client }),
      syncPeriodMs: hpa.syncPeriodMs,
      tolerance: hpa.tolerance,
      cpuInitializationPeriodMs: hpa.cpuInitializationPeriodMs,
      initialReadinessDelayMs: hpa.initialReadinessDelayMs,
      downscaleStabilizationMs: hpa.downscaleStabilizationMs,
      log: log.child({ component: 'hpa-controller' }),
    }),
    createVPAController({
      client: ctx.client,
      informers,
      metrics: new RestPodMetricsSource({ client: ctx.client }),
      intervalMs: vpa?.recommenderIntervalMs,
      aggregation: vpa ? { memoryAggregationIntervalMs: vpa.memoryAggregationIntervalMs } : {},
      podLifetimeUpdateThresholdMs: vpa?.podLifetimeUpdateThresholdMs ?? 60_000,
      recommendation: vpa
        ? {
            podMinCPUMillicores: vpa.podMinCPUMillicores,
            podMinMemoryMb: vpa.podMinMemoryMb,
            safetyMarginFraction: vpa.safetyMarginFraction,
            targetCPUPercentile: vpa.targetCPUPercentile,
            targetMemoryPercentile: vpa.targetMemoryPercentile,
          }
        : {},
      log: log.child({ component: 'vpa-controller' }),
    }),
    createScaleToZeroController({
      informers,
      log: log.child({ component: 'scale-to-zero-controller' }),
    }),
  ];
}

/** The kubelet role. */
export function nodeComponents(ctx: WiringContext): NodeAgent {
  const { opts, pki } = ctx;
  return createNodeAgent({
    client: ctx.client,
    log: ctx.log.child({ component: 'node-agent' }),
    nodeName: opts.nodeName,
    dataDir: ctx.layout.root,
    podCIDR: opts.podCIDR,
    clusterDNS: nthAddress(opts.serviceCIDR, 10),
    clusterDomain: 'cluster.local',
    kubelet: {
      port: opts.kubeletPort,
      token: pki.kubeletToken,
      tls: { key: pki.serverKey, cert: pki.serverCert },
    },
    reducedMode: opts.reduced || undefined,
    caCert: pki.caCert,
    puller: ctx.images,
    ...hostNames(opts.podCIDR),
  });
}

/** The kube-proxy and CoreDNS roles. */
export function networkComponents(ctx: WiringContext, informers: InformerFactory): Component[] {
  const bridgeIP = nthAddress(ctx.opts.podCIDR, 1);
  const dnsIP = nthAddress(ctx.opts.serviceCIDR, 10);
  const { deviceName } = hostNames(ctx.opts.podCIDR);
  return [
    createServiceProxy({
      client: ctx.client,
      informers,
      bridgeIP,
      deviceName,
      loadBalancerIP: ctx.opts.loadBalancerIP,
      // The DNS address lives on the same device: the proxy's sync must not remove it.
      reservedAddresses: [dnsIP],
      log: ctx.log.child({ component: 'service-proxy' }),
    }),
    createClusterDNS({
      informers,
      listenIP: dnsIP,
      deviceName,
      log: ctx.log.child({ component: 'cluster-dns' }),
    }),
  ];
}

/** Removes pods, sandboxes and host network state; true when something was removed. */
export async function cleanupHost(opts: {
  dataDir: string;
  nodeName: string;
  podCIDR?: string;
}): Promise<boolean> {
  const names = hostNames(opts.podCIDR);
  const removed = await cleanupNode({ dataDir: opts.dataDir, podCIDR: opts.podCIDR, ...names });
  await cleanupProxy({ deviceName: names.deviceName });
  return removed;
}

/** The image service (store, puller, mirrors) and its components: local registry, image GC. */
export function imageComponents(
  ctx: WiringContext,
  informers: InformerFactory,
): { service: ImageService; components: Component[] } {
  const { opts } = ctx;
  const insecure = opts.insecureRegistries ?? [];
  const service = new ImageService({
    dataDir: ctx.layout.root,
    mirrors: parseMirrorFlags(opts.registryMirrors ?? [], insecure),
    insecure,
    log: ctx.log.child({ component: 'images' }),
  });
  const pods = informers.informerFor<Pod & KObject>(R.pods);
  const gc = new ImageGC({
    store: service.store,
    lastUsed: service.lastUsed,
    // The kubelet never removes an image a pod on the node refers to, running or not.
    inUse: () =>
      pods.lister
        .list()
        .filter((p) => p.spec?.nodeName === opts.nodeName)
        .flatMap((p) => [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])])
        .flatMap((c) => (c.image ? [c.image] : [])),
    log: ctx.log.child({ component: 'image-gc' }),
  });
  const components: Component[] = [
    {
      name: 'image-gc',
      async start(signal) {
        void gc.run(signal);
      },
    },
  ];
  const port = opts.localRegistryPort ?? 5001;
  if (port > 0) {
    const registry = createLocalRegistry({
      store: service.store,
      port,
      log: ctx.log.child({ component: 'local-registry' }),
    });
    components.push({
      name: 'local-registry',
      async start(signal) {
        try {
          await registry.start(signal);
          signal.addEventListener('abort', () => void registry.stopped?.(), { once: true });
        } catch (err) {
          // A second cluster (or kind's registry) may hold the port: run without it, say so.
          ctx.notice(
            `local registry disabled: cannot listen on 127.0.0.1:${port} (${errorMessage(err)})`,
          );
        }
      },
      stopped: () => registry.stopped?.() ?? Promise.resolve(),
    });
  }
  return { service, components };
}
