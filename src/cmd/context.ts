// What the wiring modules of cmd/ share about the cluster being started.
import type { Pki } from '../apiserver/auth/pki.js';
import type { DataDirLayout } from '../cli/data-dir.js';
import type { KubeClient } from '../client/rest.js';
import type { Logger } from '../lib/log.js';
import type { ClusterOptions } from './server.js';

/** The running cluster's facts, handed to each wiring function. */
export interface WiringContext {
  opts: ClusterOptions;
  pki: Pki;
  client: KubeClient;
  apiPort: number;
  apiUrl: string;
  layout: DataDirLayout;
  log: Logger;
  signal: AbortSignal;
  notice(message: string): void;
}
