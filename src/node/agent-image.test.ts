// Pods whose root filesystem is an image (root only): an overlay of the image's layers with a
// private upper dir per container attempt, the image's config (Cmd, Env, WorkingDir, User),
// kubectl exec/cp and probes inside that root, isolation between pods of one image, the
// runAsNonRoot check, and the copying fallback where overlay is not used.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { R } from '../client/resources.js';
import type { ImageSource } from '../images/catalog.js';
import {
  busyboxLayers,
  execWs,
  firstContainer,
  isReady,
  needsRoot,
  type TestNode,
  testPod,
  useTestNode,
  waitFor,
  waitForPod,
} from './testing.js';

const skip = needsRoot;
const imageDir = mkdtempSync(path.join(os.tmpdir(), 'skiff-image-layers-'));
after(() => rmSync(imageDir, { recursive: true, force: true }));
const layers = skip ? [] : busyboxLayers(imageDir);

// The image the store would resolve: busybox httpd serving /www on 8080, as user www.
const images: ImageSource = {
  lookup(repository) {
    if (!repository.startsWith('test/busybox')) return undefined;
    return {
      layers,
      workingDir: '/www',
      command: ['httpd'],
      args: ['-f', '-p', '8080', '-h', '/www'],
      env: [
        { name: 'PATH', value: '/bin' },
        { name: 'FROM_IMAGE', value: 'image' },
        { name: 'OVERRIDDEN', value: 'image' },
      ],
      ports: [8080],
      user: repository === 'test/busybox-www' ? 'www' : '',
    };
  },
};

const node = useTestNode({ skip, images });
const copyNode = useTestNode({ skip, images, rootfsMode: 'copy' });

const imagePod = (name: string, image = 'test/busybox:1', extra: object = {}): Pod =>
  testPod(name, {
    image,
    env: [{ name: 'OVERRIDDEN', value: 'pod' }],
    // An exec probe runs in the image's root: its busybox wget asks the pod's own httpd.
    readinessProbe: {
      exec: { command: ['wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/index.html'] },
      periodSeconds: 1,
    },
    ...extra,
  });

