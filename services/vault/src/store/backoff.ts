/**
 * The backoff wait after consecutive failures, in two equal forms: a reference function for
 * tests and callers, and the bound parameters of the SQL expression that both stores put
 * inside the guess-consuming statement itself (never read, computed, then written back).
 */
import { BkvError } from '@bkv/protocol';

import type { BackoffPolicy } from './store';

/** The largest shift we ever apply; 2^40 ms is about 35 years, far past any sane cap. */
const MAX_SHIFT = 40;

/**
 * Throws unless the policy is made of non-negative safe integers with `baseMs <= capMs`.
 * A bad policy is an operator's or a programmer's error, never a user's.
 */
export function checkBackoffPolicy(policy: BackoffPolicy): void {
  const { free, baseMs, capMs } = policy;
  const fields = [free, baseMs, capMs];
  if (!fields.every((n) => Number.isSafeInteger(n) && n >= 0) || baseMs > capMs) {
    throw new BkvError('INVALID_REQUEST', 'Invalid backoff policy', { field: 'backoff' });
  }
}

/**
 * How long the next start must wait after `failuresInRow` consecutive failures: nothing for
 * the first `free`, then `baseMs`, doubling each time, never more than `capMs`.
 */
export function backoffDelayMs(policy: BackoffPolicy, failuresInRow: number): number {
  checkBackoffPolicy(policy);
  if (failuresInRow <= policy.free) return 0;
  const shift = Math.min(failuresInRow - policy.free - 1, maxShift(policy));
  return Math.min(policy.capMs, policy.baseMs * 2 ** shift);
}

/**
 * The smallest shift at which `baseMs << shift` reaches the cap; shifting further only makes
 * numbers that the cap cuts back, and could overflow a 64-bit integer in SQL.
 */
export function maxShift(policy: BackoffPolicy): number {
  if (policy.baseMs === 0) return 0;
  let shift = 0;
  while (shift < MAX_SHIFT && policy.baseMs * 2 ** shift < policy.capMs) shift += 1;
  return shift;
}

/** The values that the SQL backoff expression binds, validated. */
export interface BackoffParams {
  free: number;
  baseMs: number;
  capMs: number;
  maxShift: number;
}

export function backoffParams(policy: BackoffPolicy): BackoffParams {
  checkBackoffPolicy(policy);
  return {
    free: policy.free,
    baseMs: policy.baseMs,
    capMs: policy.capMs,
    maxShift: maxShift(policy),
  };
}
