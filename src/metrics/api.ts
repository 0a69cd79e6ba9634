// The metrics.k8s.io/v1beta1 REST surface of metrics-server: discovery, PodMetrics and NodeMetrics
// list/get with label and field selectors. Follows metrics-server pkg/api/{pod,node}.go and the
// types of k8s.io/metrics/pkg/apis/metrics/v1beta1.

import { formatBytes, formatGoDuration, formatNanoCores } from '../api/exact-quantity.js';
import { matchesSelector, parseSelector, type Requirement } from '../api/labels.js';
import { rfc3339 } from '../api/time.js';
import type { MetricsStorage, Usage } from './storage.js';

/** The API group/version served. */
export const metricsGroupVersion = 'metrics.k8s.io/v1beta1';

/** The objects the API needs to know about: labels of pods and nodes by name. */
export interface MetricsObjects {
  /** Pods (namespace, name, labels), in a namespace or all namespaces. */
  listPods(
    namespace?: string,
  ): { namespace: string; name: string; labels?: Record<string, string> }[];
  /** Nodes (name, labels). */
  listNodes(): { name: string; labels?: Record<string, string> }[];
}

/** A JSON answer. */
export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** metav1.Time rendering: RFC 3339 in whole seconds. */
function usageOf(u: Usage): Record<string, string> {
  return { cpu: formatNanoCores(u.cpuNanoCores), memory: formatBytes(u.memoryBytes) };
}

function status(code: number, reason: string, message: string, details?: object): ApiAnswer {
  return {
    status: code,
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      ...(details ? { details } : {}),
      code,
    },
  };
}

/** Field selector terms on metadata.name / metadata.namespace (=, ==, !=). */
function parseFieldSelector(
  text: string,
  allowed: readonly string[],
): { field: string; op: '=' | '!='; value: string }[] {
  const out: { field: string; op: '=' | '!='; value: string }[] = [];
  for (const term of text.split(',')) {
    const t = term.trim();
    if (!t) continue;
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(t);
    if (!m) throw new SyntaxError(`invalid selector: '${text}'; can't understand '${t}'`);
    const field = (m[1] ?? '').trim();
    if (!allowed.includes(field)) throw new SyntaxError(`field label not supported: ${field}`);
    out.push({ field, op: m[2] === '!=' ? '!=' : '=', value: (m[3] ?? '').trim() });
  }
  return out;
}

function matchesFields(
  terms: { field: string; op: '=' | '!='; value: string }[],
  fields: Record<string, string>,
): boolean {
  return terms.every((t) => (fields[t.field] === t.value) === (t.op === '='));
}

function discovery(): unknown {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: metricsGroupVersion,
    resources: [
      {
        name: 'nodes',
        singularName: '',
        namespaced: false,
        kind: 'NodeMetrics',
        verbs: ['get', 'list'],
      },
      {
        name: 'pods',
        singularName: '',
        namespaced: true,
        kind: 'PodMetrics',
        verbs: ['get', 'list'],
      },
    ],
  };
}

function groupDoc(): unknown {
  const v = { groupVersion: metricsGroupVersion, version: 'v1beta1' };
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name: 'metrics.k8s.io',
    versions: [v],
    preferredVersion: v,
  };
}

/**
 * Answers one GET on the metrics API. `path` has no query; `query` holds labelSelector/fieldSelector.
 * Pods or nodes without a full sample window are left out of lists and are NotFound on get.
 */
