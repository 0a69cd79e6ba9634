// Tests of `skiff load` flag parsing (ab's flags, in any order) and of the command end to end.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { LoadResult } from '../load/engine.js';
import { type LoadFlags, loadProgram, toLoadOptions } from './load.js';

const cli = new URL('../cmd/cli.ts', import.meta.url).pathname;

function parse(args: string[]) {
  const p = loadProgram();
  p.parse(args, { from: 'user' });
  return toLoadOptions(p.args[0] ?? '', p.opts<LoadFlags>());
}

describe('skiff load flags', () => {
  test('defaults are one request at concurrency one, GET, 30 s timeout, no keep-alive', () => {
    const o = parse(['http://127.0.0.1/']);
    assert.equal(o.requests, 1);
    assert.equal(o.concurrency, 1);
    assert.equal(o.method, 'GET');
    assert.equal(o.timeoutMs, 30_000);
    assert.equal(o.keepAlive, false);
    assert.equal(o.timeLimitMs, undefined);
  });

  test('flags may come before or after the URL; -H repeats', () => {
    const o = parse([
      '-c',
      '50',
      'http://h/x',
      '-n',
      '10000',
      '-k',
      '-H',
      'A: 1',
      '-H',
      'B: two: 2',
    ]);
    assert.equal(o.url, 'http://h/x');
    assert.equal(o.concurrency, 50);
    assert.equal(o.requests, 10000);
    assert.equal(o.keepAlive, true);
    assert.deepEqual(o.headers, { A: '1', B: 'two: 2' });
  });

  test('-t implies 50000 requests unless -n is given', () => {
    assert.equal(parse(['-t', '2', 'http://h/']).requests, 50_000);
    assert.equal(parse(['-t', '2', 'http://h/']).timeLimitMs, 2000);
    assert.equal(parse(['-t', '2', '-n', '7', 'http://h/']).requests, 7);
  });

  test('-p posts the file with -T as its content type', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-load-'));
    try {
      const file = join(dir, 'body.json');
      writeFileSync(file, '{"a":1}');
      const o = parse(['-p', file, '-T', 'application/json', 'http://h/']);
      assert.equal(o.method, 'POST');
      assert.equal(o.body?.toString(), '{"a":1}');
      assert.equal(o.headers?.['Content-Type'], 'application/json');
      assert.equal(parse(['-p', file, '-m', 'put', 'http://h/']).method, 'PUT');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('rejects a malformed header and a non-numeric count', () => {
    assert.throws(() => parse(['-H', 'nocolon', 'http://h/']), /Name: value/);
    assert.throws(() => parse(['-n', 'many', 'http://h/']), /positive integer/);
  });
});

describe('skiff load (process)', () => {
  const server = http.createServer((_req, res) =>
    res.end('Hello, my first docker images! web-7d9-abcde'),
  );
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('prints an ab-like report and JSON with --json', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const run = promisify(execFile);
    const opts = { env: { ...process.env, SKIFF_LOG_LEVEL: 'error' } };
    const text = await run(
      process.execPath,
      ['--import', 'tsx', cli, 'load', '-c', '4', '-n', '40', url],
      opts,
    );
    for (const field of [
      'Document Path:          /',
      'Concurrency Level:      4',
      'Complete requests:      40',
      'Failed requests:        0',
      'Requests per second:',
      '  99% ',
      'web-7d9-abcde',
    ]) {
      assert.ok(text.stdout.includes(field), `missing "${field}" in:\n${text.stdout}`);
    }
    assert.match(text.stderr, /Completed 40 requests/);
    const json = await run(
      process.execPath,
      ['--import', 'tsx', cli, 'load', url, '--json', '-n', '5'],
      opts,
    );
    const r = JSON.parse(json.stdout) as LoadResult;
    assert.equal(r.complete, 5);
    assert.deepEqual(r.pods, { 'web-7d9-abcde': 5 });
    await assert.rejects(
      run(process.execPath, ['--import', 'tsx', cli, 'load', '-c', '5', '-n', '2', url], opts),
      (e: { code?: number }) => e.code === 2,
    );
  });
});
