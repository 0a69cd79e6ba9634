// Tests of the endpoint picker and of a Service port listener with real sockets on loopback.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { EndpointPicker, type ProxyEndpoint } from '../api/endpoint-picker.js';
import { FakeClock } from '../lib/clock.js';
import { ServicePortListener } from './tcp-proxy.js';

const ep = (port: number, ready = true, serving = ready, terminating = false): ProxyEndpoint => ({
  ip: '127.0.0.1',
  port,
  ready,
  serving,
  terminating,
});

describe('EndpointPicker', () => {
  test('round robin over ready endpoints only', () => {
    const p = new EndpointPicker();
    p.setEndpoints([ep(1), ep(2, false), ep(3)]);
    assert.deepEqual(
      [0, 1, 2, 3].map(() => p.candidates()[0]?.port),
      [1, 3, 1, 3],
    );
  });

  test('falls back to serving terminating endpoints only when none is ready', () => {
    const p = new EndpointPicker();
    p.setEndpoints([ep(1, false, true, true), ep(2, false, false, true)]);
    assert.deepEqual(
      p.candidates().map((t) => t.port),
      [1],
    );
    p.setEndpoints([ep(1, false, true, true), ep(3)]);
    assert.deepEqual(
      p.candidates().map((t) => t.port),
      [3],
    );
  });

  test('candidates list every endpoint from a per-call start index', () => {
    const p = new EndpointPicker();
    p.setEndpoints([ep(1), ep(2), ep(3)]);
    assert.deepEqual(
      p.candidates().map((t) => t.port),
      [1, 2, 3],
    );
    assert.deepEqual(
      p.candidates().map((t) => t.port),
      [2, 3, 1],
    );
  });

  test('ClientIP affinity sticks until the timeout', () => {
    const clock = new FakeClock(0);
    const p = new EndpointPicker({ clock, affinityTimeoutMs: 10_800_000 });
    p.setEndpoints([ep(1), ep(2)]);
    const first = p.candidates('10.0.0.9')[0]!;
    p.served('10.0.0.9', first);
    for (let i = 0; i < 3; i++) assert.equal(p.candidates('10.0.0.9')[0]?.port, first.port);
    clock.advance(10_800_000);
    const ports = new Set([0, 1].map(() => p.candidates('10.0.0.9')[0]?.port));
    assert.equal(ports.size, 2, 'alternates again after the timeout');
  });

  test('remove drops an endpoint immediately', () => {
    const p = new EndpointPicker();
    p.setEndpoints([ep(1), ep(2)]);
    p.remove({ ip: '127.0.0.1', port: 1 });
    assert.deepEqual(
      [0, 1].map(() => p.candidates()[0]?.port),
      [2, 2],
    );
  });
});

/** A backend answering each line with "<name>\n" (keeps the connection open). */
async function backend(name: string): Promise<net.Server> {
  const s = net.createServer((c) => {
    c.on('data', () => c.write(`${name}\n`));
    c.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return s;
}

const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;

function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => c.write('hi\n'));
    c.once('data', (d) => {
      resolve(String(d).trim());
      c.end();
    });
    c.once('error', reject);
  });
}

describe('ServicePortListener', () => {
  const closers: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of closers) await c();
  });

  test('balances, retries a refused endpoint, and resets when there is none', async () => {
    const a = await backend('a');
    const b = await backend('b');
    closers.push(() => {
      a.close();
      b.close();
    });
    // A port that refuses: bind and close a server to get a free port.
    const dead = await backend('dead');
    const deadPort = portOf(dead);
    await new Promise((r) => dead.close(r));

    const picker = new EndpointPicker();
    picker.setEndpoints([ep(portOf(a)), ep(deadPort), ep(portOf(b))]);
    const refused: number[] = [];
    const l = new ServicePortListener({
      host: '127.0.0.1',
      port: 0,
      picker,
      onRefused: (t) => {
        refused.push(t.port);
        picker.remove(t);
      },
    });
    await l.listen();
    closers.push(() => l.close());
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(await ask(l.boundPort));
    assert.ok(!answers.includes('dead'));
    assert.equal(answers.filter((x) => x === 'a').length, 3, answers.join(','));
    assert.equal(answers.filter((x) => x === 'b').length, 3, answers.join(','));
    assert.ok(refused.includes(deadPort));

    picker.setEndpoints([]);
    await assert.rejects(ask(l.boundPort), /ECONNRESET|closed/);
  });

  test('keeps a keep-alive connection on its endpoint for several exchanges', async () => {
    const a = await backend('a');
    const b = await backend('b');
    closers.push(() => {
      a.close();
      b.close();
    });
    const picker = new EndpointPicker();
    picker.setEndpoints([ep(portOf(a)), ep(portOf(b))]);
    const l = new ServicePortListener({ host: '127.0.0.1', port: 0, picker });
    await l.listen();
    closers.push(() => l.close());
    const c = net.connect(l.boundPort, '127.0.0.1');
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      c.write('x\n');
      seen.push(String(await new Promise<Buffer>((r) => c.once('data', r))).trim());
    }
    c.destroy();
    assert.equal(new Set(seen).size, 1);
  });
});
