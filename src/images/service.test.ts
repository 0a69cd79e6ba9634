import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ErrImageNeverPull, ImagePullError, ImageService } from './service.js';
import { buildImage, buildIndex, tarball, testWorkDir, writeLayout } from './testing.js';
import {
  freePort,
  skopeoPush,
  startDockerRegistry,
  type TestRegistry,
} from './testing-registry.js';

const work = testWorkDir('skiff-pull-');
let registry: TestRegistry;
const app = buildImage({
  layers: [
    tarball([
      { name: 'bin/', type: 'dir' },
      { name: 'bin/app', data: 'app v1', mode: 0o755 },
    ]),
    tarball([
      { name: 'etc/', type: 'dir' },
      { name: 'etc/motd', data: 'hello' },
    ]),
    tarball([
      { name: 'srv/', type: 'dir' },
      { name: 'srv/index.html', data: '<h1>hi</h1>' },
    ]),
  ],
  config: {
    Entrypoint: ['/bin/app'],
    Cmd: ['--port', '8080'],
    Env: ['PATH=/bin', 'MODE=prod'],
    WorkingDir: '/srv',
    User: '1000:1000',
    ExposedPorts: { '8080/tcp': {} },
  },
});
const zstdImage = buildImage({
  layers: [tarball([{ name: 'z.txt', data: 'zstd layer' }])],
  compression: 'zstd',
});
const multi = buildIndex([
  {
    image: buildImage({
      layers: [tarball([{ name: 'arch', data: 'arm64' }])],
      architecture: 'arm64',
    }),
    architecture: 'arm64',
  },
  {
    image: buildImage({ layers: [tarball([{ name: 'arch', data: 'amd64' }])] }),
    architecture: 'amd64',
  },
]);

before(async () => {
  registry = await startDockerRegistry(path.join(work, 'registry'));
  const layout = path.join(work, 'layout');
  writeLayout(layout, [
    { ref: 'app', image: app },
    { ref: 'zstd', image: zstdImage },
    { ref: 'multi', image: multi },
  ]);
  for (const [ref, repo] of [
    ['app', 'team/app:1'],
    ['zstd', 'zstd:1'],
    ['multi', 'multi:1'],
  ] as const)
    await skopeoPush(layout, ref, `${registry.host}/${repo}`);
});
after(async () => {
  await registry?.stop();
});

let n = 0;
function service(opts: { fetch?: typeof fetch; mirrors?: Record<string, string[]> } = {}) {
  return new ImageService({ dataDir: path.join(work, `data${n++}`), ...opts });
}

/** fetch that counts blob downloads. */
function countingFetch() {
  const seen: string[] = [];
  const f: typeof fetch = (input, init) => {
    const url = String(input);
    if (url.includes('/blobs/')) seen.push(url);
    return fetch(input, init);
  };
  return { fetch: f, seen };
}

