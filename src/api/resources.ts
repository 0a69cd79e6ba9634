// The resource table: every group/version/resource Skiff serves, with kind, scope, short names and
// subresources. The apiserver builds discovery, routes and storage keys from it; clients build paths.

/** Subresources a resource may expose. */
export type Subresource =
  | 'status'
  | 'scale'
  | 'log'
  | 'exec'
  | 'binding'
  | 'eviction'
  | 'proxy'
  | 'attach'
  | 'portforward'
  | 'resize'
  | 'ephemeralcontainers';

/** One served group/version/resource. */
export interface ResourceInfo {
  /** API group; '' for the core group. */
  readonly group: string;
  readonly version: string;
  /** Plural lower-case resource name, e.g. 'deployments'. */
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly subresources: readonly Subresource[];
  /** Group/version objects are stored in; other versions convert (autoscaling v1 <-> v2). */
  readonly storageVersion: string;
  /** Verbs served for the main resource. */
  readonly verbs: readonly string[];
}

const allVerbs = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
] as const;

interface Spec {
  group: string;
  versions: string[];
  resource: string;
  kind: string;
  namespaced?: boolean;
  short?: string[];
  all?: boolean;
  sub?: Subresource[];
  verbs?: readonly string[];
}

const specs: Spec[] = [
  // core/v1
  {
    group: '',
    versions: ['v1'],
    resource: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    short: ['ns'],
    sub: ['status'],
  },
  {
    group: '',
    versions: ['v1'],
    resource: 'pods',
    kind: 'Pod',
    short: ['po'],
    all: true,
    sub: [
      'status',
      'log',
      'exec',
      'binding',
      'eviction',
      'attach',
      'portforward',
      'proxy',
      'resize',
      'ephemeralcontainers',
    ],
  },
  {
    group: '',
    versions: ['v1'],
    resource: 'services',
    kind: 'Service',
    short: ['svc'],
    all: true,
    sub: ['status', 'proxy'],
  },
  { group: '', versions: ['v1'], resource: 'endpoints', kind: 'Endpoints', short: ['ep'] },
  { group: '', versions: ['v1'], resource: 'events', kind: 'Event', short: ['ev'] },
  {
    group: '',
    versions: ['v1'],
    resource: 'nodes',
    kind: 'Node',
    namespaced: false,
    short: ['no'],
    sub: ['status', 'proxy'],
  },
  { group: '', versions: ['v1'], resource: 'configmaps', kind: 'ConfigMap', short: ['cm'] },
  { group: '', versions: ['v1'], resource: 'secrets', kind: 'Secret' },
  {
    group: '',
    versions: ['v1'],
    resource: 'serviceaccounts',
    kind: 'ServiceAccount',
    short: ['sa'],
  },
  {
    group: '',
    versions: ['v1'],
    resource: 'persistentvolumeclaims',
    kind: 'PersistentVolumeClaim',
    short: ['pvc'],
    sub: ['status'],
  },
  {
    group: '',
    versions: ['v1'],
    resource: 'persistentvolumes',
    kind: 'PersistentVolume',
    namespaced: false,
    short: ['pv'],
    sub: ['status'],
  },
  { group: '', versions: ['v1'], resource: 'limitranges', kind: 'LimitRange', short: ['limits'] },
  {
    group: '',
    versions: ['v1'],
    resource: 'resourcequotas',
    kind: 'ResourceQuota',
    short: ['quota'],
    sub: ['status'],
  },
  {
    group: '',
    versions: ['v1'],
    resource: 'replicationcontrollers',
    kind: 'ReplicationController',
    short: ['rc'],
    all: true,
    sub: ['status', 'scale'],
  },
  { group: '', versions: ['v1'], resource: 'podtemplates', kind: 'PodTemplate' },
  // apps/v1
  {
    group: 'apps',
    versions: ['v1'],
    resource: 'deployments',
    kind: 'Deployment',
    short: ['deploy'],
    all: true,
    sub: ['status', 'scale'],
  },
  {
    group: 'apps',
    versions: ['v1'],
    resource: 'replicasets',
    kind: 'ReplicaSet',
    short: ['rs'],
    all: true,
    sub: ['status', 'scale'],
  },
  {
    group: 'apps',
    versions: ['v1'],
    resource: 'statefulsets',
    kind: 'StatefulSet',
    short: ['sts'],
    all: true,
    sub: ['status', 'scale'],
  },
  {
    group: 'apps',
    versions: ['v1'],
    resource: 'daemonsets',
    kind: 'DaemonSet',
    short: ['ds'],
    all: true,
    sub: ['status'],
  },
  { group: 'apps', versions: ['v1'], resource: 'controllerrevisions', kind: 'ControllerRevision' },
  // autoscaling: v2 is preferred (listed first) and is the storage version; v1 converts.
  {
    group: 'autoscaling',
    versions: ['v2', 'v1'],
    resource: 'horizontalpodautoscalers',
    kind: 'HorizontalPodAutoscaler',
    short: ['hpa'],
    all: true,
    sub: ['status'],
  },
  // autoscaling.k8s.io/v1: the Vertical Pod Autoscaler's kinds, a CRD upstream
  // (vertical-pod-autoscaler/deploy/vpa-v1-crd-gen.yaml), served here like a built-in.
  {
    group: 'autoscaling.k8s.io',
    versions: ['v1'],
    resource: 'verticalpodautoscalers',
    kind: 'VerticalPodAutoscaler',
    short: ['vpa'],
    sub: ['status'],
  },
  {
    group: 'autoscaling.k8s.io',
    versions: ['v1'],
    resource: 'verticalpodautoscalercheckpoints',
    kind: 'VerticalPodAutoscalerCheckpoint',
    short: ['vpacheckpoint'],
  },
  // batch/v1
  { group: 'batch', versions: ['v1'], resource: 'jobs', kind: 'Job', all: true, sub: ['status'] },
  {
    group: 'batch',
    versions: ['v1'],
    resource: 'cronjobs',
    kind: 'CronJob',
    short: ['cj'],
    all: true,
    sub: ['status'],
  },
  // networking
  {
    group: 'networking.k8s.io',
    versions: ['v1'],
    resource: 'ingresses',
    kind: 'Ingress',
    short: ['ing'],
    sub: ['status'],
  },
  {
    group: 'networking.k8s.io',
    versions: ['v1'],
    resource: 'ingressclasses',
    kind: 'IngressClass',
    namespaced: false,
  },
  {
    group: 'networking.k8s.io',
    versions: ['v1'],
    resource: 'networkpolicies',
    kind: 'NetworkPolicy',
    short: ['netpol'],
  },
  {
    group: 'discovery.k8s.io',
    versions: ['v1'],
    resource: 'endpointslices',
    kind: 'EndpointSlice',
  },
  // rbac
  { group: 'rbac.authorization.k8s.io', versions: ['v1'], resource: 'roles', kind: 'Role' },
  {
    group: 'rbac.authorization.k8s.io',
    versions: ['v1'],
    resource: 'rolebindings',
    kind: 'RoleBinding',
  },
  {
    group: 'rbac.authorization.k8s.io',
    versions: ['v1'],
    resource: 'clusterroles',
    kind: 'ClusterRole',
    namespaced: false,
  },
  {
    group: 'rbac.authorization.k8s.io',
    versions: ['v1'],
    resource: 'clusterrolebindings',
    kind: 'ClusterRoleBinding',
    namespaced: false,
  },
  // events.k8s.io/v1: the core events seen through the newer schema (one storage)
  { group: 'events.k8s.io', versions: ['v1'], resource: 'events', kind: 'Event' },
  // reviews: create-only, answered from the request and the caller, never stored
  {
    group: 'authentication.k8s.io',
    versions: ['v1'],
    resource: 'selfsubjectreviews',
    kind: 'SelfSubjectReview',
    namespaced: false,
    verbs: ['create'],
  },
  {
    group: 'authorization.k8s.io',
    versions: ['v1'],
    resource: 'selfsubjectaccessreviews',
    kind: 'SelfSubjectAccessReview',
    namespaced: false,
    verbs: ['create'],
  },
  {
    group: 'authorization.k8s.io',
    versions: ['v1'],
    resource: 'selfsubjectrulesreviews',
    kind: 'SelfSubjectRulesReview',
    namespaced: false,
    verbs: ['create'],
  },
  // add-on plumbing that is stored and served even though nothing acts on it
  {
    group: 'admissionregistration.k8s.io',
    versions: ['v1'],
    resource: 'validatingwebhookconfigurations',
    kind: 'ValidatingWebhookConfiguration',
    namespaced: false,
  },
  {
    group: 'admissionregistration.k8s.io',
    versions: ['v1'],
    resource: 'mutatingwebhookconfigurations',
    kind: 'MutatingWebhookConfiguration',
    namespaced: false,
  },
  {
    group: 'apiregistration.k8s.io',
    versions: ['v1'],
    resource: 'apiservices',
    kind: 'APIService',
    namespaced: false,
    sub: ['status'],
  },
  { group: 'coordination.k8s.io', versions: ['v1'], resource: 'leases', kind: 'Lease' },
  {
    group: 'policy',
    versions: ['v1'],
    resource: 'poddisruptionbudgets',
    kind: 'PodDisruptionBudget',
    short: ['pdb'],
    sub: ['status'],
  },
  {
    group: 'apiextensions.k8s.io',
    versions: ['v1'],
    resource: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    namespaced: false,
    short: ['crd', 'crds'],
    sub: ['status'],
  },
  {
    group: 'storage.k8s.io',
    versions: ['v1'],
    resource: 'storageclasses',
    kind: 'StorageClass',
    namespaced: false,
    short: ['sc'],
  },
  {
    group: 'scheduling.k8s.io',
    versions: ['v1'],
    resource: 'priorityclasses',
    kind: 'PriorityClass',
    namespaced: false,
    short: ['pc'],
  },
];

