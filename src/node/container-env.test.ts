// The container environment's inputs: the ConfigMap/Secret cache (only NotFound is "absent") and
// service links built by api/service-env.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pod, Service } from 'kubernetes-types/core/v1.js';
import { startTestApiServer, type TestApiServer } from '../apiserver/testing.js';
import { R } from '../client/resources.js';
import { KubeClient } from '../client/rest.js';
import { containerEnv, ObjectCache } from './container-env.js';

describe('ObjectCache', () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer();
    await api.client.create(R.configmaps, {
      metadata: { name: 'cfg', namespace: 'default' },
      data: { A: '1' },
    });
  });
  after(() => api.close());

  it('returns data of existing objects and undefined for missing ones', async () => {
    const cache = new ObjectCache({ client: api.client });
    assert.deepEqual(await cache.data('configmap', 'default', 'cfg'), { A: '1' });
    assert.equal(await cache.data('secret', 'default', 'nope'), undefined);
  });

  it('rethrows errors other than NotFound and does not cache them', async () => {
    const down = new KubeClient({ config: { server: 'http://127.0.0.1:1' } });
    const cache = new ObjectCache({ client: down });
    await assert.rejects(cache.data('configmap', 'default', 'cfg'), /ECONNREFUSED/);
    await assert.rejects(cache.data('configmap', 'default', 'cfg'), /ECONNREFUSED/);
    down.close();
  });
});

describe('containerEnv', () => {
  const svc = (ns: string, name: string, ip: string): Service => ({
    metadata: { namespace: ns, name },
    spec: { clusterIP: ip, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  });
  const pod = (enableServiceLinks?: boolean): Pod => ({
    metadata: { name: 'p', namespace: 'ns1' },
    spec: { enableServiceLinks, containers: [{ name: 'c' }] },
  });
  const services = [
    svc('default', 'kubernetes', '10.96.0.1'),
    svc('ns1', 'web-app', '10.96.0.20'),
    svc('ns2', 'other', '10.96.0.30'),
  ];
  const envOf = (p: Pod) =>
    containerEnv({
      pod: p,
      container: p.spec!.containers[0]!,
      imageEnv: [],
      podIP: '10.244.0.5',
      services,
      objects: new ObjectCache({
        client: new KubeClient({ config: { server: 'http://127.0.0.1:1' } }),
      }),
      node: { cpu: 2, memory: 2 ** 30 },
    });

  it('links the namespace services and default/kubernetes', async () => {
    const env = await envOf(pod());
    assert.equal(env['WEB_APP_SERVICE_HOST'], '10.96.0.20');
    assert.equal(env['WEB_APP_PORT_80_TCP'], 'tcp://10.96.0.20:80');
    assert.equal(env['KUBERNETES_SERVICE_PORT_HTTP'], '80');
    assert.equal(env['OTHER_SERVICE_HOST'], undefined);
  });

  it('keeps only kubernetes with enableServiceLinks: false', async () => {
    const env = await envOf(pod(false));
    assert.equal(env['WEB_APP_SERVICE_HOST'], undefined);
    assert.equal(env['KUBERNETES_SERVICE_HOST'], '10.96.0.1');
  });
});
