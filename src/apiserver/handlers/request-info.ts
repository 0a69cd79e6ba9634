// Parses a resource URL into group/version/resource/namespace/name/subresource (follows
// k8s.io/apiserver pkg/endpoints/request/requestinfo.go, including the legacy /watch/ prefix).
import { badRequest } from '../status-error.js';

/** What a resource URL addresses. */
export interface RequestInfo {
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** True for the deprecated /watch/ path prefix. */
  isWatchPath: boolean;
}

/** The group and version of an /api or /apis path, or undefined when it is not one. */
export function parseGroupVersion(
  segs: string[],
): { group: string; version: string; rest: string[] } | undefined {
  if (segs[0] === 'api' && segs.length >= 2)
    return { group: '', version: segs[1]!, rest: segs.slice(2) };
  if (segs[0] === 'apis' && segs.length >= 3)
    return { group: segs[1]!, version: segs[2]!, rest: segs.slice(3) };
  return undefined;
}

/** Unescapes one path segment; a malformed escape is 400, as Go's URL parser answers. */
function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch (err) {
    if (!(err instanceof URIError)) throw err;
    const bad = /%(?![0-9a-fA-F]{2}).{0,2}/.exec(seg)?.[0] ?? seg;
    throw badRequest(`invalid URL escape "${bad}"`);
  }
}

/** Parses the segments after /api/v1 or /apis/g/v; undefined when nothing is addressed. */
export function parseResourcePath(pathname: string): RequestInfo | undefined {
  const segs = pathname
    .split('/')
    .filter((s) => s !== '')
    .map(decodeSegment);
  const gv = parseGroupVersion(segs);
  if (!gv || gv.rest.length === 0) return undefined;
  let rest = gv.rest;
  let isWatchPath = false;
  if (rest[0] === 'watch') {
    isWatchPath = true;
    rest = rest.slice(1);
  }
  const info: RequestInfo = { group: gv.group, version: gv.version, resource: '', isWatchPath };
  // namespaces/<ns>/<resource>/... addresses a namespaced resource, except the namespace's own
  // subresources (namespaces/<name>/status|finalize).
  if (
    rest[0] === 'namespaces' &&
    rest.length >= 3 &&
    rest[2] !== 'status' &&
    rest[2] !== 'finalize'
  ) {
    info.namespace = rest[1];
    rest = rest.slice(2);
  }
  info.resource = rest[0] ?? '';
  if (rest.length >= 2) info.name = rest[1];
  // Only proxy takes a path after the subresource (resource/name/proxy/<path to the backend>).
  if (rest.length >= 3) info.subresource = rest[2] === 'proxy' ? 'proxy' : rest.slice(2).join('/');
  if (info.resource === '') return undefined;
  return info;
}
