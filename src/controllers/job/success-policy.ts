// Job successPolicy: an Indexed Job may succeed before every index has (behaviour follows
// kubernetes pkg/controller/job/success_policy.go matchSuccessPolicy, matchSucceededIndexesRule).
import type { SuccessPolicy } from 'kubernetes-types/batch/v1.js';
import { type Intervals, parseIndexes, totalIndexes } from './indexes.js';

// How many indexes of `rule` also lie in `succeeded` (both sorted, disjoint interval lists).
function overlapCount(rule: Intervals, succeeded: Intervals): number {
  let n = 0;
  let r = 0;
  let s = 0;
  while (r < rule.length && s < succeeded.length) {
    const [rFirst, rLast] = rule[r] as readonly [number, number];
    const [sFirst, sLast] = succeeded[s] as readonly [number, number];
    n += Math.max(0, Math.min(rLast, sLast) - Math.max(rFirst, sFirst) + 1);
    if (sLast < rLast) s++;
    else if (sLast > rLast) r++;
    else {
      s++;
      r++;
    }
  }
  return n;
}

/**
 * The message of the first rule the succeeded indexes meet ("Matched rules at index 0"), or
 * undefined. A rule with succeededIndexes needs all of them, or succeededCount of them when set;
 * a rule with only succeededCount needs that many indexes of any kind.
 */
export function matchSuccessPolicy(
  policy: SuccessPolicy | undefined,
  completions: number,
  succeeded: Intervals,
): string | undefined {
  if (!policy || succeeded.length === 0) return undefined;
  for (const [i, rule] of (policy.rules ?? []).entries()) {
    const count = rule.succeededCount;
    if (rule.succeededIndexes != null) {
      const wanted = parseIndexes(rule.succeededIndexes, completions);
      // An index list that parses to nothing (bad text, all past completions) never matches.
      if (wanted.length === 0) continue;
      const got = overlapCount(wanted, succeeded);
      if (got === totalIndexes(wanted) || (count != null && got >= count)) {
        return `Matched rules at index ${i}`;
      }
    } else if (count != null && totalIndexes(succeeded) >= count) {
      return `Matched rules at index ${i}`;
    }
  }
  return undefined;
}
