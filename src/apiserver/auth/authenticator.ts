// Bearer-token authentication for the apiserver: the static admin and kubelet tokens, and bound
// service-account JWTs (kubernetes pkg/serviceaccount/jwt.go + legacy/bound validators).

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { type Clock, realClock } from '../../lib/clock.js';
import type { Pki } from './pki.js';
import { verifyServiceAccountToken } from './tokens.js';

/** Who made a request (user.Info upstream). */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** Looks up a live object's uid; the apiserver answers it from the store. */
export type ObjectLookup = (
  kind: 'Pod' | 'ServiceAccount',
  namespace: string,
  name: string,
) => { uid: string } | undefined | Promise<{ uid: string } | undefined>;

/** Options for createAuthenticator. */
export interface AuthenticatorOptions {
  pki: Pki;
  lookup: ObjectLookup;
  clock?: Clock;
  /** Node name the kubelet token authenticates as (default "skiff"). */
  nodeName?: string;
}

/** Authenticates a request; undefined means "no valid credential" (the apiserver answers 401). */
export interface Authenticator {
  authenticate(req: { headers: IncomingHttpHeaders }): Promise<UserInfo | undefined>;
}

/** The user of the admin token in the generated kubeconfig (kubeadm's admin.conf user). */
export const adminUser: UserInfo = {
  username: 'kubernetes-admin',
  groups: ['system:masters', 'system:authenticated'],
};

// The websocket subprotocol that carries a bearer token for clients that cannot set headers.
const wsTokenPrefix = 'base64url.bearer.authorization.k8s.io.';

/** Builds the apiserver's authenticator over the cluster PKI. */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const clock = options.clock ?? realClock;
  const nodeName = options.nodeName ?? 'skiff';
  const adminDigest = digest(options.pki.adminToken);
  const kubeletDigest = digest(options.pki.kubeletToken);
  const kubeletUser: UserInfo = {
    username: `system:node:${nodeName}`,
    groups: ['system:nodes', 'system:authenticated'],
  };

  return {
    async authenticate(req) {
      const token = bearerToken(req.headers);
      if (token === undefined) return undefined;
      // Compare fixed-length digests in constant time, so neither content nor length leaks.
      const d = digest(token);
      if (timingSafeEqual(d, adminDigest)) return cloneUser(adminUser);
      if (timingSafeEqual(d, kubeletDigest)) return cloneUser(kubeletUser);
      return authenticateServiceAccount(token);
    },
  };

  async function authenticateServiceAccount(token: string): Promise<UserInfo | undefined> {
    const claims = verifyServiceAccountToken(options.pki, token, clock.now());
    if (!claims) return undefined;
    const k8s = claims['kubernetes.io'];
    const ns = k8s.namespace;
    // A bound token dies with its objects: the service account, and the pod when bound to one,
    // must still exist with the same uid (a re-created object of the same name does not count).
    const sa = await options.lookup('ServiceAccount', ns, k8s.serviceaccount.name);
    if (!sa || sa.uid !== k8s.serviceaccount.uid) return undefined;
    const extra: Record<string, string[]> = {};
    if (k8s.pod) {
      const pod = await options.lookup('Pod', ns, k8s.pod.name);
      if (!pod || pod.uid !== k8s.pod.uid) return undefined;
      extra['authentication.kubernetes.io/pod-name'] = [k8s.pod.name];
      extra['authentication.kubernetes.io/pod-uid'] = [k8s.pod.uid];
    }
    extra['authentication.kubernetes.io/credential-id'] = [`JTI=${claims.jti}`];
    return {
      username: claims.sub,
      uid: k8s.serviceaccount.uid,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
      extra,
    };
  }
}

/** The bearer token from the Authorization header or the websocket subprotocol, if any. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (auth) {
    const parts = auth.trim().split(/\s+/);
    if (parts.length !== 2 || parts[0]!.toLowerCase() !== 'bearer' || !parts[1]) return undefined;
    return parts[1];
  }
  const protocols = headers['sec-websocket-protocol'];
  if (protocols) {
    for (const p of protocols.split(',')) {
      const proto = p.trim();
      if (!proto.startsWith(wsTokenPrefix)) continue;
      const token = Buffer.from(proto.slice(wsTokenPrefix.length), 'base64url').toString('utf8');
      return token || undefined;
    }
  }
  return undefined;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function cloneUser(u: UserInfo): UserInfo {
  return { ...u, groups: [...u.groups] };
}
