// The shapes every layer shares: any Kubernetes object, a list of them and a watch event (what the
// API server stores and serves and what clients decode), so neither side imports the other.
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';

/** Any Kubernetes object. */
export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: unknown;
}

/** A list response. */
export interface ObjectList<T> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** A watch event as sent on the wire. */
export interface WatchEvent<T = KObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}
