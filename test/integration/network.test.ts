// Networking end to end under `skiff up` with the real kubectl: ClusterIP from the host and from a
// pod, cluster DNS and service env vars inside pods, NodePort, ingress Exact vs Prefix paths,
// 404/503, /stats, an Upgrade (WebSocket-style) connection to a pod through the ingress, and no
// failed request while a backend pod is deleted under load.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { eventually, freePort, run, type SkiffUnderTest, startSkiff } from './harness.js';

let skiff: SkiffUnderTest;
let base: string;
let statusPort: number;
let clusterIP: string;

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** One GET: status and body, or status -1 on a transport error. */
function get(url: string, fresh = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    // A ClusterIP balances connections, not requests: `fresh` opens one per request.
    const req = http.get(url, { agent: fresh ? false : agent, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: -1, body: '' }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: -1, body: '' }));
  });
}

const podOf = (body: string): string => body.trim().split(' ').pop() ?? '';

async function exec(pod: string, script: string): Promise<string> {
  return skiff.kubectlOk(['exec', pod, '--', 'bash', '-c', script], { timeoutMs: 30_000 });
}

async function runningPods(app: string): Promise<string[]> {
  const out = await skiff.kubectlOk([
    'get',
    'pods',
    '-l',
    `app=${app}`,
    '--field-selector=status.phase==Running',
    '-o',
    'jsonpath={.items[*].metadata.name}',
  ]);
  return out.split(' ').filter(Boolean);
}

before(async () => {
  statusPort = await freePort();
  skiff = await startSkiff({
    args: ['--ingress-status-port', String(statusPort), '--dashboard-port', '0'],
  });
  base = `http://127.0.0.1:${skiff.ingressPort}`;
  // The Service first, so the pods get its environment variables.
  await skiff.kubectlOk(['create', 'service', 'clusterip', 'hello-world-flask', '--tcp=5000:5000']);
  await skiff.kubectlOk(['create', 'service', 'clusterip', 'hello-two', '--tcp=5000:5000']);
  await skiff.kubectlOk([
    'create',
    'deployment',
    'hello-world-flask',
    '--image=lyzhang1999/hello-world-flask:latest',
    '--replicas=2',
  ]);
  await skiff.kubectlOk([
    'create',
    'deployment',
    'hello-two',
    '--image=lyzhang1999/hello-world-flask:latest',
    '--replicas=1',
  ]);
  for (const d of ['hello-world-flask', 'hello-two'])
    await skiff.kubectlOk(['rollout', 'status', 'deployment', d, '--timeout=90s'], {
      timeoutMs: 100_000,
    });
  clusterIP = await skiff.kubectlOk([
    'get',
    'service',
    'hello-world-flask',
    '-o',
    'jsonpath={.spec.clusterIP}',
  ]);
});
after(async () => {
  agent.destroy();
  await skiff?.stop();
});

test('ClusterIP answers from the host, alternating between the two pods', async () => {
  assert.match(clusterIP, /^10\.\d+\.\d+\.\d+$/);
  const seen = new Set<string>();
  const misses: number[] = [];
  await eventually(
    async () => {
      const r = await get(`http://${clusterIP}:5000/`, true);
      if (r.status === 200) seen.add(podOf(r.body));
      else misses.push(r.status);
      return seen.size === 2;
    },
    { what: 'both pods through the ClusterIP', timeoutMs: 20_000, intervalMs: 20 },
  );
  for (const p of seen) assert.match(p, /^hello-world-flask-/);
  if (misses.length)
    process.stdout.write(`# ClusterIP misses before both answered: ${misses.length}\n`);
});

test('ClusterIP, short name and FQDN answer from inside a pod', async () => {
  const [pod] = await runningPods('hello-two');
  assert.ok(pod);
  const hello = /^Hello, my first docker images! hello-world-flask-\S+$/;
  for (const host of [
    clusterIP,
    'hello-world-flask',
    'hello-world-flask.default',
    'hello-world-flask.default.svc.cluster.local',
  ]) {
    const out = await exec(pod, `curl -s -m 5 http://${host}:5000/`);
    assert.match(out.trim(), hello, `curl ${host}`);
  }
  const dns = await exec(pod, 'getent hosts hello-world-flask.default.svc.cluster.local');
  assert.equal(dns.trim().split(/\s+/)[0], clusterIP);
});

test('pods get the environment variables of Services created before them', async () => {
  const [pod] = await runningPods('hello-two');
  assert.ok(pod);
  const out = await exec(
    pod,
    'echo $HELLO_WORLD_FLASK_SERVICE_HOST $HELLO_WORLD_FLASK_SERVICE_PORT $HELLO_WORLD_FLASK_PORT',
  );
  assert.equal(out.trim(), `${clusterIP} 5000 tcp://${clusterIP}:5000`);
});

