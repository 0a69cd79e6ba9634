// Instructions per request of the nginx ingress data plane (issue #17), counted by callgrind: Skiff's
// plane with whole answers, the same with every answer streamed, and plain nginx proxying the same
// two pods (bench/lib/nginx-baseline.ts). bench/ingress.ts measures CPU time, which on a shared
// machine moves with the load; an instruction count does not, so a change can be judged by this
// figure alone. It counts user space only: the kernel's part (the same syscalls on every path, about
// 20 ms per 1000 requests here) is not in it. Each nginx runs as one process under valgrind.
// Usage (needs valgrind): node --import tsx bench/ingress-instructions.ts [-n 3000] [--json]
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { renderLuaConfig, renderNginxConf, upstreamName } from '../src/ingress/nginx-conf.js';
import { ingressLuaModule } from '../src/ingress/nginx-lua.js';
import type { RouteBackend } from '../src/ingress/routes.js';
import { realClock } from '../src/lib/clock.js';
import { type Figure, figuresToJson, formatFigureTable } from './lib/figures.js';
import { nginxBaselineConf } from './lib/nginx-baseline.js';
import { freePort } from './lib/proc.js';

const run = promisify(execFile);
const opts = new Command('bench/ingress-instructions.ts')
  .option('-n <n>', 'requests counted per target and mode', Number, 3000)
  .option('--json', 'print JSON for the report script', false)
  .parse()
  .opts<{ n: number; json: boolean }>();

const backend: RouteBackend = {
  namespace: 'default',
  service: 'hello-world-flask',
  port: { number: 5000 },
  ingress: 'default/hello-world-flask',
};

/** GET through `url` until it answers 200, for up to a minute (valgrind starts slowly). */
async function waitOk(url: string | { socketPath: string; body: string }): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const req =
        typeof url === 'string'
          ? http.get(url, { agent: false })
          : http.request({ socketPath: url.socketPath, method: 'POST', path: '/configuration' });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.setTimeout(2000, () => req.destroy());
      req.on('error', () => resolve(false));
      req.end(typeof url === 'string' ? undefined : url.body);
    });
    if (ok) return;
    await realClock.sleep(100);
  }
  throw new Error(`Nothing answers on ${typeof url === 'string' ? url : url.socketPath}`);
}

/** The instructions callgrind counted in the newest dump of `dir`. */
function dumpedInstructions(dir: string): number {
  const dumps = readdirSync(dir).filter((f) => f.startsWith('cg.out.'));
  const last = dumps.sort((a, b) => Number(a.slice(7)) - Number(b.slice(7))).at(-1);
  const m = last && /^summary: (\d+)/m.exec(readFileSync(join(dir, last), 'utf8'));
  if (!m) throw new Error(`No callgrind dump in ${dir}`);
  return Number(m[1]);
}

async function ab(url: string, n: number, keepAlive: boolean): Promise<number> {
  const args = [...(keepAlive ? ['-k'] : []), '-q', '-s', '30', '-c', '10', '-n', String(n), url];
  const { stdout } = await run('ab', args, { maxBuffer: 16 << 20 });
  const failed = /^Failed requests:\s+(\d+)/m.exec(stdout)?.[1] ?? 'NaN';
  return Number(failed) + Number(/^Non-2xx responses:\s+(\d+)/m.exec(stdout)?.[1] ?? 0);
}

/**
 * Starts nginx under callgrind with `conf` (written to dir/nginx.conf, its own `master_process
 * off`), warms it up, then counts the instructions of n requests per mode (keep-alive or not).
 */
