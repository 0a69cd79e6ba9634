// Service-account tokens as upstream issues them: ES256 JWS with the "kubernetes.io" private claim
// for bound tokens. Follows kubernetes pkg/serviceaccount/claims.go and jwt.go; node:crypto only.

import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import { isObject } from '../../lib/json.js';
import type { Pki } from './pki.js';

/** Issuer and default audience of every token (the in-cluster API URL, as kubeadm configures). */
export const serviceAccountIssuer = 'https://kubernetes.default.svc.cluster.local';

/** The claims Skiff puts in (and reads from) a service-account token. */
export interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
  };
}

/** What to put in a new token; `now` is milliseconds since the epoch (a Clock reading). */
export interface IssueTokenOptions {
  namespace: string;
  serviceAccountName: string;
  serviceAccountUid: string;
  pod?: { name: string; uid: string };
  expirationSeconds: number;
  now: number;
  audiences?: string[];
}

// Parsed keys by PEM: parsing costs milliseconds, and every pod start asks for a token (and
// every in-cluster API call verifies one). A cluster has one key pair, tests a few.
const parsedKeys = new Map<string, { key: KeyObject; kid?: string }>();
function parsedKey(pem: string, kind: 'public' | 'private'): { key: KeyObject; kid?: string } {
  let entry = parsedKeys.get(pem);
  if (!entry) {
    entry = { key: kind === 'public' ? createPublicKey(pem) : createPrivateKey(pem) };
    parsedKeys.set(pem, entry);
  }
  return entry;
}

// Tolerated clock skew for nbf/iat (upstream validates with a one-minute leeway).
const leewaySeconds = 60;

/** Signs a bound service-account token (TokenRequest) with the cluster's SA key. */
export function issueServiceAccountToken(pki: Pki, opts: IssueTokenOptions): string {
  const iat = Math.floor(opts.now / 1000);
  const claims: ServiceAccountClaims = {
    aud: opts.audiences ?? [serviceAccountIssuer],
    exp: iat + opts.expirationSeconds,
    iat,
    iss: serviceAccountIssuer,
    jti: randomUUID(),
    'kubernetes.io': {
      namespace: opts.namespace,
      ...(opts.pod ? { pod: { name: opts.pod.name, uid: opts.pod.uid } } : {}),
      serviceaccount: { name: opts.serviceAccountName, uid: opts.serviceAccountUid },
    },
    nbf: iat,
    sub: `system:serviceaccount:${opts.namespace}:${opts.serviceAccountName}`,
  };
  const header = { alg: 'ES256', kid: keyId(pki.saPublicKey) };
  const input = `${b64json(header)}.${b64json(claims)}`;
  const signature = sign('sha256', Buffer.from(input), {
    key: parsedKey(pki.saPrivateKey, 'private').key,
    dsaEncoding: 'ieee-p1363',
  });
  return `${input}.${signature.toString('base64url')}`;
}

/**
 * Checks signature, issuer, audience and time window; returns the claims, or undefined for any
 * token that is not a valid Skiff service-account token. Existence of the bound objects is the
 * authenticator's job.
 */
export function verifyServiceAccountToken(
  pki: Pki,
  token: string,
  now: number,
): ServiceAccountClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  const header = parseJson(h);
  if (header?.['alg'] !== 'ES256') return undefined;
  const signature = Buffer.from(s, 'base64url');
  // A P-256 signature in IEEE P1363 form is exactly r||s, 64 bytes.
  if (signature.length !== 64) return undefined;
  const isValid = verify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    { key: parsedKey(pki.saPublicKey, 'public').key, dsaEncoding: 'ieee-p1363' },
    signature,
  );
  if (!isValid) return undefined;
  const claims = parseJson(p);
  if (!claims || !isClaims(claims)) return undefined;
  const nowSeconds = Math.floor(now / 1000);
  if (claims.iss !== serviceAccountIssuer) return undefined;
  if (!claims.aud.includes(serviceAccountIssuer)) return undefined;
  if (nowSeconds >= claims.exp) return undefined;
  if (claims.nbf > nowSeconds + leewaySeconds || claims.iat > nowSeconds + leewaySeconds) {
    return undefined;
  }
  const k8s = claims['kubernetes.io'];
  if (claims.sub !== `system:serviceaccount:${k8s.namespace}:${k8s.serviceaccount.name}`) {
    return undefined;
  }
  return claims;
}

/** The JWS key id upstream uses: unpadded base64url of SHA-256 over the DER public key. */
export function keyId(publicKeyPem: string): string {
  const entry = parsedKey(publicKeyPem, 'public');
  entry.kid ??= createHash('sha256')
    .update(entry.key.export({ type: 'spki', format: 'der' }))
    .digest('base64url');
  return entry.kid;
}

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function parseJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return isObject(value) ? value : undefined;
  } catch (err) {
    // Garbage in a bearer token is an invalid credential, not a failure.
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

function isNameUid(v: unknown): v is { name: string; uid: string } {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o['name'] === 'string' && typeof o['uid'] === 'string';
}

function isClaims(c: Record<string, unknown>): c is Record<string, unknown> & ServiceAccountClaims {
  const k8s = c['kubernetes.io'] as Record<string, unknown> | undefined;
  return (
    typeof c['iss'] === 'string' &&
    typeof c['sub'] === 'string' &&
    Array.isArray(c['aud']) &&
    c['aud'].every((a) => typeof a === 'string') &&
    typeof c['exp'] === 'number' &&
    typeof c['iat'] === 'number' &&
    typeof c['nbf'] === 'number' &&
    typeof k8s === 'object' &&
    k8s !== null &&
    typeof k8s['namespace'] === 'string' &&
    isNameUid(k8s['serviceaccount']) &&
    (k8s['pod'] === undefined || isNameUid(k8s['pod']))
  );
}
