// The TTL-after-finished controller: deletes finished Jobs ttlSecondsAfterFinished after they
// finished (behaviour follows kubernetes pkg/controller/ttlafterfinished/ttlafterfinished_controller.go).
import type { Job } from 'kubernetes-types/batch/v1.js';
import { objectKey, splitKey } from '../../client/informer.js';
import type { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import { isNotFound } from '../../client/rest.js';
import { type Clock, realClock } from '../../lib/clock.js';
import type { Component } from '../../lib/lifecycle.js';
import type { Logger } from '../../lib/log.js';
import { Controller, type Result } from '../runtime/controller.js';

/** Options of createTTLAfterFinishedController. */
export interface TTLAfterFinishedOptions {
  informers: InformerFactory;
  clock?: Clock;
  log?: Logger;
}

/** The TTL-after-finished controller; `processJob` is exposed for tests. */
export interface TTLAfterFinishedController extends Component {
  readonly controller: Controller;
  processJob(key: string): Promise<Result | undefined>;
}

/** When the Job finished (its Complete or Failed condition's transition), in ms. */
export function jobFinishTime(job: Job): number | undefined {
  const c = job.status?.conditions?.find(
    (x) => (x.type === 'Complete' || x.type === 'Failed') && x.status === 'True',
  );
  if (!c) return undefined;
  const t = Date.parse(c.lastTransitionTime ?? '');
  return Number.isNaN(t) ? undefined : t;
}

const needsCleanup = (job: Job) =>
  job.spec?.ttlSecondsAfterFinished != null &&
  !job.metadata?.deletionTimestamp &&
  jobFinishTime(job) !== undefined;

/** Creates the TTL-after-finished controller. */
export function createTTLAfterFinishedController(
  opts: TTLAfterFinishedOptions,
): TTLAfterFinishedController {
  const { informers } = opts;
  const client = informers.client;
  const clock = opts.clock ?? realClock;
  const jobInformer = informers.informerFor<Job>(R.jobs);

  // ms until the Job expires (≤ 0: expired), or undefined when it needs no cleanup.
  const timeLeft = (job: Job): number | undefined => {
    if (!needsCleanup(job)) return undefined;
    const ttl = (job.spec?.ttlSecondsAfterFinished ?? 0) * 1000;
    return (jobFinishTime(job) ?? 0) + ttl - clock.now();
  };

  const processJob = async (key: string): Promise<Result | undefined> => {
    const { namespace, name } = splitKey(key);
    const cached = jobInformer.lister.get(namespace, name);
    if (!cached) return undefined;
    let left = timeLeft(cached);
    if (left === undefined) return undefined;
    if (left > 0) return { requeueAfter: left };
    // The TTL may have been changed since the cache saw the Job: decide on the live object.
    let fresh: Job;
    try {
      fresh = await client.get<Job>(R.jobs, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    left = timeLeft(fresh);
    if (left === undefined) return undefined;
    if (left > 0) return { requeueAfter: left };
    try {
      // Foreground: the Job stays visible until its pods are gone, as upstream.
      await client.delete(R.jobs, namespace, name, {
        propagationPolicy: 'Foreground',
        preconditions: { uid: fresh.metadata?.uid },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return undefined;
  };

  const controller = new Controller({
    name: 'ttl-after-finished-controller',
    informers,
    clock,
    log: opts.log,
    reconcile: processJob,
  });
  controller.watch(jobInformer, (job) => (needsCleanup(job) ? objectKey(job) : undefined));

  return {
    name: controller.name,
    controller,
    processJob,
    start: (signal) => controller.start(signal),
    stopped: () => controller.stopped(),
  };
}
