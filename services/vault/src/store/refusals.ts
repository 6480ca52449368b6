/**
 * Why a guess-consuming update matched no row. Both stores read the record once after the
 * conditional update refused, and decide here; the answer is only advice for what to do
 * next (destroying an exhausted record is again a conditional update, never this read).
 */
import { BkvError } from '@bkv/protocol';

import { int, optionalTime, text, time, type Row } from './rows';
import type { StartOutcome, StartRecovery } from './store';

export type StartRefusal =
  | Extract<StartOutcome, { kind: 'no_record' | 'version_mismatch' | 'backoff' | 'locked' }>
  /** No guesses left: destroy the record now with `WHERE guesses_used >= guess_limit`. */
  | { kind: 'exhausted' }
  /** The row changed between the update and this read; run the update again. */
  | { kind: 'retry' };

/** The columns that `classifyRefusedStart` reads. */
export const REFUSAL_COLUMNS =
  'state, version, guess_limit, guesses_used, next_attempt_at, locked_at';

/**
 * Order matters: a tombstone answers every start; a stale version must be re-read before
 * anything else; no guesses left destroys even during a backoff, since waiting cannot help.
 */
export function classifyRefusedStart(row: Row | undefined, start: StartRecovery): StartRefusal {
  if (row === undefined) return { kind: 'no_record' };
  if (text(row, 'state') === 'locked') {
    return { kind: 'locked', lockedAt: time(row, 'locked_at'), destroyedNow: false };
  }

  const version = int(row, 'version');
  if (version !== start.version) return { kind: 'version_mismatch', version };
  if (int(row, 'guesses_used') >= int(row, 'guess_limit')) return { kind: 'exhausted' };

  const retryAt = optionalTime(row, 'next_attempt_at');
  if (retryAt !== null && retryAt.getTime() > start.now.getTime()) {
    return { kind: 'backoff', retryAt };
  }
  return { kind: 'retry' };
}

/** How many times a store re-runs a start whose row kept changing under it before it gives up. */
export const START_ATTEMPTS = 5;

/** A wrong guess whose record was deleted or replaced after the recovery was taken. */
export function recoveryGone(): BkvError {
  return new BkvError('RECOVERY_NOT_FOUND', 'The record changed while the recovery finished');
}