async function measure(
  dir: string,
  conf: string,
  port: number,
  ready: () => Promise<void>,
): Promise<{ k: number; close: number; failed: number }> {
  // One process: with reuseport, sockets made for other workers would take connections unserved.
  const single = conf.replace(/^worker_processes .*;$/m, 'worker_processes 1;');
  writeFileSync(join(dir, 'nginx.conf'), `master_process off;\n${single}`);
  const out = `--callgrind-out-file=${join(dir, 'cg.out')}`;
  const args = ['--tool=callgrind', out, '-q', 'nginx', '-p', dir, '-c', join(dir, 'nginx.conf')];
  const child = spawn('valgrind', args, { stdio: 'ignore' });
  const pid = String(child.pid);
  try {
    await ready();
    const url = `http://127.0.0.1:${port}/`;
    let failed = await ab(url, 2000, true);
    const counted = async (keepAlive: boolean) => {
      await run('callgrind_control', ['-z', pid]);
      failed += await ab(url, opts.n, keepAlive);
      await run('callgrind_control', ['-d', pid]);
      return dumpedInstructions(dir) / opts.n;
    };
    return { k: await counted(true), close: await counted(false), failed };
  } finally {
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGQUIT');
    await gone;
  }
}

async function main(): Promise<void> {
  await run('valgrind', ['--version']).catch(() => {
    throw new Error('valgrind missing: apt-get install -y valgrind');
  });
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-instr-'));
  const pods: ChildProcess[] = [];
  try {
    const ports = [await freePort(), await freePort()];
    ports.forEach((port, i) => {
      const answer = `Hello, my first docker images! hello-world-flask-bench-${i}`;
      const code = `require('http').createServer((q,s)=>s.end('${answer}')).listen(${port},'127.0.0.1')`;
      pods.push(spawn(process.execPath, ['-e', code], { stdio: 'ignore' }));
    });
    for (const p of ports) await waitOk(`http://127.0.0.1:${p}/`);
    const config = renderLuaConfig({
      exact: new Map(),
      wildcard: new Map(),
      catchAll: { locations: [{ path: '/', pathType: 'Prefix', backend }] },
      backends: new Map([
        [upstreamName(backend), ports.map((port) => ({ ip: '127.0.0.1', port }))],
      ]),
    });
    const results = new Map<string, { k: number; close: number; failed: number }>();
    for (const [name, whole] of [
      ['skiff-ingress', undefined],
      ['skiff-ingress-stream', 0],
    ] as const) {
      const d = join(dir, name);
      const port = await freePort();
      const control = join(d, 'control.sock');
      mkdirSync(d);
      writeFileSync(join(d, 'skiff_ingress.lua'), ingressLuaModule);
      const conf = renderNginxConf({
        dir: d,
        listen: [`127.0.0.1:${port}`],
        workers: 1,
        // Nothing listens there: a request that reaches the holder fails and is counted so.
        holderSocket: join(d, 'holder.sock'),
        controlSocket: control,
        luaDir: d,
        luaModulesDir: '/usr/lib/nginx/modules',
        accessLog: join(d, 'access.log'),
        asRoot: process.getuid?.() === 0,
        wholeAnswerBytes: whole,
      }).replace(/^master_process on;\n/m, '');
      results.set(
        name,
        await measure(d, conf, port, () => waitOk({ socketPath: control, body: config })),
      );
    }
    const d = join(dir, 'nginx');
    const port = await freePort();
    mkdirSync(d);
    results.set(
      'nginx',
      await measure(d, nginxBaselineConf(d, port, ports), port, () =>
        waitOk(`http://127.0.0.1:${port}/`),
      ),
    );
    const figures: Figure[] = [];
    for (const [name, r] of results) {
      figures.push(
        { figure: `${name} instructions per request`, value: r.k, unit: '', decimals: 0 },
        { figure: `${name} (no keep-alive)`, value: r.close, unit: '', decimals: 0 },
        { figure: `${name} failed`, value: r.failed, unit: '', decimals: 0 },
      );
    }
    const base = results.get('nginx');
    for (const name of ['skiff-ingress', 'skiff-ingress-stream']) {
      const r = results.get(name);
      if (!r || !base) continue;
      figures.push(
        { figure: `${name} / nginx instructions`, value: r.k / base.k, unit: 'x' },
        { figure: `${name} / nginx (no keep-alive)`, value: r.close / base.close, unit: 'x' },
      );
    }
    process.stdout.write(
      opts.json
        ? figuresToJson('ingress-instructions', figures, { n: opts.n })
        : `user-space instructions per request (callgrind), ab -c 10 -n ${opts.n}\n${formatFigureTable(figures)}`,
    );
  } finally {
    for (const p of pods) p.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
