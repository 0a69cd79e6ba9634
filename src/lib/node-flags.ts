// V8 flags for the long-running `skiff up` process (issue #18: memory flat over hours).
//
// Under pod churn V8 grows the young generation to its default cap (two 16 MB semi-spaces on
// 64-bit Node 20), and RSS then swings by up to ~30 MB with the allocation rate: a 2-hour soak
// measured RSS 160–203 MB where a forced GC took it from 188 to 144 MB. Capping each semi-space at
// 4 MB bounds that swing; scavenges get more frequent but each costs about the same (their cost is
// the live young objects, not the space). These flags cannot be set after V8 starts, so every way
// `skiff up` is started passes them: the `skiff` shebang, `npm start`, `skiff up --detach` and the
// test harness.
export const UP_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

/** `execArgv` with each of UP_NODE_FLAGS added unless a flag of the same name is already there. */
export function withUpNodeFlags(execArgv: readonly string[]): string[] {
  const name = (f: string) => f.split('=')[0];
  const have = new Set(execArgv.map(name));
  return [...execArgv, ...UP_NODE_FLAGS.filter((f) => !have.has(name(f)))];
}
