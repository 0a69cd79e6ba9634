// Helpers of the API bad-input suites: a seeded PRNG (print the seed, rerun with FUZZ_SEED), raw
// HTTP requests with a hang deadline, a metav1.Status checker and body mutators.
import assert from 'node:assert/strict';
import http from 'node:http';

/** A deterministic PRNG (mulberry32); the same seed gives the same run. */
export class Prng {
  #state: number;
  readonly seed: number;

  constructor(opts: { seed: number }) {
    this.seed = opts.seed >>> 0;
    this.#state = this.seed;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A random element of a non-empty array. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** n random bytes. */
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

/** The seed of this run: FUZZ_SEED, or a fresh one (printed by the suites). */
export function fuzzSeed(): number {
  const env = process.env['FUZZ_SEED'];
  if (env !== undefined && env !== '') return Number(env) >>> 0;
  return Math.floor(Math.random() * 2 ** 32);
}

/** A buffered HTTP answer. */
export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A raw request: any method, path, headers and body (Buffer/string/object→JSON). */
export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string | object;
  /** A request taking longer is a hang: the promise rejects. */
  timeoutMs?: number;
  /**
   * A watch: resolve as soon as the headers arrive; a 200 stream is cut (its body left empty)
   * so that a watch the server wrongly accepts does not look like a hang.
   */
  isWatch?: boolean;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** Sends a request to base (http://127.0.0.1:port) and buffers the answer. */
export function send(base: string, r: RawRequest): Promise<Answer> {
  const url = new URL(r.path, base);
  let payload: Buffer | undefined;
  if (Buffer.isBuffer(r.body)) payload = r.body;
  else if (typeof r.body === 'string') payload = Buffer.from(r.body);
  else if (r.body !== undefined) payload = Buffer.from(JSON.stringify(r.body));
  const headers: Record<string, string> = { Accept: 'application/json', ...r.headers };
  if (payload && headers['Content-Type'] === undefined)
    headers['Content-Type'] = 'application/json';
  if (payload && headers['Transfer-Encoding'] === undefined)
    headers['Content-Length'] = String(payload.length);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: r.method ?? 'GET', headers, agent }, (res) => {
      if (r.isWatch && res.statusCode === 200) {
        resolve({ status: 200, headers: res.headers, body: Buffer.alloc(0) });
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(r.timeoutMs ?? 10_000, () =>
      req.destroy(new Error(`Request hung: ${r.method ?? 'GET'} ${r.path}`)),
    );
    req.end(payload);
  });
}

/** Closes the helper's keep-alive sockets (call in `after`). */
export function closeAgent(): void {
  agent.destroy();
}

const reasons = new Set([
  'NotFound',
  'AlreadyExists',
  'Conflict',
  'Invalid',
  'BadRequest',
  'Unauthorized',
  'Forbidden',
  'MethodNotAllowed',
  'NotAcceptable',
  'UnsupportedMediaType',
  'RequestEntityTooLarge',
  'Expired',
  'Gone',
  'Timeout',
  'ServiceUnavailable',
  'InternalError',
]);

/** A parsed metav1.Status failure body. */
export interface StatusBody {
  kind: string;
  apiVersion: string;
  status: string;
  code: number;
  reason: string;
  message: string;
  details?: { causes?: { field?: string; message?: string; reason?: string }[] };
}

/** Asserts a well-formed metav1.Status failure with the HTTP code (and reason when given). */
export function assertStatus(
  a: Answer,
  code: number | ((c: number) => boolean),
  reason?: string,
  what = '',
): StatusBody {
  const ctx = `${what} → ${a.status} ${a.body.toString('utf8').slice(0, 300)}`;
  if (typeof code === 'number') assert.equal(a.status, code, ctx);
  else assert.ok(code(a.status), `unexpected code: ${ctx}`);
  assert.match(String(a.headers['content-type']), /^application\/json/, ctx);
  let s: StatusBody;
  try {
    s = JSON.parse(a.body.toString('utf8')) as StatusBody;
  } catch (err) {
    assert.fail(`not JSON (${String(err)}): ${ctx}`);
  }
  assert.equal(s.kind, 'Status', ctx);
  assert.equal(s.apiVersion, 'v1', ctx);
  assert.equal(s.status, 'Failure', ctx);
  assert.equal(s.code, a.status, ctx);
  assert.ok(reasons.has(s.reason), `unknown reason: ${ctx}`);
  assert.equal(typeof s.message, 'string', ctx);
  assert.ok(s.message.length > 0, ctx);
  if (reason !== undefined) assert.equal(s.reason, reason, ctx);
  return s;
}

/** Asserts the answer is a client error (4xx) rendered as a Status: bad input, never a 5xx. */
export function assertClientError(a: Answer, what = ''): StatusBody {
  return assertStatus(a, (c) => c >= 400 && c < 500, undefined, what);
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path (list of keys/indexes) to a node of a JSON value, the root included. */
function paths(
  v: Json,
  at: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) paths(x, [...at, i], out);
  } else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function setAt(root: Json, path: (string | number)[], value: Json | undefined): Json {
  if (path.length === 0) return value ?? null;
  let node = root as Record<string | number, Json>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else node[last] = value;
  return root;
}

/** A value of another JSON type than v (the "flip types" mutation). */
function otherType(prng: Prng, v: Json): Json {
  const options: Json[] = [
    null,
    true,
    0,
    -1,
    1.5,
    2 ** 53 + 1,
    '',
    'x'.repeat(prng.int(300)),
    '100Mi',
    [],
    [1, 'a'],
    {},
    { a: { b: 'c' } },
  ];
  const different = options.filter(
    (o) => typeof o !== typeof v || Array.isArray(o) !== Array.isArray(v),
  );
  return prng.pick(different.length ? different : options);
}

/** The mutation kinds of mutateObject. */
export const objectMutations = ['flip', 'drop', 'add', 'dup-array', 'rename'] as const;

/** A structurally mutated deep copy of a JSON object (types flipped, fields dropped/added...). */
export function mutateObject(prng: Prng, obj: object, rounds = 1 + prng.int(3)): Json {
  let v = structuredClone(obj) as Json;
  for (let i = 0; i < rounds; i++) {
    const all = paths(v);
    const p = prng.pick(all);
    const kind = prng.pick(objectMutations);
    const node = p.reduce<Json>((n, k) => (n as Record<string | number, Json>)[k]!, v);
    switch (kind) {
      case 'flip':
        v = setAt(v, p, otherType(prng, node));
        break;
      case 'drop':
        if (p.length > 0) v = setAt(v, p, undefined);
        break;
      case 'add':
        if (node !== null && typeof node === 'object' && !Array.isArray(node))
          node[prng.pick(['bogus', 'spec', 'metadata', '$patch', 'kind', '__proto__'])] = otherType(
            prng,
            null,
          );
        break;
      case 'dup-array':
        if (Array.isArray(node) && node.length > 0) node.push(structuredClone(node[0]!));
        break;
      case 'rename':
        if (p.length > 0 && typeof p[p.length - 1] === 'string') {
          v = setAt(v, p, undefined);
          v = setAt(v, [...p.slice(0, -1), `${String(p[p.length - 1])}X`], node);
        }
        break;
    }
  }
  return v;
}

/** The byte-level mutation kinds of mutateBytes. */
export const byteMutations = ['truncate', 'flip-bytes', 'insert', 'random', 'empty'] as const;

/** A byte-level mutation of a serialized body (truncated, flipped, random...). */
export function mutateBytes(prng: Prng, buf: Buffer): Buffer {
  const kind = prng.pick(byteMutations);
  switch (kind) {
    case 'truncate':
      return buf.subarray(0, prng.int(buf.length));
    case 'flip-bytes': {
      const b = Buffer.from(buf);
      for (let i = 0, n = 1 + prng.int(8); i < n && b.length; i++)
        b[prng.int(b.length)] = prng.int(256);
      return b;
    }
    case 'insert': {
      const at = prng.int(buf.length + 1);
      return Buffer.concat([buf.subarray(0, at), prng.bytes(1 + prng.int(16)), buf.subarray(at)]);
    }
    case 'random':
      return prng.bytes(prng.int(512));
    case 'empty':
      return Buffer.alloc(0);
  }
}

/**
 * Collects assertion failures of many cases so one run reports every failing input, not only the
 * first; call done() at the end of the test.
 */
export class Failures {
  #messages: string[] = [];

  /** Runs a check, recording its failure instead of throwing. */
  check(fn: () => unknown): void {
    try {
      fn();
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      this.#messages.push(text.replace(/\s+/g, ' ').slice(0, 400));
    }
  }

  /** Throws one AssertionError listing every recorded failure. */
  done(): void {
    if (this.#messages.length === 0) return;
    assert.fail(`${this.#messages.length} failing case(s):\n  ${this.#messages.join('\n  ')}`);
  }
}
