// A self-signed serving certificate generated at start, as metrics-server does when given no
// --tls-cert-file (the APIService sets insecureSkipTLSVerify, so nothing needs to trust it).
// Uses the openssl CLI like the API server's PKI (@peculiar/x509 needs a reflect polyfill we lack).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM-encoded certificate and private key. */
export interface ServingCert {
  cert: string;
  key: string;
}

/** Generates an ECDSA P-256 self-signed certificate valid for a year for the given names and IPs. */
export async function generateSelfSignedCert(opts: {
  commonName: string;
  dnsNames?: string[];
  ips?: string[];
}): Promise<ServingCert> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-metrics-tls-'));
  try {
    const san = [
      ...(opts.dnsNames ?? []).map((n) => `DNS:${n}`),
      ...(opts.ips ?? []).map((ip) => `IP:${ip}`),
    ].join(',');
    const keyPath = join(dir, 'tls.key');
    const certPath = join(dir, 'tls.crt');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '365',
      '-subj',
      `/CN=${opts.commonName}`,
      ...(san ? ['-addext', `subjectAltName=${san}`] : []),
    ]);
    return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