const get = (ip: string, port: number, p: string) =>
  new Promise<string>((resolve, reject) => {
    http
      .get({ host: ip, port, path: p, timeout: 2000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });

const sh = async (n: TestNode, pod: string, script: string) =>
  (await execWs(n.agent, pod, ['sh', '-c', script])).stdout;

test('a pod runs in its image: the image files, Cmd, Env under the pod, WorkingDir', {
  skip,
}, async () => {
  await node.api.client.create(R.pods, imagePod('img-a'));
  const p = await waitForPod(node, 'img-a', isReady);
  assert.equal(await get(p.status?.podIP ?? '', 8080, '/index.html'), 'hello from the image\n');
  assert.match(await sh(node, 'img-a', 'cat /etc/os-release'), /ID=skiff-busybox/);
  // The host's files are not there, the lower layer's /etc/motd is whited out.
  assert.equal(await sh(node, 'img-a', 'test -e /usr/bin/python3 || echo none'), 'none\n');
  assert.equal(await sh(node, 'img-a', 'test -e /etc/motd || echo gone'), 'gone\n');
  assert.equal(await sh(node, 'img-a', 'echo $FROM_IMAGE $OVERRIDDEN; pwd'), 'image pod\n/www\n');
  // The pod's /etc files, token and a minimal /dev; /sys read-only.
  assert.equal(await sh(node, 'img-a', 'cat /etc/hostname'), 'img-a\n');
  assert.match(await sh(node, 'img-a', 'cat /etc/resolv.conf'), /nameserver /);
  assert.match(
    await sh(node, 'img-a', 'ls /var/run/secrets/kubernetes.io/serviceaccount'),
    /namespace/,
  );
  assert.equal(
    await sh(node, 'img-a', 'ls /dev | tr "\\n" " "'),
    'fd full null ptmx pts random shm stderr stdin stdout tty urandom zero ',
  );
  assert.match(await sh(node, 'img-a', 'touch /sys/x 2>&1'), /Read-only file system/);
  assert.equal(firstContainer(p)?.restartCount, 0);
});

test('writes stay in one container: another pod of the image and the host never see them', {
  skip,
}, async () => {
  await node.api.client.create(R.pods, imagePod('img-b'));
  await waitForPod(node, 'img-b', isReady);
  await sh(node, 'img-a', 'echo mine > /etc/written; echo x >> /www/index.html');
  assert.equal(await sh(node, 'img-a', 'cat /etc/written'), 'mine\n');
  assert.equal(await sh(node, 'img-b', 'test -e /etc/written || echo absent'), 'absent\n');
  assert.equal(await sh(node, 'img-b', 'cat /www/index.html'), 'hello from the image\n');
  assert.equal(
    readFileSync(path.join(layers[1] ?? '', 'www/index.html'), 'utf8'),
    'hello from the image\n',
  );
  assert.equal(existsSync(path.join(layers[0] ?? '', 'etc/written')), false);
  assert.equal(existsSync('/etc/written'), false);
});

test('exec with a TTY and tar (kubectl cp) work inside the image root', { skip }, async () => {
  // (The pty comes from the pod's devpts, so `tty` cannot name it; it is a terminal all the same.)
  const tty = await execWs(node.agent, 'img-a', ['sh', '-c', 'test -t 0 && echo term; exit 3'], {
    tty: true,
  });
  assert.equal(tty.stdout, 'term\r\n');
  assert.equal(tty.status.status, 'Failure');
  const tar = await execWs(node.agent, 'img-a', ['tar', 'cf', '-', '/etc/os-release']);
  assert.match(tar.stdout, /ID=skiff-busybox/);
});

test('a restarted container starts from the image again, its old upper dir removed', {
  skip,
}, async () => {
  await sh(node, 'img-b', 'echo before > /tmp/state');
  await sh(node, 'img-b', 'killall httpd');
  const p = await waitForPod(
    node,
    'img-b',
    (x) => (firstContainer(x)?.restartCount ?? 0) >= 1 && isReady(x),
  );
  assert.equal(firstContainer(p)?.restartCount, 1);
  assert.equal(await sh(node, 'img-b', 'cat /tmp/state 2>/dev/null || echo fresh'), 'fresh\n');
  const dirs = readdirSync(path.join(node.dataDir, 'pods')).find((d) => d.includes('_img-b_'));
  assert.deepEqual(readdirSync(path.join(node.dataDir, 'pods', dirs ?? '', 'rootfs')), ['app.1']);
});

test('the image User runs the process; runAsNonRoot refuses a root image', { skip }, async () => {
  await node.api.client.create(R.pods, imagePod('img-www', 'test/busybox-www:1'));
  await waitForPod(node, 'img-www', isReady);
  assert.equal(await sh(node, 'img-www', 'id -u; id -g'), '33\n33\n');
  await node.api.client.create(
    R.pods,
    imagePod('img-root', 'test/busybox:1', { securityContext: { runAsNonRoot: true } }),
  );
  const p = await waitForPod(
    node,
    'img-root',
    (x) => firstContainer(x)?.state?.waiting?.reason === 'CreateContainerConfigError',
  );
  assert.match(
    firstContainer(p)?.state?.waiting?.message ?? '',
    /^container has runAsNonRoot and image will run as root \(pod: "img-root_default\(.+\)", container: app\)$/,
  );
});

test('after an agent restart an image pod is adopted: exec as its user, restarts keep mounts', {
  skip,
}, async () => {
  node.stopAgent();
  const agent = await node.restartAgent();
  await waitFor(
    'adopted img-www',
    async () =>
      [...agent.workers.values()].find((w) => w.pod.metadata?.name === 'img-www')?.sandbox,
  );
  // (Until the adoption has read the shim's state, exec answers that the container is not running.)
  await waitFor('exec as www after the adoption', async () =>
    (await sh(node, 'img-www', 'id -u')) === '33\n' ? true : undefined,
  );
  // The shim runs exec with the env and cwd it started the container with, which this agent
  // never computed.
  assert.equal(await sh(node, 'img-www', 'echo $FROM_IMAGE $OVERRIDDEN; pwd'), 'image pod\n/www\n');
  await sh(node, 'img-www', 'killall httpd');
  await waitForPod(node, 'img-www', (x) => firstContainer(x)?.restartCount === 1 && isReady(x));
  assert.equal(await sh(node, 'img-www', 'cat /etc/hostname; id -u'), 'img-www\n33\n');
});

test('deleting a pod removes its upper dirs', { skip }, async () => {
  const podsDir = path.join(node.dataDir, 'pods');
  const dir = readdirSync(podsDir).find((d) => d.includes('_img-a_'));
  assert.ok(dir && existsSync(path.join(podsDir, dir, 'rootfs')));
  await node.api.client.delete(R.pods, 'default', 'img-a');
  await waitFor('pod dir removed', async () => !existsSync(path.join(podsDir, dir)) || undefined);
});

test('without overlay the layers are copied, whiteouts applied', { skip }, async () => {
  await copyNode.api.client.create(R.pods, imagePod('img-copy'));
  const p = await waitForPod(copyNode, 'img-copy', isReady);
  assert.equal(await get(p.status?.podIP ?? '', 8080, '/index.html'), 'hello from the image\n');
  assert.equal(await sh(copyNode, 'img-copy', 'test -e /etc/motd || echo gone'), 'gone\n');
  assert.equal(await sh(copyNode, 'img-copy', 'grep -c overlay /proc/mounts'), '0\n');
});
