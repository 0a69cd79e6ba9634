// A SPDY/3.1 session over a byte stream (the framing Kubernetes streams use for exec, attach and
// port-forward, also tunnelled inside a websocket): SYN_STREAM/SYN_REPLY open a stream, DATA
// frames carry bytes with FIN as half-close, RST_STREAM aborts one stream, PING is echoed, GOAWAY
// ends the session. Flow control frames are accepted and ignored, as the Go peers (spdystream) do.

import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { spdyDictionary } from './dictionary.js';

const version = 3;
export const frameType = {
  synStream: 1,
  synReply: 2,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goAway: 7,
  headers: 8,
  windowUpdate: 9,
} as const;
const flagFin = 0x01;
/** RST_STREAM status codes used here (draft 3 section 2.6.3). */
export const rstStatus = { protocolError: 1, invalidStream: 2, cancel: 5 } as const;
const maxDataChunk = 32 * 1024;

export type SpdyHeaders = Record<string, string>;

/** One parsed frame: control frames carry `type`, data frames `type` 0. */
export interface SpdyFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** Splits a byte buffer into whole frames; returns the frames and the unconsumed rest. */
export function parseFrames(buf: Buffer): { frames: SpdyFrame[]; rest: Buffer } {
  const frames: SpdyFrame[] = [];
  let off = 0;
  while (buf.length - off >= 8) {
    const length = buf.readUInt32BE(off + 4) & 0xffffff;
    if (buf.length - off < 8 + length) break;
    const flags = buf[off + 4]!;
    const payload = buf.subarray(off + 8, off + 8 + length);
    const word = buf.readUInt32BE(off);
    if (word & 0x80000000) {
      const v = (word >>> 16) & 0x7fff;
      if (v !== version) throw new Error(`unsupported SPDY version ${v}`);
      const type = word & 0xffff;
      // Every control frame that concerns one stream starts with its id; SETTINGS/PING/GOAWAY
      // are session-wide (the id word of GOAWAY is the last good stream, kept in the payload).
      const perStream = type === 1 || type === 2 || type === 3 || type === 8 || type === 9;
      const streamId = perStream && length >= 4 ? payload.readUInt32BE(0) & 0x7fffffff : 0;
      frames.push({ type, flags, streamId, payload });
    } else frames.push({ type: 0, flags, streamId: word & 0x7fffffff, payload });
    off += 8 + length;
  }
  return { frames, rest: buf.subarray(off) };
}

/** Encodes a control frame. */
export function controlFrame(type: number, flags: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE((0x8000 | version) * 0x10000 + type, 0);
  h.writeUInt32BE(flags * 0x1000000 + body.length, 4);
  return Buffer.concat([h, body]);
}

/** Encodes a data frame. */
export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h.writeUInt32BE(flags * 0x1000000 + data.length, 4);
  return Buffer.concat([h, data]);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  for (const [i, v] of values.entries()) b.writeUInt32BE(v >>> 0, i * 4);
  return b;
}

/** The uncompressed name/value block: lower-case names, multiple values joined by NUL. */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers);
  const parts = [u32(entries.length)];
  for (const [k, v] of entries) {
    const name = Buffer.from(k.toLowerCase());
    const value = Buffer.from(v);
    parts.push(u32(name.length), name, u32(value.length), value);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  const out: SpdyHeaders = {};
  const n = block.readUInt32BE(0);
  let off = 4;
  for (let i = 0; i < n; i++) {
    const nl = block.readUInt32BE(off);
    const name = block.subarray(off + 4, off + 4 + nl).toString();
    off += 4 + nl;
    const vl = block.readUInt32BE(off);
    out[name.toLowerCase()] = block.subarray(off + 4, off + 4 + vl).toString();
    off += 4 + vl;
  }
  return out;
}

// Header blocks share one zlib stream per direction for the whole session, each block ending at
// a sync-flush boundary. Node's zlib keeps a context across calls only asynchronously, which
// would reorder frames; so the sender writes its blocks as stored (uncompressed) deflate blocks,
// which every zlib reader accepts, and the receiver re-inflates the session's compressed bytes
// so far (header blocks are tens of bytes; a session is capped) and keeps the new tail.
const maxHeaderBytes = 1 << 20;

class HeaderDeflater {
  #started = false;

