// The ab-style report of a `skiff load` run, plus the live progress line (a bar on a TTY, ab's
// "Completed N requests" lines otherwise).
import type { LoadProgress, LoadResult } from './engine.js';
import { AB_PERCENTILES } from './stats.js';

const label = (name: string) => `${name}:`.padEnd(24);
const ms = (v: number) => v.toFixed(3);

/** Formats the result the way ab prints it (fractional milliseconds), plus the per-pod table. */
export function formatReport(r: LoadResult): string {
  const lines: string[] = [];
  const add = (name: string, value: string) => lines.push(`${label(name)}${value}`);
  add('Server Software', r.serverSoftware ?? '');
  add('Server Hostname', r.hostname);
  add('Server Port', String(r.port));
  lines.push('');
  add('Document Path', r.path);
  add('Document Length', `${r.documentLength ?? 0} bytes`);
  lines.push('');
  add('Concurrency Level', String(r.concurrency));
  add('Time taken for tests', `${(r.elapsedMs / 1000).toFixed(3)} seconds`);
  add('Complete requests', String(r.complete));
  add('Failed requests', String(r.failed));
  if (r.failed > 0) {
    const f = r.failures;
    lines.push(
      `   (Connect: ${f.connect}, Reset: ${f.reset}, Timeout: ${f.timeout}, Other: ${f.other})`,
    );
    for (const [msg, n] of Object.entries(r.errorSamples)) lines.push(`   ${n} × ${msg}`);
  }
  if (r.non2xx > 0) {
    add('Non-2xx responses', String(r.non2xx));
    const codes = Object.entries(r.statusCodes).filter(([c]) => !c.startsWith('2'));
    lines.push(`   (${codes.map(([c, n]) => `${c}: ${n}`).join(', ')})`);
  }
  if (r.keepAlive) add('Keep-Alive requests', String(r.complete - r.failed));
  add('Total transferred', `${r.totalBytes} bytes`);
  add('HTML transferred', `${r.bodyBytes} bytes`);
  add('Requests per second', `${r.requestsPerSecond.toFixed(2)} [#/sec] (mean)`);
  add('Time per request', `${ms(r.timePerRequestMs)} [ms] (mean)`);
  add(
    'Time per request',
    `${ms(r.timePerRequestAcrossMs)} [ms] (mean, across all concurrent requests)`,
  );
  add('Transfer rate', `${r.transferRateKBps.toFixed(2)} [Kbytes/sec] received`);
  const l = r.latency;
  if (l) {
    lines.push('');
    lines.push('Request times (ms)');
    lines.push('              min     mean[+/-sd]   median      max');
    lines.push(
      `Total:  ${[ms(l.min), ms(l.mean), ms(l.sd), ms(l.median), ms(l.max)].map((v) => v.padStart(9)).join('')}`,
    );
    lines.push('');
    lines.push('Percentage of the requests served within a certain time (ms)');
    for (const p of AB_PERCENTILES) {
      const v = ms(l.percentiles[String(p)] ?? Number.NaN);
      lines.push(
        `  ${`${p}%`.padStart(4)} ${v.padStart(10)}${p === 100 ? ' (longest request)' : ''}`,
      );
    }
  }
  const pods = Object.entries(r.pods);
  if (pods.length > 0) {
    const total = pods.reduce((s, [, n]) => s + n, 0);
    const width = Math.max(3, ...pods.map(([p]) => p.length));
    lines.push('');
    lines.push('Responses by pod');
    lines.push(`  ${'POD'.padEnd(width)}  ${'RESPONSES'.padStart(9)}  SHARE`);
    for (const [pod, n] of pods) {
      lines.push(
        `  ${pod.padEnd(width)}  ${String(n).padStart(9)}  ${((100 * n) / total).toFixed(1).padStart(5)}%`,
      );
    }
  }
  if (r.stoppedBy === 'signal') lines.push('', 'Stopped early: interrupted.');
  return `${lines.join('\n')}\n`;
}

/** Renders a one-line progress bar (for a TTY, redrawn in place with \r). */
export function formatProgressBar(p: LoadProgress, width = 30): string {
  const byTime = p.timeLimitMs ? Math.min(1, p.elapsedMs / p.timeLimitMs) : 0;
  const byCount = p.target > 0 ? Math.min(1, p.done / p.target) : 1;
  const frac = Math.max(byTime, byCount);
  const filled = Math.round(frac * width);
  const bar = `${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}`.padEnd(width);
  const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
  const count = p.timeLimitMs ? `${p.done}` : `${p.done}/${p.target}`;
  return `[${bar}] ${(frac * 100).toFixed(0).padStart(3)}%  ${count} req  ${rate.toFixed(0)} req/s  ${p.failed} failed  ${(p.elapsedMs / 1000).toFixed(1)}s`;
}

/**
 * Reports progress as ab does off a TTY: one "Completed N requests" line each time another tenth
 * of the target is done. Returns the lines to print for this snapshot (often none).
 */
export function progressLines(): (p: LoadProgress) => string[] {
  let nextTenth = 1;
  return (p) => {
    const out: string[] = [];
    const step = Math.max(1, Math.floor(p.target / 10));
    while (nextTenth <= 10 && p.done >= nextTenth * step) {
      out.push(`Completed ${nextTenth * step} requests`);
      nextTenth++;
    }
    return out;
  };
}
