// Helpers of the upstream add-on manifest tests (upstream-addons*.test.ts): the verbatim files,
// and checks that the ingress serves and `kubectl top pods` works through them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { eventually, httpGet, type SkiffUnderTest, seedCommands } from './harness.js';

const dir = join(import.meta.dirname, '..', 'testdata', 'upstream');
export const ingressManifest = join(dir, 'ingress-nginx-controller-v1.15.1-cloud-deploy.yaml');
export const metricsManifest = join(dir, 'metrics-server-v0.7.2-components.yaml');

// Bounds on a loaded 2-core CI machine (seen here: pods Ready in ~10 s; metrics-server Available
// ~35 s after its pod starts, as upstream's 15 s resolution needs two samples and its readiness
// probe waits 20 s).
export const podsReadyMs = 90_000;
const metricsReadyMs = 150_000;

export async function diagnose(s: SkiffUnderTest): Promise<string> {
  const r = await s.kubectl(['get', 'pods,deploy,svc,jobs,secrets', '-A', '-o', 'wide']);
  const ev = await s.kubectl(['get', 'events', '-A', '--sort-by=.lastTimestamp']);
  return `${r.stdout}${r.stderr}\n${ev.stdout.split('\n').slice(-30).join('\n')}\n--- log tail ---\n${s.logs().slice(-4000)}`;
}

/** kubectl must exit 0 and print no error line. */
export async function kubectlClean(s: SkiffUnderTest, args: string[]): Promise<string> {
  const r = await s.kubectl(args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
  assert.doesNotMatch(r.stderr, /error/i, `kubectl ${args.join(' ')} printed errors`);
  return r.stdout;
}

export async function seedApp(s: SkiffUnderTest): Promise<void> {
  await s.kubectlOk([...seedCommands.createDeployment]);
  await s.kubectlOk([...seedCommands.createService]);
  await s.kubectlOk([...seedCommands.createIngress]);
}

/** The upstream controller pod (its image) Ready, and the ingress answering on lb:80. */
export async function ingressServes(s: SkiffUnderTest, lb: string): Promise<void> {
  await eventually(
    async () => {
      const out = await jsonpath(
        s,
        ['pods', '-n', 'ingress-nginx', '-l', 'app.kubernetes.io/component=controller'],
        '{range .items[*]}{.spec.containers[0].image} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
      );
      const lines = out.trim().split('\n');
      return (
        lines.length === 1 &&
        /^registry\.k8s\.io\/ingress-nginx\/controller:\S+ True$/.test(lines[0]!)
      );
    },
    {
      timeoutMs: podsReadyMs,
      intervalMs: 1000,
      what: 'the upstream controller pod Ready',
      diagnose: () => diagnose(s),
    },
  );
  await eventually(
    async () => {
      const r = await httpGet(`http://${lb}:80/`);
      return r.status === 200 && r.body.startsWith('Hello, my first docker images!');
    },
    {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: `the ingress to serve on ${lb}:80`,
      diagnose: () => diagnose(s),
    },
  );
}

export async function topWorks(s: SkiffUnderTest): Promise<void> {
  await eventually(
    async () => {
      const d = await jsonpath(
        s,
        ['deploy', '-n', 'kube-system', 'metrics-server'],
        '{.spec.template.spec.containers[0].image}',
      );
      return d.startsWith('registry.k8s.io/metrics-server/metrics-server:v0.7.2');
    },
    { timeoutMs: 10_000, what: "upstream's metrics-server Deployment" },
  );
  // The seed's `kubectl wait`, with room for upstream's 15 s resolution and 20 s probe delay.
  const wait = seedCommands.waitMetricsServer.filter((a) => !a.startsWith('--timeout='));
  await s
    .kubectlOk([...wait, `--timeout=${metricsReadyMs / 1000}s`], {
      timeoutMs: metricsReadyMs + 10_000,
    })
    .catch(async (err: unknown) => {
      throw new Error(`${String(err)}\n${await diagnose(s)}`);
    });
  await eventually(
    async () => {
      const r = await s.kubectl(['top', 'pods']);
      return r.code === 0 && /hello-world-flask-\S+\s+\d+m\s+\d+Mi/.test(r.stdout);
    },
    {
      timeoutMs: 60_000,
      intervalMs: 1000,
      what: '`kubectl top pods` to work',
      diagnose: () => diagnose(s),
    },
  );
}

export function metricsPorts(s: SkiffUnderTest): Promise<string> {
  return jsonpath(
    s,
    ['deploy', '-n', 'kube-system', 'metrics-server'],
    '{.spec.template.spec.containers[0].ports[*].containerPort}',
  );
}

/** `kubectl get <what> -o jsonpath=<path>`. */
export function jsonpath(s: SkiffUnderTest, what: string[], path: string): Promise<string> {
  return s.kubectlOk(['get', ...what, '-o', `jsonpath=${path}`]);
}

export async function deleteManifests(s: SkiffUnderTest): Promise<void> {
  // The admission Jobs have ttlSecondsAfterFinished: 0, so they are gone already (as upstream):
  // their two NotFound lines are the only errors kubectl may print.
  const r = await s.kubectl(['delete', '-f', ingressManifest, '--wait=true', '--timeout=120s'], {
    timeoutMs: 150_000,
  });
  const errors = r.stderr.split('\n').filter((l) => /error/i.test(l));
  assert.ok(
    errors.every((l) => /jobs\.batch "ingress-nginx-admission-(create|patch)" not found/.test(l)),
    `kubectl delete -f deploy.yaml:\n${r.stdout}${r.stderr}`,
  );
  assert.match(r.stdout, /deployment\.apps "ingress-nginx-controller" deleted/);
  assert.match(r.stdout, /namespace "ingress-nginx" deleted/);
  // kubectl stops waiting when a delete failed: a create now would meet a Terminating namespace.
  await s.kubectlOk(['wait', '--for=delete', 'namespace/ingress-nginx', '--timeout=90s'], {
    timeoutMs: 100_000,
  });
  await kubectlClean(s, ['delete', '-f', metricsManifest, '--wait=true', '--timeout=120s']);
  const top = await s.kubectl(['top', 'pods']);
  assert.notEqual(top.code, 0, 'no metrics API once components.yaml is deleted');
}
