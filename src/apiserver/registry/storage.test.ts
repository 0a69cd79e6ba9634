// The registry's storage table and the resource table in src/api/resources.ts (what clients and
// discovery consumers see) must agree on every resource's subresources.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtinResources } from '../../api/resources.js';
import { storageFor } from './index.js';

/** Subresources only the server side names (their clients address them by path). */
const serverOnly = new Set(['finalize', 'token']);

describe('registry storage table', () => {
  for (const r of builtinResources) {
    it(`${r.group || 'core'}/${r.version}/${r.resource} serves the subresources the resource table lists`, () => {
      const served = Object.keys(storageFor(r).subresources).filter((s) => !serverOnly.has(s));
      assert.deepEqual([...served].sort(), [...r.subresources].sort());
    });
  }

  it('every subresource storage can answer at least one verb or is declared unserved', () => {
    for (const r of builtinResources) {
      for (const [name, s] of Object.entries(storageFor(r).subresources)) {
        const ops = [s.get, s.update, s.create, s.connect, s.upgrade].filter(Boolean).length;
        // Only proxy is advertised without being served yet (see generic/subresources.ts).
        if (ops === 0) assert.equal(name, 'proxy', `${r.resource}/${name} has no operation`);
      }
    }
  });
});
