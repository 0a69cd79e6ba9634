// The objects `skiff up` applies to run metrics-server, shaped like upstream's components.yaml
// (kubernetes-sigs/metrics-server manifests/base): ServiceAccount, RBAC, Deployment, Service, APIService.

import type { KObject } from '../client/rest.js';
import { addonNodeOptions } from '../lib/addon-runtime.js';

/** Options of metricsAddonManifests. */
export interface MetricsAddonOptions {
  /** Image the catalog maps to `node bin/skiff.js addon metrics-server` (default skiff/metrics-server). */
  image?: string;
  /** HTTPS port bound on the host, since the pod uses the host network (default 4443). */
  securePort?: number;
  /** Scrape interval as a Go duration (default "1s"; upstream manifests "15s"). */
  metricResolution?: string;
  /**
   * Secret (in kube-system, key "token") holding the bearer token for the kubelets, mounted into the
   * pod; null to use the pod's service-account token instead. Default "skiff-kubelet-client".
   */
  kubeletTokenSecret?: string | null;
}

/** Where the kubelet token Secret is mounted in the pod. */
export const kubeletTokenMountPath = '/var/run/secrets/skiff/kubelet';

const namespace = 'kube-system';
const labels = { 'k8s-app': 'metrics-server' };

/** The metrics-server add-on objects, in apply order. */
export function metricsAddonManifests(opts: MetricsAddonOptions = {}): KObject[] {
  const port = opts.securePort ?? 4443;
  const tokenSecret =
    opts.kubeletTokenSecret === undefined ? 'skiff-kubelet-client' : opts.kubeletTokenSecret;
  const args = [
    `--secure-port=${port}`,
    `--metric-resolution=${opts.metricResolution ?? '1s'}`,
    '--kubelet-insecure-tls',
    '--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname',
    ...(tokenSecret ? [`--kubelet-token-file=${kubeletTokenMountPath}/token`] : []),
  ];
  const meta = (name: string, ns = true) => ({ name, ...(ns ? { namespace } : {}), labels });
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('metrics-server') },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: meta('system:metrics-server', false),
      rules: [
        { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
        { apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta('system:metrics-server', false),
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'system:metrics-server',
      },
      subjects: [{ kind: 'ServiceAccount', name: 'metrics-server', namespace }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta('metrics-server'),
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        strategy: { rollingUpdate: { maxUnavailable: 0 } },
        template: {
          metadata: { labels },
          spec: {
            hostNetwork: true,
            serviceAccountName: 'metrics-server',
            priorityClassName: 'system-cluster-critical',
            containers: [
              {
                name: 'metrics-server',
                image: opts.image ?? 'skiff/metrics-server',
                imagePullPolicy: 'IfNotPresent',
                args,
                env: [{ name: 'NODE_OPTIONS', value: addonNodeOptions }],
                ports: [{ name: 'https', containerPort: port, protocol: 'TCP' }],
                // Ready only with a full sample window, so `kubectl wait … Available` is honest.
                readinessProbe: {
                  httpGet: { path: '/readyz', port: 'https', scheme: 'HTTPS' },
                  periodSeconds: 1,
                  failureThreshold: 3,
                },
                livenessProbe: {
                  httpGet: { path: '/livez', port: 'https', scheme: 'HTTPS' },
                  periodSeconds: 10,
                  failureThreshold: 3,
                },
                resources: { requests: { cpu: '100m', memory: '200Mi' } },
                ...(tokenSecret
                  ? {
                      volumeMounts: [
                        {
                          name: 'kubelet-client',
                          mountPath: kubeletTokenMountPath,
                          readOnly: true,
                        },
                      ],
                    }
                  : {}),
              },
            ],
            ...(tokenSecret
              ? { volumes: [{ name: 'kubelet-client', secret: { secretName: tokenSecret } }] }
              : {}),
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('metrics-server'),
      spec: {
        selector: labels,
        ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 'https' }],
      },
    },
    {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: 'v1beta1.metrics.k8s.io', labels },
      spec: {
        group: 'metrics.k8s.io',
        version: 'v1beta1',
        service: { name: 'metrics-server', namespace, port: 443 },
        insecureSkipTLSVerify: true,
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    },
  ];
}
