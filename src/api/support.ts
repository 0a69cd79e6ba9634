// What Skiff acts on versus only stores: the kinds with a controller (or node/proxy/DNS logic)
// behind them. `skiff status` prints it and the README's "What Skiff runs" table mirrors it.

/** A kind Skiff acts on, and the component that does. */
export interface ActedOn {
  kind: string;
  by: string;
}

/** Kinds some component acts on (everything else the API server stores and serves only). */
export const actedOn: readonly ActedOn[] = [
  { kind: 'Pod', by: 'scheduler, node agent' },
  { kind: 'Deployment', by: 'deployment controller' },
  { kind: 'ReplicaSet', by: 'replicaset controller' },
  { kind: 'StatefulSet', by: 'statefulset controller' },
  { kind: 'DaemonSet', by: 'daemonset controller' },
  { kind: 'Job', by: 'job controller, ttl-after-finished controller' },
  { kind: 'CronJob', by: 'cronjob controller' },
  { kind: 'ControllerRevision', by: 'statefulset and daemonset controllers (rollout history)' },
  { kind: 'PersistentVolumeClaim', by: 'persistentvolume controller (local-path provisioning)' },
  { kind: 'PersistentVolume', by: 'persistentvolume controller, node agent (mounts)' },
  { kind: 'StorageClass', by: 'persistentvolume controller (`standard` is the default)' },
  { kind: 'Service', by: 'endpoints controllers, service proxy, cluster DNS' },
  { kind: 'Endpoints / EndpointSlice', by: 'endpoints controllers' },
  { kind: 'Ingress / IngressClass', by: 'ingress add-on' },
  { kind: 'HorizontalPodAutoscaler', by: 'hpa controller (metrics add-on)' },
  {
    kind: 'VerticalPodAutoscaler',
    by: 'vpa recommender (checkpoints) and updater (in-place resize), pod admission (metrics add-on)',
  },
  { kind: 'Namespace', by: 'namespace controller' },
  { kind: 'ServiceAccount', by: 'serviceaccount controller, token issuer' },
  { kind: 'ConfigMap / Secret', by: 'node agent (env, volumes)' },
  { kind: 'Node / Lease', by: 'node agent' },
  { kind: 'PodDisruptionBudget', by: 'disruption controller, pods/eviction (kubectl drain)' },
  { kind: 'Event', by: 'every controller (written)' },
];

/** Stored and served, but nothing acts on them (yet). */
export const storedOnly: readonly string[] = [
  'RBAC (Role, ClusterRole and bindings: not enforced)',
  'admission webhooks',
  'CustomResourceDefinitions (and their objects)',
  'ResourceQuota',
  'ReplicationController',
  'PriorityClass',
];