test('NodePort answers on the host', async () => {
  await skiff.kubectlOk([
    'expose',
    'deployment',
    'hello-world-flask',
    '--type=NodePort',
    '--name=hello-np',
    '--port=5000',
  ]);
  const nodePort = Number(
    await skiff.kubectlOk(['get', 'svc', 'hello-np', '-o', 'jsonpath={.spec.ports[0].nodePort}']),
  );
  assert.ok(nodePort >= 30000 && nodePort <= 32767, String(nodePort));
  const r = await eventually(
    async () => {
      const res = await get(`http://127.0.0.1:${nodePort}/`, true);
      return res.status === 200 ? res : undefined;
    },
    { what: 'the NodePort to answer', timeoutMs: 20_000 },
  );
  assert.match(podOf(r.body), /^hello-world-flask-/);
});

test('ingress: Exact beats Prefix at equal length, Prefix is element-wise, 404 without a match', async () => {
  // Two Ingresses on the same path: Exact to one backend, Prefix (kubectl's "*") to the other.
  await skiff.kubectlOk(['create', 'ingress', 'exact-path', '--rule=/same=hello-two:5000']);
  await skiff.kubectlOk([
    'create',
    'ingress',
    'prefix-path',
    '--rule=/same*=hello-world-flask:5000',
  ]);
  const owner = async (path: string) => {
    const r = await get(`${base}${path}`);
    return r.status === 200 ? podOf(r.body).replace(/-[0-9a-z]+-[0-9a-z]{5}$/, '') : r.status;
  };
  await eventually(async () => (await owner('/same/x')) === 'hello-world-flask', {
    what: 'the Prefix route',
    timeoutMs: 20_000,
  });
  await eventually(async () => (await owner('/same')) === 'hello-two', {
    what: 'the Exact route',
    timeoutMs: 20_000,
  });
  assert.equal(await owner('/same/'), 'hello-world-flask');
  assert.equal(await owner('/same?q=1'), 'hello-two');
  const miss = await get(`${base}/samex`);
  assert.equal(miss.status, 404);
  assert.equal(miss.body, 'default backend - 404');
  assert.equal((await get(`${base}/other`)).status, 404);
  const status = await skiff.kubectlOk([
    'get',
    'ingress',
    'exact-path',
    '-o',
    'jsonpath={.status.loadBalancer.ingress[0].ip}',
  ]);
  assert.equal(status, '127.0.0.1');
});

test('the ingress serves loopback and the pod bridge, not every address', async () => {
  const cidr = await skiff.kubectlOk(['get', 'nodes', '-o', 'jsonpath={.items[0].spec.podCIDR}']);
  const bridgeIP = cidr.replace(/\.0\/\d+$/, '.1');
  const [pod] = await runningPods('hello-two');
  assert.ok(pod);
  const out = await exec(pod, `curl -s -m 5 http://${bridgeIP}:${skiff.ingressPort}/same/x`);
  assert.match(out.trim(), /^Hello, my first docker images! hello-world-flask-/);
  const ss = await run('ss', ['-Hltn', `sport = :${skiff.ingressPort}`]);
  const locals = ss.stdout
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[3]);
  assert.deepEqual(
    locals.sort(),
    [`${bridgeIP}:${skiff.ingressPort}`, `127.0.0.1:${skiff.ingressPort}`].sort(),
  );
});

test('ingress: 503 when the backend has no ready endpoint, back when it scales up', async () => {
  await skiff.kubectlOk(['scale', 'deployment', 'hello-two', '--replicas=0']);
  const r = await eventually(
    async () => {
      const res = await get(`${base}/same`);
      return res.status === 503 ? res : undefined;
    },
    { what: '503 for a backend scaled to 0', timeoutMs: 30_000 },
  );
  assert.match(r.body, /503 Service Temporarily Unavailable/);
  await skiff.kubectlOk(['scale', 'deployment', 'hello-two', '--replicas=1']);
  await eventually(async () => (await get(`${base}/same`)).status === 200, {
    what: 'the backend back',
    timeoutMs: 60_000,
  });
});

test('ingress /stats counts requests, status classes and latency', async () => {
  const stats = async () => {
    const r = await get(`http://127.0.0.1:${statusPort}/stats`);
    assert.equal(r.status, 200);
    return JSON.parse(r.body) as {
      requests: number;
      errors: number;
      latencyMs: { p50: number; p90: number; p99: number };
      status: Record<string, number>;
    };
  };
  const before = await stats();
  for (let i = 0; i < 20; i++) assert.equal((await get(`${base}/same/stats`)).status, 200);
  assert.equal((await get(`${base}/nothing-here`)).status, 404);
  const after = await eventually(
    async () => {
      const s = await stats();
      return s.requests >= before.requests + 21 ? s : undefined;
    },
    { what: 'the counters to move', timeoutMs: 10_000 },
  );
  assert.ok((after.status['2xx'] ?? 0) >= (before.status['2xx'] ?? 0) + 20);
  assert.ok((after.status['4xx'] ?? 0) >= (before.status['4xx'] ?? 0) + 1);
  assert.ok(after.latencyMs.p50 > 0 && after.latencyMs.p50 <= after.latencyMs.p99);
});

