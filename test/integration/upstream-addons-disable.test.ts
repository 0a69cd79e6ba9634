// `skiff up --disable ingress,metrics-server` (issue 15): no built-in add-on objects; the seed's
// upstream manifests, verbatim, then provide a serving ingress and `kubectl top pods`.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type SkiffUnderTest, startSkiff, unusedOctet } from './harness.js';
import {
  ingressManifest,
  ingressServes,
  jsonpath,
  kubectlClean,
  metricsManifest,
  seedApp,
  topWorks,
} from './upstream-addons-lib.js';

let disabled: SkiffUnderTest | undefined;
after(async () => {
  await disabled?.stop();
});

test('skiff up --disable ingress,metrics-server leaves them out; the upstream manifests provide them', {
  timeout: 420_000,
}, async () => {
  const lb = `127.0.${unusedOctet(100, 250)}.${unusedOctet(2, 250)}`;
  disabled = await startSkiff({
    args: ['--lb-address', lb, '--disable', 'ingress,metrics-server'],
  });
  const none = await disabled.kubectl(['get', 'deploy', '-A', '-o', 'name']);
  assert.doesNotMatch(none.stdout, /ingress-nginx-controller|metrics-server/);
  await seedApp(disabled);
  await kubectlClean(disabled, ['create', '-f', ingressManifest]);
  await kubectlClean(disabled, ['apply', '-f', metricsManifest]);
  await ingressServes(disabled, lb);
  // The LoadBalancer Service shows where it is served (k3s's ServiceLB writes the same status).
  const external = await jsonpath(
    disabled,
    ['svc', '-n', 'ingress-nginx', 'ingress-nginx-controller'],
    '{.status.loadBalancer.ingress[0].ip}',
  );
  assert.equal(external, lb);
  await topWorks(disabled);
});
