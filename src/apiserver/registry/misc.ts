// Strategies for the kinds Skiff stores but barely acts on: ConfigMap, Secret, ServiceAccount,
// Job, Lease, APIService, RBAC, PDB, PriorityClass and webhook configurations (printers.go columns).
import type { KObject } from '../../api/object.js';
import {
  ageColumn,
  ageOf,
  col,
  defaultTable,
  generationHooks,
  hasCondition,
  immutable,
  printer,
} from './common.js';
import { timestampSince } from './duration.js';
import { validateJob, validateJobSpec, validateJobUpdate } from './job-validation.js';
import { defaultPodSpec } from './podspec.js';
import type { Strategy } from './types.js';
import {
  child,
  formatLabelSelector,
  isObj,
  joinContainers,
  jsonEqual,
  list,
  num,
  type Obj,
  setDefault,
  str,
  sub,
} from './util.js';

const count = (v: unknown): number => (isObj(v) ? Object.keys(v).length : 0);

/** The ConfigMap strategy. */
export const configMapStrategy: Strategy = {
  table: printer([col('Data', 'integer'), ageColumn], (cm, now) => [
    count((cm as Obj).data) + count((cm as Obj).binaryData),
    ageOf(cm, now),
  ]),
};

/** The Secret strategy. */
export const secretStrategy: Strategy = {
  defaults: (obj) => {
    setDefault(obj as Obj, 'type', 'Opaque');
    foldStringData(obj as Obj);
  },
  validateUpdate: (obj, old) => [...immutable('type', (obj as Obj).type, (old as Obj).type)],
  selectableFields: (obj) => ({ type: str((obj as Obj).type) }),
  table: printer([col('Type'), col('Data', 'integer'), ageColumn], (s, now) => [
    str((s as Obj).type),
    count((s as Obj).data),
    ageOf(s, now),
  ]),
};

/**
 * stringData is write-only (upstream Secret conversion): its entries are base64-encoded into data,
 * overriding keys of the same name, and the field is dropped before storage.
 */
function foldStringData(secret: Obj): void {
  const stringData = secret['stringData'];
  if (stringData === undefined) return;
  if (stringData && typeof stringData === 'object' && !Array.isArray(stringData)) {
    const data = (
      secret['data'] && typeof secret['data'] === 'object' ? secret['data'] : {}
    ) as Record<string, unknown>;
    for (const [k, v] of Object.entries(stringData))
      data[k] = Buffer.from(String(v), 'utf8').toString('base64');
    secret['data'] = data;
  }
  delete secret['stringData'];
}

/** The ServiceAccount strategy. */
export const serviceAccountStrategy: Strategy = {
  table: printer([col('Secrets', 'integer'), ageColumn], (sa, now) => [
    list(sa, 'secrets').length,
    ageOf(sa, now),
  ]),
};

