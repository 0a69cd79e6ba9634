// Test harness for controllers: a real API server over the memory store, a shared informer factory
// and a FakeClock, plus helpers to seed objects and wait for informer caches to catch up.
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { startTestApiServer, type TestApiServer } from '../../apiserver/testing.js';
import { type Informer, type MetaObject, objectKey } from '../../client/informer.js';
import { InformerFactory } from '../../client/informer-factory.js';
import { R } from '../../client/resources.js';
import type { KubeClient } from '../../client/rest.js';
import { FakeClock } from '../../lib/clock.js';
import { createLogger } from '../../lib/log.js';

/** A running controller test environment; close() it in `after`. */
export interface ControllerEnv {
  api: TestApiServer;
  client: KubeClient;
  clock: FakeClock;
  informers: InformerFactory;
  signal: AbortSignal;
  /** Starts the informers and waits for their first list. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Starts an API server and an informer factory sharing one FakeClock. */
export async function startControllerEnv(): Promise<ControllerEnv> {
  const clock = new FakeClock();
  const api = await startTestApiServer({ clock });
  const ctrl = new AbortController();
  const informers = new InformerFactory({
    client: api.client,
    clock,
    log: createLogger({ test: true }),
  });
  return {
    api,
    client: api.client,
    clock,
    informers,
    signal: ctrl.signal,
    async sync() {
      informers.start(ctrl.signal);
      await informers.waitForCacheSync(ctrl.signal);
    },
    async close() {
      ctrl.abort();
      await informers.stopped();
      await api.close();
    },
  };
}

/**
 * Waits until cond() holds, yielding to I/O between checks (informer caches fill asynchronously
 * over the watch). Fails after `ms` of real time; this bounds a wait, it is not a sleep.
 */
export async function waitFor(cond: () => boolean, what = 'condition', ms = 15_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A minimal valid pod spec. */
export const podSpec = (
  extra: Partial<NonNullable<Pod['spec']>> = {},
): NonNullable<Pod['spec']> => ({
  containers: [{ name: 'c', image: 'busybox' }],
  ...extra,
});

/** Sets pod phase/Ready through the status subresource, as the node agent would. */
export async function setPodStatus(
  client: KubeClient,
  pod: Pod,
  opts: { phase?: string; ready?: boolean; readySince?: string; restarts?: number },
): Promise<Pod> {
  const fresh = await client.get<Pod>(R.pods, pod.metadata?.namespace, pod.metadata?.name ?? '');
  const conditions: PodCondition[] = [];
  if (opts.ready !== undefined) {
    conditions.push({
      type: 'Ready',
      status: opts.ready ? 'True' : 'False',
      lastTransitionTime: opts.readySince ?? fresh.metadata?.creationTimestamp,
    });
  }
  return client.updateStatus<Pod>(R.pods, {
    ...fresh,
    status: {
      ...fresh.status,
      phase: opts.phase ?? 'Running',
      conditions,
      containerStatuses:
        opts.restarts !== undefined
          ? [
              {
                name: 'c',
                image: 'busybox',
                imageID: '',
                ready: !!opts.ready,
                restartCount: opts.restarts,
              },
            ]
          : fresh.status?.containerStatuses,
    },
  });
}

/** Waits until the informer's cache of a namespace equals what the API server lists now. */
export async function cacheCaughtUp<T extends MetaObject>(
  client: KubeClient,
  informer: Informer<T>,
  namespace?: string,
): Promise<void> {
  const list = await client.list<T>(informer.resource, { namespace });
  const want = new Map(list.items.map((o) => [objectKey(o), o.metadata?.resourceVersion]));
  await waitFor(() => {
    const have = informer.lister.list(namespace);
    return (
      have.length === want.size &&
      have.every((o) => want.get(objectKey(o)) === o.metadata?.resourceVersion)
    );
  }, `${informer.resource.resource} cache`);
}
