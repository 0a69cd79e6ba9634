// OpenAPI v3 as far as kubectl needs it: the /openapi/v3 index and per group-version documents
// whose PATCH operations declare the fieldValidation parameter, so kubectl leaves validation to the
// server (kubectl's QueryParamVerifierV3). No component schemas are served.
import { createHash } from 'node:crypto';
import { builtinResources, type ResourceInfo } from '../api/resources.js';

function gvPath(r: { group: string; version: string }): string {
  return r.group === '' ? `api/${r.version}` : `apis/${r.group}/${r.version}`;
}

const queryParams = ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({
  name,
  in: 'query',
  schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
}));

function operations(r: ResourceInfo): Record<string, unknown> {
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const op = (action: string) => ({
    tags: [r.group === '' ? `core_${r.version}` : `${r.group}_${r.version}`],
    operationId: `${action}${r.kind}`,
    parameters: queryParams,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    responses: { '200': { description: 'OK' } },
  });
  const base = `/${gvPath(r)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.resource}`;
  const paths: Record<string, unknown> = {
    [base]: { post: op('post') },
    [`${base}/{name}`]: { put: op('put'), patch: op('patch') },
  };
  for (const s of r.subresources) {
    if (s === 'status' || s === 'scale') {
      paths[`${base}/{name}/${s}`] = { put: op('put'), patch: op('patch') };
    }
  }
  return paths;
}

/** One OpenAPI v3 document (and its hash) per group-version path. */
function buildDocuments(): Map<string, { text: string; hash: string }> {
  const docs = new Map<string, { text: string; hash: string }>();
  const byGv = new Map<string, ResourceInfo[]>();
  for (const r of builtinResources) byGv.set(gvPath(r), [...(byGv.get(gvPath(r)) ?? []), r]);
  for (const [gv, rs] of byGv) {
    let paths: Record<string, unknown> = {};
    for (const r of rs) paths = { ...paths, ...operations(r) };
    const doc = {
      openapi: '3.0.0',
      info: { title: 'Kubernetes', version: 'v1.32.0' },
      paths,
      components: { schemas: {} },
    };
    const text = JSON.stringify(doc);
    const hash = createHash('sha512').update(text).digest('hex').slice(0, 128).toUpperCase();
    docs.set(gv, { text, hash });
  }
  return docs;
}

/** Serves the OpenAPI v3 index and documents, with stable hashes (built on first request). */
export class OpenApiV3 {
  #built: Map<string, { text: string; hash: string }> | undefined;

  // Only kubectl's validation asks for these: building them is not part of startup.
  #docs(): Map<string, { text: string; hash: string }> {
    this.#built ??= buildDocuments();
    return this.#built;
  }

  /** The /openapi/v3 discovery index. */
  index(): string {
    const paths: Record<string, unknown> = {};
    for (const [gv, d] of this.#docs())
      paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${d.hash}` };
    return JSON.stringify({ paths });
  }

  /** The document of one group-version path ("apis/apps/v1"); undefined when unknown. */
  document(gv: string): string | undefined {
    return this.#docs().get(gv)?.text;
  }
}