describe('ImageService with a real registry (docker-registry + skopeo)', () => {
  test('pulls, unpacks and resolves the image config as a pod runs it', async () => {
    const svc = service();
    const ref = `${registry.host}/team/app:1`;
    const got = await svc.ensure(ref, { policy: 'IfNotPresent' });
    assert.equal(got.pulled, true);
    assert.ok(got.size > 0);
    const img = got.image;
    assert.equal(img.imageID, `${registry.host}/team/app@${app.manifest.digest}`);
    assert.deepEqual(img.command, ['/bin/app']);
    assert.deepEqual(img.args, ['--port', '8080']);
    assert.equal(img.workingDir, '/srv');
    assert.equal(img.user, '1000:1000');
    assert.deepEqual(img.ports, [8080]);
    assert.deepEqual(
      img.env.map((e) => `${e.name}=${e.value}`),
      ['PATH=/bin', 'MODE=prod'],
    );
    assert.equal(img.layers?.length, 3);
    assert.equal(readFileSync(path.join(img.layers![0]!, 'bin/app'), 'utf8'), 'app v1');
    assert.equal(readFileSync(path.join(img.layers![2]!, 'srv/index.html'), 'utf8'), '<h1>hi</h1>');
    assert.equal(svc.has(ref), true);
    const again = await svc.ensure(ref, { policy: 'IfNotPresent' });
    assert.equal(again.pulled, false);
    assert.deepEqual(again.image.layers, img.layers);
    const never = await svc.ensure(ref, { policy: 'Never' });
    assert.equal(never.image.imageID, img.imageID);
  });

  test('concurrent pulls of one image share one download; Always re-resolves without re-downloading', async () => {
    const counting = countingFetch();
    const svc = service({ fetch: counting.fetch });
    const ref = `${registry.host}/team/app:1`;
    const all = await Promise.all([1, 2, 3].map(() => svc.ensure(ref, { policy: 'IfNotPresent' })));
    assert.equal(new Set(all.map((r) => r.image.imageID)).size, 1);
    assert.equal(counting.seen.length, 4, 'three layers and a config, once');
    const always = await svc.ensure(ref, { policy: 'Always' });
    assert.equal(always.pulled, true);
    assert.equal(counting.seen.length, 4, 'nothing downloaded again');
  });

  test('a stored name whose content went missing is pulled again', async () => {
    const svc = service();
    const ref = `${registry.host}/team/app:1`;
    const first = await svc.ensure(ref, { policy: 'IfNotPresent' });
    svc.store.blobs.remove(app.config.digest);
    for (const id of app.diffIDs) svc.store.layers.remove(id);
    const again = await svc.ensure(ref, { policy: 'IfNotPresent' });
    assert.equal(again.pulled, true);
    assert.deepEqual(again.image.layers, first.image.layers);
    assert.equal(readFileSync(path.join(again.image.layers![0]!, 'bin/app'), 'utf8'), 'app v1');
  });

  test('zstd layers and the host platform of a multi-arch index', async () => {
    const svc = service();
    const z = await svc.ensure(`${registry.host}/zstd:1`, { policy: 'IfNotPresent' });
    assert.equal(readFileSync(path.join(z.image.layers![0]!, 'z.txt'), 'utf8'), 'zstd layer');
    const m = await svc.ensure(`${registry.host}/multi:1`, { policy: 'IfNotPresent' });
    assert.equal(readFileSync(path.join(m.image.layers![0]!, 'arch'), 'utf8'), 'amd64');
    // imageID names the index, as containerd's RepoDigests do
    assert.equal(m.image.imageID, `${registry.host}/multi@${multi.manifest.digest}`);
  });

  test('policy Never without the image, unknown images and unreachable registries fail cleanly', async () => {
    const svc = service();
    await assert.rejects(
      svc.ensure(`${registry.host}/team/app:1`, { policy: 'Never' }),
      ErrImageNeverPull,
    );
    await assert.rejects(
      svc.ensure(`${registry.host}/nope:1`, { policy: 'IfNotPresent' }),
      (err: Error) =>
        err instanceof ImagePullError &&
        err.message ===
          `failed to pull and unpack image "${registry.host}/nope:1": failed to resolve reference "${registry.host}/nope:1": ${registry.host}/nope:1: not found`,
    );
    const port = await freePort();
    await assert.rejects(
      svc.ensure(`127.0.0.1:${port}/x:1`, { policy: 'IfNotPresent' }),
      /connect: connection refused/,
    );
  });

  test('a registry that accepts connections but never answers fails within the bound', async () => {
    const silent = createNetServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const svc = new ImageService({
        dataDir: path.join(work, `data${n++}`),
        headersTimeoutMs: 300,
      });
      const t = performance.now();
      await assert.rejects(
        svc.ensure(`127.0.0.1:${port}/x:1`, { policy: 'IfNotPresent' }),
        /i\/o timeout/,
      );
      assert.ok(performance.now() - t < 5000);
    } finally {
      silent.close();
    }
  });

  test('a mirror serves docker.io names', async () => {
    // skopeo put `team/app:1` on the registry; as a docker.io mirror it answers for docker.io/team/app
    const svc = service({ mirrors: { 'docker.io': [`http://${registry.host}`] } });
    const got = await svc.ensure('team/app:1', { policy: 'IfNotPresent' });
    assert.equal(got.image.imageID, `docker.io/team/app@${app.manifest.digest}`);
    assert.equal((await svc.store.list())[0]?.ref, 'docker.io/team/app:1');
  });
});

