// Node settings of the bundled add-on processes (ingress controller, metrics-server): they are
// small, long-lived API clients, so a young generation of 1 MB (V8's default grows to 16 MB per
// semi-space) and a capped old generation keep their idle footprint down (issue #17).

/** NODE_OPTIONS of the add-on pods. */
export const addonNodeOptions = '--max-semi-space-size=1 --max-old-space-size=96';

/**
 * V8 flags on the add-on images' entrypoint (NODE_OPTIONS refuses them). Measured side by side on
 * an idle metrics-server (PSS): --lite-mode (no optimizing compiler, feedback allocated lazily)
 * saves ~2.5 MB, --single-threaded (no background compile/GC threads) a little more, at no
 * visible CPU cost for an API client. The ingress's Node data path forks its serving workers
 * without --lite-mode (supervisor.ts), as there the optimizing compiler pays. --single-threaded
 * turns WebAssembly off (no add-on uses it) and says so on stderr unless --no-expose-wasm is given.
 */
export const addonV8Flags = ['--lite-mode', '--single-threaded', '--no-expose-wasm'];

/**
 * Environment of the add-on images: one malloc arena instead of one per thread that ever
 * allocated (~1 MB each, mostly free), which these mostly single-threaded processes do not need.
 */
export const addonEnv = [{ name: 'MALLOC_ARENA_MAX', value: '1' }];
