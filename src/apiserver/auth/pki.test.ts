// Tests for ensurePki: creation, file modes, reuse, SAN changes, renewal, and a real TLS handshake.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { connect } from 'node:tls';
import { FakeClock } from '../../lib/clock.js';
import { ensurePki, normalizeSans, pkiFiles } from './pki.js';

const root = mkdtempSync(join(tmpdir(), 'skiff-pki-'));
after(() => rmSync(root, { recursive: true, force: true }));
const extraSans = ['10.96.0.1', '10.244.0.1'];
const mode = (p: string) => statSync(p).mode & 0o777;

test('creates CA, serving cert, tokens and SA keys with safe file modes', async () => {
  const dir = join(root, 'a', 'pki');
  const pki = await ensurePki(dir, { extraSans });
  assert.equal(mode(dir), 0o700);
  for (const f of [
    pkiFiles.caKey,
    pkiFiles.serverKey,
    pkiFiles.adminToken,
    pkiFiles.kubeletToken,
    pkiFiles.saPrivateKey,
  ]) {
    assert.equal(mode(join(dir, f)), 0o600, f);
  }
  for (const f of [pkiFiles.caCert, pkiFiles.serverCert, pkiFiles.saPublicKey]) {
    assert.equal(mode(join(dir, f)), 0o644, f);
  }
  assert.match(pki.adminToken, /^[A-Za-z0-9_-]{43}$/);
  assert.match(pki.kubeletToken, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(pki.adminToken, pki.kubeletToken);

  const ca = new X509Certificate(pki.caCert);
  const server = new X509Certificate(pki.serverCert);
  assert.ok(ca.ca);
  assert.ok(!server.ca);
  assert.ok(server.verify(ca.publicKey));
  assert.ok(server.checkIssued(ca));
  assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const caYears = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / (365 * 864e5);
  assert.ok(caYears > 9.9, `CA valid for ${caYears} years`);
  for (const ip of ['127.0.0.1', '::1', '10.96.0.1', '10.244.0.1']) {
    assert.ok(server.checkIP(ip), ip);
  }
  for (const host of ['localhost', 'kubernetes', 'kubernetes.default.svc.cluster.local']) {
    assert.equal(server.checkHost(host), host);
  }
  assert.equal(server.checkIP('10.0.0.9'), undefined);
});

test('reuses everything on the next start and repairs file modes', async () => {
  const dir = join(root, 'b');
  const first = await ensurePki(dir, { extraSans });
  const { chmodSync } = await import('node:fs');
  chmodSync(join(dir, pkiFiles.adminToken), 0o644);
  const second = await ensurePki(dir, { extraSans });
  assert.deepEqual(second, first);
  assert.equal(mode(join(dir, pkiFiles.adminToken)), 0o600);
});

test('a changed SAN list regenerates only the serving certificate', async () => {
  const dir = join(root, 'c');
  const first = await ensurePki(dir, { extraSans });
  const second = await ensurePki(dir, { extraSans: [...extraSans, 'skiff.local'] });
  assert.notEqual(second.serverCert, first.serverCert);
  assert.notEqual(second.serverKey, first.serverKey);
  assert.equal(second.caCert, first.caCert);
  assert.equal(second.adminToken, first.adminToken);
  assert.equal(second.saPrivateKey, first.saPrivateKey);
  assert.equal(new X509Certificate(second.serverCert).checkHost('skiff.local'), 'skiff.local');
});

test('a serving certificate close to expiry is renewed', async () => {
  const dir = join(root, 'd');
  const first = await ensurePki(dir, { extraSans });
  const later = new FakeClock(Date.now() + 340 * 864e5);
  const renewed = await ensurePki(dir, { extraSans, clock: later });
  assert.notEqual(renewed.serverCert, first.serverCert);
  assert.equal(renewed.caCert, first.caCert);
});

test('a TLS client trusting only the CA accepts the server for its SANs', async (t) => {
  const pki = await ensurePki(join(root, 'e'), { extraSans });
  const server = createServer({ cert: pki.serverCert, key: pki.serverKey }, (_req, res) =>
    res.end('ok'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;
  for (const servername of ['kubernetes.default.svc', undefined]) {
    await new Promise<void>((resolve, reject) => {
      const sock = connect({ host: '127.0.0.1', port, ca: pki.caCert, servername }, () => {
        sock.end();
        resolve();
      });
      sock.on('error', reject);
    });
  }
});

test('normalizeSans prefixes bare values and rejects junk', () => {
  assert.deepEqual(normalizeSans(['10.0.0.1', 'fd00::1', 'host.x', 'DNS:a', 'IP:10.0.0.1']), [
    'IP:10.0.0.1',
    'IP:fd00::1',
    'DNS:host.x',
    'DNS:a',
  ]);
  assert.throws(() => normalizeSans(['bad,name']), TypeError);
});
