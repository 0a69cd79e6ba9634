// Watches of the configMaps and secrets that pods on this node mount (kubelet's watch-based
// configmap/secret managers, pkg/kubelet/util/manager/watch_based_manager.go): one list+watch per
// referenced object (field selector metadata.name), shared by every pod that references it and
// stopped when the last one goes. A change calls back, and the pod worker rewrites its volumes.
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Informer } from '../client/informer.js';
import { R } from '../client/resources.js';
import type { KubeClient } from '../client/rest.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/log.js';
import { volumeObjectRefs } from './volumes.js';

interface Watch {
  abort: AbortController;
  /** Uids of the pods that reference the object. */
  pods: Set<string>;
}

/** The objects pods' volumes reference, each watched while referenced. */
export class VolumeObjectWatches {
  #client: KubeClient;
  #clock: Clock;
  #log: Logger;
  #signal: AbortSignal;
  #onChange: (namespace: string, ref: string) => void;
  // Keyed "<namespace>/<kind>/<name>".
  #watches = new Map<string, Watch>();

  constructor(opts: {
    client: KubeClient;
    clock: Clock;
    log: Logger;
    signal: AbortSignal;
    /** The object (ref "configmap/<name>" or "secret/<name>") was added, changed or deleted. */
    onChange: (namespace: string, ref: string) => void;
  }) {
    this.#client = opts.client;
    this.#clock = opts.clock;
    this.#log = opts.log;
    this.#signal = opts.signal;
    this.#onChange = opts.onChange;
  }

  /** Number of objects watched (for tests). */
  get size(): number {
    return this.#watches.size;
  }

  /** Watches what the pod references now, and drops what it no longer does. */
  register(pod: Pod): void {
    const uid = pod.metadata?.uid ?? '';
    const ns = pod.metadata?.namespace ?? 'default';
    const wanted = new Set(volumeObjectRefs(pod).map((ref) => `${ns}/${ref}`));
    for (const [key, w] of this.#watches) if (!wanted.has(key)) this.#release(key, w, uid);
    for (const key of wanted) {
      const w = this.#watches.get(key) ?? this.#watch(key);
      w.pods.add(uid);
    }
  }

  /** The pod is gone: its references end. */
  unregister(uid: string): void {
    for (const [key, w] of this.#watches) this.#release(key, w, uid);
  }

  #release(key: string, w: Watch, uid: string): void {
    if (!w.pods.delete(uid) || w.pods.size > 0) return;
    w.abort.abort();
    this.#watches.delete(key);
  }

  #watch(key: string): Watch {
    const [namespace = '', kind, name = ''] = key.split('/');
    const abort = new AbortController();
    const stop = () => abort.abort();
    this.#signal.addEventListener('abort', stop, { once: true });
    abort.signal.addEventListener('abort', () => this.#signal.removeEventListener('abort', stop));
    const informer = new Informer({
      client: this.#client,
      resource: kind === 'secret' ? R.secrets : R.configmaps,
      namespace,
      fieldSelector: `metadata.name=${name}`,
      clock: this.#clock,
      log: this.#log,
    });
    const ref = `${kind}/${name}`;
    // Every event is a change, the first list's add too: the object may have changed between the
    // GET the volume was written from and this list (an unchanged volume is not rewritten).
    const changed = () => this.#onChange(namespace, ref);
    informer.addEventHandler({ onAdd: changed, onUpdate: changed, onDelete: changed });
    informer.start(abort.signal);
    const w = { abort, pods: new Set<string>() };
    this.#watches.set(key, w);
    return w;
  }
}
