// Scale to zero and back (issue #19) with the real kubectl and real HTTP through the ingress: an
// opted-in Deployment of the seed app goes to zero after a 2 s idle window, 20 concurrent requests
// wake it and are all answered, the Deployment's events and the ingress's /stats show it; an HPA
// with minReplicas 0 opts its target in the same way.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { eventually, type SkiffUnderTest, startSkiff } from './harness.js';

let skiff: SkiffUnderTest;
before(async () => {
  skiff = await startSkiff();
  // The ingress controller is an add-on pod: it serves (and counts) once it is up.
  await eventually(async () => (await stats()).events !== undefined, {
    timeoutMs: 90_000,
    what: 'the ingress controller /stats',
    diagnose: async () => (await skiff.kubectl(['get', 'pods', '-A', '-o', 'wide'])).stdout,
  });
});
after(async () => {
  await skiff?.stop();
});

/** A Deployment of the seed app, its Service and an Ingress for host `<name>.local`. */
function manifest(name: string, annotations: Record<string, string>): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  annotations: ${JSON.stringify(annotations)}
spec:
  replicas: 1
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
      - name: app
        image: lyzhang1999/hello-world-flask:latest
        imagePullPolicy: IfNotPresent
---
apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { selector: { app: ${name} }, ports: [{ port: 5000, targetPort: 5000 }] }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name} }
spec:
  rules:
  - host: ${name}.local
    http:
      paths:
      - { path: /, pathType: Prefix, backend: { service: { name: ${name}, port: { number: 5000 } } } }
`;
}

/** `n` GETs at once on fresh connections: status (-1: failed) and ms to the response headers. */
function burst(host: string, n: number): Promise<{ status: number; ms: number; body: string }[]> {
  const t0 = performance.now();
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<{ status: number; ms: number; body: string }>((resolve) => {
          const req = http.get(
            `http://127.0.0.1:${skiff.ingressPort}/`,
            { headers: { host }, agent: false, timeout: 60_000 },
            (res) => {
              const ms = performance.now() - t0;
              let body = '';
              res.on('data', (d: Buffer) => {
                body += d.toString();
              });
              res.on('end', () => resolve({ status: res.statusCode ?? 0, ms, body }));
              res.on('error', () => resolve({ status: -1, ms, body }));
            },
          );
          req.on('timeout', () => req.destroy(new Error('timeout')));
          req.on('error', () => resolve({ status: -1, ms: performance.now() - t0, body: '' }));
        }),
    ),
  );
}

const stats = async (): Promise<{ events: Record<string, number> }> => {
  const res = await fetch(`http://127.0.0.1:${skiff.ingressStatusPort}/stats`);
  return (await res.json()) as { events: Record<string, number> };
};

/** What explains a wait that timed out: the workload, its Lease, pods, events, ingress stats. */
const diagnose = (name: string) => async () =>
  [
    await skiff.kubectl(['get', 'deployment,rs,pods,lease,endpointslices', '-o', 'wide']),
    await skiff.kubectl(['get', 'lease', `skiff-activity-${name}`, '-o', 'yaml']),
    await skiff.kubectl(['get', 'events', '--sort-by=.lastTimestamp']),
    JSON.stringify(await stats().catch((e: unknown) => String(e))),
    await skiff.kubectl([
      'logs',
      '-n',
      'ingress-nginx',
      'deployment/ingress-nginx-controller',
      '--tail=60',
    ]),
  ]
    .map((r) => (typeof r === 'string' ? r : r.stdout + r.stderr))
    .join('\n');

const replicas = async (name: string) =>
  Number(await skiff.kubectlOk(['get', 'deployment', name, '-o', 'jsonpath={.spec.replicas}']));

/** Waits until the Deployment is at zero and its pods are gone (the next request is a cold start). */
async function atZero(name: string): Promise<void> {
  await eventually(
    async () => {
      if ((await replicas(name)) !== 0) return false;
      const pods = await skiff.kubectlOk(['get', 'pods', '-l', `app=${name}`, '-o', 'name']);
      return pods.trim() === '';
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `${name} at zero`, diagnose: diagnose(name) },
  );
}

const deploymentEvents = async (name: string): Promise<string[]> => {
  const out = await skiff.kubectlOk([
    'get',
    'events',
    '--field-selector',
    `involvedObject.kind=Deployment,involvedObject.name=${name}`,
    '-o',
    'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}',
  ]);
  return out.split('\n').filter(Boolean);
};

test('an idle Deployment goes to zero; 20 concurrent requests wake it and none fails', async () => {
  await skiff.kubectlOk(['apply', '-f', '-'], {
    input: manifest('idle', {
      'skiff.dev/scale-to-zero': 'true',
      'skiff.dev/idle-window': '2s',
    }),
  });
  await atZero('idle');
  const before = (await stats()).events;
  const answers = await burst('idle.local', 20);
  const failed = answers.filter((a) => a.status !== 200);
  if (failed.length) {
    const why = await diagnose('idle')();
    assert.fail(`failed requests: ${JSON.stringify(failed.map((a) => [a.status, a.ms]))}\n${why}`);
  }
  for (const a of answers) assert.match(a.body, /^Hello, my first docker images! idle-/);
  const after = (await stats()).events;
  assert.equal((after['coldStart'] ?? 0) - (before['coldStart'] ?? 0), 1, 'one cold start');
  assert.ok((after['held'] ?? 0) - (before['held'] ?? 0) >= 1, 'requests were held');
  await eventually(
    async () => {
      const ev = await deploymentEvents('idle');
      return (
        ev.some((e) =>
          /^ScaledToZero: Scaled down from 1 to 0 replicas: no request through the ingress for 2s$/.test(
            e,
          ),
        ) &&
        ev.some((e) =>
          /^ScaledFromZero: Scaled up from 0 to 1 replica: a request for service "idle" arrived through the ingress$/.test(
            e,
          ),
        )
      );
    },
    {
      timeoutMs: 15_000,
      what: 'ScaledToZero and ScaledFromZero events',
      diagnose: diagnose('idle'),
    },
  );
  // `kubectl get lease` shows the Lease the ingress renews (holder: the ingress controller).
  const lease = await skiff.kubectlOk(['get', 'lease', 'skiff-activity-idle']);
  assert.match(lease, /skiff-activity-idle\s+ingress-nginx-controller\s+\d+s/);
  // Idle again: back to zero, and woken again.
  await atZero('idle');
  const again = await burst('idle.local', 5);
  assert.deepEqual(
    again.filter((a) => a.status !== 200),
    [],
  );
});

test('an HPA with minReplicas 0 lets its target scale to zero and back', async () => {
  await skiff.kubectlOk(['apply', '-f', '-'], { input: manifest('auto', {}) });
  await skiff.kubectlOk(['autoscale', 'deployment', 'auto', '--cpu-percent=50', '--max=3']);
  // kubectl autoscale treats --min=0 as unset; the field takes it (HPAScaleToZero).
  await skiff.kubectlOk(['patch', 'hpa', 'auto', '-p', '{"spec":{"minReplicas":0}}']);
  await skiff.kubectlOk(['annotate', 'hpa', 'auto', 'skiff.dev/idle-window=2s']);
  await atZero('auto');
  const answers = await burst('auto.local', 20);
  assert.deepEqual(
    answers.filter((a) => a.status !== 200),
    [],
  );
  const hpa = await skiff.kubectlOk(['get', 'hpa', 'auto']);
  assert.match(hpa, /auto\s+Deployment\/auto\s+.*\s+0\s+3\s+\d+/);
});
