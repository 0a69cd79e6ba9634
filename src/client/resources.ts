// Shorthand handles for the resources the components use, e.g. R.pods, R.deployments.
import { findResource, type ResourceInfo } from '../api/resources.js';

function must(group: string, version: string, resource: string): ResourceInfo {
  const r = findResource(group, version, resource);
  if (!r) throw new TypeError(`Unknown resource "${resource}" in "${group}/${version}"`);
  return r;
}

/** The resources the components read and write. */
export const R = {
  namespaces: must('', 'v1', 'namespaces'),
  pods: must('', 'v1', 'pods'),
  services: must('', 'v1', 'services'),
  endpoints: must('', 'v1', 'endpoints'),
  events: must('', 'v1', 'events'),
  nodes: must('', 'v1', 'nodes'),
  configmaps: must('', 'v1', 'configmaps'),
  secrets: must('', 'v1', 'secrets'),
  serviceaccounts: must('', 'v1', 'serviceaccounts'),
  deployments: must('apps', 'v1', 'deployments'),
  replicasets: must('apps', 'v1', 'replicasets'),
  statefulsets: must('apps', 'v1', 'statefulsets'),
  daemonsets: must('apps', 'v1', 'daemonsets'),
  controllerrevisions: must('apps', 'v1', 'controllerrevisions'),
  jobs: must('batch', 'v1', 'jobs'),
  cronjobs: must('batch', 'v1', 'cronjobs'),
  persistentvolumeclaims: must('', 'v1', 'persistentvolumeclaims'),
  persistentvolumes: must('', 'v1', 'persistentvolumes'),
  storageclasses: must('storage.k8s.io', 'v1', 'storageclasses'),
  poddisruptionbudgets: must('policy', 'v1', 'poddisruptionbudgets'),
  hpas: must('autoscaling', 'v2', 'horizontalpodautoscalers'),
  hpasV1: must('autoscaling', 'v1', 'horizontalpodautoscalers'),
  vpas: must('autoscaling.k8s.io', 'v1', 'verticalpodautoscalers'),
  vpaCheckpoints: must('autoscaling.k8s.io', 'v1', 'verticalpodautoscalercheckpoints'),
  ingresses: must('networking.k8s.io', 'v1', 'ingresses'),
  ingressclasses: must('networking.k8s.io', 'v1', 'ingressclasses'),
  endpointslices: must('discovery.k8s.io', 'v1', 'endpointslices'),
  leases: must('coordination.k8s.io', 'v1', 'leases'),
  apiservices: must('apiregistration.k8s.io', 'v1', 'apiservices'),
} as const;
