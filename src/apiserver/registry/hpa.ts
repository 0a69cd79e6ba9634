// HorizontalPodAutoscaler strategy, stored as autoscaling/v2: defaults (pkg/apis/autoscaling/v2/
// defaults.go), validation (pkg/apis/autoscaling/validation), the v1 <-> v2 converter
// (pkg/apis/autoscaling/v1/conversion.go) and printHorizontalPodAutoscaler's columns.
import type { KObject } from '../../api/object.js';
import { ageColumn, ageOf, col, generationHooks, printer } from './common.js';
import type { FieldError, Strategy, VersionConverter } from './types.js';
import {
  child,
  invalid,
  isObj,
  list,
  notSupported,
  num,
  type Obj,
  required,
  setDefault,
  str,
  sub,
} from './util.js';

/** Annotations a v1 object carries so that v2-only data survives a v1 round trip. */
export const hpaAnnotations = {
  metrics: 'autoscaling.alpha.kubernetes.io/metrics',
  currentMetrics: 'autoscaling.alpha.kubernetes.io/current-metrics',
  conditions: 'autoscaling.alpha.kubernetes.io/conditions',
  behavior: 'autoscaling.alpha.kubernetes.io/behavior',
} as const;

const metricTypes = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'];

function defaultRules(rules: unknown, isUp: boolean): Obj {
  const r: Obj = isObj(rules) ? rules : {};
  setDefault(r, 'stabilizationWindowSeconds', isUp ? 0 : 300);
  setDefault(r, 'selectPolicy', 'Max');
  setDefault(
    r,
    'policies',
    isUp
      ? [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ]
      : [{ type: 'Percent', value: 100, periodSeconds: 15 }],
  );
  return r;
}

const isCPUUtilization = (m: Obj): boolean =>
  m.type === 'Resource' &&
  sub(m, 'resource')?.name === 'cpu' &&
  typeof sub(sub(m, 'resource'), 'target')?.averageUtilization === 'number';

function validateHPA(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = sub(obj, 'spec');
  if (!spec) return [...errs, required('spec')];
  const ref = sub(spec, 'scaleTargetRef') ?? {};
  if (str(ref.kind) === '') errs.push(required('spec.scaleTargetRef.kind'));
  if (str(ref.name) === '') errs.push(required('spec.scaleTargetRef.name'));
  const min = spec.minReplicas;
  // Upstream's HPAScaleToZero gate, on: 0 is allowed. Upstream then requires an Object or External
  // metric to wake the target; here the ingress wakes it (the scale-to-zero controller).
  if (typeof min === 'number' && min < 0) {
    errs.push(invalid('spec.minReplicas', min, 'must be greater than or equal to 0'));
  }
  const max = num(spec.maxReplicas);
  if (max < 1) errs.push(invalid('spec.maxReplicas', max, 'must be greater than 0'));
  if (typeof min === 'number' && max < min) {
    errs.push(invalid('spec.maxReplicas', max, 'must be greater than or equal to `minReplicas`'));
  }
  list(spec, 'metrics').forEach((m, i) => {
    const p = `spec.metrics[${i}]`;
    if (!metricTypes.includes(str(m.type))) {
      errs.push(notSupported(`${p}.type`, m.type, metricTypes));
      return;
    }
    if (m.type === 'Resource') {
      const res = sub(m, 'resource');
      if (!res) {
        errs.push(
          required(`${p}.resource`, 'must populate information for the given metric source'),
        );
        return;
      }
      if (str(res.name) === '') errs.push(required(`${p}.resource.name`));
      const target = sub(res, 'target') ?? {};
      const u = target.averageUtilization;
      if (typeof u === 'number' && u <= 0) {
        errs.push(invalid(`${p}.resource.target.averageUtilization`, u, 'must be greater than 0'));
      }
      const types = ['AverageValue', 'Utilization'];
      if (!types.includes(str(target.type))) {
        errs.push(notSupported(`${p}.resource.target.type`, target.type, types));
      }
    }
  });
  return errs;
}

