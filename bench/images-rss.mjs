// Child of bench/images.ts: a fresh plain-node process on the compiled dist/ (as `skiff up` runs),
// printing its RSS before and after the image service, the local registry and one ensure() of a
// stored image. Usage: node --expose-gc bench/images-rss.mjs DATA_DIR IMAGE
import path from 'node:path';

const [dataDir, image] = process.argv.slice(2);
const dist = path.join(import.meta.dirname, '..', 'dist', 'src', 'images');
const settle = async () => {
  globalThis.gc?.();
  await new Promise((r) => setTimeout(r, 500));
  globalThis.gc?.();
};

// built-ins every `skiff up` process has loaded already (API server over TLS, shims, streams)
for (const m of ['node:http', 'node:https', 'node:crypto', 'node:child_process', 'node:stream'])
  await import(m);
await settle();
const before = process.memoryUsage().rss;
const { ImageService } = await import(path.join(dist, 'service.js'));
const { createLocalRegistry } = await import(path.join(dist, 'local-registry', 'server.js'));
const svc = new ImageService({ dataDir });
const abort = new AbortController();
const registry = createLocalRegistry({ store: svc.store, port: 0 });
await registry.start(abort.signal);
await svc.ensure(image, { policy: 'IfNotPresent' });
// one request to the registry through node:http (fetch's undici is the client's cost, not ours)
const { get } = await import('node:http');
await new Promise((resolve, reject) =>
  get(`http://${registry.host()}/v2/_catalog`, (res) => res.resume().on('end', resolve)).on(
    'error',
    reject,
  ),
);
await new Promise((r) => setTimeout(r, 1000));
await settle();
const after = process.memoryUsage().rss;
process.stdout.write(JSON.stringify({ before, after }));
abort.abort();
await registry.stopped();
