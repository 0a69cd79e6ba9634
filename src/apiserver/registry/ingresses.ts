// Ingress and IngressClass strategies: validation (pkg/apis/networking/validation), generation
// rules and printIngress / printIngressClass columns.
import type { KObject } from '../../api/object.js';
import { ageColumn, ageOf, col, generationHooks, newestDefaultClass, printer } from './common.js';
import { validatePortName, validatePortNumber } from './podspec.js';
import { loadBalancerIngress } from './services.js';
import type { FieldError, Strategy } from './types.js';
import { invalid, list, notSupported, type Obj, required, str, sub } from './util.js';

const pathTypes = ['Exact', 'ImplementationSpecific', 'Prefix'];

function validateBackend(b: Obj | undefined, p: string): FieldError[] {
  if (!b) return [required(p)];
  const svc = sub(b, 'service');
  const resource = sub(b, 'resource');
  if (svc && resource) return [invalid(p, '', 'cannot set both resource and service backends')];
  if (!svc) return resource ? [] : [invalid(p, '', 'resource or service backend is required')];
  const errs: FieldError[] = [];
  if (str(svc.name) === '') errs.push(required(`${p}.service.name`));
  const port = sub(svc, 'port');
  if (!port) errs.push(required(`${p}.service.port`, 'port name or number is required'));
  else if (port.name !== undefined && port.number !== undefined) {
    errs.push(invalid(`${p}.service.port`, port, 'cannot set both port name & port number'));
  } else if (port.name !== undefined) {
    for (const d of validatePortName(str(port.name)))
      errs.push(invalid(`${p}.service.port.name`, port.name, d));
  } else if (port.number !== undefined) {
    errs.push(...validatePortNumber(port.number, `${p}.service.port.number`, true));
  } else errs.push(required(`${p}.service.port`, 'port name or number is required'));
  return errs;
}

function validateIngress(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = sub(obj, 'spec') ?? {};
  const rules = list(spec, 'rules');
  const defaultBackend = sub(spec, 'defaultBackend');
  if (rules.length === 0 && !defaultBackend) {
    errs.push(invalid('spec.rules', [], 'either `defaultBackend` or `rules` must be specified'));
  }
  if (defaultBackend) errs.push(...validateBackend(defaultBackend, 'spec.defaultBackend'));
  rules.forEach((rule, i) => {
    const rp = `spec.rules[${i}]`;
    const host = str(rule.host);
    if (host.includes('*') && !/^\*\.[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(host)) {
      errs.push(invalid(`${rp}.host`, host, "a wildcard DNS-1123 subdomain must start with '*.'"));
    }
    const http = sub(rule, 'http');
    if (!http) return;
    const paths = list(http, 'paths');
    if (paths.length === 0) errs.push(required(`${rp}.http.paths`));
    paths.forEach((path, j) => {
      const pp = `${rp}.http.paths[${j}]`;
      const pathType = path.pathType;
      if (pathType === undefined)
        errs.push(required(`${pp}.pathType`, 'pathType must be specified'));
      else if (!pathTypes.includes(str(pathType)))
        errs.push(notSupported(`${pp}.pathType`, pathType, pathTypes));
      const value = str(path.path);
      if ((pathType === 'Exact' || pathType === 'Prefix') && !value.startsWith('/')) {
        errs.push(invalid(`${pp}.path`, value, 'must be an absolute path'));
      }
      errs.push(...validateBackend(sub(path, 'backend'), `${pp}.backend`));
    });
  });
  return errs;
}

/** formatHosts: up to 4 hosts, " + N more...", or "*". */
function formatHosts(rules: Obj[]): string {
  const hosts = rules.map((r) => str(r.host)).filter((h) => h !== '');
  if (hosts.length === 0) return '*';
  const max = 4;
  const ret = hosts.slice(0, max).join(',');
  return hosts.length > max ? `${ret} + ${hosts.length - max} more...` : ret;
}

const generation = generationHooks(() => ({ loadBalancer: {} }));
const defaultClassAnnotation = 'ingressclass.kubernetes.io/is-default-class';

/**
 * The DefaultIngressClass admission plugin: an Ingress created without a class (field or the
 * legacy kubernetes.io/ingress.class annotation) gets the one IngressClass marked default. With
 * several defaults upstream picks the newest.
 */
function assignDefaultIngressClass(ing: Obj, classes: KObject[]): void {
  ing.spec ??= {};
  const spec = ing.spec as Obj;
  if (spec.ingressClassName) return;
  if (
    ing.metadata &&
    (ing.metadata as Obj).annotations &&
    ((ing.metadata as Obj).annotations as Obj)['kubernetes.io/ingress.class']
  )
    return;
  const name = newestDefaultClass(classes, [defaultClassAnnotation]);
  if (name) spec.ingressClassName = name;
}

/** The Ingress strategy. */
export const ingressStrategy: Strategy = {
  defaults(obj) {
    const o = obj as Obj;
    o.status ??= { loadBalancer: {} };
  },
  ...generationHooks(() => ({ loadBalancer: {} })),
  prepareForCreate(obj, ctx) {
    generation.prepareForCreate?.(obj, ctx);
    assignDefaultIngressClass(obj as Obj, ctx.listStored('networking.k8s.io', 'ingressclasses'));
  },
  validate: validateIngress,
  validateUpdate: validateIngress,
  table: printer(
    [col('Class'), col('Hosts'), col('Address'), col('Ports'), ageColumn],
    (ing, now) => {
      const spec = sub(ing, 'spec') ?? {};
      return [
        str(spec.ingressClassName) || '<none>',
        formatHosts(list(spec, 'rules')),
        loadBalancerIngress(sub(sub(ing, 'status'), 'loadBalancer')),
        list(spec, 'tls').length > 0 ? '80, 443' : '80',
        ageOf(ing, now),
      ];
    },
  ),
};

/** The IngressClass strategy. */
export const ingressClassStrategy: Strategy = {
  ...generationHooks(() => undefined),
  validate(obj) {
    const errs: FieldError[] = [];
    if (str(sub(obj, 'spec')?.controller) === '') errs.push(required('spec.controller'));
    return errs;
  },
  table: printer([col('Controller'), col('Parameters'), ageColumn], (ic, now) => {
    const spec = sub(ic, 'spec') ?? {};
    const params = sub(spec, 'parameters');
    let cell = '<none>';
    if (params) {
      cell = str(params.kind);
      if (typeof params.apiGroup === 'string') cell += `.${params.apiGroup}`;
      cell += `/${str(params.name)}`;
    }
    return [str(spec.controller), cell, ageOf(ic, now)];
  }),
};
