// Rendering check of the dashboard page in headless Chromium against an in-process API server: it
// WRITES pod and HPA status to simulate a restart and a scale-up (fast, no cluster). The real seed
// scenario (kill, load, autoscale) is test/integration/dashboard.test.ts. Screenshots: render-*.png.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Deployment, ReplicaSet } from 'kubernetes-types/apps/v1.js';
import type { HorizontalPodAutoscaler } from 'kubernetes-types/autoscaling/v2.js';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { type ApiServer, createApiServer } from '../apiserver/server.js';
import { R } from '../client/resources.js';
import { KubeClient } from '../client/rest.js';
import { realClock } from '../lib/clock.js';
import { MemoryBackend } from '../store/memory/memory-backend.js';
import {
  artifactsDir,
  type Browser,
  browserMissing,
  openDashboard,
  type Page,
} from './browser-testing.js';
import { createDashboard, type Dashboard } from './server.js';

describe('dashboard rendering in headless Chromium', { skip: browserMissing }, () => {
  const artifacts = artifactsDir();
  const ac = new AbortController();
  const pageErrors: string[] = [];
  let api: ApiServer;
  let client: KubeClient;
  let dashboard: Dashboard;
  let browser: Browser;
  let page: Page;
  const labels = { app: 'hello-world-flask' };
  const template = { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'img' }] } };
  let rsUid = '';

  const runningPod = async (name: string, restartCount = 0): Promise<void> => {
    let pod = await client.get<Pod>(R.pods, 'default', name).catch(() => undefined);
    pod ??= await client.create<Pod>(R.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: 'default',
        labels,
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: 'hello-world-flask-64dd645c57',
            uid: rsUid,
            controller: true,
          },
        ],
      },
      spec: template.spec,
    });
    await client.updateStatus<Pod>(R.pods, {
      ...pod,
      status: {
        phase: 'Running',
        podIP: '10.244.0.10',
        containerStatuses: [
          {
            name: 'app',
            image: 'img',
            imageID: '',
            ready: true,
            restartCount,
            state: { running: { startedAt: '2026-01-01T00:00:00Z' } },
          },
        ],
      },
    });
  };

  const setHpaStatus = async (current: number, desired: number, cpu: number) => {
    const hpa = await client.get<HorizontalPodAutoscaler>(R.hpas, 'default', 'hello-world-flask');
    await client.updateStatus<HorizontalPodAutoscaler>(R.hpas, {
      ...hpa,
      status: {
        currentReplicas: current,
        desiredReplicas: desired,
        currentMetrics: [
          { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: cpu } } },
        ],
      },
    });
  };

  before(async () => {
    api = createApiServer({ backend: new MemoryBackend(), port: 0 });
    await api.ready;
    const { port } = await api.listen();
    client = new KubeClient({ config: { server: `http://127.0.0.1:${port}` } });
    dashboard = createDashboard({ client, port: 0, sampleIntervalMs: 250, flashMs: 5000 });
    await dashboard.start(ac.signal);
    const d = await client.create<Deployment>(R.deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'hello-world-flask', namespace: 'default' },
      spec: { replicas: 2, selector: { matchLabels: labels }, template },
    });
    const rs = await client.create<ReplicaSet>(R.replicasets, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: 'hello-world-flask-64dd645c57',
        namespace: 'default',
        labels,
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: 'hello-world-flask',
            uid: d.metadata?.uid ?? '',
            controller: true,
          },
        ],
      },
      spec: { replicas: 2, selector: { matchLabels: labels }, template },
    });
    rsUid = rs.metadata?.uid ?? '';
    ({ browser, page } = await openDashboard(dashboard.url(), pageErrors));
  });

  after(async () => {
    await browser?.close();
    ac.abort();
    await dashboard?.stopped?.();
    await api?.close();
    client?.close();
  });

  test('shows the pods of the Deployment, live', async () => {
    await runningPod('hello-world-flask-64dd645c57-2xz7w');
    await runningPod('hello-world-flask-64dd645c57-4f9qz');
    const card = page.locator('[data-workload="default/hello-world-flask"] .pod.ok');
    await page.waitForFunction(
      'document.querySelectorAll(\'[data-workload="default/hello-world-flask"] .pod.ok\').length === 2',
      undefined,
      { timeout: 5000 },
    );
    assert.equal(await card.count(), 2);
    await page.screenshot({ path: join(artifacts, 'render-1-pods.png'), fullPage: true });
  });

  test('a restarted pod flashes and shows its restart count', async () => {
    await runningPod('hello-world-flask-64dd645c57-2xz7w', 1);
    const pod = page.locator('[data-pod="default/hello-world-flask-64dd645c57-2xz7w"].flash');
    await pod.waitFor({ timeout: 5000 });
    assert.equal(
      await page
        .locator('[data-pod="default/hello-world-flask-64dd645c57-2xz7w"] .restarts')
        .textContent(),
      '1',
    );
    await page.screenshot({ path: join(artifacts, 'render-2-restart.png'), fullPage: true });
  });

  test('autoscaling: the HPA chart draws and new replicas appear', async () => {
    await client.create<HorizontalPodAutoscaler>(R.hpas, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'hello-world-flask', namespace: 'default' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'hello-world-flask' },
        minReplicas: 2,
        maxReplicas: 10,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
          },
        ],
      },
    });
    await setHpaStatus(2, 2, 12);
    await page
      .locator('[data-chart="hpa:default/hello-world-flask"] canvas')
      .waitFor({ timeout: 5000 });
    await setHpaStatus(2, 4, 180);
    await runningPod('hello-world-flask-64dd645c57-vw8nc');
    await runningPod('hello-world-flask-64dd645c57-46b6s');
    await client.create(R.events, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'hello-world-flask.rescale', namespace: 'default' },
      involvedObject: {
        kind: 'HorizontalPodAutoscaler',
        name: 'hello-world-flask',
        namespace: 'default',
      },
      reason: 'SuccessfulRescale',
      message: 'New size: 4; reason: cpu resource utilization (percentage of request) above target',
      type: 'Normal',
      lastTimestamp: new Date(realClock.now()).toISOString(),
    });
    await page.waitForFunction(
      `document.querySelectorAll('[data-workload="default/hello-world-flask"] .pod').length === 4 &&
       document.querySelector('[data-hpa="default/hello-world-flask"] .desired')?.textContent === '4' &&
       document.querySelector('#events')?.textContent.includes('SuccessfulRescale') &&
       Number(document.body.dataset.samples ?? 0) >= 4`,
      undefined,
      { timeout: 8000 },
    );
    assert.equal(
      await page.locator('[data-hpa="default/hello-world-flask"] .cpu').textContent(),
      '180%',
    );
    await page.screenshot({ path: join(artifacts, 'render-3-scaled.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);
  });
});
