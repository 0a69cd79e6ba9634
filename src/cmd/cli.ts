// The `skiff` command line: parses arguments and dispatches to one file per command in src/cli/.
import { Command, InvalidArgumentError } from 'commander';
import { marginFraction, percentileFraction } from './vpa-flags.js';

function int(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('Not a port number.');
  return n;
}

function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value);
  if (!m) throw new InvalidArgumentError('Not a duration such as 500ms, 15s or 5m.');
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] ?? 1000;
  return Number(m[1]) * unit;
}

function timeScale(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 1 || n > 3600)
    throw new InvalidArgumentError('Not a factor from 1 to 3600.');
  return n;
}

function dataPlane(value: string): 'auto' | 'nginx' | 'node' {
  if (value === 'auto' || value === 'nginx' || value === 'node') return value;
  throw new InvalidArgumentError('Not one of auto, nginx, node.');
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

const program = new Command()
  .name('skiff')
  .description("Kubernetes' self-healing and autoscaling on one machine")
  .enablePositionalOptions()
  .showHelpAfterError();

program
  .command('up')
  .description('start a single-node cluster in this process (Ctrl-C stops it)')
  .option('--data-dir <dir>', 'state, PKI, kubeconfig and logs (default ~/.skiff)')
  .option('--api-port <port>', 'API server port on 127.0.0.1', int, 6443)
  .option('--ingress-port <port>', 'ingress HTTP port on the host', int, 80)
  .option(
    '--ingress-status-port <port>',
    'ingress controller health/stats port on the host',
    int,
    10254,
  )
  .option(
    '--ingress-data-plane <mode>',
    'ingress data plane: auto (nginx when installed, else Node), nginx or node',
    dataPlane,
    'auto',
  )
  .option('--kubelet-port <port>', 'node agent (kubelet) port on 127.0.0.1', int, 10250)
  .option('--metrics-port <port>', 'metrics-server port on 127.0.0.1', int, 4443)
  .option('--dashboard-port <port>', 'dashboard port on 127.0.0.1 (0 picks a free one)', int, 8088)
  .option('--kube-version <minor>', 'Kubernetes version the API reports (1.27 to 1.33)', '1.32')
  .option('--pod-cidr <cidr>', 'pod network', '10.244.0.0/16')
  .option('--service-cidr <cidr>', 'ClusterIP range', '10.96.0.0/12')
  .option('--node-name <name>', 'name of the node', 'skiff')
  .option('--hpa-sync-period <d>', 'HPA sync period (upstream 15s)', duration, 1000)
  .option(
    '--hpa-downscale-stabilization <d>',
    'HPA scale-down stabilization window (upstream 5m)',
    duration,
    300_000,
  )
  .option('--hpa-tolerance <ratio>', 'HPA tolerance (upstream 0.1)', Number, 0.1)
  .option(
    '--hpa-cpu-initialization-period <d>',
    'HPA CPU initialization period (upstream 5m)',
    duration,
    300_000,
  )
  .option(
    '--hpa-initial-readiness-delay <d>',
    'HPA initial readiness delay (upstream 30s)',
    duration,
    30_000,
  )
  .option(
    '--vpa-recommender-interval <d>',
    'VPA sampling and recommendation interval (upstream 1m)',
    duration,
    10_000,
  )
  .option(
    '--vpa-memory-aggregation-interval <d>',
    'VPA memory peak interval (upstream 24h)',
    duration,
    24 * 3_600_000,
  )
  .option(
    '--vpa-pod-lifetime-update-threshold <d>',
    'pod age after which the VPA applies a 10% change (upstream 12h)',
    duration,
    60_000,
  )
  .option(
    '--vpa-pod-recommendation-min-cpu-millicores <n>',
    'smallest VPA cpu recommendation per pod, in millicores (upstream 25)',
    Number,
    25,
  )
  .option(
    '--vpa-pod-recommendation-min-memory-mb <n>',
    'smallest VPA memory recommendation per pod, in MiB (upstream 250)',
    Number,
    250,
  )
  .option(
    '--vpa-recommendation-margin-fraction <f>',
    'fraction of usage the VPA adds as safety margin (upstream 0.15)',
    marginFraction,
    0.15,
  )
  .option(
    '--vpa-target-cpu-percentile <p>',
    'cpu usage percentile of the VPA target (upstream 0.9)',
    percentileFraction,
    0.9,
  )
  .option(
    '--vpa-target-memory-percentile <p>',
    'memory peak percentile of the VPA target (upstream 0.9)',
    percentileFraction,
    0.9,
  )
  .option(
    '--metric-resolution <d>',
    'metrics-server scrape interval (upstream 15s)',
    duration,
    1000,
  )
  .option(
    '--event-ttl <d>',
    'how long Events are kept after their last write (upstream 1h)',
    duration,
    3_600_000,
  )
  .option(
    '--cronjob-time-scale <factor>',
    'test knob: CronJobs run on a clock FACTOR times faster than real time (60: `* * * * *` fires every second)',
    timeScale,
    1,
  )
  .option(
    '--registry-mirror <registry=url>',
    'pull REGISTRY through a mirror first, e.g. docker.io=http://127.0.0.1:5001 (repeatable)',
    collect,
  )
  .option(
    '--insecure-registry <host>',
    'allow plain http to this registry host[:port] (loopback always may; repeatable)',
    collect,
  )
  .option(
    '--local-registry-port <port>',
    'port of the local registry on 127.0.0.1 (0 disables it)',
    int,
    5001,
  )
  .option(
    '--lb-address <ip>',
    'address where LoadBalancer Services listen on their ports (k3s ServiceLB)',
    '127.0.0.1',
  )
  .option(
    '--disable <addons>',
    'built-in add-ons to leave out (comma-separated: ingress, metrics-server); apply their upstream manifests instead',
    (v: string, prev: string[] = []) => [
      ...prev,
      ...v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ],
  )
  .option('--reduced', 'force the reduced mode (no namespaces or cgroups)', false)
  .option('--no-kubeconfig', "do not merge a 'skiff' context into the user's kubeconfig")
  .option('--detach', 'run in the background and return once ready', false)
  .option(
    '--wait <d>',
    'also wait until the add-ons (ingress controller, metrics-server) are available, as kind create cluster --wait',
    duration,
    0,
  )
  .action(async (opts) => {
    const { upCommand } = await import('./up.js');
    // Exit as soon as the cluster has stopped (or the detached one is ready): `skiff down` waits
    // for this process, and a timer or socket something forgot must not hold it open.
    process.exit(await upCommand(opts));
  });

program
  .command('down')
  .description('stop the cluster of --data-dir, its pods and its network')
  .option('--data-dir <dir>', 'data directory (default ~/.skiff)')
  .action(async (opts) => {
    const { downCommand } = await import('./down.js');
    process.exitCode = await downCommand(opts);
  });

program
  .command('status')
  .description('show whether the cluster of --data-dir runs, and where')
  .option('--data-dir <dir>', 'data directory (default ~/.skiff)')
  .action(async (opts) => {
    const { statusCommand } = await import('../cli/status.js');
    process.exitCode = await statusCommand(opts);
  });

const image = program
  .command('image')
  .description('images: load, list and remove OCI images; register folder images');
image
  .command('add <name>')
  .description('register a local image (any tag matches unless NAME has one)')
  .requiredOption('--dir <folder>', "the image's files, mounted at --workdir in the pod")
  .option(
    '--cmd <command>',
    'the entrypoint, e.g. "python3 app.py" (container command replaces it)',
  )
  .option('--args <args>', 'default arguments (container args replace them)')
  .option('--env <NAME=value>', 'an environment variable (repeatable)', collect)
  .option('--port <port>', 'a port the image exposes (repeatable)', (v, p: number[] = []) => [
    ...p,
    int(v),
  ])
  .option('--workdir <path>', 'working directory inside the pod', '/app')
  .option('--data-dir <dir>', 'data directory (default ~/.skiff)')
  .action(async (name: string, opts) => {
    const { imageAddCommand } = await import('../cli/image.js');
    process.exitCode = imageAddCommand(name, opts);
  });
image
  .command('load <file>')
  .description(
    'import images from a docker save tarball, an OCI archive or an OCI layout directory',
  )
  .option('--data-dir <dir>', 'data directory (default ~/.skiff)')
  .action(async (file: string, opts) => {
    const { imageLoadCommand } = await import('../cli/image.js');
    process.exitCode = await imageLoadCommand(file, opts);
  });
image
  .command('list')
  .alias('ls')
  .description('list stored images (image, tag, digest, size) and folder images')
  .option('--data-dir <dir>', 'data directory (default ~/.skiff)')
  .action(async (opts) => {
    const { imageListCommand } = await import('../cli/image.js');
    process.exitCode = await imageListCommand(opts);
  });
image
  .command('rm <name>')
  .description('remove a stored image name or a folder image')
  .option('--data-dir <dir>', 'data directory (default ~/.skiff)')
  .action(async (name: string, opts) => {
    const { imageRemoveCommand } = await import('../cli/image.js');
    process.exitCode = await imageRemoveCommand(name, opts);
  });
image
  .command('prune')
  .description('remove every stored image no running container uses')
  .option('--data-dir <dir>', 'data directory (default ~/.skiff)')
  .action(async (opts) => {
    const { imagePruneCommand } = await import('../cli/image.js');
    process.exitCode = await imagePruneCommand(opts);
  });

program
  .command('version')
  .description('print the Skiff version')
  .action(async () => {
    const { readFileSync } = await import('node:fs');
    const { packageRoot } = await import('../lib/paths.js');
    const pkg = JSON.parse(
      readFileSync(`${packageRoot(import.meta.url)}/package.json`, 'utf8'),
    ) as { version: string };
    process.stdout.write(`skiff ${pkg.version} (Kubernetes API 1.32, node ${process.version})\n`);
  });

program
  .command('addon <name>')
  .description(
    'run a bundled add-on (used by the add-on pods): ingress-controller | metrics-server',
  )
  .allowUnknownOption(true)
  .passThroughOptions()
  .argument('[args...]')
  .action(async (name: string, args: string[]) => {
    const { runAddon } = await import('./addon.js');
    await runAddon(name, args);
  });

program
  .command('load')
  .description(
    'an ab-compatible HTTP load generator with a latency report (skiff load -c 50 -n 10000 URL)',
  )
  .helpOption(false)
  .allowUnknownOption(true)
  .allowExcessArguments(true)
  .passThroughOptions()
  .argument('[args...]')
  .action(async (args: string[]) => {
    const { loadCommand } = await import('../cli/load.js');
    // ab's flags (-c, -n, -t, -k, -H, ...) are parsed by the load command itself.
    process.exitCode = await loadCommand(args);
  });

program
  .command('demo')
  .description(
    'replay the self-healing and autoscaling walkthrough on the running cluster, with figures',
  )
  .option('--data-dir <dir>', 'data directory (default ~/.skiff)')
  .option('--ingress-port <port>', 'ingress port of the cluster', int)
  .option('--json', 'print one JSON object with the figures', false)
  .option('--keep-going', 'continue after a failed step', false)
  .option(
    '--scale-to-zero',
    'show scale to zero instead: an idle Deployment goes to zero, requests wake it',
    false,
  )
  .option(
    '--vpa',
    'show the VPA instead: a recommendation, then the running pod resized in place',
    false,
  )
  .action(async (opts) => {
    const { demoCommand } = await import('../cli/demo.js');
    process.exitCode = await demoCommand(opts);
  });

program
  .command('dashboard')
  .description('print the URL of the live dashboard of the running cluster')
  .option('--data-dir <dir>', 'data directory (default ~/.skiff)')
  .action(async (opts) => {
    const { dashboardCommand } = await import('../cli/dashboard.js');
    process.exitCode = await dashboardCommand(opts);
  });

await program.parseAsync(process.argv);
