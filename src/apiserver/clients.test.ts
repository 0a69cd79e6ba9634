// Issue 15's API surface, driven by clients nobody on this project wrote: the real kubectl and the
// official Python client (Debian's python3-kubernetes) against a TLS API server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type KubectlTestServer, startKubectlTestServer } from './testing.js';

const run = promisify(execFile);
/** Debian's python3 (python3-kubernetes lives there, not in a pyenv one earlier on PATH). */
const python = '/usr/bin/python3';

/** Runs a Python snippet with the kubeconfig path as argv[1]; returns stdout. */
async function py(t: KubectlTestServer, code: string): Promise<string> {
  const { stdout } = await run(python, ['-c', code, join(t.dir, 'kubeconfig')], {
    timeout: 30_000,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  return stdout;
}

describe('API surface for every client', { timeout: 120_000 }, () => {
  let t: KubectlTestServer;
  before(async () => {
    t = await startKubectlTestServer();
  });
  after(() => t?.close());

  it('the Python client watches (it sends watch=True)', async () => {
    const c = await t.kubectl('create', 'configmap', 'py-watch', '--from-literal=k=v');
    assert.equal(c.code, 0, c.err);
    const out = await py(
      t,
      `
import sys
from kubernetes import client, config, watch
config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
w = watch.Watch()
for ev in w.stream(v1.list_namespaced_config_map, namespace='default', timeout_seconds=10):
    print(ev['type'], ev['object'].metadata.name, flush=True)
    if ev['object'].metadata.name == 'py-watch':
        w.stop()
`,
    );
    assert.match(out, /^ADDED py-watch$/m);
  });

  // Retention (src/store/revisions.ts): every 5 minutes the store compacts to the revision that
  // was current 5 minutes earlier, always keeping the newest 10,000 revisions.
  it('a watch from a compacted resourceVersion ends with 410 Expired (kubectl, Python)', async () => {
    for (const n of [1, 2, 3]) {
      const c = await t.kubectl('create', 'configmap', `old-${n}`);
      assert.equal(c.code, 0, c.err);
    }
    t.backend.compact(t.backend.currentRevision());
    const raw = await t.kubectl(
      'get',
      '--raw',
      '/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2',
    );
    assert.equal(raw.code, 0, raw.err);
    const ev = JSON.parse(raw.out.trim()) as { type: string; object: Record<string, unknown> };
    assert.equal(ev.type, 'ERROR');
    assert.equal(ev.object['code'], 410);
    assert.equal(ev.object['reason'], 'Expired');
    const out = await py(
      t,
      `
import sys
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
try:
    for ev in watch.Watch().stream(v1.list_namespaced_config_map, namespace='default',
                                   resource_version='2', timeout_seconds=10):
        print('EVENT', ev['type'])
except ApiException as e:
    print('STATUS', e.status)
`,
    );
    assert.match(out, /^STATUS 410$/m);
  });

  it("kubectl's typed creates (sent as protobuf) work for every generator", async () => {
    const creates: [string[], string][] = [
      [
        ['create', 'role', 'r1', '--verb=get', '--resource=pods'],
        'role.rbac.authorization.k8s.io/r1',
      ],
      [
        ['create', 'rolebinding', 'rb1', '--role=r1', '--user=alice'],
        'rolebinding.rbac.authorization.k8s.io/rb1',
      ],
      [
        ['create', 'clusterrole', 'cr1', '--verb=list', '--resource=nodes'],
        'clusterrole.rbac.authorization.k8s.io/cr1',
      ],
      [
        ['create', 'clusterrolebinding', 'crb1', '--clusterrole=cr1', '--group=devs'],
        'clusterrolebinding.rbac.authorization.k8s.io/crb1',
      ],
      [['create', 'quota', 'q1', '--hard=pods=10,cpu=2'], 'resourcequota/q1'],
      [
        ['create', 'pdb', 'pdb1', '--selector=app=x', '--min-available=1'],
        'poddisruptionbudget.policy/pdb1',
      ],
      [['create', 'priorityclass', 'pc1', '--value=1000'], 'priorityclass.scheduling.k8s.io/pc1'],
      [
        ['create', 'cronjob', 'cj1', '--image=busybox', '--schedule=*/5 * * * *'],
        'cronjob.batch/cj1',
      ],
      [['create', 'serviceaccount', 'sa1'], 'serviceaccount/sa1'],
    ];
    for (const [args, name] of creates) {
      const r = await t.kubectl(...args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
      assert.equal(r.out.trim(), `${name} created`);
    }
    const get = async (what: string, path: string) => {
      const r = await t.kubectl('get', what, '-o', `jsonpath={${path}}`);
      assert.equal(r.code, 0, r.err);
      return r.out;
    };
    assert.equal(await get('role/r1', '.rules[0].verbs[0]'), 'get');
    assert.equal(await get('rolebinding/rb1', '.subjects[0].name'), 'alice');
    assert.equal(await get('clusterrolebinding/crb1', '.subjects[0].kind'), 'Group');
    assert.equal(await get('quota/q1', '.spec.hard.cpu'), '2');
    assert.equal(await get('pdb/pdb1', '.spec.minAvailable'), '1');
    assert.equal(await get('priorityclass/pc1', '.value'), '1000');
    assert.equal(await get('cronjob/cj1', '.spec.schedule'), '*/5 * * * *');
  });

  it('kubectl create token issues a token for the service account (TokenRequest as protobuf)', async () => {
    const r = await t.kubectl('create', 'token', 'sa1', '--duration=20m');
    assert.equal(r.code, 0, r.err);
    const [, payload] = r.out.trim().split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as {
      sub?: string;
      exp?: number;
      iat?: number;
    };
    assert.equal(claims.sub, 'system:serviceaccount:default:sa1');
    assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 1200);
  });

  it('kubectl auth can-i, can-i --list and whoami (admin and a service account token)', async () => {
    for (const args of [
      ['create', 'pods'],
      ['delete', 'nodes', '--all-namespaces'],
      ['get', '/healthz'],
    ]) {
      const r = await t.kubectl('auth', 'can-i', ...args);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out.trim(), 'yes');
    }
    const list = await t.kubectl('auth', 'can-i', '--list');
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/m);
    const me = await t.kubectl('auth', 'whoami');
    assert.equal(me.code, 0, me.err);
    assert.match(me.out, /^Username\s+kubernetes-admin$/m);
    assert.match(me.out, /^Groups\s+\[system:masters system:authenticated\]$/m);
    await t.kubectl('create', 'serviceaccount', 'robot');
    const token = (await t.kubectl('create', 'token', 'robot')).out.trim();
    const sa = await t.kubectl('auth', 'whoami', `--token=${token}`);
    assert.equal(sa.code, 0, sa.err);
    assert.match(sa.out, /^Username\s+system:serviceaccount:default:robot$/m);
    // A review is computed, not stored: there is nothing to list.
    const get = await t.kubectl('get', 'selfsubjectreviews');
    assert.match(get.err, /MethodNotAllowed/);
  });

  it('/metrics answers Prometheus text: requests, latencies, watches, stored objects', async () => {
    assert.equal((await t.kubectl('get', 'configmaps')).code, 0);
    const r = await t.kubectl('get', '--raw', '/metrics');
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    // Every line is a comment or `name{labels} value`.
    for (const line of lines) {
      assert.match(
        line,
        /^(# (HELP|TYPE) \w+ .+|\w+(\{(\w+="[^"]*",?)*\})? -?[0-9.e+Inf]+)$/,
        line,
      );
    }
    assert.ok(lines.includes('# TYPE apiserver_request_total counter'));
    assert.ok(lines.includes('# TYPE apiserver_request_duration_seconds histogram'));
    assert.ok(lines.includes('# TYPE apiserver_longrunning_requests gauge'));
    const list = lines.find((l) =>
      l.startsWith(
        'apiserver_request_total{verb="LIST",group="",version="v1",resource="configmaps",subresource="",scope="namespace",component="apiserver",code="200"}',
      ),
    );
    assert.ok(list && Number(list.split(' ')[1]) >= 1, 'LIST configmaps counted');
    assert.ok(
      lines.some((l) =>
        /^apiserver_request_duration_seconds_count\{verb="LIST",group="",version="v1",resource="configmaps",.*\} [1-9]/.test(
          l,
        ),
      ),
    );
    const stored = lines.find((l) =>
      l.startsWith('apiserver_storage_objects{resource="configmaps"}'),
    );
    assert.ok(stored && Number(stored.split(' ')[1]) >= 2, stored);
    // The process's memory: resident size and V8's heap, by space.
    const value = (name: string) =>
      Number(lines.find((l) => l.startsWith(`${name} `))?.split(' ')[1]);
    assert.ok(value('process_resident_memory_bytes') > 10e6);
    assert.ok(value('nodejs_heap_size_used_bytes') > 1e6);
    assert.ok(value('nodejs_heap_size_used_bytes') <= value('nodejs_heap_size_total_bytes'));
    assert.ok(
      lines.some((l) => l.startsWith('nodejs_heap_space_size_used_bytes{space="old_space"} ')),
    );
  });

  it('events.k8s.io/v1 serves the core events (one storage, both views)', async () => {
    const core = `apiVersion: v1
kind: Event
metadata: {name: ev-core, namespace: default}
involvedObject: {kind: Pod, name: web-1, namespace: default}
reason: Pulled
message: Container image pulled
type: Normal
source: {component: kubelet}
count: 2
`;
    await writeFile(join(t.dir, 'ev-core.yaml'), core);
    const c = await t.kubectl('create', '-f', 'ev-core.yaml');
    assert.equal(c.code, 0, c.err);
    const asNew = JSON.parse(
      (await t.kubectl('get', 'events.v1.events.k8s.io', 'ev-core', '-o', 'json')).out,
    ) as Record<string, unknown>;
    assert.equal(asNew['apiVersion'], 'events.k8s.io/v1');
    assert.equal(asNew['note'], 'Container image pulled');
    assert.deepEqual(asNew['regarding'], { kind: 'Pod', name: 'web-1', namespace: 'default' });
    assert.deepEqual(asNew['deprecatedSource'], { component: 'kubelet' });
    assert.equal(asNew['deprecatedCount'], 2);
    assert.equal(asNew['message'], undefined);

    const v1 = `apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: ev-new, namespace: default}
regarding: {kind: Deployment, name: web, namespace: default}
reason: ScalingReplicaSet
note: Scaled up replica set web-1 to 2
type: Normal
action: Scale
reportingController: deployment-controller
reportingInstance: skiff
eventTime: "2026-01-01T00:00:00.000000Z"
`;
    await writeFile(join(t.dir, 'ev-new.yaml'), v1);
    const a = await t.kubectl('apply', '-f', 'ev-new.yaml');
    assert.equal(a.code, 0, a.err);
    assert.equal(a.out.trim(), 'event.events.k8s.io/ev-new created');
    const asCore = JSON.parse(
      (await t.kubectl('get', 'event', 'ev-new', '-o', 'json')).out,
    ) as Record<string, unknown>;
    assert.equal(asCore['apiVersion'], 'v1');
    assert.equal(asCore['message'], 'Scaled up replica set web-1 to 2');
    assert.equal(asCore['reportingComponent'], 'deployment-controller');
    assert.deepEqual(asCore['involvedObject'], {
      kind: 'Deployment',
      name: 'web',
      namespace: 'default',
    });
    const table = await t.kubectl('get', 'events.events.k8s.io');
    assert.equal(table.code, 0, table.err);
    assert.match(
      table.out,
      /ScalingReplicaSet\s+deployment\/web\s+Scaled up replica set web-1 to 2/,
    );
  });
});
