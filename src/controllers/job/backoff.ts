// Pod-failure back-off of Jobs: replacement pods wait 10 s × 2^(failures−1), capped at 10 min,
// counted from the last failure after the last success (kubernetes pkg/controller/job/backoff_utils.go).
import type { Pod } from 'kubernetes-types/core/v1.js';

/** Default delay after the first failure (upstream DefaultJobPodFailureBackOff). */
export const defaultPodFailureBackoffMs = 10_000;
/** Cap of the delay (upstream MaxJobPodFailureBackOff). */
export const maxPodFailureBackoffMs = 10 * 60_000;

/** What the controller remembers per Job between syncs. */
export interface BackoffRecord {
  failuresAfterLastSuccess: number;
  /** ms since the epoch; set whenever failuresAfterLastSuccess > 0. */
  lastFailureTime?: number;
}

/**
 * When a pod finished: its containers' latest finishedAt, else when Ready turned False, else its
 * deletion time minus the grace period, else now (upstream getFinishedTime).
 */
export function podFinishedTime(p: Pod, now: number): number {
  let latest: number | undefined;
  const statuses = p.status?.containerStatuses ?? [];
  for (const s of statuses) {
    const at = s.state?.terminated?.finishedAt;
    const t = at ? Date.parse(at) : Number.NaN;
    if (Number.isNaN(t)) {
      latest = undefined;
      break;
    }
    latest = latest === undefined ? t : Math.max(latest, t);
  }
  if (latest !== undefined) return latest;
  const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status === 'False' && ready.lastTransitionTime) {
    const t = Date.parse(ready.lastTransitionTime);
    if (!Number.isNaN(t)) return t;
  }
  if (p.metadata?.deletionTimestamp) {
    return (
      Date.parse(p.metadata.deletionTimestamp) - (p.metadata.deletionGracePeriodSeconds ?? 0) * 1000
    );
  }
  return now;
}

/** Per-Job back-off records (upstream backoffStore); the controller is their only writer. */
export class BackoffStore {
  #records = new Map<string, BackoffRecord>();

  /** The record this sync would produce given the newly finished pods (not stored yet). */
  next(key: string, newSucceeded: readonly Pod[], newFailed: readonly Pod[], now: number) {
    const old = this.#records.get(key) ?? { failuresAfterLastSuccess: 0 };
    if (newSucceeded.length === 0 && newFailed.length === 0) return old;
    const byTime = (a: Pod, b: Pod) => podFinishedTime(a, now) - podFinishedTime(b, now);
    const failed = [...newFailed].sort(byTime);
    if (newSucceeded.length === 0) {
      const last = failed[failed.length - 1];
      return {
        failuresAfterLastSuccess: old.failuresAfterLastSuccess + failed.length,
        lastFailureTime: last ? podFinishedTime(last, now) : old.lastFailureTime,
      };
    }
    // A success resets the count; only failures that came after the latest success count.
    const succeeded = [...newSucceeded].sort(byTime);
    const lastSuccess = podFinishedTime(succeeded[succeeded.length - 1] as Pod, now);
    const rec: BackoffRecord = { failuresAfterLastSuccess: 0 };
    for (let i = failed.length - 1; i >= 0; i--) {
      const t = podFinishedTime(failed[i] as Pod, now);
      if (t <= lastSuccess) break;
      rec.lastFailureTime ??= t;
      rec.failuresAfterLastSuccess++;
    }
    return rec;
  }

  update(key: string, rec: BackoffRecord): void {
    this.#records.set(key, rec);
  }

  remove(key: string): void {
    this.#records.delete(key);
  }
}

/** How long creation of replacement pods must still wait (upstream getRemainingTime). */
export function remainingBackoff(
  rec: BackoffRecord,
  now: number,
  baseMs = defaultPodFailureBackoffMs,
  maxMs = maxPodFailureBackoffMs,
): number {
  if (rec.failuresAfterLastSuccess === 0 || rec.lastFailureTime === undefined) return 0;
  let delay = baseMs;
  for (let i = 1; i < rec.failuresAfterLastSuccess; i++) {
    delay *= 2;
    if (delay >= maxMs) {
      delay = maxMs;
      break;
    }
  }
  const elapsed = now - rec.lastFailureTime;
  return delay < elapsed ? 0 : delay - elapsed;
}
