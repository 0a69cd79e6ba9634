// Test helper: an in-memory Pki with fresh keys and tokens (no files, no openssl).

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Pki } from './pki.js';

/** A Pki good enough for token and authenticator tests; the certificates are placeholders. */
export function testPki(): Pki {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    dir: '/nonexistent',
    caCert: '',
    serverCert: '',
    serverKey: '',
    adminToken: randomBytes(32).toString('base64url'),
    kubeletToken: randomBytes(32).toString('base64url'),
    saPublicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    saPrivateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
