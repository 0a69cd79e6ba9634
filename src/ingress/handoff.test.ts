// Tests of the supervisor's connection hand-off with real forked workers (small fake workers that
// serve, die before their ack, or die after it): a connection is never stranded on a dead worker,
// and never handed twice once acknowledged.
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { ConnectionHandOff, type HandOffWorker } from './handoff.js';

// A fake worker: says it accepts, then per mode: 'serve' acks and answers "from <name>" to the
// first bytes; 'ack-then-die' acks and exits without reading; 'die-before-ack' exits at once.
const fakeWorker = `
const [mode, name] = process.argv.slice(2);
process.on('message', (m, handle) => {
  if (m.type !== 'skiff-ingress-conn') return;
  if (mode === 'die-before-ack') process.exit(3);
  process.send({ type: 'skiff-ingress-conn-ack', id: m.id }, () => {
    if (mode === 'ack-then-die') process.exit(4);
  });
  if (mode === 'serve') handle.once('data', () => handle.end('from ' + name));
});
process.send({ type: 'skiff-ingress-accepting' });
`;

let dir = '';
const children: ChildProcess[] = [];
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-handoff-'));
  writeFileSync(join(dir, 'worker.cjs'), fakeWorker);
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill();
});
after(() => rmSync(dir, { recursive: true, force: true }));

let nextId = 0;

/** Forks a fake worker wired to the hand-off as the supervisor wires its cluster workers. */
async function startWorker(
  h: ConnectionHandOff,
  mode: string,
  name: string,
  opts: { synced?: boolean } = {},
): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  // No execArgv: the fake worker is plain JavaScript (tsx would only slow its start).
  const child = fork(join(dir, 'worker.cjs'), [mode, name], { stdio: 'ignore', execArgv: [] });
  children.push(child);
  const w: HandOffWorker = {
    id: ++nextId,
    send: (msg, handle, o, cb) => child.send(msg, handle, o, cb),
    isConnected: () => child.connected,
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('disconnect', () => h.gone(w));
  child.on('exit', () => h.gone(w));
  await new Promise<void>((resolve) => {
    child.on('message', (m: { type: string; id?: number }) => {
      if (m.type === 'skiff-ingress-accepting') {
        h.accepting(w);
        if (opts.synced) h.synced(w);
        resolve();
      } else if (m.type === 'skiff-ingress-conn-ack' && m.id !== undefined) h.acked(w, m.id);
    });
  });
  return { child, exited };
}

/** A listener whose connections go to the hand-off. */
async function listen(h: ConnectionHandOff): Promise<{ port: number; close: () => void }> {
  const server = net.createServer({ pauseOnConnect: true }, (s) => h.offer(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, close: () => server.close() };
}

/** Connects, sends a line and collects everything until the server closes (or 5 s pass). */
function exchange(port: number): { socket: net.Socket; answer: Promise<string> } {
  const socket = net.connect(port, '127.0.0.1');
  socket.write('ping\n');
  const answer = new Promise<string>((resolve, reject) => {
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString();
    });
    socket.on('close', () => resolve(got));
    socket.on('error', () => resolve(got));
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error(`no answer within 5 s (got ${JSON.stringify(got)})`));
    });
  });
  return { socket, answer };
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('a connection sent to a worker that dies before reading it goes to the standby', async () => {
  const h = new ConnectionHandOff({ serving: 1 });
  const srv = await listen(h);
  try {
    const a = await startWorker(h, 'serve', 'a', { synced: true });
    await startWorker(h, 'serve', 'b');
    // A stopped worker cannot read its channel: the handle stays unread (and unacknowledged at
    // node's level too, the case where node emits 'exit' but never 'disconnect').
    a.child.kill('SIGSTOP');
    const { answer } = exchange(srv.port);
    await until('the hand-off to a', () => h.counters().unacked === 1);
    a.child.kill('SIGKILL');
    await a.exited;
    assert.equal(await answer, 'from b');
    const c = h.counters();
    assert.equal(c.requeued, 1);
    assert.equal(c.acked, 1);
    assert.equal(c.unacked, 0);
    assert.equal(c.serving, 1);
  } finally {
    h.close();
    srv.close();
  }
});

test('a worker that dies after receiving a connection but before its ack gives it back', async () => {
  const h = new ConnectionHandOff({ serving: 1 });
  const srv = await listen(h);
  try {
    await startWorker(h, 'die-before-ack', 'a', { synced: true });
    await startWorker(h, 'serve', 'b');
    assert.equal(await exchange(srv.port).answer, 'from b');
    assert.equal(h.counters().requeued, 1);
  } finally {
    h.close();
    srv.close();
  }
});

test('an acknowledged connection is never handed again: it dies with its worker', async () => {
  const h = new ConnectionHandOff({ serving: 1 });
  const srv = await listen(h);
  try {
    const a = await startWorker(h, 'ack-then-die', 'a', { synced: true });
    await startWorker(h, 'serve', 'b');
    const { answer } = exchange(srv.port);
    await a.exited;
    // The client sees the connection closed with no answer (a real loss, counted by clients).
    assert.equal(await answer, '');
    const c = h.counters();
    assert.equal(c.requeued, 0);
    assert.equal(c.acked, 1);
    assert.equal(c.handed, 1);
  } finally {
    h.close();
    srv.close();
  }
});

test('connections wait while no worker accepts, synced workers are preferred', async () => {
  const h = new ConnectionHandOff({ serving: 1 });
  const srv = await listen(h);
  try {
    const first = exchange(srv.port);
    await until('the queued connection', () => h.counters().queued === 1);
    await startWorker(h, 'serve', 'a');
    assert.equal(await first.answer, 'from a');
    await startWorker(h, 'serve', 'b', { synced: true });
    assert.equal(await exchange(srv.port).answer, 'from b');
    assert.deepEqual(
      { ...h.counters(), queued: 0 },
      {
        accepted: 2,
        handed: 2,
        acked: 2,
        requeued: 0,
        refused: 0,
        queued: 0,
        unacked: 0,
        serving: 1,
      },
    );
  } finally {
    h.close();
    srv.close();
  }
});
