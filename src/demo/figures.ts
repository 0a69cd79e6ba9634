// The demo's measured figures, the rule for calling the walkthrough a success, and the
// one-screen summary printed at the end.
import pc from 'picocolors';
import type { DemoStep } from './timeline.js';

/** What the demo measured (seconds are wall time; undefined when the step did not get there). */
export interface DemoFigures {
  /** Requests the loop sent through the ingress during the whole demo. */
  requests: number;
  /** Of those, how many failed (connection errors or non-2xx answers). */
  failedRequests: number;
  /** The pod whose app was killed. */
  killedPod?: string;
  /** Kill → the pod is not Ready (the failure is noticed). */
  notReadySeconds?: number;
  /** Kill → the pod is Ready again with one restart. */
  healSeconds?: number;
  /** Kill → the killed pod answers through the ingress again. */
  trafficBackSeconds?: number;
  /** The scale-down stabilization window the demo set on the HPA. */
  stabilizationWindowSeconds: number;
  /** Load start → the HPA first wants more than minReplicas. */
  scaleDecisionSeconds?: number;
  /** Load start → the first pod created by the scale-up is Ready. */
  firstNewPodSeconds?: number;
  /** Highest replica count the Deployment reached. */
  peakReplicas: number;
  /** Highest number of Ready pods at once. */
  peakReadyPods: number;
  /** How the load was generated, and its result. */
  load?: {
    tool: 'ab' | 'skiff-load';
    requests: number;
    failed: number;
    requestsPerSecond: number;
    seconds: number;
  };
  /** Load end → the Deployment is back to minReplicas. */
  scaleDownSeconds?: number;
  totalSeconds: number;
}

/** The verdict: success, and why not. */
export interface DemoVerdict {
  ok: boolean;
  problems: string[];
}

/**
 * Success means 0 failed requests, a heal, a scale-up to at least 3 and a scale-down to 2.
 * Figures of steps that never ran (`skipped`) are not blamed again: the step error says why.
 */
export function evaluateFigures(
  f: DemoFigures,
  stepErrors: string[] = [],
  skipped: readonly DemoStep[] = [],
): DemoVerdict {
  const problems = [...stepErrors];
  const ran = (s: DemoStep) => !skipped.includes(s);
  if (skipped.length > 0) problems.push(`skipped after the failure: ${skipped.join(', ')}`);
  if (f.requests === 0 && ran('traffic')) problems.push('no request went through the ingress');
  if (f.failedRequests > 0)
    problems.push(`${f.failedRequests} requests failed through the ingress`);
  if (f.load && f.load.failed > 0)
    problems.push(`${f.load.failed} of the load's ${f.load.requests} requests failed`);
  if (f.healSeconds === undefined && ran('self-heal'))
    problems.push('the killed pod did not become Ready again');
  if (f.peakReplicas < 3 && ran('load'))
    problems.push(`the HPA scaled to ${f.peakReplicas} replicas, not 3 or more`);
  if (f.scaleDownSeconds === undefined && ran('scale-down'))
    problems.push('the Deployment did not scale back to 2');
  return { ok: problems.length === 0, problems: [...new Set(problems)] };
}

const secs = (s: number | undefined): string => (s === undefined ? '—' : `${s.toFixed(1)} s`);

/** The one-screen summary, with the clean-up commands. */
export function formatSummary(
  f: DemoFigures,
  v: DemoVerdict,
  opts: { color?: boolean; dataDirFlag?: string; dashboardUrl?: string } = {},
): string {
  const c = opts.color ? pc : pc.createColors(false);
  const row = (label: string, value: string, good?: boolean) =>
    `  ${label.padEnd(34)}${good === undefined ? value : good ? c.green(value) : c.red(value)}`;
  const lines = [
    '',
    c.bold(v.ok ? 'The walkthrough succeeded.' : 'The walkthrough did not fully succeed.'),
    row(
      'failed requests (request loop)',
      `${f.failedRequests} of ${f.requests}`,
      f.failedRequests === 0 && f.requests > 0,
    ),
    row('failure noticed (pod not Ready)', secs(f.notReadySeconds)),
    row('heal time (Ready, RESTARTS 1)', secs(f.healSeconds), f.healSeconds !== undefined),
    row('killed pod answers again', secs(f.trafficBackSeconds)),
  ];
  if (f.load)
    lines.push(
      row(
        `load (${f.load.tool === 'ab' ? 'ab in the pod' : 'skiff load via ingress'})`,
        `${f.load.requests} requests, ${f.load.failed} failed, ${Math.round(f.load.requestsPerSecond)}/s, ${f.load.seconds.toFixed(1)} s`,
      ),
    );
  lines.push(
    row('first scale decision', secs(f.scaleDecisionSeconds)),
    row('first new pod Ready', secs(f.firstNewPodSeconds), f.firstNewPodSeconds !== undefined),
    row(
      'peak replicas (Ready pods)',
      `${f.peakReplicas} (${f.peakReadyPods})`,
      f.peakReplicas >= 3,
    ),
    row(
      `back to 2 (window ${f.stabilizationWindowSeconds} s)`,
      secs(f.scaleDownSeconds),
      f.scaleDownSeconds !== undefined,
    ),
    row('total time', secs(f.totalSeconds)),
  );
  for (const p of v.problems) lines.push(c.red(`  ✗ ${p}`));
  const dd = opts.dataDirFlag ? ` --data-dir ${opts.dataDirFlag}` : '';
  lines.push('', 'The cluster and the objects keep running.');
  if (opts.dashboardUrl) lines.push(`  dashboard: ${opts.dashboardUrl}`);
  lines.push(
    '  clean up:  kubectl delete deploy,svc,ing,hpa hello-world-flask',
    `  stop:      skiff down${dd}`,
  );
  return lines.join('\n');
}
