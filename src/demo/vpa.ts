// `skiff demo --vpa` (issue #19): the seed app under-provisioned on purpose (10m cpu, 16Mi), a
// VerticalPodAutoscaler in InPlaceOrRecreate; the recommendation appears (kubectl get vpa), the
// running pod is resized in place to it (same pod, no restart), then a resize by hand through
// `kubectl patch pod --subresource resize`. Every step is the real kubectl.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { loadKubeconfig } from '../client/config.js';
import { R } from '../client/resources.js';
import { isNotFound, type KObject, KubeClient } from '../client/rest.js';
import { errorMessage } from '../lib/errors.js';
import type { ClusterInfo } from './cluster.js';
import { Kubectl } from './kubectl.js';

/** What the demo found. */
export interface VPADemoReport {
  ok: boolean;
  problems: string[];
  /** The recommendation's target for the app container. */
  target?: Record<string, string>;
  /** Seconds from the VPA's creation to its first recommendation. */
  secondsToRecommendation?: number;
  /** Seconds from the recommendation to the pod's status showing the new requests. */
  secondsToResize?: number;
  /** Milliseconds from a hand-made resize to the status showing it. */
  manualResizeMs?: number;
  restarts?: number;
}

const name = 'hello-vpa';
const container = 'hello-world-flask';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const manifests = `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: ${container}
        image: lyzhang1999/hello-world-flask:latest
        imagePullPolicy: IfNotPresent
        resources:
          requests: {cpu: 10m, memory: 16Mi}
          limits: {cpu: 100m, memory: 512Mi}
---
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: ${name}}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: ${name}}
  updatePolicy: {updateMode: InPlaceOrRecreate}
`;

/** Polls `fn` every 200 ms until it returns a value or `ms` passed. */
async function until<T>(ms: number, fn: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(200);
  }
  return undefined;
}

/** Runs the VPA walkthrough; never throws (the report lists problems). */
export async function runVPADemo(o: {
  cluster: ClusterInfo;
  out: (line: string) => void;
}): Promise<VPADemoReport> {
  const client = new KubeClient({
    config: { ...loadKubeconfig(o.cluster.kubeconfig), userAgent: 'skiff-demo' },
  });
  const kubectl = new Kubectl({ kubeconfig: o.cluster.kubeconfig });
  const report: VPADemoReport = { ok: false, problems: [] };
  const out = o.out;
  const show = async (args: string[]) => {
    const r = await kubectl.run(args, { timeoutMs: 100_000 });
    out(`▸ ${r.command}`);
    for (const line of (r.stdout + r.stderr).trimEnd().split('\n')) if (line) out(`  ${line}`);
    if (r.code !== 0) throw new Error(`${r.command} exited ${r.code}`);
    return r.stdout;
  };
  const runningPod = async () => {
    const pods = await client.list<Pod>(R.pods, {
      namespace: 'default',
      labelSelector: `app=${name}`,
    });
    return pods.items.find((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
  };
  try {
    for (const [r, n] of [
      [R.vpas, name],
      [R.deployments, name],
    ] as const) {
      await client.delete(r, 'default', n).catch((err: unknown) => {
        if (!isNotFound(err)) throw err;
      });
    }
    await until(30_000, async () => ((await runningPod()) ? undefined : true));
    out('An under-provisioned Deployment (10m cpu, 16Mi) and a VPA in InPlaceOrRecreate:');
    const dir = mkdtempSync(join(tmpdir(), 'skiff-demo-vpa-'));
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, manifests);
    try {
      await show(['apply', '-f', file]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await show(['rollout', 'status', `deployment/${name}`, '--timeout=90s']);
    const created = performance.now();
    const rec = await until(120_000, async () => {
      const v = await client.get<
        KObject & {
          status?: {
            recommendation?: { containerRecommendations?: { target: Record<string, string> }[] };
          };
        }
      >(R.vpas, 'default', name);
      return v.status?.recommendation?.containerRecommendations?.[0]?.target;
    });
    if (!rec) throw new Error('no recommendation within 120 s (is metrics-server running?)');
    report.target = rec;
    report.secondsToRecommendation = (performance.now() - created) / 1000;
    await show(['get', 'vpa', name]);
    const recommended = performance.now();
    const resized = await until(60_000, async () => {
      const p = await runningPod();
      const status = p?.status?.containerStatuses?.[0];
      return status?.resources?.requests?.['cpu'] === rec['cpu'] ? p : undefined;
    });
    if (!resized) throw new Error('the pod was not resized within 60 s');
    report.secondsToResize = (performance.now() - recommended) / 1000;
    report.restarts = resized.status?.containerStatuses?.[0]?.restartCount ?? 0;
    const pod = resized.metadata?.name ?? '';
    out(
      `The updater resized ${pod} in place ${report.secondsToResize.toFixed(1)} s after the recommendation (restarts: ${report.restarts}):`,
    );
    await show([
      'get',
      'pod',
      pod,
      '-o',
      'jsonpath={.spec.containers[0].resources}{"\\n"}{.status.containerStatuses[0].resources}{"\\n"}',
    ]);
    out('A resize by hand, through the resize subresource:');
    const t0 = performance.now();
    await show([
      'patch',
      'pod',
      pod,
      '--subresource',
      'resize',
      '--patch',
      JSON.stringify({
        spec: { containers: [{ name: container, resources: { requests: { cpu: '50m' } } }] },
      }),
    ]);
    const applied = await until(10_000, async () => {
      const p = await client.get<Pod>(R.pods, 'default', pod);
      return p.status?.containerStatuses?.[0]?.resources?.requests?.['cpu'] === '50m'
        ? true
        : undefined;
    });
    if (!applied) throw new Error('the resize by hand was not applied within 10 s');
    report.manualResizeMs = performance.now() - t0;
    await show(['get', 'pod', pod]);
    if (report.restarts !== 0)
      report.problems.push(`the container restarted ${report.restarts} times`);
  } catch (err) {
    report.problems.push(errorMessage(err));
  } finally {
    client.close();
    kubectl.dispose();
  }
  report.ok = report.problems.length === 0;
  return report;
}
