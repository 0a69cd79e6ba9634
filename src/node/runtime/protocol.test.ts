// The shim protocol's TypeScript side matches runtime/shim-protocol.json, the schema shim.py
// enforces: a request built with every field its type allows has exactly the schema's fields.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { ShimStartRequest } from './shim-client.js';
import { execChannels, type ShimExecRequest } from './shim-exec.js';

interface RequestSpec {
  required: Record<string, string>;
  optional: Record<string, string>;
}
const schema = JSON.parse(
  readFileSync(path.join(import.meta.dirname, 'shim-protocol.json'), 'utf8'),
) as {
  requests: Record<string, RequestSpec>;
  streams: { exec: { toShim: Record<string, number>; fromShim: Record<string, number> } };
};

const fields = (op: string) => {
  const spec = schema.requests[op];
  assert.ok(spec, op);
  return {
    required: Object.keys(spec.required).sort(),
    all: Object.keys({ ...spec.required, ...spec.optional }).sort(),
  };
};

test('start: ShimStartRequest has the schema fields, required ones required', () => {
  // Required<>: adding a field to the type without adding it here (and so to the schema) fails.
  const full: Required<ShimStartRequest> = {
    name: 'app',
    attempt: 0,
    argv: ['sh'],
    env: {},
    cwd: '/',
    uid: 0,
    gid: 0,
    cgroupProcs: [],
    logFile: 'app/0.log',
    maxLogBytes: 1,
    rootfs: { layers: [], upper: '', work: '', root: '', copy: false, mounts: [] },
    stdinFile: 'app/0.stdin',
    tty: false,
  };
  const minimal: ShimStartRequest = {
    name: 'app',
    attempt: 0,
    argv: [],
    env: {},
    cwd: '/',
    cgroupProcs: [],
    logFile: 'x',
  };
  assert.deepEqual(Object.keys(full).sort(), fields('start').all);
  assert.deepEqual(Object.keys(minimal).sort(), fields('start').required);
});

test('exec: ShimExecRequest has the schema fields, and the frame channels are the schema ones', () => {
  const full: Required<ShimExecRequest> = { name: 'app', argv: ['true'], tty: true, stdin: true };
  const minimal: ShimExecRequest = { name: 'app', argv: [] };
  assert.deepEqual(Object.keys(full).sort(), fields('exec').all);
  assert.deepEqual(Object.keys(minimal).sort(), fields('exec').required);
  assert.deepEqual(execChannels.toShim, schema.streams.exec.toShim);
  assert.deepEqual(execChannels.fromShim, schema.streams.exec.fromShim);
});

test('the client sends exactly the ops the schema lists', () => {
  const client = ['shim-client.ts', 'shim-exec.ts']
    .map((f) => readFileSync(path.join(import.meta.dirname, f), 'utf8'))
    .join('\n');
  const sent = [...client.matchAll(/\{ op: '(\w+)'/g)].map((m) => m[1]).sort();
  assert.deepEqual(sent, Object.keys(schema.requests).sort());
  assert.deepEqual(fields('signal').all, ['group', 'name', 'signal']);
  assert.deepEqual(fields('resize').all, ['height', 'name', 'width']);
});
