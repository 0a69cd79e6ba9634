// `skiff addon <name> [args...]`: runs a bundled add-on in this process (the add-on pods' command).
// bin/skiff.js imports this file directly for `addon`, without the command-line parser: each
// add-on pod is a long-lived process, and commander's code would stay in its heap (issue #17).

const addons: Record<string, () => Promise<{ main(argv: string[]): Promise<void> }>> = {
  'ingress-controller': () => import('../ingress/main.js'),
  'metrics-server': () => import('../metrics/main.js'),
  'kube-webhook-certgen': () => import('../ingress/webhook-certgen.js'),
};

/** Runs the add-on `name` with its flags; an unknown name is exit code 2. */
export async function runAddon(name: string | undefined, args: string[]): Promise<void> {
  const load = name === undefined ? undefined : addons[name];
  if (!load) {
    process.stderr.write(`error: unknown add-on "${name ?? ''}"\n`);
    process.exitCode = 2;
    return;
  }
  await (await load()).main(args);
}
