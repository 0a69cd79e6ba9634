// The registry's storage contracts: a resource's REST storage is its Strategy plus a table of
// subresource storages (as upstream's pkg/registry/<group>/<resource>/storage builds them); the
// handlers dispatch by that table and the API server serves whatever Registry it is given.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { KObject } from '../../api/object.js';
import type { ResourceInfo } from '../../api/resources.js';
import type { GenericStore, WriteOptions } from './generic/store.js';
import type { Strategy } from './types.js';

/** The authenticated caller. */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
}

/** What subresource storages may reach: the generic store and the optional out-of-store parts. */
export interface StorageContext {
  store: GenericStore;
  serviceAccountIssuer?: ServiceAccountIssuer;
  kubelet?: KubeletClientConfig;
}

/** The object a subresource request addresses. */
export interface SubresourceRequest {
  r: ResourceInfo;
  namespace?: string;
  name: string;
  subresource: string;
  query: URLSearchParams;
}

/**
 * The REST storage of one subresource (upstream rest.Getter / Creater / Updater / Connecter). The
 * handlers decode bodies, apply patches and render; a missing operation is 405.
 */
export interface SubresourceStorage {
  /**
   * The kind the subresource serves, for discovery and for body handling: 'self' is the parent's
   * kind (status: bodies are checked and patched as the parent), 'proxyOptions' is
   * <Kind>ProxyOptions.
   */
  kind: { group: string; version: string; kind: string } | 'self' | 'proxyOptions';
  /** Verbs listed in discovery. */
  verbs: readonly string[];
  /** GET: the subresource's view of the object. */
  get?(ctx: StorageContext, sr: SubresourceRequest): KObject;
  /** PUT and PATCH: tryUpdate maps the current view to the desired one; returns the new view. */
  update?(
    ctx: StorageContext,
    sr: SubresourceRequest,
    tryUpdate: (current: KObject) => KObject,
    opts: WriteOptions,
  ): KObject;
  /** POST with a decoded body; returns the body of the 201 answer. */
  create?(ctx: StorageContext, sr: SubresourceRequest, body: unknown, opts: WriteOptions): unknown;
  /** Requests served as streams (logs; exec without an upgrade). */
  connect?(
    ctx: StorageContext,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    sr: SubresourceRequest,
  ): Promise<void>;
  /** Connection upgrades (exec, attach, portforward over websocket or SPDY). */
  upgrade?(
    ctx: StorageContext,
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    sr: SubresourceRequest,
  ): void;
}

/** A POST to a resource that is not stored (reviews): the decoded body and the caller. */
export interface VirtualCreateRequest {
  r: ResourceInfo;
  body: KObject;
  user: UserInfo;
}

/** One resource's REST storage: its strategy and its subresources by name. */
export interface ResourceStorage {
  strategy: Strategy;
  subresources: Readonly<Record<string, SubresourceStorage>>;
  /**
   * Present for create-only resources that are computed, not stored (upstream rest.Creater
   * without a generic store: SelfSubjectAccessReview, SelfSubjectReview): POST answers what this
   * returns with 201; every other verb is 405.
   */
  create?(ctx: StorageContext, req: VirtualCreateRequest): KObject;
}

/** The registry the API server serves from (src/apiserver/registry/index.ts; tests may wrap it). */
export interface Registry {
  /** The storage of a resource; resources without their own get a generic one. */
  storageFor(r: { group: string; resource: string }): ResourceStorage;
  /** Paths of fields obj's kind does not have (strict decoding). */
  findUnknownFields(apiVersion: string, kind: string, obj: unknown): string[];
  /** Upstream-worded JSON type errors of obj against its kind's schema. */
  findTypeErrors(apiVersion: string, kind: string, obj: unknown): string[];
}

/** A request for a ServiceAccount token (the TokenRequest subresource). */
export interface ServiceAccountTokenRequest {
  namespace: string;
  name: string;
  uid: string;
  audiences?: string[];
  expirationSeconds?: number;
  boundObjectRef?: { kind?: string; apiVersion?: string; name?: string; uid?: string };
}

/** Issues a signed ServiceAccount token (provided by the auth module through cmd/). */
export type ServiceAccountIssuer = (
  req: ServiceAccountTokenRequest,
) =>
  | Promise<{ token: string; expirationTimestamp: string }>
  | { token: string; expirationTimestamp: string };

/** How the API server reaches node agents (kubelets) for logs and exec. */
export interface KubeletClientConfig {
  /** Bearer token the node agent accepts from the API server. */
  token?: string;
  /** PEM CA that signed the node agent's serving certificate. */
  ca?: string;
  /** Skip verification of the node agent certificate (tests only). */
  insecureSkipTLSVerify?: boolean;
}
