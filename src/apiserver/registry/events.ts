// events.k8s.io/v1 Event: a second view of the core/v1 events, stored once under core events and
// converted field by field (upstream pkg/apis/events/v1/conversion.go): note ↔ message, regarding ↔
// involvedObject, reportingController ↔ reportingComponent, deprecated* ↔ the core counters.
import type { KObject } from '../../api/object.js';
import { eventStrategy } from './cluster.js';
import type { Strategy, VersionConverter } from './types.js';

/** [events.k8s.io/v1 field, core/v1 field] pairs that only change name. */
const renamed: [string, string][] = [
  ['note', 'message'],
  ['regarding', 'involvedObject'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];

function rename(obj: KObject, apiVersion: string, from: 0 | 1): KObject {
  const out: KObject = { ...obj, apiVersion };
  for (const pair of renamed) {
    const src = pair[from];
    const dst = pair[1 - from] as string;
    delete out[src];
    if (obj[src] !== undefined) out[dst] = obj[src];
  }
  return out;
}

/** Core (storage) form of an events.k8s.io/v1 Event, and back. */
const converter: VersionConverter = {
  toStorage: (obj) => (obj.apiVersion === 'v1' ? obj : rename(obj, 'v1', 0)),
  fromStorage: (obj, apiVersion) =>
    obj.apiVersion === apiVersion ? obj : rename(obj, apiVersion, 1),
};

/** The core view of an object in either form (for the core strategy's printer and fields). */
const asCore = (obj: KObject): KObject => converter.toStorage(obj);

/** The events.k8s.io/v1 strategy: the core event rules applied to the stored (core) form. */
export const eventsV1Strategy: Strategy = {
  ...eventStrategy,
  converter,
  storedAs: { group: '', resource: 'events' },
  selectableFields: (obj) => eventStrategy.selectableFields?.(asCore(obj)) ?? {},
  table: eventStrategy.table && {
    columns: eventStrategy.table.columns,
    cells: (obj, now) => eventStrategy.table!.cells(asCore(obj), now),
  },
};
