// Layer decompression chosen by the stream's magic bytes (media types lie, docker save layers are
// plain tar): gzip through Node's zlib, zstd through Debian's `zstd` binary (Node 20's zlib has
// none), anything else passed through as an uncompressed tar.
import { spawn } from 'node:child_process';
import { Duplex, PassThrough, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** Compression formats a layer may use. */
export type Compression = 'gzip' | 'zstd' | 'none';

/** Detects the compression from the first bytes of a blob. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

function zstdStream(): Duplex {
  const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const out = new PassThrough();
  child.stdout.pipe(out, { end: false });
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) =>
      reject(new Error(`Cannot decompress a zstd layer: ${err.message} (is zstd installed?)`)),
    );
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`zstd: ${stderr.trim() || `exit ${code}`}`)),
    );
  });
  child.stdout.on('end', () => {
    done.then(
      () => out.end(),
      (err: Error) => out.destroy(err),
    );
  });
  // A consumer that fails early must not leave zstd behind.
  out.on('close', () => child.kill());
  return Duplex.from({ writable: child.stdin, readable: out });
}

/**
 * A pipeline stage that decompresses whatever arrives, picking the format from its first chunk.
 */
export function decompressStage(): (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
  return async function* decompress(source) {
    const it = source[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done) return;
    const head: Buffer = first.value;
    const rest = async function* () {
      yield head;
      for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
    };
    const kind = sniffCompression(head);
    if (kind === 'none') {
      yield* rest();
      return;
    }
    const inner = kind === 'gzip' ? createGunzip() : zstdStream();
    const feed = Readable.from(rest()).pipe(inner);
    yield* feed as AsyncIterable<Buffer>;
  };
}
