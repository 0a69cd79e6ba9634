// Issue #7, the dashboard side: a real cluster (`skiff up`), its dashboard open in headless Chromium,
// and the seed's steps done for real with kubectl: the two pods show Ready; `killall python3` in one
// shows its restart; autoscale + load through the ingress show new replicas, the HPA's CPU and the
// ingress request rate. Screenshots: test-artifacts/dashboard/seed-*.png.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readDashboardUrl } from '../../src/cli/dashboard.js';
import {
  artifactsDir,
  type Browser,
  browserMissing,
  openDashboard,
  type Page,
} from '../../src/dashboard/browser-testing.js';
import { type SkiffUnderTest, seedCommands, startSkiff } from './harness.js';

const repo = resolve(import.meta.dirname, '..', '..');
const deployment = '[data-workload="default/hello-world-flask"]';
const hpa = '[data-hpa="default/hello-world-flask"]';

describe('the dashboard shows the seed walkthrough live', { skip: browserMissing }, () => {
  const artifacts = artifactsDir();
  const pageErrors: string[] = [];
  let skiff: SkiffUnderTest;
  let browser: Browser;
  let page: Page;
  let load: ChildProcess | undefined;

  const shot = (name: string) => page.screenshot({ path: join(artifacts, name), fullPage: true });

  /** Waits until `expr` holds in the page; on timeout, fails with what the page showed. */
  const showsWithin = async (expr: string, timeoutMs: number, what: string) => {
    try {
      await page.waitForFunction(expr, undefined, { timeout: timeoutMs });
    } catch (err) {
      await shot(`seed-failed-${what.replace(/\W+/g, '-')}.png`).catch(() => undefined);
      const shown = await page
        .evaluate<string>(
          `[...document.querySelectorAll('${deployment}, ${hpa}, #ingress')].map((e) => e.outerHTML).join('\\n')`,
        )
        .catch((e: unknown) => String(e));
      assert.fail(`the page did not show ${what} within ${timeoutMs} ms (${err}):\n${shown}`);
    }
  };

  const runningPods = async () =>
    (
      await skiff.kubectlOk([
        'get',
        'pods',
        '-l',
        'app=hello-world-flask',
        '--field-selector=status.phase==Running',
        '-o',
        'jsonpath={.items[*].metadata.name}',
      ])
    )
      .split(' ')
      .filter(Boolean)
      .sort();

  before(async () => {
    const t0 = Date.now();
    skiff = await startSkiff();
    // The URL `skiff dashboard` prints: the one `skiff up` recorded in its pid file.
    const found = readDashboardUrl(skiff.dataDir);
    if ('error' in found) throw new Error(found.error);
    ({ browser, page } = await openDashboard(found.url, pageErrors));
    process.stdout.write(`skiff up and the page open in ${Date.now() - t0} ms\n`);
  });

  after(async () => {
    if (load?.exitCode === null) load.kill('SIGKILL');
    await browser?.close();
    const t0 = Date.now();
    await skiff?.stop();
    process.stdout.write(`skiff stopped in ${Date.now() - t0} ms\n`);
  });

  test('§1: the Deployment, service and ingress appear with both pods Ready', {
    timeout: 120_000,
  }, async () => {
    await skiff.kubectlOk([...seedCommands.createDeployment]);
    await skiff.kubectlOk([...seedCommands.createService]);
    await skiff.kubectlOk([...seedCommands.createIngress]);
    await showsWithin(
      `document.querySelector('${deployment}')?.dataset.desired === '2' &&
       document.querySelectorAll('${deployment} .pod.ok[data-restarts="0"]').length === 2`,
      90_000,
      'two Ready pods',
    );
    const shown = await page.evaluate<string[]>(
      `[...document.querySelectorAll('${deployment} .pod')].map((e) => e.dataset.pod).sort()`,
    );
    assert.deepEqual(
      shown,
      (await runningPods()).map((p) => `default/${p}`),
    );
    await shot('seed-1-pods.png');
  });

  test('§2: killall python3 in one pod: the page shows that pod restarted in place', {
    timeout: 60_000,
  }, async (t) => {
    const [victim] = await runningPods();
    assert.ok(victim);
    const pod = `${deployment} [data-pod="default/${victim}"]`;
    const killedAt = Date.now();
    await skiff.kubectlOk(['exec', victim, '--', 'bash', '-c', 'killall python3']);
    // The restart indicator: the card flashes with a "restarted" badge and its count goes to 1.
    await showsWithin(
      `document.querySelector('${pod}.flash[data-restarts="1"] .badge')?.textContent === 'restarted'`,
      15_000,
      `${victim}'s restart`,
    );
    t.diagnostic(`restart shown ${Date.now() - killedAt} ms after the kill`);
    assert.equal(await page.locator(`${pod} .restarts`).textContent(), '1');
    await shot('seed-2-restart.png');
    // Same name, Ready again: restarted in place, not replaced.
    await showsWithin(
      `document.querySelector('${pod}.ok[data-restarts="1"]') !== null &&
       document.querySelectorAll('${deployment} .pod').length === 2`,
      30_000,
      `${victim} Ready again`,
    );
  });

  test('§3: autoscale and load through the ingress: new replicas, HPA CPU and request rate', {
    timeout: 240_000,
  }, async (t) => {
    await skiff.kubectlOk([...seedCommands.waitMetricsServer], { timeoutMs: 100_000 });
    await skiff.kubectlOk([...seedCommands.autoscale]);
    await skiff.kubectlOk([...seedCommands.patchRequests]);
    await skiff.kubectlOk(
      ['rollout', 'status', 'deployment', 'hello-world-flask', '--timeout=90s'],
      { timeoutMs: 100_000 },
    );
    await showsWithin(`document.querySelector('${hpa}') !== null`, 10_000, 'the HPA panel');
    // ab-style load through the ingress, as the seed's ab: 50 at a time, stopped once the page
    // shows everything (at most 60 s).
    const url = `http://127.0.0.1:${skiff.ingressPort}/`;
    const startedAt = Date.now();
    const child = spawn(
      process.execPath,
      [join(repo, 'bin', 'skiff.js'), 'load', '--json', '-c', '50', '-t', '60', url],
      { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    load = child;
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const peaks = (chart: string) =>
      `(document.querySelector('[data-chart="${chart}"] .uplot')?.dataset.peaks ?? '').split(',').map(Number)`;
    await showsWithin(
      `(() => {
        const d = document.querySelector('${deployment}');
        const h = document.querySelector('${hpa}');
        const hpaPeaks = ${peaks('hpa:default/hello-world-flask')};
        const ingressPeaks = ${peaks('ingress')};
        return Number(d?.dataset.desired) > 2 &&
          document.querySelectorAll('${deployment} .pod.ok').length > 2 &&
          Number(h?.dataset.desired) > 2 && /^\\d+%$/.test(h?.querySelector('.cpu')?.textContent ?? '') &&
          hpaPeaks[2] > 50 && hpaPeaks[1] > 2 &&
          ingressPeaks[0] > 0 && parseFloat(document.querySelector('#ingress .rps')?.textContent ?? '') > 0;
      })()`,
      120_000,
      'more than 2 Ready replicas, the HPA above its CPU target and the ingress request rate',
    );
    t.diagnostic(`scaled up on the page ${Date.now() - startedAt} ms after the load started`);
    await shot('seed-3-scaled.png');
    child.kill('SIGINT');
    await exited;
    const report = JSON.parse(out.slice(out.indexOf('{'))) as { complete: number; failed: number };
    t.diagnostic(`skiff load: ${report.complete} requests, ${report.failed} failed`);
    assert.ok(report.complete > 0, out);
    assert.deepEqual(pageErrors, []);
  });
});
