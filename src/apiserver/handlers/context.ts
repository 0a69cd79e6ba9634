// What every handler can reach: the generic store, the registry, optional decoders and issuers.
import type { Logger } from '../../lib/log.js';
import type { ProtobufDecoder, RegistryModule } from '../registry-loader.js';
import type { GenericStore } from './store.js';

/** A request for a ServiceAccount token (the TokenRequest subresource). */
export interface ServiceAccountTokenRequest {
  namespace: string;
  name: string;
  uid: string;
  audiences?: string[];
  expirationSeconds?: number;
  boundObjectRef?: { kind?: string; apiVersion?: string; name?: string; uid?: string };
}

/** Issues a signed ServiceAccount token (provided by the auth module through cmd/). */
export type ServiceAccountIssuer = (
  req: ServiceAccountTokenRequest,
) =>
  | Promise<{ token: string; expirationTimestamp: string }>
  | { token: string; expirationTimestamp: string };

/** How the API server reaches node agents (kubelets) for logs and exec. */
export interface KubeletClientConfig {
  /** Bearer token the node agent accepts from the API server. */
  token?: string;
  /** PEM CA that signed the node agent's serving certificate. */
  ca?: string;
  /** Skip verification of the node agent certificate (tests only). */
  insecureSkipTLSVerify?: boolean;
}

/** The authenticated caller. */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
}

/** Shared state of the handlers of one API server. */
export interface ApiContext {
  store: GenericStore;
  registry: RegistryModule;
  /** Loads the protobuf body decoder (on first use); undefined when none exists. */
  loadProtobuf?: () => Promise<ProtobufDecoder | undefined>;
  serviceAccountIssuer?: ServiceAccountIssuer;
  kubelet?: KubeletClientConfig;
  log: Logger;
  /** Registers a long-running stream to end on server close; returns an unregister function. */
  trackWatch: (close: () => void) => () => void;
}
