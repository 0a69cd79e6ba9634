// Container lifecycle hooks (pkg/kubelet/lifecycle/handlers.go): postStart and preStop handlers
// run as exec, httpGet or sleep; failures are worded as the kubelet's FailedPostStartHook events.
import type { Container, LifecycleHandler } from 'kubernetes-types/core/v1.js';
import type { Clock } from '../../lib/clock.js';
import { type ProbeTarget, runProbe } from '../probes.js';

/** Runs one lifecycle handler; resolves with undefined on success or the failure's message. */
export async function runLifecycleHandler(opts: {
  handler: LifecycleHandler;
  target: ProbeTarget;
  clock: Clock;
  timeoutMs: number;
  /** `name_namespace(uid)`, as the kubelet names the pod in hook messages. */
  podID: string;
}): Promise<string | undefined> {
  const { handler, target, timeoutMs } = opts;
  if (handler.sleep) {
    await opts.clock.sleep(Math.min(handler.sleep.seconds * 1000, timeoutMs));
    return undefined;
  }
  if (!handler.exec && !handler.httpGet) return undefined;
  const result = await runProbe(
    { exec: handler.exec, httpGet: handler.httpGet, timeoutSeconds: timeoutMs / 1000 },
    target,
  );
  if (result.ok) return undefined;
  const c: Container = target.container;
  const what = handler.exec
    ? `Exec lifecycle hook (${JSON.stringify(handler.exec.command ?? [])})`
    : `HTTP lifecycle hook (${handler.httpGet?.path ?? '/'})`;
  return `${what} for Container "${c.name}" in Pod "${opts.podID}" failed - error: ${result.message}`;
}
