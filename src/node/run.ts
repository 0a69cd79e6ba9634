// Runs a host helper command (ip, nsenter, ...) and collects its output; rejects with stderr on failure.
import { spawn } from 'node:child_process';

/** Thrown when a helper command exits non-zero. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed (exit ${exitCode}): ${stderr.trim()}`);
    this.name = 'CommandError';
  }
}

/** Runs file with args, feeding input on stdin; resolves with stdout. */
export function runCommand(
  file: string,
  args: string[],
  opts: { input?: string; allowFailure?: boolean } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      if (code === 0 || opts.allowFailure) resolve(stdout);
      else
        reject(new CommandError(`${file} ${args.join(' ')}`, code, Buffer.concat(err).toString()));
    });
    // The command may exit before reading its input: a broken pipe then is not our error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
