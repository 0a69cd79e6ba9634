// Discovery documents built from the resource table plus aggregated (APIService) groups: the
// aggregated apidiscovery.k8s.io/v2 lists and the legacy APIVersions/APIGroupList/APIResourceList
// (follows k8s.io/apiserver pkg/endpoints/discovery and discovery/aggregated).
import { builtinResources, type ResourceInfo } from '../api/resources.js';
import { storageFor } from './registry/index.js';
import type { SubresourceStorage } from './registry/storage.js';

/** One resource of an aggregated (proxied) group-version, in legacy APIResource form. */
export interface ApiResourceEntry {
  name: string;
  singularName?: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  group?: string;
  version?: string;
}

/** A group-version served by another server through an APIService. */
export interface ExtraGroupVersion {
  group: string;
  version: string;
  resources: ApiResourceEntry[];
}

/** The aggregated discovery media type kubectl asks for. */
export const aggregatedDiscoveryContentType = (v: 'v2' | 'v2beta1') =>
  `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`;

/** The subresources of r with their storages, in table order (registry/index.ts). */
function subresourcesOf(r: ResourceInfo): [string, SubresourceStorage][] {
  return Object.entries(storageFor(r).subresources);
}

/** The kind a subresource serves. */
function subresourceKind(
  r: ResourceInfo,
  s: SubresourceStorage,
): { group: string; version: string; kind: string } {
  if (s.kind === 'self') return { group: r.group, version: r.version, kind: r.kind };
  if (s.kind === 'proxyOptions') return { group: r.group, version: r.version, kind: proxyKind(r) };
  return s.kind;
}

function proxyKind(r: ResourceInfo): string {
  return `${r.kind}ProxyOptions`;
}

/** Group names in table order (core excluded), with their versions in preference order. */
function groupsOf(resources: readonly ResourceInfo[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const r of resources) {
    const versions = groups.get(r.group) ?? [];
    if (!versions.includes(r.version)) versions.push(r.version);
    groups.set(r.group, versions);
  }
  return groups;
}

/** An aggregated-discovery resource entry. */
function aggregatedResource(r: ResourceInfo): Record<string, unknown> {
  const out: Record<string, unknown> = {
    resource: r.resource,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: r.singular,
    verbs: [...r.verbs],
  };
  if (r.shortNames.length) out['shortNames'] = [...r.shortNames];
  if (r.categories.length) out['categories'] = [...r.categories];
  const subs = subresourcesOf(r);
  if (subs.length) {
    out['subresources'] = subs.map(([name, s]) => ({
      subresource: name,
      responseKind: subresourceKind(r, s),
      verbs: [...s.verbs],
    }));
  }
  return out;
}

function aggregatedExtra(
  e: ApiResourceEntry,
  group: string,
  version: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    resource: e.name,
    responseKind: { group: e.group ?? group, version: e.version ?? version, kind: e.kind },
    scope: e.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: e.singularName || e.kind.toLowerCase(),
    verbs: e.verbs,
  };
  if (e.shortNames?.length) out['shortNames'] = e.shortNames;
  if (e.categories?.length) out['categories'] = e.categories;
  return out;
}

/** The aggregated discovery document of /api (core) or /apis (named groups). */
export function aggregatedDiscovery(
  which: 'api' | 'apis',
  version: 'v2' | 'v2beta1',
  extra: ExtraGroupVersion[] = [],
): Record<string, unknown> {
  const items: Record<string, unknown>[] = [];
  for (const [group, versions] of groupsOf(builtinResources)) {
    if ((which === 'api') !== (group === '')) continue;
    items.push({
      metadata: { name: group, creationTimestamp: null },
      versions: versions.map((v) => ({
        version: v,
        resources: builtinResources
          .filter((r) => r.group === group && r.version === v)
          .map(aggregatedResource),
        freshness: 'Current',
      })),
    });
  }
  if (which === 'apis') {
    const byGroup = new Map<string, ExtraGroupVersion[]>();
    for (const e of extra) byGroup.set(e.group, [...(byGroup.get(e.group) ?? []), e]);
    for (const [group, gvs] of byGroup) {
      items.push({
        metadata: { name: group, creationTimestamp: null },
        versions: gvs.map((gv) => ({
          version: gv.version,
          resources: gv.resources
            .filter((e) => !e.name.includes('/'))
            .map((e) => aggregatedExtra(e, gv.group, gv.version)),
          freshness: 'Current',
        })),
      });
    }
  }
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items,
  };
}

/** Legacy /api: APIVersions. */
export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/** Legacy /apis: APIGroupList. */
export function apiGroupList(extra: ExtraGroupVersion[] = []): Record<string, unknown> {
  const groups: Record<string, unknown>[] = [];
  const all = groupsOf(builtinResources);
  for (const e of extra) {
    const versions = all.get(e.group) ?? [];
    if (!versions.includes(e.version)) versions.push(e.version);
    all.set(e.group, versions);
  }
  for (const [group, versions] of all) {
    if (group === '') continue;
    const gvs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
    groups.push({ name: group, versions: gvs, preferredVersion: gvs[0] });
  }
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

/** Legacy APIGroup of one named group; undefined when unknown. */
export function apiGroup(
  group: string,
  extra: ExtraGroupVersion[] = [],
): Record<string, unknown> | undefined {
  const list = apiGroupList(extra)['groups'] as {
    name: string;
    versions: unknown[];
    preferredVersion: unknown;
  }[];
  const g = list.find((x) => x.name === group);
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...g } : undefined;
}

/** Legacy APIResourceList of one built-in group-version; undefined when unknown. */
export function apiResourceList(
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const rs = builtinResources.filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const r of rs) {
    const main: Record<string, unknown> = {
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: [...r.verbs],
    };
    if (r.shortNames.length) main['shortNames'] = [...r.shortNames];
    if (r.categories.length) main['categories'] = [...r.categories];
    resources.push(main);
    for (const [name, s] of subresourcesOf(r)) {
      const gvk = subresourceKind(r, s);
      const entry: Record<string, unknown> = {
        name: `${r.resource}/${name}`,
        singularName: '',
        namespaced: r.namespaced,
        kind: gvk.kind,
        verbs: [...s.verbs],
      };
      if (gvk.group !== r.group || gvk.version !== r.version) {
        entry['group'] = gvk.group;
        entry['version'] = gvk.version;
      }
      resources.push(entry);
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}
