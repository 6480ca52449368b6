import { BkvError, toBase64url, type RecordResponse } from '@bkv/protocol';
import type { UseCaseDeps } from './deps';
import { iso } from './enroll';

/** `GET /v1/record`: what a client needs to derive, or the tombstone of a destroyed record. */
export async function describeRecord(deps: UseCaseDeps, userId: string): Promise<RecordResponse> {
  const record = await deps.store.getRecord(userId);
  if (!record) throw new BkvError('NO_RECORD', 'no escrowed key for this user');
  if (record.state === 'locked') return { state: 'locked', lockedAt: iso(record.lockedAt) };
  return {
    state: 'active',
    version: record.version,
    kdf: record.kdf,
    salt: toBase64url(record.salt),
    guessLimit: record.guessLimit,
    guessesRemaining: Math.max(0, record.guessLimit - record.guessesUsed),
    createdAt: iso(record.createdAt),
  };
}

/**
 * `DELETE /v1/record`: deletes the wrapped key and payload (crypto-shredding) and any
 * tombstone.
 */
export async function forgetRecord(deps: UseCaseDeps, userId: string): Promise<void> {
  if (!(await deps.store.deleteRecord(userId))) {
    throw new BkvError('NO_RECORD', 'no escrowed key for this user');
  }
  deps.log.info('record deleted');
}
