// The real kubectl as the demo runs it: a child process with the cluster's kubeconfig and a
// private discovery cache (KUBECACHEDIR), so every user-visible step proves kubectl itself works.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Clock, realClock } from '../lib/clock.js';

/** What one kubectl run printed and how long it took. */
export interface KubectlResult {
  /** The command line as a user would type it. */
  command: string;
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Options of a Kubectl runner. */
export interface KubectlOptions {
  kubeconfig: string;
  /** The kubectl binary (default $KUBECTL or `kubectl` on PATH). */
  binary?: string;
  clock?: Clock;
}

/** Quotes an argument the way a shell user would type it (only when it needs quoting). */
export function shellQuote(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  if (!arg.includes("'")) return `'${arg}'`;
  return `"${arg.replace(/(["\\$`])/g, '\\$1')}"`;
}

/** Runs kubectl against one cluster; dispose() removes its private cache dir. */
export class Kubectl {
  #kubeconfig: string;
  #binary: string;
  #clock: Clock;
  #cacheDir: string;

  constructor(opts: KubectlOptions) {
    this.#kubeconfig = opts.kubeconfig;
    this.#binary = opts.binary ?? process.env['KUBECTL'] ?? 'kubectl';
    this.#clock = opts.clock ?? realClock;
    this.#cacheDir = mkdtempSync(join(tmpdir(), 'skiff-demo-kcache-'));
  }

  /** Runs `kubectl args...`; never throws for a non-zero exit (the result says it). */
  run(args: string[], opts: { timeoutMs?: number } = {}): Promise<KubectlResult> {
    const command = ['kubectl', ...args.map(shellQuote)].join(' ');
    const started = this.#clock.now();
    return new Promise((resolve) => {
      execFile(
        this.#binary,
        args,
        {
          env: { ...process.env, KUBECONFIG: this.#kubeconfig, KUBECACHEDIR: this.#cacheDir },
          timeout: opts.timeoutMs ?? 60_000,
          maxBuffer: 16 << 20,
        },
        (err, stdout, stderr) => {
          let code = 0;
          if (err) {
            const c = (err as { code?: unknown }).code;
            code = typeof c === 'number' ? c : 1;
          }
          let errText = String(stderr);
          if (err && (err as { killed?: boolean }).killed)
            errText += `(killed after ${opts.timeoutMs ?? 60_000} ms)\n`;
          else if (err && typeof (err as { code?: unknown }).code !== 'number')
            errText += `${err.message}\n`;
          resolve({
            command,
            code,
            stdout: String(stdout),
            stderr: errText,
            ms: this.#clock.now() - started,
          });
        },
      );
    });
  }

  /** Removes the private cache dir. */
  dispose(): void {
    rmSync(this.#cacheDir, { recursive: true, force: true });
  }
}
