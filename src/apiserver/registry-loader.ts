// Loads the registry engineer's modules (strategies, unknown-field detection, protobuf decoder)
// when they exist, so the API server still runs with generic behaviour before they land.
import type { KObject } from '../client/rest.js';
import { createLogger } from '../lib/log.js';
import type { Strategy } from './registry/types.js';

const log = createLogger({ component: 'apiserver' });

/** What src/apiserver/registry/index.ts exports. */
export interface RegistryModule {
  /** Strategies keyed "<group>/<resource>" (a Map or a plain record). */
  strategies: ReadonlyMap<string, Strategy> | Record<string, Strategy>;
  /** Preferred lookup when present (it supplies the registry's fallback strategy). */
  strategyFor?: (group: string, resource: string) => Strategy | undefined;
  findUnknownFields?: (apiVersion: string, kind: string, obj: unknown) => string[];
  /** Upstream-worded JSON type errors of obj against its kind's schema. */
  findTypeErrors?: (apiVersion: string, kind: string, obj: unknown) => string[];
}

/** Looks a strategy up in a registry module. */
export function lookupStrategy(
  registry: RegistryModule,
  group: string,
  resource: string,
): Strategy | undefined {
  if (registry.strategyFor) return registry.strategyFor(group, resource);
  const key = `${group}/${resource}`;
  const s = registry.strategies;
  return s instanceof Map ? s.get(key) : (s as Record<string, Strategy>)[key];
}

/** Decodes a Kubernetes protobuf body (k8s\0 + runtime.Unknown) into a JSON-shaped object. */
export type ProtobufDecoder = (body: Buffer) => KObject;

// Variable specifiers keep tsc from requiring the modules before their owners commit them.
const registrySpecifier = './registry/index.js';
const protobufSpecifier = './protobuf/decode.js';

function isMissingModule(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND';
}

/** Imports the registry; an empty registry when it does not exist yet. */
export async function loadRegistry(): Promise<RegistryModule> {
  try {
    const mod = (await import(registrySpecifier)) as Partial<RegistryModule>;
    return {
      strategies: mod.strategies ?? {},
      strategyFor: mod.strategyFor,
      findUnknownFields: mod.findUnknownFields,
      findTypeErrors: mod.findTypeErrors,
    };
  } catch (err) {
    if (!isMissingModule(err)) throw err;
    log.warn('Registry module not present: serving without per-resource strategies');
    return { strategies: {} };
  }
}

/** Imports the protobuf decoder; undefined when it does not exist yet. */
export async function loadProtobufDecoder(): Promise<ProtobufDecoder | undefined> {
  try {
    const mod = (await import(protobufSpecifier)) as { decodeProtobuf?: ProtobufDecoder };
    return mod.decodeProtobuf;
  } catch (err) {
    if (!isMissingModule(err)) throw err;
    log.warn('Protobuf decoder not present: protobuf request bodies answer 415');
    return undefined;
  }
}

/**
 * A loader of the protobuf decoder that imports it on first call: protobufjs and its schema cost
 * startup time and memory, and only kubectl's typed creates send protobuf.
 */
export function lazyProtobufDecoder(): () => Promise<ProtobufDecoder | undefined> {
  let loading: Promise<ProtobufDecoder | undefined> | undefined;
  return () => {
    loading ??= loadProtobufDecoder();
    return loading;
  };
}
