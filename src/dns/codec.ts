// A small DNS wire codec (RFC 1035 §4): header, questions and resource records, with name
// decompression on read and plain (uncompressed) names on write.

/** Record types Skiff's DNS knows by name. */
export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  ANY: 255,
} as const;

/** Response codes. */
export const RCode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;

/** Header flag bits. */
export const Flags = { QR: 0x8000, AA: 0x0400, TC: 0x0200, RD: 0x0100, RA: 0x0080 } as const;

/** One question. */
export interface Question {
  /** Lower-case, without the trailing dot. */
  name: string;
  type: number;
  class: number;
}

/** One resource record; `data` is the raw RDATA. */
export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: Buffer;
}

/** A whole message. */
export interface Message {
  id: number;
  flags: number;
  questions: Question[];
  answers: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
}

function readName(buf: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = start;
  let next = -1;
  // Bound the number of jumps so a pointer loop cannot spin forever.
  for (let hops = 0; hops < 128; hops++) {
    if (pos >= buf.length) throw new RangeError('DNS name runs past the message');
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      return { name: labels.join('.').toLowerCase(), next };
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new RangeError('Truncated DNS name pointer');
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if (len > 63 || pos + 1 + len > buf.length) throw new RangeError('Invalid DNS label');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  throw new RangeError('Too many DNS name pointers');
}

/** Encodes a domain name as labels (no compression). */
export function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  const out: Buffer[] = [];
  for (const p of parts) {
    const b = Buffer.from(p, 'latin1');
    if (b.length > 63) throw new RangeError(`DNS label too long: "${p}"`);
    out.push(Buffer.from([b.length]), b);
  }
  out.push(Buffer.from([0]));
  return Buffer.concat(out);
}

function readRecords(buf: Buffer, pos: number, count: number) {
  const records: ResourceRecord[] = [];
  for (let i = 0; i < count; i++) {
    const { name, next } = readName(buf, pos);
    if (next + 10 > buf.length) throw new RangeError('Truncated DNS record');
    const rdlen = buf.readUInt16BE(next + 8);
    if (next + 10 + rdlen > buf.length) throw new RangeError('Truncated DNS record data');
    records.push({
      name,
      type: buf.readUInt16BE(next),
      class: buf.readUInt16BE(next + 2),
      ttl: buf.readUInt32BE(next + 4),
      data: buf.subarray(next + 10, next + 10 + rdlen),
    });
    pos = next + 10 + rdlen;
  }
  return { records, pos };
}

/** Decodes a message; throws RangeError on malformed input. */
export function decodeMessage(buf: Buffer): Message {
  if (buf.length < 12) throw new RangeError('DNS message shorter than its header');
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  let pos = 12;
  const questions: Question[] = [];
  for (let i = 0; i < qd; i++) {
    const { name, next } = readName(buf, pos);
    if (next + 4 > buf.length) throw new RangeError('Truncated DNS question');
    questions.push({ name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) });
    pos = next + 4;
  }
  const answers = readRecords(buf, pos, an);
  const authority = readRecords(buf, answers.pos, ns);
  const additional = readRecords(buf, authority.pos, ar);
  return {
    id: buf.readUInt16BE(0),
    flags: buf.readUInt16BE(2),
    questions,
    answers: answers.records,
    authority: authority.records,
    additional: additional.records,
  };
}

function encodeRecord(r: ResourceRecord): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(r.type, 0);
  fixed.writeUInt16BE(r.class, 2);
  fixed.writeUInt32BE(r.ttl, 4);
  fixed.writeUInt16BE(r.data.length, 8);
  return Buffer.concat([encodeName(r.name), fixed, r.data]);
}

/** Encodes a message. */
export function encodeMessage(m: Message): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(m.id, 0);
  header.writeUInt16BE(m.flags, 2);
  header.writeUInt16BE(m.questions.length, 4);
  header.writeUInt16BE(m.answers.length, 6);
  header.writeUInt16BE(m.authority.length, 8);
  header.writeUInt16BE(m.additional.length, 10);
  const parts: Buffer[] = [header];
  for (const q of m.questions) {
    const t = Buffer.alloc(4);
    t.writeUInt16BE(q.type, 0);
    t.writeUInt16BE(q.class, 2);
    parts.push(encodeName(q.name), t);
  }
  for (const r of [...m.answers, ...m.authority, ...m.additional]) parts.push(encodeRecord(r));
  return Buffer.concat(parts);
}

/** An A record. */
export function aRecord(name: string, ip: string, ttl: number): ResourceRecord {
  const data = Buffer.from(ip.split('.').map((x) => Number(x)));
  if (data.length !== 4) throw new TypeError(`Not an IPv4 address: "${ip}"`);
  return { name, type: RRType.A, class: 1, ttl, data };
}

/** A record whose RDATA is one domain name (PTR, CNAME). */
export function nameRecord(name: string, type: number, target: string, ttl: number) {
  return { name, type, class: 1, ttl, data: encodeName(target) } satisfies ResourceRecord;
}

/** The SOA record returned in the authority section of negative answers. */
export function soaRecord(zone: string, ttl: number, serial: number): ResourceRecord {
  const nums = Buffer.alloc(20);
  nums.writeUInt32BE(serial >>> 0, 0);
  nums.writeUInt32BE(7200, 4); // refresh
  nums.writeUInt32BE(1800, 8); // retry
  nums.writeUInt32BE(86400, 12); // expire
  nums.writeUInt32BE(ttl, 16); // minimum (negative-caching TTL)
  const data = Buffer.concat([
    encodeName(`ns.dns.${zone}`),
    encodeName(`hostmaster.${zone}`),
    nums,
  ]);
  return { name: zone, type: RRType.SOA, class: 1, ttl, data };
}

/** Reads the IPv4 address out of an A record. */
export function aRecordIP(r: ResourceRecord): string {
  return [...r.data].join('.');
}

/** Builds a query message (used by tests and health checks). */
export function encodeQuery(id: number, name: string, type: number): Buffer {
  return encodeMessage({
    id,
    flags: Flags.RD,
    questions: [{ name, type, class: 1 }],
    answers: [],
    authority: [],
    additional: [],
  });
}
