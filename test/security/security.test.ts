// Security checks (issue #8): API authentication (no/wrong token → 401 Status), the service-account
// token as the only way in from a pod, file modes of the data dir, loopback-only listeners, and
// the pod sandbox (no host filesystem writes, no view of other processes, no signals to the host).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  bootCluster,
  type ChaosCluster,
  deploySeedApp,
  hostProcesses,
  seedPods,
} from '../chaos/lib/cluster.js';

let c: ChaosCluster;
let pod = '';

before(async () => {
  c = await bootCluster();
  await deploySeedApp(c, { replicas: 2 });
  pod = (await seedPods(c))[0]?.metadata?.name ?? '';
});
after(async () => {
  await c?.skiff.stop();
});

/** A GET on the host's API port with an optional bearer token (TLS not verified: auth is tested). */
function apiGet(path: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port: c.skiff.apiPort,
        path,
        rejectUnauthorized: false,
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
  });
}

/** Runs a shell line in the first seed pod and returns its stdout (non-zero exits do not throw). */
async function inPod(line: string): Promise<{ code: number; out: string }> {
  const r = await c.skiff.kubectl(['exec', pod, '--', 'bash', '-c', line], { timeoutMs: 60_000 });
  return { code: r.code, out: r.stdout.trim() };
}

function assertUnauthorizedStatus(r: { status: number; body: string }): void {
  assert.equal(r.status, 401);
  const s = JSON.parse(r.body) as { kind?: string; code?: number; reason?: string };
  assert.equal(s.kind, 'Status');
  assert.equal(s.code, 401);
  assert.equal(s.reason, 'Unauthorized');
}

test('the API answers 401 with a Status to no token and to a wrong token', async () => {
  assertUnauthorizedStatus(await apiGet('/api/v1/namespaces/default/pods'));
  assertUnauthorizedStatus(await apiGet('/api/v1/namespaces/default/pods', 'not-a-token'));
  assertUnauthorizedStatus(await apiGet('/api', 'eyJhbGciOiJSUzI1NiJ9.e30.c2ln'));
});

test('from inside a pod the API needs the mounted service-account token', async () => {
  const ip = await c.skiff.kubectlOk([
    'get',
    'svc',
    'kubernetes',
    '-o',
    'jsonpath={.spec.clusterIP}',
  ]);
  const curl = `curl -sk -o /dev/null -w '%{http_code}' https://${ip}/api`;
  assert.equal((await inPod(curl)).out, '401', 'no token');
  assert.equal((await inPod(`${curl} -H 'Authorization: Bearer wrong'`)).out, '401', 'wrong token');
  const token = '/var/run/secrets/kubernetes.io/serviceaccount/token';
  assert.equal(
    (await inPod(`${curl} -H "Authorization: Bearer $(cat ${token})"`)).out,
    '200',
    'the mounted token',
  );
});

test('secrets in the data dir are 0600, the data dir and pki dir 0700', () => {
  const mode = (p: string) => statSync(p).mode & 0o777;
  assert.equal(mode(c.skiff.dataDir).toString(8), '700', 'data dir');
  assert.equal(mode(c.skiff.kubeconfig).toString(8), '600', 'kubeconfig');
  const pki = join(c.skiff.dataDir, 'pki');
  assert.equal(mode(pki).toString(8), '700', 'pki dir');
  const secrets = readdirSync(pki).filter((f) => f.endsWith('.key') || f.endsWith('.token'));
  assert.ok(secrets.length >= 2, `keys and tokens in ${pki}: ${secrets.join(', ')}`);
  for (const f of secrets) assert.equal(mode(join(pki, f)).toString(8), '600', f);
});

test('the API and kubelet listen only on 127.0.0.1', () => {
  // /proc/net/tcp: local address as hex IP:port, state 0A = LISTEN.
  const listeners = ['/proc/net/tcp', '/proc/net/tcp6']
    .flatMap((f) => readFileSync(f, 'utf8').split('\n').slice(1))
    .map((l) => l.trim().split(/\s+/))
    .filter((cols) => cols[3] === '0A')
    .map((cols) => cols[1] ?? '');
  const port = (p: number) => p.toString(16).toUpperCase().padStart(4, '0');
  const apiListeners = listeners.filter((a) => a.endsWith(`:${port(c.skiff.apiPort)}`));
  assert.deepEqual(apiListeners, [`0100007F:${port(c.skiff.apiPort)}`]);
  const kubeletListeners = listeners.filter((a) => a.endsWith(`:${port(c.kubeletPort)}`));
  assert.deepEqual(kubeletListeners, [`0100007F:${port(c.kubeletPort)}`]);
});

test('a pod cannot write the host filesystem outside its volumes', async () => {
  const name = `skiff-sec-${process.pid}-${Date.now()}`;
  const targets = [`/etc/${name}`, `/usr/${name}`, `/${name}`];
  try {
    await inPod(targets.map((t) => `touch ${t}`).join('; '));
    for (const t of targets) assert.equal(existsSync(t), false, `${t} appeared on the host`);
  } finally {
    for (const t of targets) rmSync(t, { force: true });
  }
});

test('a pod sees only its own processes', async () => {
  const { out } = await inPod('ps -e -o pid=,comm=');
  const rows = out.split('\n').map((l) => l.trim().split(/\s+/));
  const comms = rows.map((r) => r[1] ?? '');
  assert.equal(comms.filter((x) => x === 'python3').length, 1, `one app process: ${out}`);
  assert.ok(!comms.includes('node'), `no host processes: ${out}`);
  assert.ok(rows.length < 10, `a handful of processes: ${out}`);
});

test('a pod cannot signal host processes', async () => {
  const skiffPid = hostProcesses().find(
    (p) => p.argv.includes('up') && p.argv.includes(c.skiff.dataDir),
  )?.pid;
  assert.ok(skiffPid, 'the skiff up process');
  const r = await inPod(`kill -0 ${skiffPid} 2>&1; echo "rc=$?"; kill -0 1 && echo own-pid1-ok`);
  assert.match(r.out, /rc=1/, `kill -0 ${skiffPid} from the pod: ${r.out}`);
});

test('a pod cannot use the kubelet API with a wrong token', async () => {
  const gateway = c.podCIDR.replace(/\.0\/\d+$/, '.1');
  const url = `https://${gateway}:${c.kubeletPort}/pods`;
  const { out } = await inPod(
    `curl -sk -m 5 -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' ${url}; true`,
  );
  // Either no route to the kubelet from the pod (000) or a refusal: never an answer.
  assert.ok(out === '000' || out === '401' || out === '403', `kubelet from the pod: ${out}`);
  const { out: local } = await inPod(
    `curl -sk -m 5 -o /dev/null -w '%{http_code}' https://127.0.0.1:${c.kubeletPort}/pods; true`,
  );
  assert.equal(local, '000', 'the host loopback is not the pod loopback');
});

test('the kubelet API answers 401 to a wrong token on the host', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    https
      .get(
        {
          host: '127.0.0.1',
          port: c.kubeletPort,
          path: '/pods',
          rejectUnauthorized: false,
          headers: { Authorization: 'Bearer wrong' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
      .on('error', reject);
  });
  assert.equal(status, 401);
});
