import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJSON, computeHash, safeEncodeString } from './hash.js';

describe('computeHash', () => {
  const template = {
    metadata: { labels: { app: 'web' } },
    spec: { containers: [{ name: 'web', image: 'nginx' }] },
  };

  it('renders decimal digits through the safe alphabet, so only 4-9 and b,c,d,f appear', () => {
    assert.equal(safeEncodeString('0123456789'), '456789bcdf');
    assert.match(computeHash(template), /^[456789bcdf]{1,10}$/);
  });
  it('ignores key order but not content', () => {
    const reordered = {
      spec: { containers: [{ image: 'nginx', name: 'web' }] },
      metadata: { labels: { app: 'web' } },
    };
    assert.equal(computeHash(reordered), computeHash(template));
    const changed = structuredClone(template);
    changed.spec.containers[0]!.image = 'nginx:2';
    assert.notEqual(computeHash(changed), computeHash(template));
  });
  it('changes with collisionCount', () => {
    assert.notEqual(computeHash(template, 1), computeHash(template));
    assert.equal(computeHash(template, 1), computeHash(template, 1));
  });
});

describe('canonicalJSON', () => {
  it('treats null, empty arrays and empty objects like absent fields', () => {
    assert.equal(
      canonicalJSON({
        metadata: { creationTimestamp: null, labels: { a: 'b' } },
        spec: { volumes: [], x: {} },
      }),
      canonicalJSON({ metadata: { labels: { a: 'b' } } }),
    );
  });
});
