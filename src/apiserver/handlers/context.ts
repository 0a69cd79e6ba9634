// What every handler can reach: the storage context (generic store, issuers) plus the registry,
// the protobuf decoder loader, the logger and the watch tracker.
import type { Logger } from '../../lib/log.js';
import type { Registry, StorageContext } from '../registry/storage.js';
import type { ProtobufDecoder } from './body.js';

export type { UserInfo } from '../registry/storage.js';

/** Shared state of the handlers of one API server. */
export interface ApiContext extends StorageContext {
  registry: Registry;
  /** Loads the protobuf body decoder (on first use). */
  loadProtobuf?: () => Promise<ProtobufDecoder | undefined>;
  log: Logger;
  /** Registers a long-running stream to end on server close; returns an unregister function. */
  trackWatch: (close: () => void) => () => void;
}