function jobStatusCell(job: KObject): string {
  const status = sub(job, 'status');
  if (hasCondition(status, 'Complete')) return 'Complete';
  if (hasCondition(status, 'Failed')) return 'Failed';
  if (job.metadata?.deletionTimestamp) return 'Terminating';
  if (hasCondition(status, 'Suspended')) return 'Suspended';
  if (hasCondition(status, 'FailureTarget')) return 'FailureTarget';
  if (hasCondition(status, 'SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

/** The batch/v1 Job strategy. */
export const jobStrategy: Strategy = {
  defaults(obj) {
    const spec = child(obj as Obj, 'spec');
    if (spec.completions === undefined && spec.parallelism === undefined) spec.completions = 1;
    setDefault(spec, 'parallelism', 1);
    // With a per-index limit the Job-wide one steps aside: upstream defaults it to MaxInt32.
    setDefault(spec, 'backoffLimit', spec.backoffLimitPerIndex != null ? 2_147_483_647 : 6);
    setDefault(spec, 'completionMode', 'NonIndexed');
    setDefault(spec, 'suspend', false);
    if (spec.podFailurePolicy === undefined)
      setDefault(spec, 'podReplacementPolicy', 'TerminatingOrFailed');
    const tmpl = child(spec, 'template');
    child(tmpl, 'metadata');
    defaultPodSpec(child(tmpl, 'spec'));
  },
  prepareForCreate(obj, ctx) {
    generationHooks().prepareForCreate?.(obj, ctx);
    // generateSelector: label the template and select on the job's uid unless manualSelector.
    const spec = child(obj as Obj, 'spec');
    const uid = obj.metadata?.uid;
    if (spec.manualSelector === true || typeof uid !== 'string' || uid === '') return;
    const name = str(obj.metadata?.name);
    const tmplMeta = child(child(spec, 'template'), 'metadata');
    tmplMeta.labels = {
      ...(sub(tmplMeta, 'labels') ?? {}),
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': name,
      'controller-uid': uid,
      'job-name': name,
    };
    spec.selector ??= { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  },
  prepareForUpdate: generationHooks().prepareForUpdate,
  validate: (obj) => validateJob(obj, sub(obj, 'spec') ?? {}),
  validateUpdate(obj, old) {
    const spec = sub(obj, 'spec') ?? {};
    const oldSpec = sub(old, 'spec') ?? {};
    // A status write leaves the spec as it was: nothing of it to check again.
    if (jsonEqual(spec, oldSpec)) return [];
    return [...validateJobSpec(spec, 'spec'), ...validateJobUpdate(spec, oldSpec)];
  },
  selectableFields: (obj) => ({ 'status.successful': String(num(sub(obj, 'status')?.succeeded)) }),
  table: printer(
    [
      col('Status'),
      col('Completions'),
      col('Duration'),
      ageColumn,
      col('Containers', 'string', true),
      col('Images', 'string', true),
      col('Selector', 'string', true),
    ],
    (job, now) => {
      const spec = sub(job, 'spec') ?? {};
      const status = sub(job, 'status') ?? {};
      const succeeded = num(status.succeeded);
      let completions: string;
      if (typeof spec.completions === 'number') completions = `${succeeded}/${spec.completions}`;
      else {
        const parallelism = num(spec.parallelism);
        completions = parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
      }
      let duration = '';
      if (typeof status.startTime === 'string') {
        const end =
          typeof status.completionTime === 'string' ? Date.parse(status.completionTime) : now;
        duration = timestampSince(status.startTime, end);
      }
      const podSpec = sub(spec.template, 'spec');
      return [
        jobStatusCell(job),
        completions,
        duration,
        ageOf(job, now),
        joinContainers(podSpec, 'name'),
        joinContainers(podSpec, 'image'),
        formatLabelSelector(spec.selector),
      ];
    },
  ),
};

/** The coordination.k8s.io Lease strategy. */
export const leaseStrategy: Strategy = {
  table: printer([col('Holder'), ageColumn], (l, now) => [
    str(sub(l, 'spec')?.holderIdentity),
    ageOf(l, now),
  ]),
};

/** The apiregistration.k8s.io APIService strategy (kube-aggregator's printer). */
export const apiServiceStrategy: Strategy = {
  table: printer([col('Service'), col('Available'), ageColumn], (a, now) => {
    const svc = sub(sub(a, 'spec'), 'service');
    const cond = list(sub(a, 'status'), 'conditions').find((c) => c.type === 'Available');
    let available = 'Unknown';
    if (cond) {
      available = str(cond.status);
      if (cond.status !== 'True' && str(cond.reason) !== '') available += ` (${str(cond.reason)})`;
    }
    return [svc ? `${str(svc.namespace)}/${str(svc.name)}` : 'Local', available, ageOf(a, now)];
  }),
};

const subjects = (b: KObject, kind: string): string =>
  list(b, 'subjects')
    .filter((s) => s.kind === kind)
    .map((s) => (kind === 'ServiceAccount' ? `${str(s.namespace)}/${str(s.name)}` : str(s.name)))
    .join(', ');

/** Role/ClusterRole strategy (NAME, CREATED AT like upstream printRole). */
export const roleStrategy: Strategy = { table: defaultTable };

/** RoleBinding/ClusterRoleBinding strategy. */
export const roleBindingStrategy: Strategy = {
  table: printer(
    [
      col('Role'),
      ageColumn,
      col('Users', 'string', true),
      col('Groups', 'string', true),
      col('ServiceAccounts', 'string', true),
    ],
    (b, now) => {
      const ref = sub(b, 'roleRef') ?? {};
      return [
        `${str(ref.kind)}/${str(ref.name)}`,
        ageOf(b, now),
        subjects(b, 'User'),
        subjects(b, 'Group'),
        subjects(b, 'ServiceAccount'),
      ];
    },
  ),
};

/** The policy/v1 PodDisruptionBudget strategy. */
export const pdbStrategy: Strategy = {
  ...generationHooks(),
  table: printer(
    [
      col('Min Available'),
      col('Max Unavailable'),
      col('Allowed Disruptions', 'integer'),
      ageColumn,
    ],
    (p, now) => {
      const spec = sub(p, 'spec') ?? {};
      return [
        spec.minAvailable === undefined ? 'N/A' : str(spec.minAvailable),
        spec.maxUnavailable === undefined ? 'N/A' : str(spec.maxUnavailable),
        num(sub(p, 'status')?.disruptionsAllowed),
        ageOf(p, now),
      ];
    },
  ),
};

/** The scheduling.k8s.io PriorityClass strategy. */
export const priorityClassStrategy: Strategy = {
  defaults: (obj) => setDefault(obj as Obj, 'preemptionPolicy', 'PreemptLowerPriority'),
  table: printer(
    [
      col('Value', 'integer'),
      col('Global-Default', 'boolean'),
      ageColumn,
      col('PreemptionPolicy', 'string', true),
    ],
    (pc, now) => [
      num((pc as Obj).value),
      (pc as Obj).globalDefault === true,
      ageOf(pc, now),
      str((pc as Obj).preemptionPolicy),
    ],
  ),
};

/** Mutating/ValidatingWebhookConfiguration strategy. */
export const webhookConfigurationStrategy: Strategy = {
  table: printer([col('Webhooks', 'integer'), ageColumn], (w, now) => [
    list(w, 'webhooks').length,
    ageOf(w, now),
  ]),
};
