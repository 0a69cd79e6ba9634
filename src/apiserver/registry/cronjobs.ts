// The batch/v1 CronJob strategy: defaults (pkg/apis/batch/v1/defaults.go SetDefaults_CronJob),
// schedule and time-zone validation (pkg/apis/batch/validation ValidateCronJobSpec) and the
// printer columns (printers.go printCronJob).

import { isValidTimeZone, parseSchedule } from '../../api/cron.js';
import type { KObject } from '../../api/object.js';
import { ageColumn, ageOf, col, generationHooks, printer } from './common.js';
import { timestampSince } from './duration.js';
import { validateJobSpec } from './job-validation.js';
import { defaultPodSpec } from './podspec.js';
import type { FieldError, Strategy } from './types.js';
import {
  child,
  formatLabelSelector,
  invalid,
  joinContainers,
  list,
  nonNegativeFields,
  notSupported,
  type Obj,
  required,
  setDefault,
  str,
  sub,
} from './util.js';

function validateCronJob(obj: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const spec = sub(obj, 'spec') ?? {};
  const schedule = spec.schedule;
  if (typeof schedule !== 'string' || schedule === '') errs.push(required('spec.schedule'));
  else if (schedule.includes('TZ')) {
    errs.push(
      invalid(
        'spec.schedule',
        schedule,
        'cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
      ),
    );
  } else {
    try {
      parseSchedule(schedule);
    } catch (err) {
      errs.push(invalid('spec.schedule', schedule, (err as Error).message));
    }
  }
  const tz = spec.timeZone;
  if (tz !== undefined && tz !== null) {
    if (str(tz) === '')
      errs.push(invalid('spec.timeZone', tz, 'timeZone must be nil or non-empty string'));
    else if (str(tz).toLowerCase() === 'local') {
      errs.push(
        invalid(
          'spec.timeZone',
          tz,
          'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones',
        ),
      );
    } else if (!isValidTimeZone(str(tz))) {
      errs.push(invalid('spec.timeZone', tz, `unknown time zone ${str(tz)}`));
    }
  }
  const policy = spec.concurrencyPolicy;
  if (policy !== undefined && !['Allow', 'Forbid', 'Replace'].includes(str(policy))) {
    errs.push(notSupported('spec.concurrencyPolicy', policy, ['Allow', 'Forbid', 'Replace']));
  }
  errs.push(
    ...nonNegativeFields(spec, 'spec', [
      'startingDeadlineSeconds',
      'successfulJobsHistoryLimit',
      'failedJobsHistoryLimit',
    ]),
  );
  const jobSpec = sub(spec.jobTemplate, 'spec') ?? {};
  errs.push(...validateJobSpec(jobSpec, 'spec.jobTemplate.spec'));
  // The CronJob controller generates each Job's selector (upstream ValidateJobTemplateSpec).
  if (jobSpec.selector != null) {
    errs.push(
      invalid(
        'spec.jobTemplate.spec.selector',
        jobSpec.selector,
        '`selector` will be auto-generated',
      ),
    );
  }
  if (jobSpec.manualSelector === true) {
    errs.push(notSupported('spec.jobTemplate.spec.manualSelector', true, ['nil', 'false']));
  }
  return errs;
}

/** The batch/v1 CronJob strategy. */
export const cronJobStrategy: Strategy = {
  defaults(obj) {
    const spec = child(obj as Obj, 'spec');
    setDefault(spec, 'concurrencyPolicy', 'Allow');
    setDefault(spec, 'suspend', false);
    setDefault(spec, 'successfulJobsHistoryLimit', 3);
    setDefault(spec, 'failedJobsHistoryLimit', 1);
    const jobSpec = child(child(spec, 'jobTemplate'), 'spec');
    const tmpl = child(jobSpec, 'template');
    child(tmpl, 'metadata');
    defaultPodSpec(child(tmpl, 'spec'));
  },
  ...generationHooks(),
  validate: validateCronJob,
  table: printer(
    [
      col('Schedule'),
      col('Timezone'),
      col('Suspend'),
      col('Active', 'integer'),
      col('Last Schedule'),
      ageColumn,
      col('Containers', 'string', true),
      col('Images', 'string', true),
      col('Selector', 'string', true),
    ],
    (cj, now) => {
      const spec = sub(cj, 'spec') ?? {};
      const status = sub(cj, 'status') ?? {};
      const jobSpec = sub(sub(spec, 'jobTemplate'), 'spec') ?? {};
      const podSpec = sub(jobSpec.template, 'spec');
      const last = status.lastScheduleTime;
      return [
        str(spec.schedule),
        spec.timeZone === undefined || spec.timeZone === null ? '<none>' : str(spec.timeZone),
        // printBoolPtr: the cell is text.
        spec.suspend === undefined || spec.suspend === null
          ? '<unset>'
          : spec.suspend
            ? 'True'
            : 'False',
        list(status, 'active').length,
        typeof last === 'string' ? timestampSince(last, now) : '<none>',
        ageOf(cj, now),
        joinContainers(podSpec, 'name'),
        joinContainers(podSpec, 'image'),
        formatLabelSelector(jobSpec.selector),
      ];
    },
  ),
};
