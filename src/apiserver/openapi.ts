// OpenAPI v3 as far as kubectl needs it: the /openapi/v3 index and per group-version documents
// whose PATCH operations declare the fieldValidation parameter, so kubectl leaves validation to the
// server (kubectl's QueryParamVerifierV3), and component schemas of every kind (openapi-schemas.ts)
// for kubectl explain.
import { createHash } from 'node:crypto';
import { builtinResources, type ResourceInfo } from '../api/resources.js';
import { apiSchemas, closure, type Schema, schemaNameOf } from './openapi-schemas.js';

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

/**
 * The schemas of a group-version's kinds and everything they refer to; each kind's schema names
 * its group-version-kind, which is how kubectl explain finds it.
 */
function kindSchemas(rs: readonly ResourceInfo[]): Record<string, Schema> {
  const all = apiSchemas();
  const roots = new Map(rs.map((r) => [schemaNameOf(r.group, r.version, r.kind), r]));
  const out = closure([...roots.keys()], all);
  for (const [name, r] of roots) {
    const s = out[name];
    if (!s) continue;
    const gvk = { group: r.group, kind: r.kind, version: r.version };
    out[name] = { ...s, 'x-kubernetes-group-version-kind': [gvk] };
  }
  return out;
}

/** v3 component schemas as v2 definitions: refs point into `definitions`, without allOf. */
function toV2(schemas: Record<string, Schema>): Record<string, Schema> {
  const text = JSON.stringify(schemas).replaceAll('"#/components/schemas/', '"#/definitions/');
  // v2 writes a described reference as {$ref, description}, not through allOf.
  return JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Schema;
      const all = o['allOf'];
      if (Array.isArray(all) && all.length === 1 && !o['properties']) {
        const { allOf: _drop, ...rest } = o;
        return { ...rest, ...(all[0] as Schema) };
      }
    }
    return v;
  }) as Record<string, Schema>;
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
      components: { schemas: kindSchemas(rs) },
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
  #v2: string | undefined;

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

  /**
   * The OpenAPI v2 (Swagger) JSON document: every served kind's schema and what it refers to under
   * `definitions`, kinds tagged with their group-version-kind; no paths.
   */
  v2(gitVersion: string): string {
    this.#v2 ??= JSON.stringify({
      swagger: '2.0',
      info: { title: 'Kubernetes', version: gitVersion },
      paths: {},
      definitions: toV2(kindSchemas(builtinResources)),
    });
    return this.#v2;
  }

  /** The document of one group-version path ("apis/apps/v1"); undefined when unknown. */
  document(gv: string): string | undefined {
    return this.#docs().get(gv)?.text;
  }
}