/** A pod app on 8080: an `Upgrade: echo` gets a 101, then every byte back upper-cased. */
const upgradeEchoApp = `
import socket, threading
def serve(c):
    h = b""
    while b"\\r\\n\\r\\n" not in h:
        d = c.recv(4096)
        if not d:
            return c.close()
        h += d
    head, rest = h.split(b"\\r\\n\\r\\n", 1)
    if b"\\nupgrade: echo" in head.lower():
        c.sendall(b"HTTP/1.1 101 Switching Protocols\\r\\nConnection: Upgrade\\r\\nUpgrade: echo\\r\\n\\r\\n" + rest.upper())
        while True:
            d = c.recv(4096)
            if not d:
                break
            c.sendall(d.upper())
    else:
        c.sendall(b"HTTP/1.1 426 Upgrade Required\\r\\nContent-Length: 0\\r\\n\\r\\n")
    c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080))
s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
`;

/**
 * Upgrades a connection through the ingress and sends `words` one at a time: what came back
 * (the 101's status line first), or the first line of any other answer. Bounded: 5 s in all.
 */
function upgradeEcho(port: number, path: string, words: string[]): Promise<string[]> {
  return new Promise((resolve) => {
    const got: string[] = [];
    const sock = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => sock.destroy(), 5000);
    let buf = '';
    let upgraded = false;
    sock.setEncoding('utf8');
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    sock.on('error', () => undefined);
    sock.on('data', (d: string) => {
      buf += d;
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        got.push(buf.slice(0, buf.indexOf('\r\n')));
        buf = buf.slice(end + 4);
        if (!got[0]?.startsWith('HTTP/1.1 101')) return sock.destroy();
        upgraded = true;
      }
      const want = words[got.length - 1];
      if (want !== undefined && buf.length >= want.length) {
        got.push(buf.slice(0, want.length));
        buf = buf.slice(want.length);
      }
      const next = words[got.length - 1];
      if (next === undefined) sock.end();
      else if (buf.length === 0) sock.write(next);
    });
    sock.write(
      `GET ${path} HTTP/1.1\r\nHost: ws.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n`,
    );
  });
}

test('an Upgrade through the ingress reaches the pod and streams both ways', async () => {
  await skiff.kubectlOk(['create', 'service', 'clusterip', 'ws-echo', '--tcp=8080:8080']);
  await skiff.kubectlOk([
    'create',
    'deployment',
    'ws-echo',
    '--image=lyzhang1999/hello-world-flask:latest',
    '--',
    'python3',
    '-c',
    upgradeEchoApp,
  ]);
  await skiff.kubectlOk(['create', 'ingress', 'ws-echo', '--rule=/ws*=ws-echo:8080']);
  const words = ['hello', 'through', 'the', 'ingress'];
  let last: string[] = [];
  const got = await eventually(
    async () => {
      last = await upgradeEcho(skiff.ingressPort, '/ws/chat', words);
      return last.length === words.length + 1 ? last : undefined;
    },
    {
      what: 'an upgraded echo through the ingress',
      timeoutMs: 60_000,
      diagnose: async () =>
        `last transcript ${JSON.stringify(last)}\n${(await skiff.kubectl(['get', 'pods,endpointslices,ingress', '-o', 'wide'])).stdout}`,
    },
  );
  assert.deepEqual(got, ['HTTP/1.1 101 Switching Protocols', 'HELLO', 'THROUGH', 'THE', 'INGRESS']);
});

test('deleting a backend pod under load fails no request; its replacement joins', async () => {
  const url = `${base}/same/load`;
  const before = await runningPods('hello-world-flask');
  assert.equal(before.length, 2);
  const [victim] = before;
  assert.ok(victim);
  const stats = { ok: 0, failed: 0, pods: new Map<string, number>(), errors: [] as string[] };
  let running = true;
  // Four concurrent loops, about 200 requests/s in all.
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      const r = await get(url);
      if (r.status === 200) {
        stats.ok++;
        const p = podOf(r.body);
        stats.pods.set(p, (stats.pods.get(p) ?? 0) + 1);
      } else {
        stats.failed++;
        stats.errors.push(`${r.status} ${r.body.slice(0, 80)}`);
      }
      await new Promise((res) => setTimeout(res, 20));
    }
  });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    await skiff.kubectlOk(['delete', 'pod', victim, '--wait=true'], { timeoutMs: 60_000 });
    const replacement = await eventually(
      async () => {
        const now = await runningPods('hello-world-flask');
        return now.find((p) => !before.includes(p));
      },
      { what: 'a replacement pod', timeoutMs: 60_000 },
    );
    await eventually(async () => (stats.pods.get(replacement) ?? 0) > 0, {
      what: `${replacement} to serve through the ingress`,
      timeoutMs: 60_000,
    });
  } finally {
    running = false;
    await Promise.all(loops);
  }
  process.stdout.write(`# ${stats.ok} ok, ${stats.failed} failed while deleting a pod\n`);
  assert.deepEqual(stats.errors, [], 'no failed request');
  assert.ok(stats.ok > 100);
});
