// The objects `skiff up` applies to install the ingress-controller add-on, shaped like the
// upstream ingress-nginx deploy manifest (deploy/static/provider/kind) so they port to a real cluster.

import type { KObject } from '../client/rest.js';
import { addonNodeOptions } from '../lib/addon-runtime.js';
import { defaultClassAnnotation, nginxController } from './routes.js';

/** Options of ingressAddonManifests. */
export interface IngressAddonOptions {
  /** Default skiff/ingress-controller. */
  image?: string;
  /** HTTP port on the host; default 80. */
  httpPort?: number;
  /** Port used when httpPort cannot be bound; default 8080. */
  fallbackPort?: number;
  /** Port of /healthz; default 10254. */
  statusPort?: number;
  /** Address written to Ingress status; default 127.0.0.1. */
  publishIP?: string;
  /**
   * INGRESS_BIND_ADDRESS: comma-separated addresses to serve on (e.g. 0.0.0.0); default unset,
   * meaning 127.0.0.1 plus the pod bridge address.
   */
  bindAddress?: string;
  /**
   * INGRESS_DATA_PLANE: nginx (with its Lua module), node, or auto (nginx when installed, else
   * the Node data path; the default).
   */
  dataPlane?: 'auto' | 'nginx' | 'node';
  /** Type of the ingress-nginx-controller Service; default ClusterIP. */
  serviceType?: 'ClusterIP' | 'NodePort';
}

/** Namespace of the add-on. */
export const ingressNamespace = 'ingress-nginx';

/** Namespace, ServiceAccount, RBAC, IngressClass, Deployment and Service of the add-on. */
export function ingressAddonManifests(opts: IngressAddonOptions = {}): KObject[] {
  const httpPort = opts.httpPort ?? 80;
  const statusPort = opts.statusPort ?? 10254;
  const labels = {
    'app.kubernetes.io/name': 'ingress-nginx',
    'app.kubernetes.io/instance': 'ingress-nginx',
    'app.kubernetes.io/part-of': 'ingress-nginx',
  };
  // The selector of upstream's deploy.yaml (immutable: its Deployment replaces this one in place).
  const selector = {
    'app.kubernetes.io/component': 'controller',
    'app.kubernetes.io/instance': 'ingress-nginx',
    'app.kubernetes.io/name': 'ingress-nginx',
  };
  const podLabels = { ...labels, ...selector };
  const ns = ingressNamespace;
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'ingress-nginx', namespace: ns, labels },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'ingress-nginx', labels },
      rules: [
        {
          apiGroups: [''],
          resources: ['services', 'endpoints', 'pods', 'namespaces'],
          verbs: ['get', 'list', 'watch'],
        },
        // The Node's podCIDR gives the pod bridge address to serve on.
        { apiGroups: [''], resources: ['nodes'], verbs: ['get'] },
        {
          apiGroups: ['discovery.k8s.io'],
          resources: ['endpointslices'],
          verbs: ['get', 'list', 'watch'],
        },
        {
          apiGroups: ['networking.k8s.io'],
          resources: ['ingresses', 'ingressclasses'],
          verbs: ['get', 'list', 'watch'],
        },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
        // Activity Leases of Services that scale to zero: renewed with each request's time.
        {
          apiGroups: ['coordination.k8s.io'],
          resources: ['leases'],
          verbs: ['get', 'list', 'watch', 'patch'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'ingress-nginx', labels },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'ingress-nginx',
      },
      subjects: [{ kind: 'ServiceAccount', name: 'ingress-nginx', namespace: ns }],
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: {
        name: 'nginx',
        labels: { ...podLabels },
        annotations: { [defaultClassAnnotation]: 'true' },
      },
      spec: { controller: nginxController },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'ingress-nginx-controller', namespace: ns, labels: podLabels },
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        // Host networking: two controllers cannot hold port 80 at once, so replace, not surge.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
        template: {
          metadata: { labels: podLabels },
          spec: {
            serviceAccountName: 'ingress-nginx',
            hostNetwork: true,
            dnsPolicy: 'ClusterFirstWithHostNet',
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                name: 'controller',
                image: opts.image ?? 'skiff/ingress-controller',
                args: [`--http-port=${httpPort}`, `--status-port=${statusPort}`],
                env: [
                  { name: 'INGRESS_HTTP_PORT', value: String(httpPort) },
                  { name: 'INGRESS_FALLBACK_PORT', value: String(opts.fallbackPort ?? 8080) },
                  { name: 'INGRESS_STATUS_PORT', value: String(statusPort) },
                  { name: 'INGRESS_PUBLISH_IP', value: opts.publishIP ?? '127.0.0.1' },
                  ...(opts.bindAddress
                    ? [{ name: 'INGRESS_BIND_ADDRESS', value: opts.bindAddress }]
                    : []),
                  { name: 'NODE_OPTIONS', value: addonNodeOptions },
                  ...(opts.dataPlane && opts.dataPlane !== 'auto'
                    ? [{ name: 'INGRESS_DATA_PLANE', value: opts.dataPlane }]
                    : []),
                  { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  {
                    name: 'POD_NAMESPACE',
                    valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
                  },
                ],
                ports: [
                  { name: 'http', containerPort: httpPort, protocol: 'TCP' },
                  { name: 'status', containerPort: statusPort, protocol: 'TCP' },
                ],
                readinessProbe: {
                  httpGet: { path: '/healthz', port: statusPort, scheme: 'HTTP' },
                  periodSeconds: 2,
                  failureThreshold: 3,
                },
                livenessProbe: {
                  httpGet: { path: '/healthz', port: statusPort, scheme: 'HTTP' },
                  initialDelaySeconds: 10,
                  periodSeconds: 10,
                  failureThreshold: 5,
                },
                resources: { requests: { cpu: '100m', memory: '90Mi' } },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'ingress-nginx-controller', namespace: ns, labels: podLabels },
      spec: {
        type: opts.serviceType ?? 'ClusterIP',
        selector,
        ports: [
          { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' },
        ],
      },
    },
  ];
}
