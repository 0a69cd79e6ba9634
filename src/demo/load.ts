// The load of SEED.md step 3: `ab -c 50 -n 10000 http://127.0.0.1:5000/` run inside one pod via
// kubectl exec (as the seed does), or skiff's own load engine through the ingress when there is
// no `ab` on the machine; both give the same few figures.
import { runLoad } from '../load/engine.js';
import type { Kubectl } from './kubectl.js';

/** The figures of one load run. */
export interface LoadFigures {
  tool: 'ab' | 'skiff-load';
  requests: number;
  failed: number;
  requestsPerSecond: number;
  seconds: number;
  /** What the tool printed (ab) or a one-line summary. */
  output: string;
  command: string;
}

/** Reads ab's report; undefined when the text is not one. */
export function parseAbReport(
  text: string,
): Pick<LoadFigures, 'requests' | 'failed' | 'requestsPerSecond' | 'seconds'> | undefined {
  const num = (re: RegExp) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const requests = num(/^Complete requests:\s+(\d+)/m);
  const failed = num(/^Failed requests:\s+(\d+)/m);
  const rps = num(/^Requests per second:\s+([\d.]+)/m);
  const seconds = num(/^Time taken for tests:\s+([\d.]+)/m);
  if (requests === undefined || failed === undefined || rps === undefined || seconds === undefined)
    return undefined;
  // ab counts non-2xx answers apart from "Failed requests"; for the demo both are failures.
  const non2xx = num(/^Non-2xx responses:\s+(\d+)/m) ?? 0;
  return { requests, failed: failed + non2xx, requestsPerSecond: rps, seconds };
}

/**
 * Runs ab inside `pod` against its own app; undefined when ab is missing in the pod. Aborting
 * `signal` stops ab the way Ctrl-C does (SIGINT), and ab still prints its report so far.
 */
export async function abInPod(
  kubectl: Kubectl,
  pod: string,
  load: { requests: number; concurrency: number },
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<LoadFigures | undefined> {
  const args = [
    'exec',
    pod,
    '--',
    'ab',
    '-c',
    String(load.concurrency),
    '-n',
    String(load.requests),
    'http://127.0.0.1:5000/',
  ];
  const onAbort = () => {
    void kubectl.run(['exec', pod, '--', 'killall', '-INT', 'ab'], { timeoutMs: 15_000 });
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const r = await kubectl.run(args, { timeoutMs: opts.timeoutMs });
  opts.signal?.removeEventListener('abort', onAbort);
  // 126/127: the shell could not find or run ab in the pod's filesystem.
  if (r.code === 126 || r.code === 127 || /executable file not found/i.test(r.stderr))
    return undefined;
  const report = parseAbReport(r.stdout);
  if (!report)
    throw new Error(`${r.command} exited with ${r.code} without a report: ${r.stderr.trim()}`);
  return { tool: 'ab', ...report, output: r.stdout, command: r.command };
}

/** Runs skiff's load engine (ab work-alike) through the ingress; aborting stops it early. */
export async function loadThroughIngress(
  url: string,
  load: { requests: number; concurrency: number },
  opts: { signal?: AbortSignal } = {},
): Promise<LoadFigures> {
  const r = await runLoad({
    url,
    concurrency: load.concurrency,
    requests: load.requests,
    signal: opts.signal,
  });
  const failed = r.failed + r.non2xx;
  return {
    tool: 'skiff-load',
    requests: r.complete,
    failed,
    requestsPerSecond: r.requestsPerSecond,
    seconds: r.elapsedMs / 1000,
    output: `${r.complete} requests in ${(r.elapsedMs / 1000).toFixed(1)} s, ${failed} failed, ${Math.round(r.requestsPerSecond)}/s`,
    command: `skiff load -c ${load.concurrency} -n ${load.requests} ${url}`,
  };
}
