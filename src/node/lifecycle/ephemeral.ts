// A pod's ephemeral (debug) containers (kuberuntime_manager.go SyncPod's EphemeralContainersToStart
// and startContainer): added by pod updates, each started once inside the running sandbox (same
// network, UTS, IPC and PID namespaces as every container of the pod, so --target's processes show
// in `ps`), in its own image root with the pod's /etc files, its volumeMounts and the token.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { errorMessage } from '../../lib/errors.js';
import { cgroupResources } from '../cgroups/cgroups.js';
import type { SandboxMount } from '../sandbox/sandbox.js';
import { ContainerRunner, type PodHandle, podEvent } from './container.js';
import { ephemeralMounts } from './pod-setup.js';

/** The ephemeral containers of one pod. */
export class EphemeralContainers {
  /** One runner per spec.ephemeralContainers entry, in spec order (never removed). */
  readonly runners: ContainerRunner[] = [];
  #host: PodHandle;
  #setMounts: (name: string, mounts: SandboxMount[]) => void;
  // Mounts and cgroup made: the container may start.
  #isReady = new Set<string>();
  // Being readied, or readying failed (the failure is its waiting state; not retried).
  #isHeld = new Set<string>();

  constructor(opts: {
    host: PodHandle;
    setMounts: (name: string, mounts: SandboxMount[]) => void;
  }) {
    this.#host = opts.host;
    this.#setMounts = opts.setMounts;
    this.add(opts.host.pod);
  }

  /** Runners for the entries of the pod's spec not seen before; returns the new ones. */
  add(pod: Pod): ContainerRunner[] {
    const added: ContainerRunner[] = [];
    for (const spec of pod.spec?.ephemeralContainers ?? []) {
      if (this.runners.some((r) => r.spec.name === spec.name)) continue;
      // EphemeralContainerCommon is a Container (upstream converts it the same way).
      const r = new ContainerRunner({
        host: this.#host,
        spec: spec as Container,
        isInit: false,
        isEphemeral: true,
      });
      this.runners.push(r);
      added.push(r);
    }
    return added;
  }

  /**
   * Starts one (the plan's ephemeralContainersToStart) once its image is resolved: the first call
   * makes its mounts and cgroup (the sandbox exists by then), the next sync starts it.
   */
  start(name: string): void {
    const r = this.runners.find((x) => x.spec.name === name);
    if (!r?.image) return; // its image is being resolved; that syncs again when done
    if (this.#isReady.has(name)) {
      r.start();
      return;
    }
    if (this.#isHeld.has(name)) return;
    this.#isHeld.add(name);
    const host = this.#host;
    void ephemeralMounts({ ctx: host.ctx, pod: host.pod, podDir: host.podDir, spec: r.spec })
      .then((mounts) => {
        this.#setMounts(name, mounts);
        mkdirSync(path.join(host.podDir, name), { recursive: true });
        host.ctx.cgroups?.create(host.uid, name, cgroupResources(r.spec));
        this.#isReady.add(name);
        this.#isHeld.delete(name);
      })
      .catch((err: unknown) => {
        const message = errorMessage(err);
        r.view.state = { waiting: { reason: 'CreateContainerConfigError', message } };
        podEvent(host, 'Warning', 'Failed', `Error: ${message}`);
      })
      .finally(() => host.changed());
  }
}
