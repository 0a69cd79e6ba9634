// V8 flags and malloc settings for the long-running `skiff up` process (issue #18: memory flat over
// hours).
//
// Under pod churn V8 grows the young generation to its default cap (two 16 MB semi-spaces on
// 64-bit Node 20), and RSS then swings by up to ~30 MB with the allocation rate: a 2-hour soak
// measured RSS 160–203 MB where a forced GC took it from 188 to 144 MB. Capping each semi-space at
// 4 MB bounds that swing; scavenges get more frequent but each costs about the same (their cost is
// the live young objects, not the space). These flags cannot be set after V8 starts, so every way
// `skiff up` is started passes them: the `skiff` shebang, `npm start`, `skiff up --detach` and the
// test harness.
//
// The old generation swings too: V8 lets it grow to a multiple of what the last full collection
// kept (up to 4x, and by at least 8 MB) before collecting again, and RSS follows the garbage in
// between. --optimize-for-size caps that multiple at 1.3 and the step at 2 MB (the same rule V8
// applies to a background tab), and --heap-growing-percent=10 asks for 1.1. Same-run soaks (issue
// #18): RSS 26–28 MB lower at 30 minutes of churn. Their CPU price was within what side-by-side
// soaks can tell (the control plane's CPU per second of churn moved by ±25% between clusters of
// different ages); the shipped set used 7% less CPU than the code before it over the same hour.
export const UP_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=4',
  '--optimize-for-size',
  '--heap-growing-percent=10',
];

/**
 * glibc malloc settings, passed the same ways. glibc raises its mmap threshold (up to 32 MB) each
 * time a large block is freed, after which such blocks come from the heap and per-thread arenas
 * and stay there, fragmented: under churn skiff up's thread arenas held 14–20 MB and kept growing.
 * A fixed threshold (which also fixes the trim threshold) sends blocks of 128 KiB and more to
 * mmap, returned on free: 1.2 MB of arenas in the same soak, RSS ~16 MB lower after 10 minutes.
 */
export const UP_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: '131072',
};

/** `execArgv` with each of UP_NODE_FLAGS added unless a flag of the same name is already there. */
export function withUpNodeFlags(execArgv: readonly string[]): string[] {
  const name = (f: string) => f.split('=')[0];
  const have = new Set(execArgv.map(name));
  return [...execArgv, ...UP_NODE_FLAGS.filter((f) => !have.has(name(f)))];
}

/** An environment with UP_MALLOC_ENV added; a value already set wins. */
export function withUpEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...UP_MALLOC_ENV, ...env };
}
