// Parsers of the VPA recommender's `skiff up` flags that take fractions, with upstream's names and
// defaults (--recommendation-margin-fraction, --target-cpu-percentile, --target-memory-percentile
// of the vertical-pod-autoscaler recommender): a bad value stops `skiff up` with a message.
import { InvalidArgumentError } from 'commander';

/**
 * The safety margin added to the usage percentile: 0 or more.
 * @example
 * marginFraction('0.15'); // 0.15
 */
export function marginFraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('Not a fraction of 0 or more, such as 0.15.');
  return n;
}

/**
 * A usage percentile as a fraction: above 0 and at most 1.
 * @example
 * percentileFraction('0.9'); // 0.9
 */
export function percentileFraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 1)
    throw new InvalidArgumentError('Not a percentile above 0 and at most 1, such as 0.9.');
  return n;
}
