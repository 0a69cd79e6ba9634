// Tests of the demo verdict and the one-screen summary.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type DemoFigures, evaluateFigures, formatSummary } from './figures.js';

const good: DemoFigures = {
  requests: 200,
  failedRequests: 0,
  killedPod: 'hello-world-flask-7ffc4cc9fb-59tf5',
  notReadySeconds: 1.2,
  healSeconds: 4.8,
  trafficBackSeconds: 5.1,
  stabilizationWindowSeconds: 15,
  scaleDecisionSeconds: 3.2,
  firstNewPodSeconds: 6.5,
  peakReplicas: 10,
  peakReadyPods: 10,
  load: { tool: 'ab', requests: 4000, failed: 0, requestsPerSecond: 300, seconds: 13.3 },
  scaleDownSeconds: 21.4,
  totalSeconds: 95.2,
};

test('a complete walkthrough succeeds', () => {
  assert.deepEqual(evaluateFigures(good), { ok: true, problems: [] });
});

test('failed requests, no scale-up, no scale-down and step errors each fail it', () => {
  const v = evaluateFigures(
    { ...good, failedRequests: 3, peakReplicas: 2, scaleDownSeconds: undefined },
    ['metrics: timed out'],
  );
  assert.equal(v.ok, false);
  assert.deepEqual(v.problems, [
    'metrics: timed out',
    '3 requests failed through the ingress',
    'the HPA scaled to 2 replicas, not 3 or more',
    'the Deployment did not scale back to 2',
  ]);
  assert.equal(evaluateFigures({ ...good, healSeconds: undefined }).ok, false);
  assert.equal(evaluateFigures({ ...good, requests: 0 }).ok, false);
  assert.equal(evaluateFigures({ ...good, load: { ...good.load!, failed: 1 } }).ok, false);
});

test('the summary shows every figure and how to clean up', () => {
  const text = formatSummary(good, evaluateFigures(good), {
    dataDirFlag: '/tmp/d',
    dashboardUrl: 'http://127.0.0.1:8088/',
  });
  assert.match(text, /The walkthrough succeeded\./);
  assert.match(text, /failed requests \(request loop\)\s+0 of 200/);
  assert.match(text, /heal time.*4\.8 s/);
  assert.match(text, /first new pod Ready\s+6\.5 s/);
  assert.match(text, /peak replicas \(Ready pods\)\s+10 \(10\)/);
  assert.match(text, /back to 2 \(window 15 s\)\s+21\.4 s/);
  assert.match(text, /kubectl delete deploy,svc,ing,hpa hello-world-flask/);
  assert.match(text, /skiff down --data-dir \/tmp\/d/);
  assert.match(text, /dashboard: http:\/\/127\.0\.0\.1:8088\//);
  assert.ok(text.split('\n').length <= 24, 'fits one screen');
});

test('a failed run lists its problems and shows dashes for missing figures', () => {
  const f = { ...good, healSeconds: undefined };
  const text = formatSummary(f, evaluateFigures(f));
  assert.match(text, /did not fully succeed/);
  assert.match(text, /heal time \(Ready, RESTARTS 1\)\s+—/);
  assert.match(text, /✗ the killed pod did not become Ready again/);
});

test('steps skipped after a failure are named once, not blamed for missing figures', () => {
  const v = evaluateFigures(
    {
      ...good,
      requests: 10,
      failedRequests: 10,
      healSeconds: undefined,
      peakReplicas: 0,
      scaleDownSeconds: undefined,
    },
    ['no request through http://127.0.0.1:80/ succeeded: connect ECONNREFUSED'],
    ['self-heal', 'metrics', 'autoscale', 'load', 'scale-down'],
  );
  assert.deepEqual(v.problems, [
    'no request through http://127.0.0.1:80/ succeeded: connect ECONNREFUSED',
    'skipped after the failure: self-heal, metrics, autoscale, load, scale-down',
    '10 requests failed through the ingress',
  ]);
});
