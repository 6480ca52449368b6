/**
 * Test data for the store contract: enrollments and records with random key material, a
 * fixed clock origin, and one user id per test so that tests share a database without
 * seeing each other.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import type { Kdf } from '@bkv/protocol';

import type { BackoffPolicy, NewRecord, PendingEnrollment, StartRecovery, Store } from './store';

export const KDF: Kdf = { alg: 'argon2id', memoryKiB: 65536, iterations: 3, parallelism: 1 };

/** Backoff that never applies within a test, for tests about the budget alone. */
export const NO_BACKOFF: BackoffPolicy = { free: 1_000_000, baseMs: 0, capMs: 0 };

export const T0 = Date.UTC(2026, 0, 1);

/** A time `ms` after the test clock's origin. */
export function at(ms: number): Date {
  return new Date(T0 + ms);
}

/** Random bytes as a plain Uint8Array, the type the store returns. */
export function bytesOf(length: number): Uint8Array {
  return new Uint8Array(randomBytes(length));
}

export function newUserId(): string {
  return `user-${randomUUID()}`;
}

export function enrollmentFor(userId: string, guessLimit = 10, expiresAt = at(600_000)) {
  const enrollment: PendingEnrollment = {
    id: `enr-${randomUUID()}`,
    userId,
    kdf: KDF,
    salt: bytesOf(16),
    guessLimit,
    oprfPublicKey: bytesOf(65),
    wrappedOprfKey: bytesOf(48),
    wrapKeyId: 1,
    createdAt: at(0),
    expiresAt,
  };
  return enrollment;
}

/** The record that committing `enrollment` at `version` writes. */
export function recordFrom(enrollment: PendingEnrollment, version: number): NewRecord {
  const { userId, kdf, salt, guessLimit, oprfPublicKey, wrappedOprfKey, wrapKeyId } = enrollment;
  const sealed = bytesOf(92);
  return {
    userId,
    version,
    kdf,
    salt,
    guessLimit,
    oprfPublicKey,
    wrappedOprfKey,
    wrapKeyId,
    sealed,
  };
}

/**
 * Enrolls a user (a new one unless given) and returns what was committed: version 1 for a new
 * user, else the one after the user's last, over whatever record the user has.
 */
export async function enrolled(store: Store, guessLimit = 10, userId = newUserId()) {
  const enrollment = enrollmentFor(userId, guessLimit);
  await store.putEnrollment(enrollment);
  const current = (await store.getRecord(userId))?.version ?? null;
  const record = recordFrom(enrollment, (await store.lastVersion(userId)) + 1);
  const outcome = await store.commitEnrollment(enrollment.id, current, record, at(1000));
  expect(outcome).toEqual({ kind: 'committed' });
  return { userId, record };
}

/** A start for `userId` at `now`, with a fresh recovery id and a 5-minute expiry. */
export function startOf(
  userId: string,
  now: Date,
  backoff: BackoffPolicy = NO_BACKOFF,
  version = 1,
): StartRecovery {
  const expiresAt = new Date(now.getTime() + 300_000);
  return { userId, version, recoveryId: `rec-${randomUUID()}`, now, expiresAt, backoff };
}
