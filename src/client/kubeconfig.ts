// Writes the cluster's kubeconfig and merges a `skiff` context into the user's kubeconfig, as
// `kind create cluster` does (kind pkg/cluster/internal/kubeconfig).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';

/** What a kubeconfig for Skiff carries. */
export interface KubeconfigParams {
  server: string;
  caPem: string;
  token: string;
  /** Cluster, user and context name. */
  name?: string;
}

interface Named<T> {
  name: string;
  [key: string]: unknown;
  cluster?: T;
}

interface KubeconfigDoc {
  apiVersion?: string;
  kind?: string;
  preferences?: Record<string, unknown>;
  clusters?: Named<unknown>[];
  users?: Named<unknown>[];
  contexts?: Named<unknown>[];
  'current-context'?: string;
  [key: string]: unknown;
}

function entries(p: KubeconfigParams) {
  const name = p.name ?? 'skiff';
  return {
    name,
    cluster: {
      name,
      cluster: {
        server: p.server,
        'certificate-authority-data': Buffer.from(p.caPem).toString('base64'),
      },
    },
    user: { name, user: { token: p.token } },
    context: { name, context: { cluster: name, user: name, namespace: 'default' } },
  };
}

/** Renders a standalone kubeconfig whose current context is Skiff's. */
export function renderKubeconfig(p: KubeconfigParams): string {
  const e = entries(p);
  const doc: KubeconfigDoc = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: [e.cluster],
    users: [e.user],
    contexts: [e.context],
    'current-context': e.name,
  };
  return stringify(doc);
}

/** Writes a file with mode 0600 (kubeconfigs hold a bearer token). */
export function writeSecretFile(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** The user's kubeconfig path: first entry of $KUBECONFIG, else ~/.kube/config. */
export function userKubeconfigPath(): string {
  const env = process.env['KUBECONFIG'];
  const first = env?.split(':').find((p) => p.length > 0);
  return first ?? join(homedir(), '.kube', 'config');
}

function upsert(list: Named<unknown>[] | undefined, item: Named<unknown>): Named<unknown>[] {
  const out = (list ?? []).filter((x) => x.name !== item.name);
  out.push(item);
  return out;
}

/** Merges Skiff's cluster, user and context into the kubeconfig at path and makes it current. */
export function mergeIntoKubeconfig(path: string, p: KubeconfigParams): void {
  const doc: KubeconfigDoc = existsSync(path)
    ? ((parse(readFileSync(path, 'utf8')) as KubeconfigDoc | null) ?? {})
    : {};
  const e = entries(p);
  doc.apiVersion ??= 'v1';
  doc.kind ??= 'Config';
  doc.clusters = upsert(doc.clusters, e.cluster);
  doc.users = upsert(doc.users, e.user);
  doc.contexts = upsert(doc.contexts, e.context);
  doc['current-context'] = e.name;
  writeSecretFile(path, stringify(doc));
}

/** Removes Skiff's entries from the kubeconfig at path (skiff down --forget). */
export function removeFromKubeconfig(path: string, name = 'skiff'): void {
  if (!existsSync(path)) return;
  const doc = (parse(readFileSync(path, 'utf8')) as KubeconfigDoc | null) ?? {};
  doc.clusters = (doc.clusters ?? []).filter((x) => x.name !== name);
  doc.users = (doc.users ?? []).filter((x) => x.name !== name);
  doc.contexts = (doc.contexts ?? []).filter((x) => x.name !== name);
  if (doc['current-context'] === name) doc['current-context'] = '';
  writeSecretFile(path, stringify(doc));
}
