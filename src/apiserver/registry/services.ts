// Service strategy (pkg/registry/core/service: defaults, ClusterIP and NodePort allocation,
// validation, printService) plus the Endpoints and EndpointSlice printers.
import type { KObject } from '../../api/object.js';
import { formatIPv4, parseCidr, tryParseIPv4 } from '../../lib/cidr.js';
import { ageColumn, ageOf, col, keepStatusOnUpdate, printer } from './common.js';
import { validatePortName, validatePortNumber } from './podspec.js';
import type { FieldError, RegistryConfig, Strategy, StrategyContext } from './types.js';
import {
  child,
  duplicate,
  formatLabels,
  invalid,
  isDNS1123Label,
  list,
  notSupported,
  num,
  type Obj,
  required,
  setDefault,
  str,
  sub,
} from './util.js';

const serviceTypes = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const protocols = ['SCTP', 'TCP', 'UDP'];
const invalidIP = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

// Allocation errors found in prepareForCreate, reported by validate (which runs right after).
const allocationErrors = new WeakMap<KObject, FieldError[]>();

function defaultService(obj: KObject): void {
  const spec = child(obj as Obj, 'spec');
  setDefault(spec, 'type', 'ClusterIP');
  setDefault(spec, 'sessionAffinity', 'None');
  if (spec.sessionAffinity === 'ClientIP') {
    setDefault(child(child(spec, 'sessionAffinityConfig'), 'clientIP'), 'timeoutSeconds', 10800);
  }
  for (const p of list(spec, 'ports')) {
    setDefault(p, 'protocol', 'TCP');
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '')
      p.targetPort = p.port;
  }
  const type = str(spec.type);
  if (type !== 'ExternalName') setDefault(spec, 'internalTrafficPolicy', 'Cluster');
  if (type === 'NodePort' || type === 'LoadBalancer') {
    setDefault(spec, 'externalTrafficPolicy', 'Cluster');
  }
  if (type === 'LoadBalancer') setDefault(spec, 'allocateLoadBalancerNodePorts', true);
  const clusterIP = str(spec.clusterIP);
  if (clusterIP !== '' && !Array.isArray(spec.clusterIPs)) spec.clusterIPs = [clusterIP];
  const status = child(obj as Obj, 'status');
  setDefault(status, 'loadBalancer', {});
}

/** Used ClusterIPs and NodePorts across every stored Service. */
function usedAddresses(ctx: StrategyContext): { ips: Set<string>; ports: Set<number> } {
  const ips = new Set<string>();
  const ports = new Set<number>();
  for (const svc of ctx.listStored('', 'services')) {
    const spec = sub(svc, 'spec') ?? {};
    for (const ip of Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [spec.clusterIP]) {
      if (typeof ip === 'string' && ip !== '' && ip !== 'None') ips.add(ip);
    }
    for (const p of list(spec, 'ports')) if (typeof p.nodePort === 'number') ports.add(p.nodePort);
  }
  return { ips, ports };
}

/** Allocates spec.clusterIP(s) and node ports like the service REST storage does on create. */
function allocate(obj: KObject, ctx: StrategyContext): FieldError[] {
  const spec = child(obj as Obj, 'spec');
  const type = str(spec.type);
  if (type === 'ExternalName') return [];
  const cfg = ctx.config;
  const used = usedAddresses(ctx);
  const errs: FieldError[] = [];
  const requested = str(spec.clusterIP);
  const { base, size } = parseCidr(cfg.serviceCIDR);
  if (requested === 'None') {
    spec.clusterIPs = ['None'];
  } else if (requested !== '') {
    const n = tryParseIPv4(requested);
    if (n === undefined) {
      errs.push(invalid('spec.clusterIPs[0]', requested, invalidIP));
    } else if (n < base || n >= base + size) {
      errs.push(
        invalid(
          'spec.clusterIPs',
          [requested],
          `failed to allocate IP ${requested}: the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${cfg.serviceCIDR}`,
        ),
      );
    } else if (used.ips.has(requested)) {
      errs.push(
        invalid(
          'spec.clusterIPs',
          [requested],
          `failed to allocate IP ${requested}: provided IP is already allocated`,
        ),
      );
    }
    spec.clusterIPs = [requested];
  } else {
    // Random free address, skipping the network address, broadcast, .1 (the `kubernetes`
    // service) and .10 (kube-dns) which are only handed out when requested explicitly.
    const reserved = new Set([base, base + 1, base + 10, base + size - 1]);
    const free = (n: number): boolean => !reserved.has(n) && !used.ips.has(formatIPv4(n));
    const start = base + Math.floor(cfg.random() * size);
    let chosen: number | undefined;
    for (let i = 0; i < size; i++) {
      const n = base + ((start - base + i) % size);
      if (free(n)) {
        chosen = n;
        break;
      }
    }
    if (chosen === undefined) {
      errs.push(invalid('spec.clusterIPs', [], 'failed to allocate a serviceIP: range is full'));
    } else {
      spec.clusterIP = formatIPv4(chosen);
      spec.clusterIPs = [spec.clusterIP];
    }
  }
  setDefault(spec, 'ipFamilies', ['IPv4']);
  setDefault(spec, 'ipFamilyPolicy', 'SingleStack');
  if (
    type === 'NodePort' ||
    (type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false)
  ) {
    errs.push(...allocateNodePorts(spec, used.ports, ctx.config));
  }
  return errs;
}

