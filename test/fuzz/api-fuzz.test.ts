// Seeded random fuzz of the API server (issue #8): mutated Deployment/Service/ConfigMap bodies as
// JSON, YAML and protobuf, for create, update and every patch type. The server must never answer
// 5xx, hang or crash, and every error must be a well-formed metav1.Status. Rerun with FUZZ_SEED.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { startTestApiServer, type TestApiServer } from '../../src/apiserver/testing.js';
import { deployment, service } from './fixtures.js';
import {
  type Answer,
  assertStatus,
  closeAgent,
  Failures,
  fuzzSeed,
  mutateBytes,
  mutateObject,
  Prng,
  type RawRequest,
  send,
} from './lib.js';

const iterations = Number(process.env['FUZZ_ITERATIONS'] ?? 400);
const protobufDir = new URL('../../src/apiserver/protobuf/testdata/', import.meta.url);

/** Accepts a 2xx answer, or a 4xx well-formed Status; anything else (5xx, junk) is a finding. */
function checkAnswer(a: Answer, what: string): void {
  if (a.status >= 200 && a.status < 300) {
    assert.match(String(a.headers['content-type']), /^application\/(json|yaml)/, what);
    return;
  }
  assertStatus(a, (c) => c >= 400 && c < 500, undefined, what);
}

describe('API server random input', () => {
  let api: TestApiServer;
  const seed = fuzzSeed();
  const prng = new Prng({ seed });
  const req = (r: RawRequest): Promise<Answer> => send(api.url, r);

  before(async () => {
    // Printed so a failing run can be replayed: FUZZ_SEED=<seed>.
    process.stdout.write(`# fuzz seed ${seed} (FUZZ_SEED=${seed} to replay)\n`);
    api = await startTestApiServer();
  });
  after(async () => {
    closeAgent();
    await api.close();
  });

  const kinds = [
    {
      path: '/apis/apps/v1/namespaces/default/deployments',
      make: deployment,
      protobuf: 'deployment.bin',
    },
    { path: '/api/v1/namespaces/default/services', make: service, protobuf: 'service.bin' },
  ];

  it(`survives ${iterations} mutated create/update/patch requests (seed printed)`, async () => {
    const f = new Failures();
    const bins = kinds.map((k) => readFileSync(new URL(k.protobuf, protobufDir)));
    for (const k of kinds) {
      const a = await req({ method: 'POST', path: k.path, body: k.make('base') });
      assert.equal(a.status, 201, a.body.toString());
    }
    for (let i = 0; i < iterations; i++) {
      const ki = prng.int(kinds.length);
      const k = kinds[ki]!;
      const name = `f${i}`;
      const mutated = mutateObject(prng, k.make(name));
      const form = prng.pick(['json', 'yaml', 'bytes', 'protobuf', 'put', 'patch'] as const);
      let r: RawRequest;
      switch (form) {
        case 'json':
          r = { method: 'POST', path: k.path, body: JSON.stringify(mutated) };
          break;
        case 'yaml':
          r = {
            method: 'POST',
            path: k.path,
            body: YAML.stringify(mutated),
            headers: { 'Content-Type': 'application/yaml' },
          };
          break;
        case 'bytes':
          r = {
            method: 'POST',
            path: k.path,
            body: mutateBytes(prng, Buffer.from(JSON.stringify(k.make(name)))),
          };
          break;
        case 'protobuf':
          r = {
            method: 'POST',
            path: k.path,
            body: mutateBytes(prng, bins[ki]!),
            headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf' },
          };
          break;
        case 'put':
          r = { method: 'PUT', path: `${k.path}/base`, body: JSON.stringify(mutated) };
          break;
        case 'patch': {
          const type = prng.pick([
            'application/merge-patch+json',
            'application/strategic-merge-patch+json',
            'application/json-patch+json',
            'application/apply-patch+yaml',
          ]);
          const body =
            type === 'application/json-patch+json'
              ? JSON.stringify([
                  { op: prng.pick(['add', 'replace', 'remove']), path: '/spec', value: mutated },
                ])
              : type === 'application/apply-patch+yaml'
                ? YAML.stringify(mutated)
                : JSON.stringify(mutated);
          r = {
            method: 'PATCH',
            path: `${k.path}/base?fieldManager=fuzz`,
            body,
            headers: { 'Content-Type': type },
          };
          break;
        }
      }
      const a = await req(r);
      const shown = Buffer.isBuffer(r.body)
        ? `<${r.body.length} bytes>`
        : String(r.body).slice(0, 200);
      f.check(() => checkAnswer(a, `#${i} ${form} ${r.method} ${r.path} ${shown}`));
    }
    // Still serving normally afterwards.
    const health = await req({ path: '/readyz' });
    assert.equal(health.status, 200);
    const ok = await req({ method: 'POST', path: kinds[1]!.path, body: service('after-fuzz') });
    assert.equal(ok.status, 201, ok.body.toString());
    f.done();
  });
});
