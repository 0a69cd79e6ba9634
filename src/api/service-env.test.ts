// Table test of the service environment variables.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Service, ServicePort } from 'kubernetes-types/core/v1.js';
import { serviceEnvironment } from './service-env.js';

const svc = (ns: string, name: string, ip: string, ports: ServicePort[]): Service => ({
  metadata: { name, namespace: ns },
  spec: { clusterIP: ip, ports },
});

const services: Service[] = [
  svc('default', 'kubernetes', '10.96.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }]),
  svc('default', 'hello-world-flask', '10.96.0.12', [
    { name: '5000-5000', port: 5000, protocol: 'TCP' },
  ]),
  svc('default', 'db', 'None', [{ port: 5432 }]),
  svc('other', 'api', '10.96.0.30', [{ port: 80 }]),
];

test('a pod in default gets its namespace Services and kubernetes, not headless ones', () => {
  const env = Object.fromEntries(
    serviceEnvironment('default', services).map((e) => [e.name, e.value]),
  );
  assert.deepEqual(env, {
    HELLO_WORLD_FLASK_SERVICE_HOST: '10.96.0.12',
    HELLO_WORLD_FLASK_SERVICE_PORT: '5000',
    HELLO_WORLD_FLASK_SERVICE_PORT_5000_5000: '5000',
    HELLO_WORLD_FLASK_PORT: 'tcp://10.96.0.12:5000',
    HELLO_WORLD_FLASK_PORT_5000_TCP: 'tcp://10.96.0.12:5000',
    HELLO_WORLD_FLASK_PORT_5000_TCP_PROTO: 'tcp',
    HELLO_WORLD_FLASK_PORT_5000_TCP_PORT: '5000',
    HELLO_WORLD_FLASK_PORT_5000_TCP_ADDR: '10.96.0.12',
    KUBERNETES_SERVICE_HOST: '10.96.0.1',
    KUBERNETES_SERVICE_PORT: '443',
    KUBERNETES_SERVICE_PORT_HTTPS: '443',
    KUBERNETES_PORT: 'tcp://10.96.0.1:443',
    KUBERNETES_PORT_443_TCP: 'tcp://10.96.0.1:443',
    KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
    KUBERNETES_PORT_443_TCP_PORT: '443',
    KUBERNETES_PORT_443_TCP_ADDR: '10.96.0.1',
  });
});

test('another namespace sees only its Services plus kubernetes', () => {
  const names = serviceEnvironment('other', services).map((e) => e.name);
  assert.ok(names.includes('API_SERVICE_HOST'));
  assert.ok(names.includes('KUBERNETES_SERVICE_HOST'));
  assert.ok(!names.some((n) => n.startsWith('HELLO_WORLD_FLASK')));
});

test('enableServiceLinks=false keeps only kubernetes', () => {
  const names = serviceEnvironment('default', services, { enableServiceLinks: false }).map(
    (e) => e.name,
  );
  assert.ok(names.every((n) => n.startsWith('KUBERNETES_')));
});
