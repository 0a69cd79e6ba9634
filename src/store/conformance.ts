// The store conformance suite: every Backend driver runs it (hono's common.case.test.ts idea).
// It is the executable spec of src/store/backend.ts.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Backend,
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  KeyNotFoundError,
  type StoreEvent,
} from './backend.js';

/** Creates a fresh, empty backend for one test. */
export type BackendFactory = () => Backend;

/** Summarizes an event as "type key@rev" for compact assertions. */
function brief(ev: StoreEvent): string {
  return `${ev.type} ${ev.kv.key}@${ev.kv.modRevision}`;
}

/** Registers the conformance tests for a driver under a describe block named `name`. */
export function runBackendConformance(name: string, factory: BackendFactory): void {
  const open = (t: { after(fn: () => void): void }): Backend => {
    const b = factory();
    t.after(() => b.close());
    return b;
  };

  describe(`${name} conformance`, () => {
    test('revisions increase by one per write', (t) => {
      const b = open(t);
      const r0 = b.currentRevision();
      const a = b.create('/a', '1');
      assert.equal(a.modRevision, r0 + 1);
      assert.equal(a.createRevision, r0 + 1);
      const a2 = b.update('/a', '2', a.modRevision);
      assert.equal(a2.modRevision, r0 + 2);
      assert.equal(a2.createRevision, r0 + 1);
      const d = b.delete('/a');
      assert.equal(d.modRevision, r0 + 3);
      assert.equal(d.value, '2');
      assert.equal(b.currentRevision(), r0 + 3);
      assert.equal(b.get('/a'), undefined);
    });

    test('create while the key exists throws KeyExistsError; re-create after delete works', (t) => {
      const b = open(t);
      b.create('/a', '1');
      assert.throws(() => b.create('/a', '2'), KeyExistsError);
      b.delete('/a');
      const again = b.create('/a', '3');
      assert.equal(again.createRevision, again.modRevision);
      assert.equal(b.get('/a')?.value, '3');
    });

    test('update with a stale revision throws ConflictError carrying the current value', (t) => {
      const b = open(t);
      const a = b.create('/a', '1');
      const a2 = b.update('/a', '2', a.modRevision);
      const err = captureError(() => b.update('/a', '3', a.modRevision));
      assert.ok(err instanceof ConflictError);
      assert.deepEqual(err.current, a2);
      assert.throws(() => b.update('/missing', 'x', 1), KeyNotFoundError);
      assert.equal(b.currentRevision(), a2.modRevision, 'failed writes take no revision');
    });

    test('delete is compare-and-swap when a revision is given', (t) => {
      const b = open(t);
      const a = b.create('/a', '1');
      const a2 = b.update('/a', '2', a.modRevision);
      assert.throws(() => b.delete('/a', a.modRevision), ConflictError);
      assert.equal(b.get('/a')?.value, '2');
      b.delete('/a', a2.modRevision);
      assert.throws(() => b.delete('/a'), KeyNotFoundError);
    });

    test('list returns keys under the prefix in key order', (t) => {
      const b = open(t);
      b.create('/registry/pods/ns/b', 'b');
      b.create('/registry/pods/ns/a', 'a');
      b.create('/registry/pods/other/c', 'c');
      b.create('/registry/podsx/z', 'z');
      const all = b.list('/registry/pods/');
      assert.deepEqual(
        all.items.map((kv) => kv.key),
        ['/registry/pods/ns/a', '/registry/pods/ns/b', '/registry/pods/other/c'],
      );
      assert.equal(all.revision, b.currentRevision());
      assert.deepEqual(
        b.list('/registry/pods/ns/').items.map((kv) => kv.value),
        ['a', 'b'],
      );
      assert.equal(b.list('').items.length, 4);
    });

    test('list at an older revision sees the old state, including keys deleted since', (t) => {
      const b = open(t);
      const a = b.create('/k/a', 'a1');
      const c = b.create('/k/c', 'c1');
      const before = b.currentRevision();
      b.update('/k/a', 'a2', a.modRevision);
      b.delete('/k/c', c.modRevision);
      b.create('/k/d', 'd1');
      const old = b.list('/k/', { revision: before });
      assert.equal(old.revision, before);
      assert.deepEqual(
        old.items.map((kv) => [kv.key, kv.value, kv.modRevision]),
        [
          ['/k/a', 'a1', a.modRevision],
          ['/k/c', 'c1', c.modRevision],
        ],
      );
      assert.deepEqual(
        b.list('/k/').items.map((kv) => kv.value),
        ['a2', 'd1'],
      );
    });

    test('list at a compacted revision throws CompactedError; future throws FutureRevisionError', (t) => {
      const b = open(t);
      let a = b.create('/k/a', '0');
      for (let i = 1; i <= 5; i++) a = b.update('/k/a', String(i), a.modRevision);
      b.create('/k/gone', 'x');
      b.delete('/k/gone');
      const cut = a.modRevision - 2;
      b.compact(cut);
      assert.equal(b.compactRevision(), cut);
      assert.throws(() => b.list('/k/', { revision: cut - 1 }), CompactedError);
      assert.deepEqual(
        b.list('/k/', { revision: cut }).items.map((kv) => kv.value),
        ['3'],
      );
      assert.throws(
        () => b.list('/k/', { revision: b.currentRevision() + 1 }),
        FutureRevisionError,
      );
      // Compacting to the current revision keeps every current value and forgets tombstones.
      b.compact(b.currentRevision());
      assert.deepEqual(
        b.list('/k/').items.map((kv) => kv.value),
        ['5'],
      );
      assert.equal(b.get('/k/a')?.value, '5');
      const next = b.update('/k/a', '6', a.modRevision);
      assert.equal(next.createRevision, a.createRevision);
    });

    test('watch from a revision replays the backlog, then live events, in order', (t) => {
      const b = open(t);
      const a = b.create('/w/a', '1');
      b.update('/w/a', '2', a.modRevision);
      b.create('/w/b', '1');
      const seen: StoreEvent[] = [];
      const h = b.watch('/w/', a.modRevision, (ev) => seen.push(ev));
      t.after(() => h.close());
      assert.deepEqual(seen.map(brief), [
        `update /w/a@${a.modRevision + 1}`,
        `create /w/b@${a.modRevision + 2}`,
      ]);
      assert.equal(seen[0]?.prevKv?.value, '1');
      b.delete('/w/b');
      b.create('/w/c', 'x');
      assert.deepEqual(seen.slice(2).map(brief), [
        `delete /w/b@${a.modRevision + 3}`,
        `create /w/c@${a.modRevision + 4}`,
      ]);
      assert.equal(seen[2]?.kv.value, '1', 'a delete event carries the last value');
      assert.equal(seen[2]?.prevKv?.modRevision, a.modRevision + 2);
      const revs = seen.map((ev) => ev.kv.modRevision);
      assert.deepEqual(
        revs,
        [...revs].sort((x, y) => x - y),
      );
    });

    test('watch from the current revision sees only live events; backlog matches the live feed', (t) => {
      const b = open(t);
      const start = b.currentRevision();
      const live: StoreEvent[] = [];
      const h1 = b.watch('/', start, (ev) => live.push(ev));
      t.after(() => h1.close());
      const a = b.create('/x/a', '1');
      b.update('/x/a', '2', a.modRevision);
      b.delete('/x/a');
      const replay: StoreEvent[] = [];
      const h2 = b.watch('/', start, (ev) => replay.push(ev));
      t.after(() => h2.close());
      assert.equal(live.length, 3);
      assert.deepEqual(replay, live);
    });

    test('watch by prefix filters other keys', (t) => {
      const b = open(t);
      const seen: string[] = [];
      const h = b.watch('/registry/pods/ns1/', b.currentRevision(), (ev) => seen.push(ev.kv.key));
      t.after(() => h.close());
      b.create('/registry/pods/ns1/a', '1');
      b.create('/registry/pods/ns2/a', '1');
      b.create('/registry/services/ns1/a', '1');
      b.create('/registry/pods/ns1/b', '1');
      assert.deepEqual(seen, ['/registry/pods/ns1/a', '/registry/pods/ns1/b']);
    });

    test('watch from a compacted revision throws CompactedError', (t) => {
      const b = open(t);
      const a = b.create('/a', '1');
      b.update('/a', '2', a.modRevision);
      b.compact(b.currentRevision());
      assert.throws(
        () => b.watch('/', a.modRevision, () => assert.fail('no event expected')),
        CompactedError,
      );
      const seen: string[] = [];
      const h = b.watch('/', b.compactRevision(), (ev) => seen.push(brief(ev)));
      t.after(() => h.close());
      assert.deepEqual(seen, []);
    });

    test('close() of a watch stops delivery, also from inside its own callback', (t) => {
      const b = open(t);
      const seen: number[] = [];
      const h = b.watch('/', 0, (ev) => seen.push(ev.kv.modRevision));
      b.create('/a', '1');
      h.close();
      b.create('/b', '1');
      assert.equal(seen.length, 1);
      // The backlog is delivered before watch() returns; a callback may close its own handle
      // during live delivery, and queued events for it are then dropped.
      const inner: number[] = [];
      const other: number[] = [];
      const h2 = b.watch('/', b.currentRevision(), (ev) => {
        inner.push(ev.kv.modRevision);
        if (ev.kv.key === '/c') b.create('/d', '1');
        h2.close();
      });
      const h3 = b.watch('/', b.currentRevision(), (ev) => other.push(ev.kv.modRevision));
      t.after(() => h3.close());
      b.create('/c', '1');
      assert.equal(inner.length, 1);
      assert.equal(other.length, 2);
    });

    test('many watchers each receive every event (fan-out)', (t) => {
      const b = open(t);
      const seen: string[][] = [];
      for (let i = 0; i < 50; i++) {
        const mine: string[] = [];
        seen.push(mine);
        const h = b.watch(i % 2 ? '/odd/' : '/', b.currentRevision(), (ev) => mine.push(ev.kv.key));
        t.after(() => h.close());
      }
      b.create('/odd/a', '1');
      b.create('/even/a', '1');
      for (let i = 0; i < 50; i++) {
        assert.deepEqual(seen[i], i % 2 ? ['/odd/a'] : ['/odd/a', '/even/a']);
      }
    });

    test('a write from inside a watch callback is delivered in order to every watcher', (t) => {
      const b = open(t);
      const first: string[] = [];
      const second: string[] = [];
      const h1 = b.watch('/', 0, (ev) => {
        first.push(brief(ev));
        if (ev.kv.key === '/trigger') b.create('/reaction', 'r');
      });
      const h2 = b.watch('/', 0, (ev) => second.push(brief(ev)));
      t.after(() => {
        h1.close();
        h2.close();
      });
      b.create('/trigger', 't');
      assert.deepEqual(
        first,
        ['create /trigger@1', 'create /reaction@2'].map((s) => rebase(s, b)),
      );
      assert.deepEqual(second, first);
    });

    test('a watch opened from inside a callback sees no gap and no duplicate', (t) => {
      const b = open(t);
      const late: number[] = [];
      let inner: { close(): void } | undefined;
      const outer = b.watch('/', b.currentRevision(), (ev) => {
        if (ev.kv.key === '/two' && !inner) {
          b.create('/three', '3');
          inner = b.watch('/', 0, (e) => late.push(e.kv.modRevision));
        }
      });
      t.after(() => {
        outer.close();
        inner?.close();
      });
      b.create('/one', '1');
      b.create('/two', '2');
      b.create('/four', '4');
      const r = b.currentRevision();
      assert.deepEqual(late, [r - 3, r - 2, r - 1, r]);
    });

    test('a throwing watcher does not break the writer or other watchers', (t) => {
      const b = open(t);
      const seen: string[] = [];
      const bad = b.watch('/', b.currentRevision(), () => {
        throw new Error('boom');
      });
      const good = b.watch('/', b.currentRevision(), (ev) => seen.push(ev.kv.key));
      t.after(() => {
        bad.close();
        good.close();
      });
      assert.doesNotThrow(() => b.create('/a', '1'));
      assert.deepEqual(seen, ['/a']);
    });

    test('list returns 1,000 keys in key order', (t) => {
      const b = open(t);
      for (let i = 0; i < 1000; i++)
        b.create(`/registry/pods/ns/p${String(i).padStart(4, '0')}`, '{"x":1}');
      // Speed is measured by bench/api.ts, not asserted here.
      const keys = b.list('/registry/pods/').items.map((kv) => kv.key);
      assert.equal(keys.length, 1000);
      assert.deepEqual(keys, [...keys].sort());
    });
  });
}

/** Shifts the revisions in "type key@rev" strings by the backend's offset (first write = 1). */
function rebase(s: string, b: Backend): string {
  const offset = b.currentRevision() - 2;
  return s.replace(/@(\d+)$/, (_, n: string) => `@${Number(n) + offset}`);
}

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected an error');
}