// HPA v1 <-> v2 conversion (one stored v2 object serves both).
const converter: VersionConverter = {
  toStorage(obj) {
    if (obj.apiVersion !== 'autoscaling/v1') return obj;
    const out = structuredClone(obj) as Obj;
    out.apiVersion = 'autoscaling/v2';
    const m = child(out, 'metadata');
    const ann = sub(m, 'annotations') ?? {};
    const take = (key: string): unknown => {
      const v = ann[key];
      delete ann[key];
      if (typeof v !== 'string') return undefined;
      try {
        return JSON.parse(v) as unknown;
      } catch (e: unknown) {
        // Unparsable annotations are dropped, as upstream ignores them on conversion.
        if (e instanceof SyntaxError) return undefined;
        throw e;
      }
    };
    const otherMetrics = take(hpaAnnotations.metrics);
    const currentMetrics = take(hpaAnnotations.currentMetrics);
    const conditions = take(hpaAnnotations.conditions);
    const behavior = take(hpaAnnotations.behavior);
    if (isObj(m.annotations) && Object.keys(m.annotations).length === 0) delete m.annotations;
    const spec = child(out, 'spec');
    const metrics: unknown[] = [];
    if (typeof spec.targetCPUUtilizationPercentage === 'number') {
      metrics.push({
        type: 'Resource',
        resource: {
          name: 'cpu',
          target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage },
        },
      });
    }
    delete spec.targetCPUUtilizationPercentage;
    if (Array.isArray(otherMetrics)) metrics.push(...otherMetrics);
    if (metrics.length > 0) spec.metrics = metrics;
    if (isObj(behavior)) spec.behavior = behavior;
    const status = sub(out, 'status');
    if (status) {
      const cur: unknown[] = [];
      if (typeof status.currentCPUUtilizationPercentage === 'number') {
        cur.push({
          type: 'Resource',
          resource: {
            name: 'cpu',
            current: { averageUtilization: status.currentCPUUtilizationPercentage },
          },
        });
      }
      delete status.currentCPUUtilizationPercentage;
      if (Array.isArray(currentMetrics)) cur.push(...currentMetrics);
      if (cur.length > 0) status.currentMetrics = cur;
      if (Array.isArray(conditions)) status.conditions = conditions;
    }
    return out;
  },
  fromStorage(obj, apiVersion) {
    if (apiVersion !== 'autoscaling/v1') return { ...structuredClone(obj), apiVersion };
    const src = structuredClone(obj) as Obj;
    const spec = sub(src, 'spec') ?? {};
    const status = sub(src, 'status');
    const annotations: Record<string, string> = {};
    const metrics = list(spec, 'metrics');
    const cpu = metrics.find(isCPUUtilization);
    const others = metrics.filter((m) => m !== cpu);
    if (others.length > 0) annotations[hpaAnnotations.metrics] = JSON.stringify(others);
    if (spec.behavior !== undefined)
      annotations[hpaAnnotations.behavior] = JSON.stringify(spec.behavior);
    const v1Spec: Obj = {
      scaleTargetRef: spec.scaleTargetRef,
      ...(spec.minReplicas !== undefined ? { minReplicas: spec.minReplicas } : {}),
      maxReplicas: spec.maxReplicas,
      ...(cpu
        ? {
            targetCPUUtilizationPercentage: sub(sub(cpu, 'resource'), 'target')?.averageUtilization,
          }
        : {}),
    };
    let v1Status: Obj | undefined;
    if (status) {
      const current = list(status, 'currentMetrics');
      const curCPU = current.find(
        (m) =>
          m.type === 'Resource' &&
          sub(m, 'resource')?.name === 'cpu' &&
          typeof sub(sub(m, 'resource'), 'current')?.averageUtilization === 'number',
      );
      const curOthers = current.filter((m) => m !== curCPU);
      if (curOthers.length > 0)
        annotations[hpaAnnotations.currentMetrics] = JSON.stringify(curOthers);
      if (Array.isArray(status.conditions) && status.conditions.length > 0) {
        annotations[hpaAnnotations.conditions] = JSON.stringify(status.conditions);
      }
      v1Status = { ...status };
      delete v1Status.currentMetrics;
      delete v1Status.conditions;
      if (curCPU) {
        v1Status.currentCPUUtilizationPercentage = sub(
          sub(curCPU, 'resource'),
          'current',
        )?.averageUtilization;
      }
    }
    const metadata = { ...(sub(src, 'metadata') ?? {}) };
    if (Object.keys(annotations).length > 0) {
      metadata.annotations = { ...(sub(metadata, 'annotations') ?? {}), ...annotations };
    }
    return {
      apiVersion,
      kind: 'HorizontalPodAutoscaler',
      metadata,
      spec: v1Spec,
      ...(v1Status ? { status: v1Status } : {}),
    } as KObject;
  },
};