/** A front of the registry that a test programs: token auth, tampering, redirects. */
async function startFront(
  handle: (req: IncomingMessage, res: ServerResponse, upstream: string) => Promise<boolean>,
) {
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (await handle(req, res, `http://${registry.host}`)) return;
      const up = await fetch(`http://${registry.host}${req.url}`, {
        method: req.method,
        headers: { accept: req.headers.accept ?? '*/*' },
      });
      const body = Buffer.from(await up.arrayBuffer());
      res.writeHead(up.status, {
        'content-type': up.headers.get('content-type') ?? 'application/octet-stream',
        ...(up.headers.get('docker-content-digest')
          ? { 'docker-content-digest': up.headers.get('docker-content-digest') ?? '' }
          : {}),
      });
      res.end(body);
    })().catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return { host, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('ImageService against a programmable registry front', () => {
  test('bearer token flow; wrong credentials give the registry message', async () => {
    let tokenRequests = 0;
    const front = await startFront(async (req, res) => {
      const host = req.headers.host;
      if (req.url?.startsWith('/token')) {
        tokenRequests++;
        const auth = req.headers.authorization ?? '';
        const ok = auth === `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
        assert.match(req.url, /scope=repository%3Ateam%2Fapp%3Apull/);
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            ok
              ? { token: 'good-token', expires_in: 300 }
              : { details: 'incorrect username or password' },
          ),
        );
        return true;
      }
      if (req.headers.authorization !== 'Bearer good-token') {
        res.writeHead(401, {
          'www-authenticate': `Bearer realm="http://${host}/token",service="front",scope="repository:team/app:pull"`,
          'content-type': 'application/json',
        });
        res.end(
          JSON.stringify({
            errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }],
          }),
        );
        return true;
      }
      return false;
    });
    try {
      const ref = `${front.host}/team/app:1`;
      const good = service();
      const got = await good.ensure(ref, {
        policy: 'IfNotPresent',
        credentials: [
          {
            registry: `http://${front.host}`,
            auth: Buffer.from('alice:s3cret').toString('base64'),
          },
        ],
      });
      assert.equal(got.image.layers?.length, 3);
      assert.ok(tokenRequests >= 1);
      await assert.rejects(
        service().ensure(ref, {
          policy: 'IfNotPresent',
          credentials: [{ registry: front.host, username: 'alice', password: 'wrong' }],
        }),
        (err: Error) =>
          err instanceof ImagePullError &&
          err.message.includes('failed to fetch oauth token') &&
          err.message.includes('401 Unauthorized: incorrect username or password'),
      );
    } finally {
      await front.close();
    }
  });

  test('a tampered blob is rejected and nothing is named or unpacked', async () => {
    const layer = app.blobs.get(
      [...app.blobs.keys()].find((d) => d !== app.manifest.digest && d !== app.config.digest)!,
    );
    assert.ok(layer);
    const front = await startFront(async (req, res, upstream) => {
      if (!req.url?.includes('/blobs/') || req.url.includes(app.config.digest)) return false;
      const up = Buffer.from(await (await fetch(`${upstream}${req.url}`)).arrayBuffer());
      up[up.length - 5] = (up[up.length - 5] ?? 0) ^ 0xff;
      res.writeHead(200);
      res.end(up);
      return true;
    });
    try {
      const svc = service();
      await assert.rejects(
        svc.ensure(`${front.host}/team/app:1`, { policy: 'IfNotPresent' }),
        ImagePullError,
      );
      assert.deepEqual(await svc.store.list(), []);
      assert.deepEqual(svc.store.layers.list(), []);
    } finally {
      await front.close();
    }
  });

  test('a huge declared layer size is refused before downloading', async () => {
    const front = await startFront(async (req, res, upstream) => {
      if (!req.url?.includes('/manifests/')) return false;
      const up = await fetch(`${upstream}${req.url}`, {
        headers: { accept: req.headers.accept ?? '' },
      });
      const doc = (await up.json()) as { layers: Array<{ size: number }> };
      doc.layers[0]!.size = 2 ** 52;
      res.writeHead(200, { 'content-type': up.headers.get('content-type') ?? '' });
      res.end(JSON.stringify(doc));
      return true;
    });
    try {
      await assert.rejects(
        service().ensure(`${front.host}/team/app:1`, { policy: 'IfNotPresent' }),
        /declares 4503599627370496 bytes, more than the \d+ bytes free/,
      );
    } finally {
      await front.close();
    }
  });

  test('redirects to blob storage are followed without the registry credentials', async () => {
    const seenAuth: string[] = [];
    const storage = await startFront(async (req, res, upstream) => {
      seenAuth.push(req.headers.authorization ?? '');
      const up = Buffer.from(await (await fetch(`${upstream}${req.url}`)).arrayBuffer());
      res.writeHead(200);
      res.end(up);
      return true;
    });
    const front = await startFront(async (req, res) => {
      if (req.headers.authorization !== 'Basic dTpw') {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="front"' });
        res.end();
        return true;
      }
      if (!req.url?.includes('/blobs/')) return false;
      res.writeHead(307, { location: `http://${storage.host}${req.url}` });
      res.end();
      return true;
    });
    try {
      const got = await service().ensure(`${front.host}/team/app:1`, {
        policy: 'IfNotPresent',
        credentials: [{ registry: front.host, username: 'u', password: 'p' }],
      });
      assert.equal(got.image.layers?.length, 3);
      assert.equal(seenAuth.length, 4);
      assert.deepEqual(new Set(seenAuth), new Set(['']));
    } finally {
      await front.close();
      await storage.close();
    }
  });
});
