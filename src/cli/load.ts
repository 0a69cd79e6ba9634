// `skiff load URL`: an ab-compatible load generator (ab's -c -n -t -k -H -m -p -T -s flags) with a
// live progress bar, an ab-like report with exact percentiles, and the spread of answers over pods.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { errorMessage } from '../lib/errors.js';
import { type LoadOptions, runLoad } from '../load/engine.js';
import { formatProgressBar, formatReport, progressLines } from '../load/report.js';

/** Parsed `skiff load` flags. */
export interface LoadFlags {
  concurrency: number;
  requests?: number;
  timelimit?: number;
  keepalive: boolean;
  header: string[];
  method?: string;
  postfile?: string;
  contentType?: string;
  timeout: number;
  json: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('Not a positive integer.');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('Not a positive number.');
  return n;
}

function collect(value: string, previous: string[]): string[] {
  if (!/^[^:\s]+:/.test(value)) {
    throw new InvalidArgumentError('Expected a header like "Name: value".');
  }
  return [...previous, value];
}

/** Builds the argument parser (exported for tests). */
export function loadProgram(): Command {
  return new Command('skiff load')
    .description(
      'an ab-compatible HTTP load generator: skiff load -c 50 -n 10000 http://127.0.0.1/',
    )
    .argument('<url>', 'http(s)://host[:port]/path')
    .option('-c, --concurrency <n>', 'requests in flight at once', positiveInt, 1)
    .option('-n, --requests <n>', 'requests to perform (default 1; 50000 with -t)', positiveInt)
    .option(
      '-t, --timelimit <seconds>',
      'stop after this many seconds (implies -n 50000)',
      positiveNumber,
    )
    .option('-k, --keepalive', 'reuse connections (HTTP keep-alive)', false)
    .option('-H, --header <header>', 'extra header "Name: value" (repeatable)', collect, [])
    .option('-m, --method <method>', 'HTTP method (default GET, POST with -p)')
    .option('-p, --postfile <file>', 'file holding the request body')
    .option('-T, --content-type <type>', 'Content-Type of the body (default text/plain)')
    .option('-s, --timeout <seconds>', 'per-request timeout', positiveNumber, 30)
    .addOption(new Option('--json', 'print the result as JSON').default(false))
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
    });
}

/** Turns parsed flags and the URL into engine options. */
export function toLoadOptions(url: string, f: LoadFlags): LoadOptions {
  const headers: Record<string, string> = {};
  for (const h of f.header) {
    const at = h.indexOf(':');
    headers[h.slice(0, at).trim()] = h.slice(at + 1).trim();
  }
  let body: Buffer | undefined;
  if (f.postfile) {
    body = readFileSync(f.postfile);
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = f.contentType ?? 'text/plain';
    }
  } else if (f.contentType) {
    headers['Content-Type'] = f.contentType;
  }
  return {
    url,
    concurrency: f.concurrency,
    requests: f.requests ?? (f.timelimit !== undefined ? 50_000 : 1),
    timeLimitMs: f.timelimit !== undefined ? f.timelimit * 1000 : undefined,
    keepAlive: f.keepalive,
    headers,
    method: (f.method ?? (body ? 'POST' : 'GET')).toUpperCase(),
    body,
    timeoutMs: f.timeout * 1000,
  };
}

/** Runs `skiff load` with the raw arguments after `load`; resolves with the exit code. */
export async function loadCommand(args: string[]): Promise<number> {
  const program = loadProgram();
  try {
    program.parse(args, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  const flags = program.opts<LoadFlags>();
  const rawUrl = program.args[0] ?? '';
  let opts: LoadOptions;
  try {
    const url = new URL(rawUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`unsupported scheme "${url.protocol}"`);
    }
    opts = toLoadOptions(url.href, flags);
  } catch (err) {
    process.stderr.write(`error: invalid URL or flags: ${errorMessage(err)}\n`);
    return 2;
  }
  if (opts.concurrency > opts.requests) {
    process.stderr.write(
      'error: cannot use concurrency level greater than total number of requests\n',
    );
    return 2;
  }

  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const tty = process.stderr.isTTY === true && !flags.json;
  const plain = progressLines();
  if (!flags.json) process.stderr.write(`Benchmarking ${new URL(opts.url).host} (be patient)\n`);
  try {
    const result = await runLoad({
      ...opts,
      signal: controller.signal,
      progressIntervalMs: tty ? 100 : 1000,
      onProgress: flags.json
        ? undefined
        : (p) => {
            if (tty) {
              process.stderr.write(`\r${formatProgressBar(p)}`);
            } else if (p.timeLimitMs !== undefined && p.done < p.target) {
              process.stderr.write(
                `${p.done} requests after ${(p.elapsedMs / 1000).toFixed(1)}s\n`,
              );
            } else {
              for (const line of plain(p)) process.stderr.write(`${line}\n`);
            }
          },
    });
    if (tty) process.stderr.write('\n');
    if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else process.stdout.write(`\n${formatReport(result)}`);
    // Like ab, a run that finished is a success even with failures; nothing answered is not.
    return result.complete > result.failed ? 0 : 1;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}
