// The start(signal) seam every component implements (k3s's Executor idea): cmd/ wires them in one
// place, in order, and stops them all by aborting one signal.

/** A long-running part of Skiff: controllers, node agent, proxy, DNS, dashboard. */
export interface Component {
  /** Short name for logs and `skiff up` progress, e.g. "deployment-controller". */
  readonly name: string;
  /**
   * Starts the component and resolves once it is ready (caches synced, ports bound). The component
   * keeps running until `signal` aborts, then releases everything it owns (timers, sockets,
   * children, watches). Rejects when it cannot start.
   */
  start(signal: AbortSignal): Promise<void>;
  /** Optional: resolves once everything the component owns has been released after abort. */
  stopped?(): Promise<void>;
}