function allocateNodePorts(spec: Obj, used: Set<number>, cfg: RegistryConfig): FieldError[] {
  const { min, max } = cfg.nodePortRange;
  const errs: FieldError[] = [];
  const ports = list(spec, 'ports');
  ports.forEach((p, i) => {
    if (typeof p.nodePort !== 'number' || p.nodePort === 0) return;
    const field = `spec.ports[${i}].nodePort`;
    if (p.nodePort < min || p.nodePort > max) {
      errs.push(
        invalid(
          field,
          p.nodePort,
          `provided port is not in the valid range. The range of valid ports is ${min}-${max}`,
        ),
      );
    } else if (used.has(p.nodePort)) {
      errs.push(invalid(field, p.nodePort, 'provided port is already allocated'));
    }
    used.add(p.nodePort);
  });
  const size = max - min + 1;
  for (const p of ports) {
    if (typeof p.nodePort === 'number' && p.nodePort !== 0) continue;
    const start = Math.floor(cfg.random() * size);
    for (let i = 0; i < size; i++) {
      const candidate = min + ((start + i) % size);
      if (!used.has(candidate)) {
        p.nodePort = candidate;
        used.add(candidate);
        break;
      }
    }
  }
  return errs;
}

function validateService(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = sub(obj, 'spec');
  if (!spec) return [...errs, required('spec')];
  const type = str(spec.type);
  if (!serviceTypes.includes(type)) errs.push(notSupported('spec.type', spec.type, serviceTypes));
  const ports = list(spec, 'ports');
  const headless = spec.clusterIP === 'None';
  if (ports.length === 0 && type !== 'ExternalName' && !headless) errs.push(required('spec.ports'));
  if (type === 'ExternalName' && str(spec.externalName) === '')
    errs.push(required('spec.externalName'));
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const pp = `spec.ports[${i}]`;
    const name = str(p.name);
    if (ports.length > 1 && name === '') errs.push(required(`${pp}.name`));
    else if (name !== '') {
      for (const d of isDNS1123Label(name)) errs.push(invalid(`${pp}.name`, name, d));
      if (names.has(name)) errs.push(duplicate(`${pp}.name`, name));
      names.add(name);
    }
    errs.push(...validatePortNumber(p.port, `${pp}.port`, true));
    if (!protocols.includes(str(p.protocol)))
      errs.push(notSupported(`${pp}.protocol`, p.protocol, protocols));
    if (typeof p.targetPort === 'number') {
      errs.push(...validatePortNumber(p.targetPort, `${pp}.targetPort`, true));
    } else if (typeof p.targetPort === 'string') {
      for (const d of validatePortName(p.targetPort))
        errs.push(invalid(`${pp}.targetPort`, p.targetPort, d));
    }
    if (p.nodePort !== undefined && type === 'ClusterIP') {
      errs.push(
        invalid(`${pp}.nodePort`, p.nodePort, "may not be used when `type` is 'ClusterIP'"),
      );
    }
  });
  for (const s of ['sessionAffinity']) {
    if (!['None', 'ClientIP'].includes(str(spec[s])))
      errs.push(notSupported(`spec.${s}`, spec[s], ['ClientIP', 'None']));
  }
  return errs;
}

/** SERVICE EXTERNAL-IP cell (getServiceExternalIP with wide output). */
function externalIP(spec: Obj, status: Obj): string {
  const externalIPs = Array.isArray(spec.externalIPs) ? spec.externalIPs.map(str) : [];
  switch (str(spec.type)) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerIngress(sub(status, 'loadBalancer'));
      if (externalIPs.length > 0) return [...(lb ? lb.split(',') : []), ...externalIPs].join(',');
      return lb !== '' ? lb : '<pending>';
    }
    case 'ExternalName':
      return str(spec.externalName);
    default:
      return '<unknown>';
  }
}

/** loadBalancerStatusStringer: ingress IPs or hostnames joined by ",". */
export function loadBalancerIngress(lb: Obj | undefined): string {
  return list(lb, 'ingress')
    .map((i) => str(i.ip) || str(i.hostname))
    .filter((s) => s !== '')
    .join(',');
}

function portsCell(spec: Obj): string {
  const ports = list(spec, 'ports');
  if (ports.length === 0) return '<none>';
  return ports
    .map((p) =>
      num(p.nodePort) > 0
        ? `${num(p.port)}:${num(p.nodePort)}/${str(p.protocol)}`
        : `${num(p.port)}/${str(p.protocol)}`,
    )
    .join(',');
}

