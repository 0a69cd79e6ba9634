// Scale to zero (issue #19): the names and small rules the scale-to-zero controller and the
// ingress share. The ingress renews one activity Lease per Service of an opted-in workload with
// the time of its last request; the controller scales the workload to zero when the Lease has not
// been renewed for the idle window, and back to one when a request renews it while at zero.
import { parseGoDuration } from './exact-quantity.js';

/** Opt-in annotation on a Deployment: "true" lets it scale to zero when idle. */
export const scaleToZeroAnnotation = 'skiff.dev/scale-to-zero';
/** Idle window annotation (Go duration, "60s", "2s", "1m30s") on the Deployment or its HPA. */
export const idleWindowAnnotation = 'skiff.dev/idle-window';
/** Default idle window before a workload scales to zero. */
export const defaultIdleWindowMs = 60_000;
/** Label of an activity Lease: the Service whose requests renew it (the ingress selects on it). */
export const activityServiceLabel = 'skiff.dev/activity-for-service';
/** Label of an activity Lease: the Deployment it keeps awake. */
export const activityWorkloadLabel = 'skiff.dev/activity-for-deployment';
/**
 * Annotation of an activity Lease: when the controller decided to scale the workload to zero
 * (written before the scale, so every request held after it renews the Lease later than this).
 */
export const scaledToZeroAtAnnotation = 'skiff.dev/scaled-to-zero-at';

/** The activity Lease of a Service (in the Service's namespace). */
export function activityLeaseName(service: string): string {
  return `skiff-activity-${service}`;
}

/**
 * The idle window an annotation value asks for, in ms; the default when unset or invalid (the
 * controller reports an invalid value as an event).
 * @example
 * idleWindowMs('2s'); // 2000
 */
export function idleWindowMs(value: string | undefined): number {
  if (!value) return defaultIdleWindowMs;
  try {
    const ms = /^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : parseGoDuration(value);
    return ms > 0 ? ms : defaultIdleWindowMs;
  } catch {
    return defaultIdleWindowMs;
  }
}

/**
 * metav1.MicroTime on the wire: RFC 3339 with microseconds (Lease renewTime/acquireTime).
 * @example
 * microTime(Date.UTC(2026, 0, 1, 12, 0, 0, 750)); // "2026-01-01T12:00:00.750000Z"
 */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
