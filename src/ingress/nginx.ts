// The nginx data plane: Debian's nginx with its Lua module proxies the ingress traffic (as
// ingress-nginx does), fed routes and endpoints over a unix control socket so changes need no
// reload; requests it cannot serve (no route, no ready endpoint, every endpoint failed) go to the
// Node holder (IngressProxy). This process starts nginx, pushes configuration and respawns it.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Clock, realClock } from '../lib/clock.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { renderNginxConf } from './nginx-conf.js';
import { ingressLuaModule } from './nginx-lua.js';
import type { StatsSnapshot } from './stats.js';

/** Where Debian's nginx keeps its dynamic modules. */
const modulesDir = '/usr/lib/nginx/modules';

/**
 * The nginx binary when it and its Lua module are installed, else undefined with the reason (the
 * caller then serves with the Node data path). INGRESS_NGINX=path overrides the binary.
 */
export function findNginx(): { path?: string; missing?: string } {
  const path = process.env['INGRESS_NGINX'] ?? 'nginx';
  const v = spawnSync(path, ['-v'], { stdio: 'ignore' });
  if (v.error || v.status !== 0) return { missing: `${path} not found` };
  if (!existsSync(join(modulesDir, 'ngx_http_lua_module.so')))
    return { missing: `${modulesDir}/ngx_http_lua_module.so not found` };
  return { path };
}

/** Options of NginxDataPlane. */
export interface NginxDataPlaneOptions {
  /** The nginx binary (findNginx). */
  nginx: string;
  /** "address:port" pairs to serve on. */
  listen: string[];
  /** Unix socket the Node holder listens on; default holder.sock in the runtime directory. */
  holderSocket?: string;
  /** Worker processes; default 2 (one dying leaves the other serving while nginx replaces it). */
  workers?: number;
  /** Access log: stdout (true, the default), a file, or none (false). */
  accessLog?: boolean | string;
  log: Logger;
  clock?: Clock;
  /** Runtime directory; default a new 0700 directory under the temp dir, removed at stop. */
  dir?: string;
  /** GET/HEAD answers up to this size are read whole and retried when cut (NginxConfOptions). */
  wholeAnswerBytes?: number;
}

/**
 * Runs nginx. Guarantees:
 * 1. start() resolves once nginx answers on its control socket with the first configuration.
 * 2. push() hands nginx the newest configuration; concurrent pushes coalesce to the latest, and a
 *    push that fails (nginx restarting) is repeated once nginx is back.
 * 3. A worker that dies is replaced by the nginx master (its listening sockets stay open); a
 *    master that exits unexpectedly is started again with the last configuration.
 * 4. stop() ends nginx gracefully (SIGQUIT, then SIGKILL after 5 s) and removes its directory.
 */
export class NginxDataPlane {
  #opts: NginxDataPlaneOptions;
  #clock: Clock;
  #dir: string;
  #ownDir: boolean;
  #control: string;
  /** Unix socket of the Node holder, where nginx sends what it cannot serve. */
  readonly holderSocket: string;
  #child: ChildProcess | undefined;
  #stopping = false;
  #config: string | undefined;
  #pushing: Promise<void> | undefined;
  #dirty = false;
  #restarts = 0;
  /** One kept-alive connection to the control socket: a push costs no connect. */
  #agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  constructor(opts: NginxDataPlaneOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#ownDir = !opts.dir;
    this.#dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'skiff-ingress-nginx-'));
    this.#control = join(this.#dir, 'control.sock');
    this.holderSocket = opts.holderSocket ?? join(this.#dir, 'holder.sock');
  }

  /** How many times nginx's master was started again. */
  get restarts(): number {
    return this.#restarts;
  }