/** The Service strategy. */
export const serviceStrategy: Strategy = {
  defaults: defaultService,
  prepareForCreate(obj, ctx) {
    (obj as Obj).status = { loadBalancer: {} };
    allocationErrors.set(obj, allocate(obj, ctx));
  },
  prepareForUpdate(obj, old) {
    keepStatusOnUpdate(obj, old);
    // Updates that omit allocated values (PUT from a manifest) keep the allocated ones.
    const spec = child(obj as Obj, 'spec');
    const oldSpec = sub(old, 'spec') ?? {};
    if (
      str(spec.clusterIP) === '' &&
      str(oldSpec.clusterIP) !== '' &&
      spec.type !== 'ExternalName'
    ) {
      for (const k of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy']) {
        if (oldSpec[k] !== undefined) spec[k] = structuredClone(oldSpec[k]);
      }
    }
    const oldPorts = list(oldSpec, 'ports');
    for (const p of list(spec, 'ports')) {
      if (p.nodePort !== undefined) continue;
      const match = oldPorts.find((o) => o.port === p.port && o.protocol === p.protocol);
      if (match?.nodePort !== undefined) p.nodePort = match.nodePort;
    }
  },
  validate(obj) {
    const errs = validateService(obj);
    return [...errs, ...(allocationErrors.get(obj) ?? [])];
  },
  validateUpdate(obj, old) {
    const errs = validateService(obj);
    const ip = (o: KObject): string => {
      const spec = sub(o, 'spec') ?? {};
      return Array.isArray(spec.clusterIPs) ? str(spec.clusterIPs[0]) : str(spec.clusterIP);
    };
    const wasExternalName = sub(old, 'spec')?.type === 'ExternalName';
    if (
      !wasExternalName &&
      sub(obj, 'spec')?.type !== 'ExternalName' &&
      ip(old) !== '' &&
      ip(obj) !== ip(old)
    ) {
      errs.push(invalid('spec.clusterIPs[0]', ip(obj), 'may not change once set'));
    }
    return errs;
  },
  selectableFields(obj) {
    const spec = sub(obj, 'spec') ?? {};
    return { 'spec.clusterIP': str(spec.clusterIP), 'spec.type': str(spec.type) };
  },
  table: printer(
    [
      col('Type'),
      col('Cluster-IP'),
      col('External-IP'),
      col('Port(s)'),
      ageColumn,
      col('Selector', 'string', true),
    ],
    (svc, now) => {
      const spec = sub(svc, 'spec') ?? {};
      const status = sub(svc, 'status') ?? {};
      const clusterIPs = Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [];
      return [
        str(spec.type),
        clusterIPs.length > 0 ? str(clusterIPs[0]) : str(spec.clusterIP) || '<none>',
        externalIP(spec, status),
        portsCell(spec),
        ageOf(svc, now),
        formatLabels(spec.selector),
      ];
    },
  ),
};

/** formatEndpoints: up to 3 "ip:port" entries then " + N more...". */
function formatEndpoints(ep: KObject): string {
  const subsets = list(ep, 'subsets');
  if (subsets.length === 0) return '<none>';
  const out: string[] = [];
  const max = 3;
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addresses = list(ss, 'addresses');
    const ports = list(ss, 'ports');
    const targets = ports.length === 0 ? [undefined] : ports;
    for (const port of targets) {
      count += addresses.length;
      for (const a of addresses) {
        if (out.length === max) {
          more = true;
          break;
        }
        out.push(port === undefined ? str(a.ip) : `${str(a.ip)}:${num(port.port)}`);
      }
    }
  }
  const ret = out.join(',');
  return more ? `${ret} + ${count - max} more...` : ret;
}

/** The Endpoints strategy. */
export const endpointsStrategy: Strategy = {
  defaults(obj) {
    for (const ss of list(obj, 'subsets'))
      for (const p of list(ss, 'ports')) setDefault(p, 'protocol', 'TCP');
  },
  table: printer([col('Endpoints'), ageColumn], (ep, now) => [formatEndpoints(ep), ageOf(ep, now)]),
};

/** listWithMoreString: up to 3 entries, " + N more...", or "<unset>". */
function listWithMore(items: string[]): string {
  const max = 3;
  const ret = items.slice(0, max).join(',');
  if (items.length > max) return `${ret} + ${items.length - max} more...`;
  return ret === '' ? '<unset>' : ret;
}

/** The EndpointSlice strategy. */
export const endpointSliceStrategy: Strategy = {
  defaults(obj) {
    for (const p of list(obj, 'ports')) setDefault(p, 'protocol', 'TCP');
  },
  prepareForCreate(obj) {
    (obj as Obj).metadata = { ...obj.metadata, generation: 1 };
  },
  table: printer([col('AddressType'), col('Ports'), col('Endpoints'), ageColumn], (es, now) => [
    str((es as Obj).addressType),
    listWithMore(
      list(es, 'ports').map((p) =>
        typeof p.port === 'number' ? String(p.port) : typeof p.name === 'string' ? p.name : '*',
      ),
    ),
    listWithMore(
      list(es, 'endpoints').flatMap((e) =>
        Array.isArray(e.addresses) ? e.addresses.map(str) : [],
      ),
    ),
    ageOf(es, now),
  ]),
};
