// The seed's own add-on commands (issue 15): upstream's ingress-nginx deploy.yaml (`kubectl create
// -f`) and metrics-server components.yaml (`kubectl apply -f`), verbatim, over Skiff's built-in
// add-ons: every object accepted, their pods Ready on the catalog's stand-ins, the ingress serving
// through the LoadBalancer Service, `kubectl top pods` working; then `delete -f` and again; and a
// cluster started with `--disable` is upstream-addons-disable.test.ts.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  eventually,
  httpGet,
  type SkiffUnderTest,
  seedCommands,
  startSkiff,
  unusedOctet,
} from './harness.js';
import {
  deleteManifests,
  diagnose,
  ingressManifest,
  ingressServes,
  jsonpath,
  kubectlClean,
  metricsManifest,
  metricsPorts,
  podsReadyMs,
  seedApp,
  topWorks,
} from './upstream-addons-lib.js';

let s: SkiffUnderTest | undefined;
after(async () => {
  await s?.stop();
});

test('upstream manifests replace the built-in add-ons, and delete -f / create -f again works', {
  timeout: 600_000,
}, async () => {
  // LoadBalancer Services listen on an address of this cluster's own: port 80 stays free for others.
  const lb = `127.0.${unusedOctet(100, 250)}.${unusedOctet(2, 250)}`;
  s = await startSkiff({ args: ['--lb-address', lb] });
  await seedApp(s);
  const created = await kubectlClean(s, ['create', '-f', ingressManifest]);
  assert.match(created, /deployment\.apps\/ingress-nginx-controller created/);
  assert.match(
    created,
    /validatingwebhookconfiguration\.admissionregistration\.k8s\.io\/ingress-nginx-admission created/,
  );
  const applied = await kubectlClean(s, ['apply', '-f', metricsManifest]);
  assert.match(applied, /deployment\.apps\/metrics-server (configured|created)/);
  // The apply replaced Skiff's object rather than merging into it (one port, upstream's).
  assert.equal(await metricsPorts(s), '10250');
  // The admission Jobs complete on the certgen stand-in; the patch Job fills the caBundle.
  await eventually(
    async () => {
      const ca = await jsonpath(
        s!,
        ['validatingwebhookconfiguration', 'ingress-nginx-admission'],
        '{.webhooks[0].clientConfig.caBundle}',
      );
      return ca.length > 100;
    },
    {
      timeoutMs: podsReadyMs,
      intervalMs: 1000,
      what: 'the admission patch Job to set the caBundle',
      diagnose: () => diagnose(s!),
    },
  );
  await ingressServes(s, lb);
  await topWorks(s);
  // A re-apply goes to the user's object now (no second take-over, no merge of Skiff's fields).
  await kubectlClean(s, ['apply', '-f', metricsManifest]);
  assert.equal(await metricsPorts(s), '10250');

  await deleteManifests(s);
  await kubectlClean(s, ['create', '-f', ingressManifest]);
  await kubectlClean(s, ['create', '-f', metricsManifest]);
  await ingressServes(s, lb);
  await topWorks(s);

  // Deleted, then restarted: `skiff up` restores its own add-ons (k3s re-applies its manifests).
  await deleteManifests(s);
  await s.stop({ keepDataDir: true });
  await s.restart();
  await s.kubectlOk([...seedCommands.waitMetricsServer], { timeoutMs: 100_000 });
  await eventually(
    async () => (await httpGet(`http://127.0.0.1:${s!.ingressPort}/`)).status === 200,
    {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: "Skiff's own ingress back after the restart",
      diagnose: () => diagnose(s!),
    },
  );
});