  block(raw: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.#started) parts.push(Buffer.from([0x78, 0x01])); // zlib header, no preset dictionary
    this.#started = true;
    for (let i = 0; i === 0 || i < raw.length; i += 0xffff) {
      const chunk = raw.subarray(i, i + 0xffff);
      const h = Buffer.alloc(5);
      h[0] = 0; // BFINAL=0, BTYPE=00 (stored), padded to the byte boundary
      h.writeUInt16LE(chunk.length, 1);
      h.writeUInt16LE(~chunk.length & 0xffff, 3);
      parts.push(h, chunk);
    }
    // End like a sync flush, with an empty stored block: Go's flate reader hands out a block's
    // bytes only when the next block header is already there; without it, it would read past
    // the frame and fail the session.
    parts.push(Buffer.from([0, 0, 0, 0xff, 0xff]));
    return Buffer.concat(parts);
  }
}

class HeaderInflater {
  #input: Buffer = Buffer.alloc(0);
  #outLen = 0;

  block(compressed: Buffer): Buffer {
    this.#input = Buffer.concat([this.#input, compressed]);
    if (this.#input.length > maxHeaderBytes) throw new Error('SPDY header bytes over the cap');
    const out = zlib.inflateSync(this.#input, {
      dictionary: spdyDictionary,
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    const block = out.subarray(this.#outLen);
    this.#outLen = out.length;
    return block;
  }
}

/** One stream of a session: a duplex whose end() sends FIN. */
export class SpdyStream extends Duplex {
  readonly id: number;
  readonly headers: SpdyHeaders;
  #session: SpdySession;
  replied = false;

  constructor(session: SpdySession, id: number, headers: SpdyHeaders) {
    super({ allowHalfOpen: true });
    this.#session = session;
    this.id = id;
    this.headers = headers;
  }

  // Data is pushed as frames arrive; there is nothing to pull.
  override _read(): void {
    return;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let ok = true;
    for (let i = 0; i < chunk.length; i += maxDataChunk) {
      ok = this.#session.writeRaw(dataFrame(this.id, 0, chunk.subarray(i, i + maxDataChunk)));
    }
    // Backpressure: a fast producer (a pod's download) waits for the connection to drain
    // instead of queueing its whole body in memory.
    if (ok) cb();
    else this.#session.whenDrained(() => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#session.writeRaw(dataFrame(this.id, flagFin, Buffer.alloc(0)));
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#session.forget(this, !this.writableFinished || !this.readableEnded);
    cb(err);
  }

  /** Aborts the stream with RST_STREAM(CANCEL). */
  reset(): void {
    this.destroy();
  }
}

/**
 * A SPDY/3.1 session. A server session answers each SYN_STREAM with an empty SYN_REPLY and emits
 * 'stream'; either side may open streams (client ids odd, server ids even).
 */
export class SpdySession extends EventEmitter<{ stream: [SpdyStream]; close: [] }> {
  #socket: Duplex;
  #deflate = new HeaderDeflater();
  #inflate = new HeaderInflater();
  #streams = new Map<number, SpdyStream>();
  #pending: Buffer = Buffer.alloc(0);
  #nextId: number;
  #server: boolean;
  #closed = false;

  constructor(socket: Duplex, opts: { server: boolean }) {
    super();
    this.#socket = socket;
    this.#server = opts.server;
    this.#nextId = opts.server ? 2 : 1;
    socket.on('data', (d: Buffer) => this.#receive(d));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    socket.on('end', () => this.close());
  }

  get streamCount(): number {
    return this.#streams.size;
  }

  /** Writes bytes to the socket unless the session is over. */
  writeRaw(b: Buffer): boolean {
    if (!this.#closed && this.#socket.writable) return this.#socket.write(b);
    return true;
  }

  /** Calls cb once the socket has drained (or at once when the session is over). */
  whenDrained(cb: () => void): void {
    if (this.#closed || !this.#socket.writable) cb();
    else {
      const done = () => {
        this.#socket.off('drain', done);
        this.off('close', done);
        cb();
      };
      this.#socket.on('drain', done);
      this.on('close', done);
    }
  }

  #headerBlock(headers: SpdyHeaders): Buffer {
    return this.#deflate.block(encodeHeaderBlock(headers));
  }

  /** Opens a stream (the client side of exec/port-forward, and tests). */
  openStream(headers: SpdyHeaders): SpdyStream {
    const id = this.#nextId;
    this.#nextId += 2;
    const s = new SpdyStream(this, id, headers);
    this.#streams.set(id, s);
    // stream id, associated stream id, priority/slot, then the header block.
    const body = Buffer.concat([u32(id, 0), Buffer.alloc(2), this.#headerBlock(headers)]);
    this.writeRaw(controlFrame(frameType.synStream, 0, body));
    return s;
  }

  /** Called by a stream as it goes away: reset it if either half is still open. */
  forget(s: SpdyStream, abort: boolean): void {
    if (this.#streams.get(s.id) !== s) return;
    this.#streams.delete(s.id);
    if (abort) this.writeRaw(controlFrame(frameType.rstStream, 0, u32(s.id, rstStatus.cancel)));
  }

  /** Sends GOAWAY and closes the socket; every stream is destroyed. */
  close(): void {
    if (this.#closed) return;
    this.writeRaw(controlFrame(frameType.goAway, 0, u32(0, 0)));
    this.#closed = true;
    for (const s of [...this.#streams.values()]) s.destroy();
    this.#streams.clear();
    // end() lets the frames already written (a final status) drain; destroy if the peer stalls.
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
    this.emit('close');
  }

  #receive(d: Buffer): void {
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, d]) : d;
    let parsed: ReturnType<typeof parseFrames>;
    try {
      parsed = parseFrames(this.#pending);
      this.#pending = Buffer.from(parsed.rest);
      for (const f of parsed.frames) this.#handle(f);
    } catch {
      this.close();
    }
  }

  #handle(f: SpdyFrame): void {
    if (this.#closed) return;
    switch (f.type) {
      case 0:
        this.#onData(f);
        return;
      case frameType.synStream: {
        const headers = decodeHeaderBlock(this.#inflate.block(f.payload.subarray(10)));
        if (this.#streams.has(f.streamId)) {
          this.writeRaw(
            controlFrame(frameType.rstStream, 0, u32(f.streamId, rstStatus.protocolError)),
          );
          return;
        }
        const s = new SpdyStream(this, f.streamId, headers);
        this.#streams.set(f.streamId, s);
        const reply = Buffer.concat([u32(f.streamId), this.#headerBlock({})]);
        this.writeRaw(controlFrame(frameType.synReply, 0, reply));
        s.replied = true;
        if (f.flags & flagFin) s.push(null);
        this.emit('stream', s);
        return;
      }
      case frameType.synReply:
      case frameType.headers: {
        // Keep the inflate context in step even though the reply's headers are not used.
        this.#inflate.block(f.payload.subarray(4));
        const s = this.#streams.get(f.streamId);
        if (s && f.type === frameType.synReply) {
          s.replied = true;
          s.emit('reply');
        }
        if (s && f.flags & flagFin) s.push(null);
        return;
      }
      case frameType.rstStream: {
        const s = this.#streams.get(f.streamId);
        if (s) {
          this.#streams.delete(f.streamId);
          s.destroy();
        }
        return;
      }
      case frameType.ping: {
        // A client's pings have odd ids, a server's even: echo only the peer's own pings (an
        // echo of ours is the answer, not a new ping).
        const id = f.payload.length >= 4 ? f.payload.readUInt32BE(0) : 0;
        if ((id % 2 === 1) === this.#server) {
          this.writeRaw(controlFrame(frameType.ping, 0, f.payload.subarray(0, 4)));
        }
        return;
      }
      case frameType.goAway:
        this.close();
        return;
      default:
        return; // SETTINGS, WINDOW_UPDATE and unknown types: nothing to do.
    }
  }

  #onData(f: SpdyFrame): void {
    const s = this.#streams.get(f.streamId);
    if (!s) {
      this.writeRaw(controlFrame(frameType.rstStream, 0, u32(f.streamId, rstStatus.invalidStream)));
      return;
    }
    if (f.payload.length) s.push(Buffer.from(f.payload));
    if (f.flags & flagFin) s.push(null);
    // Both halves done: the stream is complete and leaves the table.
    if (f.flags & flagFin && s.writableFinished) this.#streams.delete(s.id);
  }
}
