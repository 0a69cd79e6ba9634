import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { containerUser, resolveImageUser, verifyRunAsNonRoot } from './image-user.js';

const etc = {
  passwd: 'root:x:0:0:root:/root:/bin/sh\nwww:x:33:34:www:/var/www:/bin/false\n',
  group: 'root:x:0:\nstaff:x:50:\n',
};

test('image users resolve in the image own passwd and group', () => {
  const cases: Array<[string | undefined, { uid: number; gid: number }]> = [
    [undefined, { uid: 0, gid: 0 }],
    ['', { uid: 0, gid: 0 }],
    ['www', { uid: 33, gid: 34 }],
    ['33', { uid: 33, gid: 34 }],
    ['1234', { uid: 1234, gid: 0 }],
    ['1234:99', { uid: 1234, gid: 99 }],
    ['www:staff', { uid: 33, gid: 50 }],
    ['33:staff', { uid: 33, gid: 50 }],
  ];
  for (const [user, want] of cases) assert.deepEqual(resolveImageUser(user, etc), want, user);
});

test('unknown user or group names are errors, as the runtime reports them', () => {
  assert.throws(
    () => resolveImageUser('nobody', etc),
    /unable to find user nobody: no matching entries in passwd file/,
  );
  assert.throws(() => resolveImageUser('www:wheel', etc), /unable to find group wheel/);
  assert.throws(() => resolveImageUser('www', {}), /no matching entries in passwd file/);
});

const pod = (sc: object = {}): Pod => ({
  metadata: { name: 'web', namespace: 'default', uid: 'u1' },
  spec: { containers: [], securityContext: sc },
});
const app = (sc: object = {}): Container => ({ name: 'app', securityContext: sc });

test('runAsNonRoot is checked as the kubelet does, with its messages', () => {
  const where = '(pod: "web_default(u1)", container: app)';
  assert.doesNotThrow(() => verifyRunAsNonRoot(pod(), app(), ''));
  assert.throws(() => verifyRunAsNonRoot(pod({ runAsNonRoot: true }), app(), ''), {
    message: `container has runAsNonRoot and image will run as root ${where}`,
  });
  assert.throws(() => verifyRunAsNonRoot(pod(), app({ runAsNonRoot: true }), '0:0'), {
    message: `container has runAsNonRoot and image will run as root ${where}`,
  });
  assert.throws(() => verifyRunAsNonRoot(pod({ runAsNonRoot: true }), app(), 'www'), {
    message: `container has runAsNonRoot and image has non-numeric user (www), cannot verify user is non-root ${where}`,
  });
  assert.doesNotThrow(() => verifyRunAsNonRoot(pod({ runAsNonRoot: true }), app(), '33'));
  assert.doesNotThrow(() =>
    verifyRunAsNonRoot(pod({ runAsNonRoot: true }), app({ runAsUser: 1000 }), 'www'),
  );
  assert.throws(() => verifyRunAsNonRoot(pod({ runAsNonRoot: true, runAsUser: 0 }), app(), '33'), {
    message: `container's runAsUser breaks non-root policy ${where}`,
  });
});

test('runAsUser and runAsGroup override the image user', () => {
  assert.deepEqual(containerUser({ pod: pod(), container: app(), imageUser: 'www', etc }), {
    uid: 33,
    gid: 34,
  });
  assert.deepEqual(
    containerUser({ pod: pod({ runAsUser: 33 }), container: app(), imageUser: '', etc }),
    { uid: 33, gid: 34 },
  );
  assert.deepEqual(
    containerUser({
      pod: pod({ runAsUser: 33 }),
      container: app({ runAsGroup: 7 }),
      imageUser: 'root',
      etc,
    }),
    { uid: 33, gid: 7 },
  );
});
