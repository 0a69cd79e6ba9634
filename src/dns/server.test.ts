// Tests of the DNS codec, the zone resolver, and the server over real UDP/TCP on loopback,
// including forwarding to a fake upstream.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import {
  aRecord,
  aRecordIP,
  decodeMessage,
  encodeMessage,
  encodeQuery,
  Flags,
  type Message,
  RCode,
  RRType,
} from './codec.js';
import { resolveInZone, type ServiceRecordSource } from './resolver.js';
import { createClusterDNS, parseResolvConf } from './server.js';

const source: ServiceRecordSource = {
  service(ns, name) {
    if (ns === 'default' && name === 'hello-world-flask') {
      return { clusterIP: '10.96.0.42', endpoints: [] };
    }
    if (ns === 'default' && name === 'db') {
      return {
        endpoints: [{ ip: '10.244.0.7', hostname: 'db-0' }, { ip: '10.244.0.8' }],
      };
    }
    return undefined;
  },
};
const zoneOpts = { zone: 'cluster.local', ttl: 5 };

describe('codec', () => {
  test('round-trips a query and an answer, and follows name pointers', () => {
    const q = decodeMessage(encodeQuery(7, 'Web.Default.svc.cluster.local.', RRType.A));
    assert.equal(q.id, 7);
    assert.deepEqual(q.questions, [{ name: 'web.default.svc.cluster.local', type: 1, class: 1 }]);
    // A hand-made answer whose record name is a pointer to the question (offset 12).
    const head = encodeQuery(9, 'a.b', RRType.A);
    const rr = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 1, 2, 3, 4]);
    const msg = Buffer.concat([head, rr]);
    msg.writeUInt16BE(1, 6);
    const m = decodeMessage(msg);
    assert.equal(m.answers[0]?.name, 'a.b');
    assert.equal(aRecordIP(m.answers[0]!), '1.2.3.4');
  });

  test('rejects malformed input with RangeError', () => {
    assert.throws(() => decodeMessage(Buffer.from([1, 2, 3])), RangeError);
    const loop = Buffer.concat([encodeQuery(1, 'x', 1).subarray(0, 12), Buffer.from([0xc0, 12])]);
    assert.throws(() => decodeMessage(loop), RangeError);
  });
});

describe('resolveInZone', () => {
  const cases: [string, number, number, string[]][] = [
    ['hello-world-flask.default.svc.cluster.local', RRType.A, RCode.NOERROR, ['10.96.0.42']],
    ['HELLO-world-flask.default.svc.cluster.local.', RRType.A, RCode.NOERROR, ['10.96.0.42']],
    ['hello-world-flask.default.svc.cluster.local', RRType.AAAA, RCode.NOERROR, []],
    ['db.default.svc.cluster.local', RRType.A, RCode.NOERROR, ['10.244.0.7', '10.244.0.8']],
    ['db-0.db.default.svc.cluster.local', RRType.A, RCode.NOERROR, ['10.244.0.7']],
    ['nope.default.svc.cluster.local', RRType.A, RCode.NXDOMAIN, []],
    ['hello-world-flask.other.svc.cluster.local', RRType.A, RCode.NXDOMAIN, []],
    ['google.com.default.svc.cluster.local', RRType.A, RCode.NXDOMAIN, []],
    ['10-244-0-9.default.pod.cluster.local', RRType.A, RCode.NOERROR, ['10.244.0.9']],
    ['default.svc.cluster.local', RRType.A, RCode.NOERROR, []],
    ['x.cluster.local', RRType.A, RCode.NXDOMAIN, []],
  ];
  for (const [name, type, rcode, ips] of cases) {
    test(`${name} type ${type} → rcode ${rcode} ${ips.join(',')}`, () => {
      const a = resolveInZone(name, type, source, zoneOpts)!;
      assert.equal(a.rcode, rcode);
      assert.deepEqual(a.answers.map(aRecordIP), ips);
    });
  }
  test('names outside the zone are not answered (forwarded)', () => {
    assert.equal(resolveInZone('example.com', RRType.A, source, zoneOpts), undefined);
  });
});

test('parseResolvConf keeps IPv4 nameservers', () => {
  assert.deepEqual(parseResolvConf('search x\nnameserver 10.0.0.1\nnameserver ::1\n'), [
    '10.0.0.1',
  ]);
});

function udpQuery(port: number, name: string, type: number): Promise<Message> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.on('message', (m) => {
      s.close();
      resolve(decodeMessage(m));
    });
    s.on('error', reject);
    s.send(encodeQuery(4242, name, type), port, '127.0.0.1');
  });
}

function tcpQuery(port: number, name: string, type: number): Promise<Message> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => {
      const q = encodeQuery(77, name, type);
      const p = Buffer.alloc(2);
      p.writeUInt16BE(q.length);
      c.write(Buffer.concat([p, q]));
    });
    let buf = Buffer.alloc(0);
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        c.end();
        resolve(decodeMessage(buf.subarray(2)));
      }
    });
    c.on('error', reject);
  });
}

describe('cluster DNS server', () => {
  test('answers the zone over UDP and TCP and forwards the rest', async () => {
    // A fake upstream that answers every A query with 192.0.2.77.
    const upstream = dgram.createSocket('udp4');
    upstream.on('message', (m, r) => {
      const q = decodeMessage(m);
      const a = encodeMessage({
        id: q.id,
        flags: Flags.QR | Flags.RA,
        questions: q.questions,
        answers: [aRecord(q.questions[0]!.name, '192.0.2.77', 30)],
        authority: [],
        additional: [],
      });
      upstream.send(a, r.port, r.address);
    });
    await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', r));
    after(() => upstream.close());

    const ac = new AbortController();
    const dns = createClusterDNS({
      source,
      listenIP: '127.0.0.1',
      port: 0,
      upstreams: [`127.0.0.1:${upstream.address().port}`],
      manageAddress: false,
    });
    await dns.start(ac.signal);
    after(async () => {
      ac.abort();
      await dns.stopped?.();
    });

    const a = await udpQuery(dns.boundPort, 'hello-world-flask.default.svc.cluster.local', 1);
    assert.equal(a.id, 4242);
    assert.equal(a.flags & 0xf, RCode.NOERROR);
    assert.ok(a.flags & Flags.AA);
    assert.deepEqual(a.answers.map(aRecordIP), ['10.96.0.42']);

    const nx = await udpQuery(dns.boundPort, 'missing.default.svc.cluster.local', 1);
    assert.equal(nx.flags & 0xf, RCode.NXDOMAIN);
    assert.equal(nx.authority[0]?.type, RRType.SOA);

    const t = await tcpQuery(dns.boundPort, 'db.default.svc.cluster.local', 1);
    assert.deepEqual(t.answers.map(aRecordIP), ['10.244.0.7', '10.244.0.8']);

    const f = await udpQuery(dns.boundPort, 'example.com', 1);
    assert.equal(f.id, 4242);
    assert.deepEqual(f.answers.map(aRecordIP), ['192.0.2.77']);
  });
});
