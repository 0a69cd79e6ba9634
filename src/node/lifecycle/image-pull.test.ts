import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Container } from 'kubernetes-types/core/v1.js';
import type { ResolvedImage } from '../../images/catalog.js';
import { type EnsuredImage, ImagePullError, type PullOptions } from '../../images/service.js';
import { FakeClock } from '../../lib/clock.js';
import {
  defaultPullPolicy,
  goDuration,
  ImageError,
  type ImageEvent,
  ImageManager,
  type ImagePuller,
  parseDockerConfig,
} from './image-pull.js';

test('default pull policy: Always for :latest or no tag, IfNotPresent for a tag or digest', () => {
  assert.equal(defaultPullPolicy('nginx'), 'Always');
  assert.equal(defaultPullPolicy('nginx:latest'), 'Always');
  assert.equal(defaultPullPolicy('127.0.0.1:5001/web'), 'Always');
  assert.equal(defaultPullPolicy('127.0.0.1:5001/web:1'), 'IfNotPresent');
  assert.equal(defaultPullPolicy(`nginx@sha256:${'a'.repeat(64)}`), 'IfNotPresent');
});

test('durations print as Go prints a millisecond-truncated time.Duration', () => {
  assert.equal(goDuration(87.9), '87ms');
  assert.equal(goDuration(1234), '1.234s');
  assert.equal(goDuration(2000), '2s');
  assert.equal(goDuration(123_456), '2m3.456s');
});

test('dockerconfigjson and dockercfg secrets become registry credentials', () => {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64');
  assert.deepEqual(
    parseDockerConfig('kubernetes.io/dockerconfigjson', {
      '.dockerconfigjson': b64({ auths: { 'r.example:5000': { username: 'u', password: 'p' } } }),
    }),
    [
      {
        registry: 'r.example:5000',
        username: 'u',
        password: 'p',
        auth: undefined,
        identitytoken: undefined,
      },
    ],
  );
  assert.equal(
    parseDockerConfig('kubernetes.io/dockercfg', { '.dockercfg': b64({ r: { auth: 'dTpw' } }) })[0]
      ?.auth,
    'dTpw',
  );
  assert.deepEqual(parseDockerConfig('Opaque', { x: 'eA==' }), []);
  assert.deepEqual(
    parseDockerConfig('kubernetes.io/dockerconfigjson', { '.dockerconfigjson': 'e30x' }),
    [],
  );
});

const stored: ResolvedImage = {
  ref: 'reg/app:1',
  imageID: 'reg/app@sha256:abc',
  workingDir: '/',
  command: ['app'],
  args: [],
  env: [],
  ports: [],
  layers: ['/l1'],
};

// A puller over a fixed set of present images; pulls of unknown names fail as a registry would.
function fakePuller(
  present: Set<string>,
  pullable: Set<string>,
  calls: PullOptions[],
): ImagePuller {
  return {
    has: (ref) => present.has(ref),
    async ensure(ref, opts): Promise<EnsuredImage> {
      calls.push(opts);
      if (present.has(ref) && opts.policy !== 'Always')
        return { image: { ...stored, ref }, pulled: false, size: 10, pullMs: 0 };
      if (!pullable.has(ref)) throw new ImagePullError(ref, 'not found');
      present.add(ref);
      return { image: { ...stored, ref }, pulled: true, size: 1234, pullMs: 1500 };
    },
  };
}

async function ensure(m: ImageManager, c: Container) {
  const events: ImageEvent[] = [];
  try {
    const image = await m.ensure({
      container: c,
      credentials: async () => [],
      event: (e) => events.push(e),
    });
    return { image, events: events.map((e) => `${e.type} ${e.reason}: ${e.message}`) };
  } catch (err) {
    assert.ok(err instanceof ImageError);
    return { err, events: events.map((e) => `${e.type} ${e.reason}: ${e.message}`) };
  }
}

