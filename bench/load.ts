// Benchmarks `skiff load` against ApacheBench side by side on the same local target and prints
// both requests/s and their ratio (goal: ≥ 1.0, i.e. skiff load is never the bottleneck).
// Usage: node --import tsx bench/load.ts [--url URL] [--rounds 3] [-c 50] [-n 10000] [-k]
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { freePort } from '../src/lib/testing-ports.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const flaskApp = `${root}images/hello-world-flask/app.py`;

const opts = new Command('bench/load.ts')
  .option('--url <url>', 'an existing target (default: start one)')
  .option('--rounds <n>', 'alternating runs of each tool', Number, 3)
  .option('-c <n>', 'concurrency', Number, 50)
  .option('-n <n>', 'requests', Number, 10000)
  .option('-k', 'keep-alive', false)
  .option('--node-target', 'use a small node server even when the bundled flask app exists', false)
  .parse()
  .opts<{ url?: string; rounds: number; c: number; n: number; k: boolean; nodeTarget: boolean }>();

const nodeTarget = `
const http = require('node:http');
let i = 0;
http.createServer((q, s) => { s.setHeader('Server', 'bench-node'); s.end('Hello, my first docker images! bench-pod-' + (i++ % 2)); })
  .listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\\n'));
`;

async function startTarget(): Promise<{ url: string; child: ChildProcess; what: string }> {
  const port = await freePort();
  const useFlask = existsSync(flaskApp) && !opts.nodeTarget;
  const child = useFlask
    ? spawn('python3', [flaskApp], {
        env: {
          ...process.env,
          SKIFF_APP_PORT: String(port),
          HOSTNAME: 'hello-world-flask-bench-1',
        },
        stdio: 'ignore',
      })
    : spawn(process.execPath, ['-e', nodeTarget], {
        env: { ...process.env, PORT: String(port) },
        stdio: 'ignore',
      });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try {
      await run('ab', ['-n', '1', url]);
      return {
        url,
        child,
        what: useFlask ? `bundled app ${flaskApp}` : 'a small node http server',
      };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill();
  throw new Error(`the target did not answer on ${url}`);
}

async function abRps(url: string): Promise<number> {
  const args = ['-q', '-c', String(opts.c), '-n', String(opts.n), ...(opts.k ? ['-k'] : []), url];
  const { stdout } = await run('ab', args, { maxBuffer: 1 << 20 });
  const m = /Requests per second:\s+([\d.]+)/.exec(stdout);
  if (!m) throw new Error(`unexpected ab output:\n${stdout}`);
  return Number(m[1]);
}

async function skiffRps(url: string): Promise<number> {
  const args = ['--import', 'tsx', `${root}src/cmd/cli.ts`, 'load', '--json'];
  args.push('-c', String(opts.c), '-n', String(opts.n), ...(opts.k ? ['-k'] : []), url);
  const { stdout } = await run(process.execPath, args, { maxBuffer: 16 << 20 });
  const r = JSON.parse(stdout) as { requestsPerSecond: number; failed: number };
  if (r.failed > 0) process.stderr.write(`skiff load: ${r.failed} failed requests\n`);
  return r.requestsPerSecond;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

try {
  await run('ab', ['-V']);
} catch {
  process.stderr.write('ab not found: install it with "apt-get install -y apache2-utils"\n');
  process.exit(2);
}
const target = opts.url ? { url: opts.url, child: undefined, what: opts.url } : await startTarget();
try {
  process.stdout.write(
    `target: ${target.what} at ${target.url}; -c ${opts.c} -n ${opts.n}${opts.k ? ' -k' : ''}\n`,
  );
  const ab: number[] = [];
  const skiff: number[] = [];
  for (let i = 0; i < opts.rounds; i++) {
    // Alternate which tool goes first so that drift on a shared machine hits both alike.
    if (i % 2 === 0) {
      ab.push(await abRps(target.url));
      skiff.push(await skiffRps(target.url));
    } else {
      skiff.push(await skiffRps(target.url));
      ab.push(await abRps(target.url));
    }
    process.stdout.write(
      `round ${i + 1}: ab ${ab.at(-1)?.toFixed(0)} req/s, skiff load ${skiff.at(-1)?.toFixed(0)} req/s\n`,
    );
  }
  const a = median(ab);
  const s = median(skiff);
  process.stdout.write(
    `median: ab ${a.toFixed(0)} req/s, skiff load ${s.toFixed(0)} req/s, ratio ${(s / a).toFixed(2)}x\n`,
  );
  process.exitCode = s >= 0.9 * a ? 0 : 1;
} finally {
  target.child?.kill();
}
