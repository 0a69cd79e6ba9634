// The cluster's PKI and static credentials, created on first start and reused after (kubeadm's
// `init phase certs` idea): CA, apiserver serving cert, admin/kubelet tokens, SA signing keys.
// Keys come from node:crypto; certificates from the `openssl` CLI (one call each, ~20 ms).

import { execFile } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Clock, realClock } from '../../lib/clock.js';

const run = promisify(execFile);

/** The SANs every serving certificate carries (kubeadm's defaults for a one-node control plane). */
export const defaultServerSans: readonly string[] = [
  'IP:127.0.0.1',
  'IP:::1',
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
];

/** File names under the PKI directory. */
export const pkiFiles = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  serverCert: 'apiserver.crt',
  serverKey: 'apiserver.key',
  serverSans: 'apiserver.sans',
  adminToken: 'admin.token',
  kubeletToken: 'kubelet.token',
  saPublicKey: 'sa.pub',
  saPrivateKey: 'sa.key',
} as const;

/** Everything the apiserver and the kubeconfig writer need; PEM text and raw tokens. */
export interface Pki {
  dir: string;
  caCert: string;
  caKey?: string;
  serverCert: string;
  serverKey: string;
  adminToken: string;
  kubeletToken: string;
  /** SPKI PEM of the service-account signing key. */
  saPublicKey: string;
  /** PKCS#8 PEM of the service-account signing key. */
  saPrivateKey: string;
}

/** Options for ensurePki. */
export interface EnsurePkiOptions {
  /** Extra SANs ("IP:10.96.0.1", "DNS:foo", or a bare IP / host name). */
  extraSans?: readonly string[];
  /** Used to renew a serving certificate close to expiry. */
  clock?: Clock;
}

const caDays = 3650;
const serverDays = 365;
// Renew the serving certificate when less than this is left (kubeadm renews at 1 year as well).
const renewBeforeMs = 30 * 24 * 3600_000;

/**
 * Creates the PKI under dir on first use and loads it afterwards; regenerates only the serving
 * certificate when its SAN list changed, it expires soon, or the CA changed.
 */
export async function ensurePki(dir: string, options: EnsurePkiOptions = {}): Promise<Pki> {
  const clock = options.clock ?? realClock;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const path = (name: string) => join(dir, name);

  let caCert = await readOptional(path(pkiFiles.caCert));
  let caKey = await readOptional(path(pkiFiles.caKey));
  let isNewCa = false;
  if (caCert === undefined || caKey === undefined) {
    caKey = newEcKey();
    await writeSecret(path(pkiFiles.caKey), caKey);
    caCert = await openssl(dir, [
      ...['req', '-x509', '-new', '-key', path(pkiFiles.caKey), '-sha256'],
      ...['-subj', '/CN=skiff-ca', '-days', String(caDays)],
      ...['-addext', 'basicConstraints=critical,CA:TRUE'],
      ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'],
    ]);
    await writePublic(path(pkiFiles.caCert), caCert);
    isNewCa = true;
  }

  const sans = normalizeSans([...defaultServerSans, ...(options.extraSans ?? [])]);
  let serverCert = await readOptional(path(pkiFiles.serverCert));
  let serverKey = await readOptional(path(pkiFiles.serverKey));
  const oldSans = await readOptional(path(pkiFiles.serverSans));
  const isServerValid =
    !isNewCa &&
    serverCert !== undefined &&
    serverKey !== undefined &&
    oldSans === sans.join(',') &&
    isCertUsable(serverCert, caCert, clock.now());
  if (!isServerValid) {
    serverKey = newEcKey();
    await writeSecret(path(pkiFiles.serverKey), serverKey);
    serverCert = await openssl(dir, [
      ...['req', '-x509', '-new', '-key', path(pkiFiles.serverKey), '-sha256'],
      ...['-CA', path(pkiFiles.caCert), '-CAkey', path(pkiFiles.caKey)],
      ...['-subj', '/CN=kube-apiserver', '-days', String(serverDays)],
      ...['-addext', 'basicConstraints=critical,CA:FALSE'],
      ...['-addext', 'keyUsage=critical,digitalSignature'],
      ...['-addext', 'extendedKeyUsage=serverAuth'],
      ...['-addext', `subjectAltName=${sans.join(',')}`],
    ]);
    await writePublic(path(pkiFiles.serverCert), serverCert);
    await writePublic(path(pkiFiles.serverSans), sans.join(','));
  }

  const adminToken = await ensureToken(path(pkiFiles.adminToken));
  const kubeletToken = await ensureToken(path(pkiFiles.kubeletToken));

  let saPrivateKey = await readOptional(path(pkiFiles.saPrivateKey));
  if (saPrivateKey === undefined) {
    saPrivateKey = newEcKey();
    await writeSecret(path(pkiFiles.saPrivateKey), saPrivateKey);
  }
  let saPublicKey = await readOptional(path(pkiFiles.saPublicKey));
  if (saPublicKey === undefined) {
    saPublicKey = createPublicKey(saPrivateKey).export({ type: 'spki', format: 'pem' }).toString();
    await writePublic(path(pkiFiles.saPublicKey), saPublicKey);
  }

  // Re-assert modes on every start: a copied or restored directory may have lost them.
  await Promise.all([
    chmod(path(pkiFiles.caKey), 0o600),
    chmod(path(pkiFiles.serverKey), 0o600),
    chmod(path(pkiFiles.adminToken), 0o600),
    chmod(path(pkiFiles.kubeletToken), 0o600),
    chmod(path(pkiFiles.saPrivateKey), 0o600),
  ]);
  return {
    dir,
    caCert,
    caKey,
    serverCert: serverCert!,
    serverKey: serverKey!,
    adminToken,
    kubeletToken,
    saPublicKey,
    saPrivateKey,
  };
}

