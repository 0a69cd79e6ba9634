import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findCredential, parseChallenges } from './auth.js';
import { isLoopbackHost, parseMirrorFlags, RegistryHosts } from './hosts.js';

describe('RegistryHosts', () => {
  test('Docker Hub lives at registry-1.docker.io; mirrors come first', () => {
    const hosts = new RegistryHosts({
      mirrors: parseMirrorFlags(['docker.io=http://127.0.0.1:5001']),
    });
    assert.deepEqual(hosts.endpoints('docker.io'), [
      { url: 'http://127.0.0.1:5001', isMirror: true },
      { url: 'https://registry-1.docker.io', isMirror: false },
    ]);
  });

  test('plain http only for loopback and insecure registries', () => {
    const hosts = new RegistryHosts({ insecure: ['reg.lan:5000'] });
    assert.equal(hosts.endpoints('localhost:5001')[0]?.url, 'http://localhost:5001');
    assert.equal(hosts.endpoints('127.0.0.1:5001')[0]?.url, 'http://127.0.0.1:5001');
    assert.equal(hosts.endpoints('reg.lan:5000')[0]?.url, 'http://reg.lan:5000');
    assert.equal(hosts.endpoints('ghcr.io')[0]?.url, 'https://ghcr.io');
    assert.throws(() => parseMirrorFlags(['docker.io=http://mirror.lan']), /plain http only/);
    assert.deepEqual(parseMirrorFlags(['docker.io=http://mirror.lan'], ['mirror.lan']), {
      'docker.io': ['http://mirror.lan'],
    });
    assert.throws(() => parseMirrorFlags(['nonsense']), /is not REGISTRY=/);
    assert.equal(isLoopbackHost('[::1]:5000'), true);
    assert.equal(isLoopbackHost('10.0.0.1:5000'), false);
  });
});

describe('registry auth', () => {
  test('parses Bearer and Basic challenges', () => {
    assert.deepEqual(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      ),
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:library/nginx:pull',
          },
        },
      ],
    );
    assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
    ]);
  });

  test('matches dockerconfigjson keys to registries', () => {
    const creds = [
      { registry: 'https://index.docker.io/v1/', auth: Buffer.from('hub:pw').toString('base64') },
      { registry: '*.corp.example', username: 'c', password: 'x' },
      { registry: 'reg:5000', username: 'r', password: 'y' },
    ];
    assert.deepEqual(findCredential('docker.io', creds), {
      username: 'hub',
      password: 'pw',
      identitytoken: undefined,
    });
    assert.equal(findCredential('registry-1.docker.io', creds)?.username, 'hub');
    assert.equal(findCredential('a.corp.example', creds)?.username, 'c');
    assert.equal(findCredential('reg:5000', creds)?.username, 'r');
    assert.equal(findCredential('ghcr.io', creds), undefined);
  });
});