  /** The nginx master's pid (undefined while it is down). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Writes the configuration, starts nginx and pushes `config` (a renderLuaConfig chunk). */
  async start(config: string): Promise<void> {
    this.#config = config;
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(this.#dir, 'skiff_ingress.lua'), ingressLuaModule, { mode: 0o600 });
    this.#writeConf();
    await this.#spawn();
  }

  /**
   * Serves on one more address (the pod bridge appeared after start): nginx reloads its
   * configuration (SIGHUP; old workers finish their requests).
   */
  addListen(address: string): void {
    this.#opts.listen = [...this.#opts.listen, address];
    this.#writeConf();
    this.#child?.kill('SIGHUP');
  }

  #writeConf(): void {
    writeFileSync(
      join(this.#dir, 'nginx.conf'),
      renderNginxConf({
        dir: this.#dir,
        listen: this.#opts.listen,
        workers: this.#opts.workers ?? 2,
        holderSocket: this.holderSocket,
        controlSocket: this.#control,
        luaDir: this.#dir,
        luaModulesDir: modulesDir,
        accessLog: this.#opts.accessLog ?? true,
        asRoot: process.getuid?.() === 0,
        wholeAnswerBytes: this.#opts.wholeAnswerBytes,
      }),
      { mode: 0o600 },
    );
  }

  async #spawn(): Promise<void> {
    rmSync(this.#control, { force: true });
    const child = spawn(this.#opts.nginx, ['-p', this.#dir, '-c', join(this.#dir, 'nginx.conf')], {
      // The access log goes to this process's stdout (the pod log), errors to its stderr.
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    this.#child = child;
    let ready = false;
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    child.once('exit', (code, signal) => {
      if (this.#child === child) this.#child = undefined;
      // One that never got ready is reported by the loop below to whoever started it.
      if (this.#stopping || !ready) return;
      this.#restarts++;
      this.#opts.log.warn('nginx exited, starting it again', { code, signal });
      this.#respawn(0);
    });
    // Ready when the control socket takes the configuration.
    for (let i = 0; i < 200; i++) {
      if (this.#stopping) return;
      const code = await Promise.race([exited, this.#clock.sleep(25).then(() => undefined)]);
      if (code !== undefined) throw new Error(`nginx exited with code ${code} at start`);
      if (!existsSync(this.#control)) continue;
      try {
        await this.#post(this.#config ?? 'return {}');
        ready = true;
        return;
      } catch {
        // Listening socket created but workers not accepting yet.
      }
    }
    throw new Error('nginx did not answer on its control socket within 5 s');
  }

  /** Starts nginx again after a crash: at once, then every 5 s while it fails. */
  #respawn(delayMs: number): void {
    this.#clock.setTimeout(() => {
      if (this.#stopping) return;
      this.#spawn().catch((err: unknown) => {
        this.#opts.log.error('Cannot start nginx again', { err: errorMessage(err) });
        this.#child?.kill('SIGKILL');
        this.#respawn(5000);
      });
    }, delayMs);
  }

  /** Hands nginx a new configuration (coalesced: the latest wins). */
  push(config: string): Promise<void> {
    this.#config = config;
    this.#dirty = true;
    this.#pushing ??= (async () => {
      try {
        while (this.#dirty && !this.#stopping) {
          this.#dirty = false;
          try {
            // A kept-alive connection to a worker that has since exited fails once: send again.
            await this.#post(this.#config ?? '').catch(() => this.#post(this.#config ?? ''));
          } catch (err) {
            // nginx is restarting: its start pushes the latest configuration.
            this.#opts.log.debug('Cannot push the ingress configuration', {
              err: errorMessage(err),
            });
          }
        }
      } finally {
        this.#pushing = undefined;
      }
    })();
    return this.#pushing;
  }

  #request(method: string, path: string, body?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { socketPath: this.#control, method, path, agent: this.#agent, timeout: 5000 },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', () =>
            res.statusCode === 200
              ? resolve(text)
              : reject(new Error(`nginx ${path}: ${res.statusCode} ${text.trim()}`)),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`nginx ${path}: timeout`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  #post(config: string): Promise<string> {
    return this.#request('POST', '/configuration', config);
  }

  /** nginx's traffic counters as a stats snapshot (src/ingress/stats.ts), window `windowSec`. */
  async stats(windowSec = 10): Promise<StatsSnapshot> {
    return parseNginxStats(await this.#request('GET', '/stats'), this.#clock.now(), windowSec);
  }

  /** When each backend (upstream name) last had a request, in ms (to the second; see flush). */
  async activity(): Promise<Map<string, number>> {
    return parseNginxActivity(await this.#request('GET', '/stats'));
  }

  /** Stops nginx (graceful: in-flight requests finish) and removes the runtime directory. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#agent.destroy();
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGQUIT');
      const t = this.#clock.setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      t.cancel();
    }
    if (this.#ownDir) rmSync(this.#dir, { recursive: true, force: true });
  }
}

/**
 * Parses the control socket's "key value" lines: r (requests), s:<code> (statuses),
 * h:<second>:<bucket> (latency histogram), e:<event> (data-path events: retry, and streamed,
 * GET/HEAD answers too big or open-ended to read whole).
 */
export function parseNginxStats(text: string, nowMs: number, windowSec: number): StatsSnapshot {
  const snap: StatsSnapshot = { requests: 0, errors: 0, status: {}, histogram: {}, events: {} };
  const oldest = Math.floor(nowMs / 1000) - windowSec + 1;
  for (const line of text.split('\n')) {
    const [key = '', value = ''] = line.split(' ');
    const n = Number(value);
    if (!Number.isFinite(n)) continue;
    if (key === 'r') snap.requests = n;
    else if (key.startsWith('s:')) {
      const code = Number(key.slice(2));
      // nginx logs 499 for a client that left before its answer (TrafficStats: 'failed').
      const cls = code === 499 ? 'failed' : `${Math.floor(code / 100)}xx`;
      snap.status[cls] = (snap.status[cls] ?? 0) + n;
      if (code >= 500 || code === 499) snap.errors += n;
    } else if (key.startsWith('h:')) {
      const [, sec, bucket] = key.split(':');
      if (Number(sec) >= oldest)
        snap.histogram[bucket ?? '0'] = (snap.histogram[bucket ?? '0'] ?? 0) + n;
    } else if (key === 'e:retry' || key === 'e:streamed')
      snap.events = { ...snap.events, [key.slice(2)]: n };
  }
  return snap;
}

/** The control socket's a:<upstream> lines (seconds since the epoch) as ms per upstream name. */
export function parseNginxActivity(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('a:')) continue;
    const sp = line.lastIndexOf(' ');
    const at = Number(line.slice(sp + 1));
    if (sp > 2 && Number.isFinite(at)) out.set(line.slice(2, sp), Math.round(at * 1000));
  }
  return out;
}