export function handleMetricsRequest(
  req: { method: string; path: string; query: URLSearchParams },
  deps: { storage: MetricsStorage; objects: MetricsObjects; now: number },
): ApiAnswer {
  const path = req.path.replace(/\/+$/, '');
  if (path === '/apis/metrics.k8s.io') return { status: 200, body: groupDoc() };
  const prefix = `/apis/${metricsGroupVersion}`;
  if (!path.startsWith(prefix))
    return status(404, 'NotFound', 'the server could not find the requested resource');
  if (req.method !== 'GET') {
    return status(405, 'MethodNotAllowed', `${req.method} is not supported by the metrics API`);
  }
  const parts = path.slice(prefix.length).split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { status: 200, body: discovery() };
  const labelSelector = req.query.get('labelSelector') ?? '';
  const fieldSelector = req.query.get('fieldSelector') ?? '';
  try {
    const sel = parseSelector(labelSelector);
    if (parts[0] === 'nodes' && parts.length <= 2) {
      const fields = parseFieldSelector(fieldSelector, ['metadata.name']);
      return nodes(deps, parts[1], sel, fields);
    }
    if (parts[0] === 'pods' && parts.length === 1) {
      const fields = parseFieldSelector(fieldSelector, ['metadata.name', 'metadata.namespace']);
      return pods(deps, undefined, undefined, sel, fields);
    }
    if (parts[0] === 'namespaces' && parts[2] === 'pods' && parts.length <= 4 && parts[1]) {
      const fields = parseFieldSelector(fieldSelector, ['metadata.name', 'metadata.namespace']);
      return pods(deps, parts[1], parts[3], sel, fields);
    }
  } catch (err) {
    if (err instanceof SyntaxError || err instanceof TypeError) {
      return status(400, 'BadRequest', err.message);
    }
    throw err;
  }
  return status(404, 'NotFound', 'the server could not find the requested resource');
}

function nodes(
  deps: { storage: MetricsStorage; objects: MetricsObjects; now: number },
  name: string | undefined,
  labelSelector: Requirement[],
  fields: ReturnType<typeof parseFieldSelector>,
): ApiAnswer {
  const items: unknown[] = [];
  for (const node of deps.objects.listNodes()) {
    if (name !== undefined && node.name !== name) continue;
    if (!matchesSelector(labelSelector, node.labels)) continue;
    if (!matchesFields(fields, { 'metadata.name': node.name })) continue;
    const u = deps.storage.nodeUsage(node.name);
    if (!u) continue;
    items.push({
      kind: 'NodeMetrics',
      apiVersion: metricsGroupVersion,
      metadata: {
        name: node.name,
        labels: node.labels ?? {},
        creationTimestamp: rfc3339(deps.now),
      },
      timestamp: rfc3339(u.timestamp),
      window: formatGoDuration(u.window),
      usage: usageOf(u),
    });
  }
  if (name !== undefined) {
    if (items.length === 0) {
      return status(404, 'NotFound', `nodemetrics.metrics.k8s.io "${name}" not found`, {
        name,
        group: 'metrics.k8s.io',
        kind: 'nodemetrics',
      });
    }
    return { status: 200, body: items[0] };
  }
  return {
    status: 200,
    body: { kind: 'NodeMetricsList', apiVersion: metricsGroupVersion, metadata: {}, items },
  };
}

function pods(
  deps: { storage: MetricsStorage; objects: MetricsObjects; now: number },
  namespace: string | undefined,
  name: string | undefined,
  labelSelector: Requirement[],
  fields: ReturnType<typeof parseFieldSelector>,
): ApiAnswer {
  const items: unknown[] = [];
  for (const pod of deps.objects.listPods(namespace)) {
    if (name !== undefined && pod.name !== name) continue;
    if (!matchesSelector(labelSelector, pod.labels)) continue;
    if (
      !matchesFields(fields, { 'metadata.name': pod.name, 'metadata.namespace': pod.namespace })
    ) {
      continue;
    }
    const u = deps.storage.podUsage(`${pod.namespace}/${pod.name}`);
    if (!u) continue;
    items.push({
      kind: 'PodMetrics',
      apiVersion: metricsGroupVersion,
      metadata: {
        name: pod.name,
        namespace: pod.namespace,
        labels: pod.labels ?? {},
        creationTimestamp: rfc3339(deps.now),
      },
      timestamp: rfc3339(u.timestamp),
      window: formatGoDuration(u.window),
      containers: u.containers.map((c) => ({ name: c.name, usage: usageOf(c.usage) })),
    });
  }
  if (name !== undefined) {
    if (items.length === 0) {
      return status(404, 'NotFound', `podmetrics.metrics.k8s.io "${namespace}/${name}" not found`, {
        name: `${namespace}/${name}`,
        group: 'metrics.k8s.io',
        kind: 'podmetrics',
      });
    }
    return { status: 200, body: items[0] };
  }
  return {
    status: 200,
    body: { kind: 'PodMetricsList', apiVersion: metricsGroupVersion, metadata: {}, items },
  };
}