test('IfNotPresent uses a stored image, Always pulls it again, with the kubelet events', async () => {
  const calls: PullOptions[] = [];
  const m = new ImageManager({
    puller: fakePuller(new Set(['reg/app:1']), new Set(['reg/app:1']), calls),
    clock: new FakeClock(),
  });
  const present = await ensure(m, { name: 'a', image: 'reg/app:1' });
  assert.deepEqual(present.events, [
    'Normal Pulled: Container image "reg/app:1" already present on machine',
  ]);
  assert.deepEqual(present.image?.layers, ['/l1']);
  const always = await ensure(m, { name: 'a', image: 'reg/app:1', imagePullPolicy: 'Always' });
  assert.deepEqual(always.events, [
    'Normal Pulling: Pulling image "reg/app:1"',
    'Normal Pulled: Successfully pulled image "reg/app:1" in 1.5s (0ms including waiting). Image size: 1234 bytes.',
  ]);
  assert.equal(calls.at(-1)?.policy, 'Always');
});

test('a failed pull is ErrImagePull; Never with nothing stored is ErrImageNeverPull', async () => {
  const m = new ImageManager({
    puller: fakePuller(new Set(), new Set(), []),
    clock: new FakeClock(),
  });
  const failed = await ensure(m, { name: 'a', image: 'reg/missing:1' });
  assert.equal((failed.err as ImageError).reason, 'ErrImagePull');
  assert.deepEqual(failed.events, [
    'Normal Pulling: Pulling image "reg/missing:1"',
    'Warning Failed: Failed to pull image "reg/missing:1": failed to pull and unpack image "reg/missing:1": not found',
  ]);
  const never = await ensure(m, { name: 'a', image: 'reg/missing:1', imagePullPolicy: 'Never' });
  assert.equal((never.err as ImageError).reason, 'ErrImageNeverPull');
  assert.deepEqual(never.events, [
    'Warning ErrImageNeverPull: Container image "reg/missing:1" is not present with pull policy of Never',
  ]);
});

test('the seed image falls back to its bundled stand-in, and stops asking for a while', async () => {
  const clock = new FakeClock();
  const calls: PullOptions[] = [];
  const m = new ImageManager({ puller: fakePuller(new Set(), new Set(), calls), clock });
  const first = await ensure(m, { name: 'a', image: 'lyzhang1999/hello-world-flask:latest' });
  assert.equal(first.image?.rootDir?.endsWith('images/hello-world-flask'), true);
  assert.deepEqual(
    first.events.map((e) => e.split(':')[0]),
    ['Normal Pulling', 'Warning Failed', 'Normal Pulled'],
  );
  assert.match(first.events[2] ?? '', /could not be pulled; running Skiff's bundled stand-in/);
  const again = await ensure(m, { name: 'a', image: 'lyzhang1999/hello-world-flask:latest' });
  assert.equal(calls.length, 1, 'no second attempt within five minutes');
  assert.equal(again.events.length, 1);
  clock.advance(6 * 60_000);
  await ensure(m, { name: 'a', image: 'lyzhang1999/hello-world-flask:latest' });
  assert.equal(calls.length, 2);
  // Skiff's add-ons never go to a registry.
  await ensure(m, { name: 'a', image: 'registry.k8s.io/metrics-server/metrics-server:v0.7.2' });
  assert.equal(calls.length, 2);
});

test('without an image store only folder and bundled images resolve', async () => {
  const m = new ImageManager({ clock: new FakeClock() });
  assert.ok((await ensure(m, { name: 'a', image: 'busybox' })).image);
  const missing = await ensure(m, { name: 'a', image: 'reg/app:1' });
  assert.equal((missing.err as ImageError).reason, 'ErrImagePull');
  assert.match(
    missing.events[0] ?? '',
    /^Warning Failed: Failed to pull image "reg\/app:1": .*skiff image add/,
  );
});
