// Watch: streams chunked JSON events from the store (follows k8s.io/apiserver
// pkg/endpoints/handlers/watch.go and the cacher's filtering of old/new objects against selectors).
import type http from 'node:http';
import type { KObject } from '../../api/object.js';
import type { ResourceInfo } from '../../api/resources.js';
import type { Timer } from '../../lib/clock.js';
import {
  CompactedError,
  type KeyValue,
  type StoreEvent,
  type WatchHandle,
} from '../../store/backend.js';
import type { Rendering } from '../http.js';
import type { GenericStore, ListParams } from '../registry/generic/store.js';
import { expired } from '../status-error.js';
import { buildTable, type IncludeObject } from './table.js';

/** Parameters of one watch request. */
export interface WatchRequest {
  r: ResourceInfo;
  params: ListParams;
  rendering: Rendering;
  allowWatchBookmarks: boolean;
  timeoutSeconds?: number;
  includeObject?: IncludeObject;
}

/** How often a BOOKMARK is sent when the client allows them. */
const bookmarkIntervalMs = 60_000;
/** A client this far behind (bytes buffered) is cut off rather than buffered without bound. */
const maxBufferedBytes = 32 * 1024 * 1024;

// Serialize once per store event and representation, not once per watcher: the same StoreEvent
// object is delivered to every watcher of the store, so a WeakMap keyed on it shares the work.
const decodedCache = new WeakMap<KeyValue, Map<string, KObject>>();
const encodedCache = new WeakMap<StoreEvent, Map<string, string>>();

// Fan-out happens after the write that caused it has answered: the store calls watchers
// synchronously inside the write, so delivering right there would put every watcher's decode,
// filter and socket write in front of the writer's response. Events queue here, in store order,
// and one setImmediate per burst delivers them (setImmediate, not a microtask: the response's
// bytes leave on process.nextTick, which a microtask queued from an async handler would precede).
const deferred: { deliver: (ev: StoreEvent) => void; ev: StoreEvent }[] = [];
let isFlushScheduled = false;

function deferDelivery(deliver: (ev: StoreEvent) => void, ev: StoreEvent): void {
  deferred.push({ deliver, ev });
  if (isFlushScheduled) return;
  isFlushScheduled = true;
  setImmediate(flushDeferred);
}

function flushDeferred(): void {
  isFlushScheduled = false;
  // Deliveries may write to the store (they do not today) and so queue more: take a snapshot.
  const batch = deferred.splice(0, deferred.length);
  for (const { deliver, ev } of batch) deliver(ev);
}

/** Serves a watch on res until the client goes away, the timeout passes, or the server closes. */
export function serveWatch(
  store: GenericStore,
  _req: http.IncomingMessage,
  res: http.ServerResponse,
  w: WatchRequest,
  onClose?: (close: () => void) => () => void,
): void {
  const { r, rendering } = w;
  const prefix = store.prefix(r, w.params.namespace);
  const match = store.matcher(r, w.params);
  const apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
  const clock = store.clock;
  let lastRv = store.backend.currentRevision();
  let handle: WatchHandle | undefined;
  let bookmarkTimer: Timer | undefined;
  let timeoutTimer: Timer | undefined;
  let closed = false;

  const decode = (kv: KeyValue): KObject => {
    let m = decodedCache.get(kv);
    if (!m) {
      m = new Map();
      decodedCache.set(kv, m);
    }
    let obj = m.get(apiVersion);
    if (!obj) {
      obj = store.decode(r, kv);
      m.set(apiVersion, obj);
    }
    return obj;
  };
  const render = (type: string, obj: KObject): string => {
    if (rendering.kind === 'table') {
      const table = buildTable({
        printer: store.strategy(r).table,
        objects: [obj],
        now: clock.now(),
        version: rendering.version,
        resourceVersion: obj.metadata?.resourceVersion,
        includeObject: w.includeObject,
      });
      return `${JSON.stringify({ type, object: table })}\n`;
    }
    return `${JSON.stringify({ type, object: obj })}\n`;
  };
  const write = (line: string) => {
    if (closed) return;
    res.write(line);
    if (res.writableLength > maxBufferedBytes) finish();
  };
  const finish = () => {
    if (closed) return;
    closed = true;
    handle?.close();
    bookmarkTimer?.cancel();
    timeoutTimer?.cancel();
    unregister?.();
    res.end();
  };
  const unregister = onClose?.(finish);

  const onEvent = (ev: StoreEvent) => {
    if (closed) return;
    lastRv = ev.kv.modRevision;
    let type: 'ADDED' | 'MODIFIED' | 'DELETED';
    let obj: KObject;
    if (ev.type === 'create') {
      obj = decode(ev.kv);
      if (match && !match(obj)) return;
      type = 'ADDED';
    } else if (ev.type === 'delete') {
      obj = decode(ev.kv);
      if (match && !match(obj)) return;
      type = 'DELETED';
    } else {
      obj = decode(ev.kv);
      if (!match) type = 'MODIFIED';
      else {
        const isNew = match(obj);
        const wasOld = ev.prevKv ? match(decode(ev.prevKv)) : false;
        if (isNew && wasOld) type = 'MODIFIED';
        else if (isNew) type = 'ADDED';
        else if (wasOld) type = 'DELETED';
        else return;
      }
    }
    const cacheKey = `${type}|${apiVersion}|${rendering.kind}|${w.includeObject ?? ''}`;
    let m = encodedCache.get(ev);
    if (!m) {
      m = new Map();
      encodedCache.set(ev, m);
    }
    let line = m.get(cacheKey);
    if (line === undefined || rendering.kind === 'table') {
      line = render(type, obj);
      m.set(cacheKey, line);
    }
    write(line);
  };

  res.writeHead(200, { 'Content-Type': rendering.contentType, 'Transfer-Encoding': 'chunked' });
  // Send headers now: clients (reflectors, kubectl -w) wait for them before reading events.
  res.flushHeaders();
  // The response's 'close' covers both the client going away and our own end (the request's
  // 'close' is not a disconnect signal).
  res.on('close', finish);

  const rv = w.params.resourceVersion;
  let from: number;
  if (!rv || rv === '0') {
    // No RV (or "any"): the current state first, as synthetic ADDED events, then later changes.
    const list = store.list(r, { ...w.params, resourceVersion: undefined });
    for (const obj of list.items) write(render('ADDED', obj));
    from = Number(list.resourceVersion);
  } else {
    from = Number(rv);
  }
  lastRv = from;
  try {
    let isBacklog = true;
    handle = store.backend.watch(prefix, from, (ev) => {
      // The backlog (events since `from`) arrives synchronously here: deliver it at once, so it
      // precedes any live event queued later.
      if (isBacklog) onEvent(ev);
      else deferDelivery(onEvent, ev);
    });
    isBacklog = false;
  } catch (err) {
    if (!(err instanceof CompactedError)) throw err;
    const status = expired(err.requested, err.compacted).toStatus();
    write(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
    finish();
    return;
  }
  if (w.allowWatchBookmarks) {
    const scheduleBookmark = () => {
      bookmarkTimer = clock.setTimeout(() => {
        const bookmark = {
          kind: r.kind,
          apiVersion,
          metadata: { resourceVersion: String(lastRv) },
        };
        write(`${JSON.stringify({ type: 'BOOKMARK', object: bookmark })}\n`);
        if (!closed) scheduleBookmark();
      }, bookmarkIntervalMs);
    };
    scheduleBookmark();
  }
  if (w.timeoutSeconds !== undefined && w.timeoutSeconds > 0) {
    timeoutTimer = clock.setTimeout(finish, w.timeoutSeconds * 1000);
  }
}
