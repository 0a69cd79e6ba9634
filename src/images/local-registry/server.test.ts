import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { pinnedAnnotation } from '../load.js';
import { ImageService } from '../service.js';
import { buildImage, buildIndex, tarball, testWorkDir, writeLayout } from '../testing.js';
import { skopeoPush } from '../testing-registry.js';
import { createLocalRegistry, type LocalRegistry } from './server.js';

const run = promisify(execFile);
const work = testWorkDir('skiff-localreg-');
let svc: ImageService;
let registry: LocalRegistry;
const abort = new AbortController();
const app = buildImage({
  layers: [
    tarball([
      { name: 'bin/', type: 'dir' },
      { name: 'bin/app', data: 'pushed', mode: 0o755 },
    ]),
    tarball([
      { name: 'etc/', type: 'dir' },
      { name: 'etc/conf', data: 'x=1' },
    ]),
  ],
  config: { Cmd: ['/bin/app'] },
});
const multi = buildIndex([
  {
    image: buildImage({ layers: [tarball([{ name: 'a', data: 'arm' }])], architecture: 'arm64' }),
    architecture: 'arm64',
  },
  { image: buildImage({ layers: [tarball([{ name: 'a', data: 'amd' }])] }), architecture: 'amd64' },
]);

before(async () => {
  svc = new ImageService({ dataDir: path.join(work, 'data') });
  registry = createLocalRegistry({ store: svc.store, port: 0 });
  await registry.start(abort.signal);
  writeLayout(path.join(work, 'layout'), [
    { ref: 'app', image: app },
    { ref: 'multi', image: multi },
  ]);
});
after(async () => {
  abort.abort();
  await registry.stopped?.();
});

describe('local registry', () => {
  test('skopeo pushes; the image is stored under 127.0.0.1:PORT and runs without a pull', async () => {
    const host = registry.host();
    await skopeoPush(path.join(work, 'layout'), 'app', `${host}/team/app:v1`);
    const got = await svc.ensure(`${host}/team/app:v1`, { policy: 'IfNotPresent' });
    assert.equal(got.pulled, false);
    assert.equal(got.image.imageID, `${host}/team/app@${app.manifest.digest}`);
    assert.equal(readFileSync(path.join(got.image.layers![0]!, 'bin/app'), 'utf8'), 'pushed');
    const tags = await (await fetch(`http://${host}/v2/team/app/tags/list`)).json();
    assert.deepEqual(tags, { name: 'team/app', tags: ['v1'] });
    const catalog = await (await fetch(`http://${host}/v2/_catalog`)).json();
    assert.deepEqual(catalog, { repositories: ['team/app'] });
    // Always asks the registry (itself here): unchanged, and the pushed image stays pinned
    const always = await svc.ensure(`${host}/team/app:v1`, { policy: 'Always' });
    assert.equal(always.image.imageID, got.image.imageID);
    assert.equal(
      svc.store.index.get(`${host}/team/app:v1`)?.annotations?.[pinnedAnnotation],
      'true',
    );
  });

  test('pulls from it work (localhost name, skopeo inspect, a second store)', async () => {
    const host = registry.host();
    const port = host.split(':')[1];
    const other = new ImageService({ dataDir: path.join(work, 'other') });
    const got = await other.ensure(`localhost:${port}/team/app:v1`, { policy: 'Always' });
    assert.equal(got.pulled, true);
    assert.equal(readFileSync(path.join(got.image.layers![1]!, 'etc/conf'), 'utf8'), 'x=1');
    const { stdout } = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      `docker://${host}/team/app:v1`,
    ]);
    assert.equal((JSON.parse(stdout) as { Digest: string }).Digest, app.manifest.digest);
  });

  test('a multi-arch push (skopeo --all) keeps the index; the host platform runs', async () => {
    const host = registry.host();
    await skopeoPush(path.join(work, 'layout'), 'multi', `${host}/multi:1`);
    const got = await svc.ensure(`${host}/multi:1`, { policy: 'IfNotPresent' });
    assert.equal(got.image.imageID, `${host}/multi@${multi.manifest.digest}`);
    assert.equal(readFileSync(path.join(got.image.layers![0]!, 'a'), 'utf8'), 'amd');
  });

  test('errors speak the distribution API', async () => {
    const host = registry.host();
    const missing = await fetch(`http://${host}/v2/team/app/manifests/nope`);
    assert.equal(missing.status, 404);
    assert.equal(
      ((await missing.json()) as { errors: Array<{ code: string }> }).errors[0]?.code,
      'MANIFEST_UNKNOWN',
    );
    // a manifest naming blobs the registry lacks is refused
    const bad = await fetch(`http://${host}/v2/x/manifests/1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: JSON.stringify({
        schemaVersion: 2,
        config: { digest: `sha256:${'1'.repeat(64)}`, size: 1 },
        layers: [],
      }),
    });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /MANIFEST_BLOB_UNKNOWN/);
    // an upload whose bytes do not match its digest never becomes a blob
    const start = await fetch(`http://${host}/v2/x/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    const loc = start.headers.get('location') ?? '';
    const put = await fetch(`http://${host}${loc}?digest=sha256:${'2'.repeat(64)}`, {
      method: 'PUT',
      body: 'data',
    });
    assert.equal(put.status, 400);
    assert.match(await put.text(), /DIGEST_INVALID/);
    assert.equal(svc.store.blobs.has(`sha256:${'2'.repeat(64)}`), false);
    // ranged reads resume a download
    const blob = app.config.digest;
    const whole = Buffer.from(
      await (await fetch(`http://${host}/v2/team/app/blobs/${blob}`)).arrayBuffer(),
    );
    const part = await fetch(`http://${host}/v2/team/app/blobs/${blob}`, {
      headers: { range: 'bytes=5-' },
    });
    assert.equal(part.status, 206);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), whole.subarray(5));
    const bogus = await fetch(`http://${host}/v2/team/app/blobs/sha256:nothex`);
    assert.equal(bogus.status, 404);
    const badName = await fetch(`http://${host}/v2/UPPER/tags/list`);
    assert.equal(badName.status, 400);
  });
});