/** formatHPAMetrics: "cpu: 12%/50%", "<unknown>" currents, " + N more..." past two metrics. */
export function formatHPAMetrics(spec: Obj, status: Obj): string {
  const specs = list(spec, 'metrics');
  if (specs.length === 0) return '<none>';
  const statuses = list(status, 'currentMetrics');
  const q = (v: unknown): string => str(v);
  const out = specs.map((m, i) => {
    const st = statuses[i];
    switch (m.type) {
      case 'External':
      case 'Object': {
        const key = m.type === 'External' ? 'external' : 'object';
        const target = sub(sub(m, key), 'target') ?? {};
        const current = sub(sub(st, key), 'current');
        if (target.averageValue !== undefined) {
          const cur = current?.averageValue !== undefined ? q(current.averageValue) : '<unknown>';
          return `${cur}/${q(target.averageValue)} (avg)`;
        }
        return `${current ? q(current.value) : '<unknown>'}/${q(target.value)}`;
      }
      case 'Pods': {
        const current = sub(sub(st, 'pods'), 'current');
        const target = sub(sub(m, 'pods'), 'target') ?? {};
        return `${current ? q(current.averageValue) : '<unknown>'}/${q(target.averageValue)}`;
      }
      case 'Resource':
      case 'ContainerResource': {
        const key = m.type === 'Resource' ? 'resource' : 'containerResource';
        const res = sub(m, key) ?? {};
        const target = sub(res, 'target') ?? {};
        const current = sub(sub(st, key), 'current');
        if (target.averageValue !== undefined) {
          const cur = current ? q(current.averageValue) : '<unknown>';
          return `${str(res.name)}: ${cur}/${q(target.averageValue)}`;
        }
        const cur =
          typeof current?.averageUtilization === 'number'
            ? `${current.averageUtilization}%`
            : '<unknown>';
        const tgt =
          typeof target.averageUtilization === 'number'
            ? `${target.averageUtilization}%`
            : '<auto>';
        return `${str(res.name)}: ${cur}/${tgt}`;
      }
      default:
        return '<unknown type>';
    }
  });
  const max = 2;
  if (out.length > max) return `${out.slice(0, max).join(', ')} + ${out.length - max} more...`;
  return out.join(', ');
}

/** The HorizontalPodAutoscaler strategy; hooks other than the converter see autoscaling/v2. */
export const hpaStrategy: Strategy = {
  defaults(obj) {
    const spec = child(obj as Obj, 'spec');
    setDefault(spec, 'minReplicas', 1);
    if (!Array.isArray(spec.metrics) || spec.metrics.length === 0) {
      spec.metrics = [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
        },
      ];
    }
    if (isObj(spec.behavior)) {
      spec.behavior.scaleUp = defaultRules(spec.behavior.scaleUp, true);
      spec.behavior.scaleDown = defaultRules(spec.behavior.scaleDown, false);
    }
  },
  ...generationHooks(() => ({ currentReplicas: 0, desiredReplicas: 0 })),
  validate: validateHPA,
  validateUpdate: validateHPA,
  converter,
  table: printer(
    [
      col('Reference'),
      col('Targets'),
      col('MinPods'),
      col('MaxPods', 'integer'),
      col('Replicas', 'integer'),
      ageColumn,
    ],
    (h, now) => {
      const spec = sub(h, 'spec') ?? {};
      const status = sub(h, 'status') ?? {};
      const ref = sub(spec, 'scaleTargetRef') ?? {};
      return [
        `${str(ref.kind)}/${str(ref.name)}`,
        formatHPAMetrics(spec, status),
        typeof spec.minReplicas === 'number' ? String(spec.minReplicas) : '<unset>',
        num(spec.maxReplicas),
        num(status.currentReplicas),
        ageOf(h, now),
      ];
    },
  ),
};