/** Turns bare IPs and host names into "IP:…"/"DNS:…" entries, de-duplicated, in input order. */
export function normalizeSans(sans: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of sans) {
    const s = raw.trim();
    if (s === '') continue;
    let entry: string;
    if (/^(IP|DNS):/.test(s)) entry = s;
    else if (/^[0-9.]+$/.test(s) || s.includes(':')) entry = `IP:${s}`;
    else entry = `DNS:${s}`;
    if (!/^(IP:[0-9a-fA-F.:]+|DNS:[A-Za-z0-9.*-]+)$/.test(entry)) {
      throw new TypeError(`Invalid subject alternative name "${raw}"`);
    }
    if (!out.includes(entry)) out.push(entry);
  }
  return out;
}

function isCertUsable(certPem: string, caPem: string, now: number): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caPem);
    return cert.verify(ca.publicKey) && Date.parse(cert.validTo) - now > renewBeforeMs;
  } catch (err) {
    // An unreadable certificate is replaced, which is the point of checking it.
    if (err instanceof Error) return false;
    throw err;
  }
}

function newEcKey(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

async function ensureToken(file: string): Promise<string> {
  const existing = (await readOptional(file))?.trim();
  if (existing) return existing;
  const token = randomBytes(32).toString('base64url');
  await writeSecret(file, token + '\n');
  return token;
}

async function openssl(dir: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run('openssl', args, { cwd: dir, encoding: 'utf8' });
    return stdout;
  } catch (err) {
    const stderr = err instanceof Error && 'stderr' in err ? String(err.stderr).trim() : '';
    throw new Error(`Cannot run "openssl ${args[0]}": ${stderr || String(err)}`, {
      cause: err,
    });
  }
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes via a temp file and rename, so a crash never leaves a half-written key. */
async function writeAtomic(file: string, data: string, mode: number): Promise<void> {
  const tmp = `${file}.tmp`;
  await rm(tmp, { force: true });
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}

function writeSecret(file: string, data: string): Promise<void> {
  return writeAtomic(file, data, 0o600);
}

function writePublic(file: string, data: string): Promise<void> {
  return writeAtomic(file, data, 0o644);
}