function build(): ResourceInfo[] {
  const out: ResourceInfo[] = [];
  for (const s of specs) {
    for (const version of s.versions) {
      out.push({
        group: s.group,
        version,
        resource: s.resource,
        singular: s.kind.toLowerCase(),
        kind: s.kind,
        namespaced: s.namespaced ?? true,
        shortNames: s.short ?? [],
        categories: s.all ? ['all'] : [],
        subresources: s.sub ?? [],
        storageVersion: s.versions[0]!,
        verbs: s.verbs ?? allVerbs,
      });
    }
  }
  return out;
}

/** Every built-in resource, preferred versions first within a group. */
export const builtinResources: readonly ResourceInfo[] = build();

/** "apps/v1" or "v1" for the core group. */
export function groupVersion(r: { group: string; version: string }): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** Splits an apiVersion such as "apps/v1" or "v1" into group and version. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** Finds a resource by group, version and plural name. */
export function findResource(
  group: string,
  version: string,
  resource: string,
): ResourceInfo | undefined {
  return builtinResources.find(
    (r) => r.group === group && r.version === version && r.resource === resource,
  );
}

/** Finds a resource by apiVersion and kind, e.g. ("apps/v1", "Deployment"). */
export function findByKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  const { group, version } = parseApiVersion(apiVersion);
  return builtinResources.find(
    (r) => r.group === group && r.version === version && r.kind === kind,
  );
}

/** "deployments.apps" or "pods": the qualified resource name used in upstream error messages. */
export function qualifiedResource(r: { group: string; resource: string }): string {
  return r.group === '' ? r.resource : `${r.resource}.${r.group}`;
}

/**
 * REST path of a collection or object.
 * @example
 * resourcePath(deployments, { namespace: 'default', name: 'web' }) // "/apis/apps/v1/namespaces/default/deployments/web"
 */
export function resourcePath(
  r: { group: string; version: string; resource: string; namespaced: boolean },
  opts: { namespace?: string; name?: string; subresource?: string } = {},
): string {
  let p = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  if (r.namespaced && opts.namespace) p += `/namespaces/${encodeURIComponent(opts.namespace)}`;
  p += `/${r.resource}`;
  if (opts.name !== undefined) p += `/${encodeURIComponent(opts.name)}`;
  if (opts.subresource) p += `/${opts.subresource}`;
  return p;
}
